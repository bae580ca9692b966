#!/usr/bin/env python3
"""clang-tidy gate: runs clang-tidy-14 with the repository's .clang-tidy over the product sources
(base, protocol, net, storage, pipeline, cli: each .cpp once, from the build's
compile_commands.json; tests, fuzz targets, benchmarks and subprojects are not checked) and fails
on any finding, printed as file:line:column.

    scripts/tidy.py [--build DIR] [--jobs N] [--cache DIR] [--budget SECONDS] [--junit FILE] [FILE...]

A full run over the tree costs tens of CPU minutes, so results are cached by content: the key of
a translation unit is the hash of its preprocessed text (`c++ -E -C` with its compile command,
comments kept so a NOLINT counts, the clone's path replaced so clones share entries), .clang-tidy,
the clang-tidy version and this script's CACHE_VERSION. Entries live under $KB_CACHE/tidy/
(default ~/.cache/kafka-backup/tidy); only translation units whose key changed are re-checked.
Findings in the tree's own headers are reported too (deduplicated). With --budget, units not
started within that many seconds are left for the next run (counted as deferred; the cache keeps
what was checked, so a cold cache fills over a few CI runs instead of one long one). Exit status:
0 clean, 1 findings, 2 usage (no compile_commands.json, no clang-tidy-14)."""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

LAYERS = ("base", "protocol", "net", "storage", "pipeline", "cli")
CACHE_VERSION = "1"  # bump when the way findings are produced or parsed changes
TIDY = "clang-tidy-14"
FINDING = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<level>warning|error): "
                     r"(?P<message>.*?)(?: \[(?P<check>[\w.,-]+)\])?$")
# Flags of the compile command that name outputs or dependency files: dropped for -E.
DROP_WITH_VALUE = {"-o", "-MQ", "-MF", "-MT"}
DROP = {"-c", "-MD", "-MMD", "-fdiagnostics-color=always"}


def product_units(root: Path, build: Path, only):
    """(source path, directory, argv) for each product .cpp, once (the library's command)."""
    entries = json.loads((build / "compile_commands.json").read_text())
    seen = {}
    for e in entries:
        source = (Path(e["directory"]) / e["file"]).resolve()
        try:
            rel = source.relative_to(root)
        except ValueError:
            continue
        if rel.parts[0] not in LAYERS or source.suffix != ".cpp" or rel in seen:
            continue
        if only and str(rel) not in only:
            continue
        argv = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        seen[rel] = (source, e["directory"], argv)
    return seen


def write_unit_db(build: Path, units) -> Path:
    """A compile_commands.json with one entry per unit: clang-tidy checks every entry of a file
    it is given, and the build lists a source once per test that compiles it too."""
    folder = build / f"tidy-db.{os.getpid()}"  # per run: runs at the same time keep their own
    folder.mkdir(exist_ok=True)
    entries = [{"directory": directory, "file": str(source), "arguments": [a for a in argv if a != "ccache"]}
               for source, directory, argv in units.values()]
    (folder / "compile_commands.json").write_text(json.dumps(entries, indent=1))
    return folder


def preprocess_argv(argv):
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in DROP_WITH_VALUE:
            skip = True
            continue
        if arg in DROP or arg == "ccache":
            continue
        out.append(arg)
    return out + ["-E", "-C"]


def unit_key(root: Path, source: Path, directory: str, argv, salt: bytes):
    """The cache key of one translation unit, or (None, error text) when it does not preprocess."""
    run = subprocess.run(preprocess_argv(argv), cwd=directory, capture_output=True)
    if run.returncode != 0:
        return None, run.stderr.decode(errors="replace")
    text = run.stdout.replace(str(root).encode(), b"@ROOT@")
    digest = hashlib.sha256(salt)
    digest.update(str(source.relative_to(root)).encode() + b"\0")
    digest.update(" ".join(preprocess_argv(argv)).replace(str(root), "@ROOT@").encode() + b"\0")
    digest.update(text)
    return digest.hexdigest(), None


def run_tidy(root: Path, db: Path, source: Path):
    """Findings of one translation unit as dicts (paths relative to the clone)."""
    header_filter = "^" + re.escape(str(root)) + "/(" + "|".join(LAYERS) + ")/"
    run = subprocess.run([TIDY, "-p", str(db), "--quiet", f"--header-filter={header_filter}", str(source)],
                         cwd=root, capture_output=True)
    findings = []
    for line in run.stdout.decode(errors="replace").splitlines():
        m = FINDING.match(line)
        if not m:
            continue
        path = Path(m["file"])
        path = path if path.is_absolute() else (root / path)
        try:
            rel = str(path.resolve().relative_to(root))
        except ValueError:
            continue  # outside the clone (a system header; the header filter keeps these out)
        findings.append({"file": rel, "line": int(m["line"]), "col": int(m["col"]), "level": m["level"],
                         "message": m["message"], "check": m["check"] or "clang-diagnostic-error"})
    if run.returncode != 0 and not findings:
        # clang-tidy failed without a parsable finding (e.g. a crash): the unit is not clean.
        findings.append({"file": str(source.relative_to(root)), "line": 1, "col": 1, "level": "error",
                         "message": "clang-tidy failed: " + run.stderr.decode(errors="replace").strip()[-500:],
                         "check": "tidy-run"})
    return findings


