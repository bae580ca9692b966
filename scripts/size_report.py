#!/usr/bin/env python3
"""Size report: prints the largest source files, classes and functions of the product tree
(base, protocol, net, storage, pipeline, cli) and how many exceed the limits
(file > 600 lines, class > 400, function > 100; issue #13).

    scripts/size_report.py [--top N] [--check] [--junit FILE] [--include-tests] [ROOT]

The scan is a simple brace matcher over the text with comments, strings and character
literals blanked out: a brace block whose head names `class`/`struct`/`union` is a class, one
whose head ends in a parameter list (not `if`/`for`/`while`/`switch`/`catch`, not a lambda) is a
function; blocks nested inside a function belong to it. Good enough to rank, not a parser.
Tables (one line per entry, nothing to split by responsibility) are listed in EXEMPT with the
reason; they are printed, marked `exempt`, and do not count. With --check the exit status is 1
when anything else exceeds a limit (scripts/test.sh runs it so: a gate)."""
import argparse
import re
import sys
from pathlib import Path
from xml.sax.saxutils import quoteattr

LAYERS = ("base", "protocol", "net", "storage", "pipeline", "cli")
SOURCES = (".hpp", ".cpp", ".h", ".cc", ".ipp")
LIMITS = {"file": 600, "class": 400, "function": 100}
CONTROL = {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype",
           "alignof", "noexcept", "requires", "static_assert", "co_return", "co_await",
           "co_yield", "throw", "new", "delete", "operator"}
CLASS_HEAD = re.compile(r"\b(class|struct|union)\s+(?:\[\[[^\]]*\]\]\s*)?([A-Za-z_][\w:]*)")
ENUM_HEAD = re.compile(r"\benum\b")
NAMESPACE_HEAD = re.compile(r"\bnamespace\b|\bextern\s*$")
# "path name" (as printed) -> why it may stay above its limit.
EXEMPT = {
    "protocol/error_codes.cpp name": "a table: one `case` per Kafka error code (the protocol's list), nothing to split",
}
FUNC_NAME = re.compile(r"((?:[A-Za-z_~]\w*\s*::\s*)*(?:operator\s*[^\s(]+|~?[A-Za-z_]\w*))\s*(?:<[^(){};]*>)?\s*\($")


def blank(text: str) -> str:
    """Replaces comments, string and char literals by spaces, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i-1].isalnum() or text[i-1] == "_")):
            k = text.find("(", i)
            delim = ")" + text[i + 2:k] + '"'
            j = text.find(delim, k)
            j = n if j < 0 else j + len(delim)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j])); i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(c); i += 1; continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


def class_name(head: str):
    """The class's name when the block head defines a class (the last `class X`, so that
    `template <class T> class queue` names `queue`), else None."""
    matches = list(CLASS_HEAD.finditer(head))
    if not matches or "(" in head[matches[-1].end():]:
        return None
    return matches[-1].group(2)


def function_name(head: str):
    """The function's name when the block head is a function definition, else None."""
    head = re.sub(r"\s+", " ", head).strip()
    if not head or head.endswith("=") or head.endswith(",") or head.endswith("(") or head.endswith("]"):
        return None
    # Drop a trailing return type, qualifiers and a constructor's initializer list.
    depth, close = 0, -1
    for idx, ch in enumerate(head):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                close = idx
                break
    if close < 0:
        return None
    open_idx = head.find("(")
    before = head[:open_idx + 1]
    if re.search(r"\]\s*(?:<[^>]*>\s*)?\($", before):  # a lambda's parameter list
        return None
    match = FUNC_NAME.search(before)
    if not match:
        return None
    name = re.sub(r"\s+", "", match.group(1))
    if name.split("::")[-1] in CONTROL:
        return None
    return name


def scan_file(path: Path, rel: str):
    """Yields ('class'|'function', name, first line, lines) for each class and function."""
    text = blank(path.read_text(errors="replace"))
    stack = []  # (kind, name, start line, saved head)
    head = []
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
            head.append(ch)
        elif ch == "{":
            head_text = "".join(head)
            kind, name = "block", None
            in_function = any(entry[0] == "function" for entry in stack)
            stripped = head_text.rstrip()
            if re.search(r"(=|\(|,|\breturn|\[|\{|<|\?|:)\s*$", stripped) and not re.search(r"\)\s*[\w\s]*$", stripped) \
                    or re.search(r"\)\s*:\s*(?:[^{};]*[,)}]\s*)?[A-Za-z_][\w:<>]*\s*$", stripped):
                kind = "expr"  # a braced initializer, also in a constructor's initializer list
            elif ENUM_HEAD.search(head_text):
                kind = "enum"
            elif NAMESPACE_HEAD.search(head_text):
                kind = "namespace"
            elif not in_function and class_name(stripped):
                kind, name = "class", class_name(stripped)
            elif not in_function:
                name = function_name(head_text)
                if name:
                    kind = "function"
                    owner = next((entry[1] for entry in reversed(stack) if entry[0] == "class"), None)
                    if owner and "::" not in name:
                        name = f"{owner}::{name}"
            stack.append((kind, name, line, head_text))
            head = []
        elif ch == "}":
            if not stack:
                head = []
                continue
            kind, name, start, saved = stack.pop()
            if kind in ("class", "function"):
                yield kind, f"{rel}:{start} {name}", start, line - start + 1
            # After an initializer brace the statement goes on; after any other block it ends.
            head = list(saved + "{}") if kind == "expr" else []
        elif ch == ";":
            head = []
        else:
            head.append(ch)


