#!/usr/bin/env python3
"""Sums test results from Meson test logs (testlog.json, GoogleTest cases counted one by one)
and pytest JUnit XML files, prints a table per source and ends with `N passed, N failed`
(plus `, N skipped` when any were skipped). Exit status 1 when anything failed or was skipped:
a skipped test is never counted as passing."""
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

GTEST_OK = re.compile(r"^\[       OK \] \S+ \(\d+ ms\)$", re.M)
GTEST_FAILED = re.compile(r"^\[  FAILED  \] \S+ \(\d+ ms\)$", re.M)
GTEST_SKIPPED = re.compile(r"^\[  SKIPPED \] \S+ \(\d+ ms\)$", re.M)


def meson_counts(path: Path, failures: list[str]):
    passed = failed = skipped = 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        out = entry.get("stdout") or ""
        result = entry.get("result")
        ok, bad, skip = (len(GTEST_OK.findall(out)), len(GTEST_FAILED.findall(out)),
                         len(GTEST_SKIPPED.findall(out)))
        if result == "SKIP":
            skipped += 1
            failures.append(f"SKIPPED {entry['name']}")
            continue
        if ok or bad or skip:
            passed, failed, skipped = passed + ok, failed + bad, skipped + skip
            if result != "OK" and bad == 0:
                failed += 1  # crash, timeout or sanitizer report after the cases ran
                failures.append(f"{result} {entry['name']} (after its cases)")
            elif bad:
                failures.append(f"FAIL {entry['name']}: {bad} case(s)")
            if skip:
                failures.append(f"SKIPPED {entry['name']}: {skip} case(s)")
        elif result == "OK":
            passed += 1
        else:
            failed += 1
            failures.append(f"{result} {entry['name']}")
    return passed, failed, skipped


def junit_counts(path: Path, failures: list[str]):
    passed = failed = skipped = 0
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failures.append(f"FAIL {name}")
        elif case.find("skipped") is not None:
            skipped += 1
            failures.append(f"SKIPPED {name}")
        else:
            passed += 1
    return passed, failed, skipped


def main(argv: list[str]) -> int:
    totals = [0, 0, 0]
    failures: list[str] = []
    for arg in argv:
        path = Path(arg)
        if not path.exists():
            print(f"  {path}: missing (the phase did not run)")
            totals[1] += 1
            failures.append(f"MISSING {path}")
            continue
        counts = meson_counts(path, failures) if path.suffix == ".json" else junit_counts(path, failures)
        print(f"  {path.name:40} {counts[0]:5} passed {counts[1]:4} failed {counts[2]:4} skipped")
        totals = [t + c for t, c in zip(totals, counts)]
    for line in failures:
        print(f"  - {line}")
    if totals[2]:
        # A skipped test proves nothing, so it is not a pass: count it as a failure.
        print(f"  {totals[2]} skipped test(s) counted as failed")
    print(f"{totals[0]} passed, {totals[1] + totals[2]} failed")
    return 0 if totals[1] == 0 and totals[2] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