def write_junit(path: Path, results):
    cases, failures = [], 0
    for rel, findings in sorted(results.items()):
        name = quoteattr("tidy " + rel)
        if findings:
            failures += 1
            message = quoteattr("; ".join(f"{f['file']}:{f['line']}:{f['col']}: {f['message']} [{f['check']}]"
                                          for f in findings))
            cases.append(f'<testcase classname="tidy" name={name}><failure message={message}/></testcase>')
        else:
            cases.append(f'<testcase classname="tidy" name={name}/>')
    path.write_text(f'<testsuite name="tidy" tests="{len(cases)}" failures="{failures}">' + "".join(cases)
                    + "</testsuite>\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("files", nargs="*", help="only these sources (relative to the clone)")
    parser.add_argument("--build", type=Path, default=root / "build", help="build folder (compile_commands.json)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    default_cache = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup")) / "tidy"
    parser.add_argument("--cache", type=Path, default=default_cache)
    parser.add_argument("--budget", type=float, help="start no new clang-tidy run after this many seconds")
    parser.add_argument("--junit", type=Path, help="also write a JUnit XML result file")
    args = parser.parse_args()
    build = args.build.resolve()
    if not (build / "compile_commands.json").is_file():
        print(f"tidy: {build}/compile_commands.json not found; run `meson setup {args.build}` first", file=sys.stderr)
        return 2
    if not shutil.which(TIDY):
        print(f"tidy: {TIDY} not found; install it (scripts/install-deps.sh installs clang-tidy-14)", file=sys.stderr)
        return 2
    started = time.monotonic()
    version = subprocess.run([TIDY, "--version"], capture_output=True).stdout
    salt = b"\0".join([CACHE_VERSION.encode(), version, (root / ".clang-tidy").read_bytes()]) + b"\0"
    units = product_units(root, build, set(args.files))
    db = write_unit_db(build, units)
    args.cache.mkdir(parents=True, exist_ok=True)

    def check(rel):
        source, directory, argv = units[rel]
        key, error = unit_key(root, source, directory, argv, salt)
        if key is None:
            return rel, "failed", [{"file": str(rel), "line": 1, "col": 1, "level": "error", "check": "preprocess",
                                    "message": "does not preprocess: " + error.strip()[-500:]}]
        entry = args.cache / key[:2] / f"{key}.json"
        if entry.is_file():
            return rel, "cached", json.loads(entry.read_text())["findings"]
        if args.budget is not None and time.monotonic() - started > args.budget:
            return rel, "deferred", []
        findings = run_tidy(root, db, source)
        entry.parent.mkdir(exist_ok=True)
        tmp = entry.with_suffix(f".tmp.{os.getpid()}")
        tmp.write_text(json.dumps({"file": str(rel), "findings": findings}))
        tmp.replace(entry)  # atomic: a concurrent run reads a whole entry or none
        return rel, "checked", findings

    results, counts = {}, {"checked": 0, "cached": 0, "failed": 0, "deferred": 0}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            for rel, how, findings in pool.map(check, sorted(units)):
                counts[how] += 1
                if how != "deferred":
                    results[str(rel)] = findings
    finally:
        shutil.rmtree(db, ignore_errors=True)
    unique = sorted({(f["file"], f["line"], f["col"], f["check"], f["message"]) for fs in results.values() for f in fs})
    for file, line, col, check_name, message in unique:
        print(f"{file}:{line}:{col}: {message} [{check_name}]")
    if args.junit:
        write_junit(args.junit, results)
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"tidy: {len(units)} translation units, {counts['checked']} checked, {counts['cached']} cached"
          + (f", {counts['failed']} not preprocessed" if counts["failed"] else "")
          + (f", {counts['deferred']} deferred (over the {args.budget:.0f} s budget)" if counts["deferred"] else "")
          + f"; {len(unique)} finding(s); {elapsed:.0f} s, {usage.ru_utime + usage.ru_stime:.0f} s CPU (cache {args.cache})")
    return 1 if unique else 0


if __name__ == "__main__":
    sys.exit(main())