def exempt_key(label: str) -> str:
    """`path:line name` -> `path name` (the line moves with every edit above it)."""
    location, _, name = label.partition(" ")
    return f"{location.split(':')[0]} {name}" if name else location


def write_junit(path: Path, over_by_kind, stale):
    """One test case per limit (and one for the exemptions), for scripts/summarize_tests.py."""
    cases, failures = [], 0
    for kind, over in over_by_kind.items():
        name = f"size_{kind}_limit_{LIMITS[kind]}"
        if over:
            failures += 1
            message = quoteattr(f"{len(over)} above {LIMITS[kind]} lines: "
                                + "; ".join(f"{label} ({lines} lines)" for lines, label in over))
            cases.append(f'<testcase classname="size" name="{name}"><failure message={message}/></testcase>')
        else:
            cases.append(f'<testcase classname="size" name="{name}"/>')
    if stale:
        failures += 1
        message = quoteattr("exemptions that match nothing: " + "; ".join(stale))
        cases.append(f'<testcase classname="size" name="size_exemptions"><failure message={message}/></testcase>')
    else:
        cases.append('<testcase classname="size" name="size_exemptions"/>')
    path.write_text(f'<testsuite name="size" tests="{len(cases)}" failures="{failures}">'
                    + "".join(cases) + "</testsuite>\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--top", type=int, default=10, help="how many of each to print (10)")
    parser.add_argument("--check", action="store_true", help="exit 1 when anything exceeds a limit")
    parser.add_argument("--junit", type=Path, help="also write a JUnit XML result file")
    parser.add_argument("--include-tests", action="store_true", help="scan tests/ and bench/ too")
    args = parser.parse_args()
    folders = LAYERS + (("tests", "bench") if args.include_tests else ())
    sizes = {"file": [], "class": [], "function": []}
    for folder in folders:
        for path in sorted((args.root / folder).rglob("*")):
            if path.suffix not in SOURCES or not path.is_file() or "subprojects" in path.parts:
                continue
            rel = str(path.relative_to(args.root))
            sizes["file"].append((len(path.read_text(errors="replace").splitlines()), rel))
            for kind, label, _, lines in scan_file(path, rel):
                sizes[kind].append((lines, label))
    over_total = 0
    over_by_kind = {}
    exempt_seen = set()
    for kind in ("file", "class", "function"):
        ranked = sorted(sizes[kind], reverse=True)
        over = [entry for entry in ranked if entry[0] > LIMITS[kind] and exempt_key(entry[1]) not in EXEMPT]
        exempt_seen.update(exempt_key(label) for lines, label in ranked
                           if lines > LIMITS[kind] and exempt_key(label) in EXEMPT)
        over_total += len(over)
        over_by_kind[kind] = over
        plural = "classes" if kind == "class" else kind + "s"
        print(f"largest {plural} (limit {LIMITS[kind]} lines; {len(over)} above, {len(ranked)} scanned):")
        for lines, label in ranked[:max(args.top, len(over) if args.check else 0)]:
            mark = ""
            if lines > LIMITS[kind]:
                mark = f"  exempt: {EXEMPT[exempt_key(label)]}" if exempt_key(label) in EXEMPT else "  OVER"
            print(f"  {lines:6}  {label}{mark}")
    stale = sorted(set(EXEMPT) - exempt_seen)
    for entry in stale:
        print(f"size_report: exemption for '{entry}' matches nothing above a limit; remove it from EXEMPT")
    over_total += len(stale)
    if args.junit:
        write_junit(args.junit, over_by_kind, stale)
    print(f"size_report: {over_total} above the limits" + (" (a gate: split by responsibility, see docs/architecture.md)" if over_total and args.check else ""))
    return 1 if args.check and over_total else 0


if __name__ == "__main__":
    sys.exit(main())
