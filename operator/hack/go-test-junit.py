#!/usr/bin/env python3
"""Turns `go test -json` output (stdin) into a JUnit XML file (argv[1]) for scripts/summarize_tests.py,
and echoes each test's result line. A package that failed to build or whose TestMain failed counts as
one failed case, so a broken suite is never read as "0 tests, all fine"."""
import json
import sys
import xml.etree.ElementTree as ET

cases = {}      # (package, test) -> {"action", "elapsed", "output"}
pkg_fail = {}   # package -> output, for failures outside any test
pkg_out = {}
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        print(line)
        continue
    try:
        ev = json.loads(line)
    except json.JSONDecodeError:
        print(line)
        continue
    pkg, test, action = ev.get("Package", ""), ev.get("Test"), ev.get("Action")
    if test:
        c = cases.setdefault((pkg, test), {"action": "run", "elapsed": 0.0, "output": []})
        if action == "output":
            c["output"].append(ev.get("Output", ""))
        elif action in ("pass", "fail", "skip"):
            c["action"], c["elapsed"] = action, ev.get("Elapsed", 0.0)
            print(f"--- {action.upper()}: {pkg.rsplit('/', 1)[-1]}.{test} ({c['elapsed']:.2f}s)")
    else:
        if action == "output":
            pkg_out.setdefault(pkg, []).append(ev.get("Output", ""))
        elif action == "fail":
            pkg_fail[pkg] = "".join(pkg_out.get(pkg, []))[-4000:]

suite = ET.Element("testsuite", name="operator")
n = failures = skipped = 0
for (pkg, test), c in sorted(cases.items()):
    if "/" in test:
        continue  # subtests are reported through their parent
    n += 1
    tc = ET.SubElement(suite, "testcase", classname=pkg, name=test, time=f"{c['elapsed']:.3f}")
    if c["action"] == "fail" or c["action"] == "run":
        failures += 1
        ET.SubElement(tc, "failure", message="failed" if c["action"] == "fail" else "did not finish").text = \
            "".join(c["output"])[-4000:]
    elif c["action"] == "skip":
        skipped += 1
        ET.SubElement(tc, "skipped")
for pkg, out in pkg_fail.items():
    if any(p == pkg and cases[(p, t)]["action"] == "fail" for (p, t) in cases):
        continue
    n += 1
    failures += 1
    print(out)
    tc = ET.SubElement(suite, "testcase", classname=pkg, name="package")
    ET.SubElement(tc, "failure", message="the package failed outside its tests (build, TestMain)").text = out
suite.set("tests", str(n))
suite.set("failures", str(failures))
suite.set("skipped", str(skipped))
ET.ElementTree(suite).write(sys.argv[1], encoding="unicode")
print(f"operator: {n - failures - skipped} passed, {failures} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failures else 0)
