#!/usr/bin/env python3
"""Include-layering check: fails when a source file includes a project header from a layer it
may not depend on. The layers (docs/architecture and the project guide):

    base -> protocol -> net -> pipeline -> cli
    base -> storage  -> pipeline

A folder may include from itself and from the folders to its left only; storage knows nothing
of Kafka (no protocol/ or net/), protocol does no I/O (no net/ or storage/).

    scripts/check_layers.py [--junit FILE] [ROOT]

Prints one line per violation (file:line: layer includes "header") and exits 1 when any is found.
With --junit, also writes a JUnit XML file (one test case per layer) for scripts/summarize_tests.py.
"""
import argparse
import re
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

# What each layer may include besides itself.
ALLOWED = {
    "base": set(),
    "protocol": {"base"},
    "storage": {"base"},
    "net": {"base", "protocol"},
    "pipeline": {"base", "protocol", "net", "storage"},
    "cli": {"base", "protocol", "net", "storage", "pipeline"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SOURCES = (".hpp", ".cpp", ".h", ".cc", ".ipp")


def scan(root: Path):
    """Yields (layer, path, line number, header) for every forbidden include."""
    for layer, allowed in ALLOWED.items():
        folder = root / layer
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix not in SOURCES or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                target = match.group(1).split("/", 1)[0]
                if "/" in match.group(1) and target in ALLOWED and target != layer \
                        and target not in allowed:
                    yield layer, path.relative_to(root), number, match.group(1)


def write_junit(path: Path, violations):
    by_layer = {layer: [] for layer in ALLOWED}
    for layer, file, number, header in violations:
        by_layer[layer].append(f'{file}:{number}: includes "{header}"')
    failures = sum(1 for found in by_layer.values() if found)
    cases = []
    for layer, found in by_layer.items():
        name = f'layering_{layer}'
        if found:
            message = quoteattr(f"{len(found)} forbidden include(s): " + "; ".join(found))
            cases.append(f'<testcase classname="layers" name="{name}"><failure message={message}/></testcase>')
        else:
            cases.append(f'<testcase classname="layers" name="{name}"/>')
    path.write_text(f'<testsuite name="layers" tests="{len(cases)}" failures="{failures}">'
                    + "".join(cases) + "</testsuite>\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--junit", type=Path, help="also write a JUnit XML result file")
    args = parser.parse_args()
    violations = list(scan(args.root))
    for layer, file, number, header in violations:
        allowed = ", ".join(sorted(ALLOWED[layer])) or "nothing"
        print(f'{file}:{number}: {layer}/ includes "{header}" ({layer}/ may include only {allowed})')
    if args.junit:
        write_junit(args.junit, violations)
    if violations:
        print(f"check_layers: {len(violations)} forbidden include(s)")
        return 1
    print("check_layers: no forbidden includes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
