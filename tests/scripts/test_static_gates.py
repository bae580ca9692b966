"""The two static gates of scripts/test.sh against small trees built in a temp folder:
size_report.py --check (limits, exemptions) and tidy.py (a finding fails with file:line, the
content cache answers the second run, a fix is checked again). Runs the real clang-tidy-14."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_tree(tmp_path: Path, script: str) -> Path:
    """A clone-like folder with the script under scripts/ (both scripts find the tree from there)."""
    root = tmp_path / "tree"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / script, root / "scripts" / script)
    return root


def run(root: Path, script: str, *args: str, env=None):
    return subprocess.run([sys.executable, str(root / "scripts" / script), *args], cwd=root,
                          capture_output=True, text=True, timeout=300, env=env)


def function_of(lines: int) -> str:
    return "int f() {\n" + "  int x = 0;\n" * (lines - 3) + "  return x;\n}\n"


def with_error_table(root: Path):
    """protocol/error_codes.cpp's `name`, the table size_report.py exempts, above the limit."""
    (root / "protocol").mkdir()
    (root / "protocol" / "error_codes.cpp").write_text(
        "int name(int c) {\n  switch (c) {\n" + "    case 1: return 1;\n" * 120 + "  }\n  return 0;\n}\n")


def test_size_report_fails_above_a_limit_and_names_it(tmp_path):
    root = make_tree(tmp_path, "size_report.py")
    with_error_table(root)
    (root / "base").mkdir()
    (root / "base" / "small.cpp").write_text(function_of(100))
    ok = run(root, "size_report.py", "--check")
    assert ok.returncode == 0, ok.stdout
    assert "0 above the limits" in ok.stdout
    (root / "base" / "big.cpp").write_text(function_of(101))
    junit = tmp_path / "size.xml"
    over = run(root, "size_report.py", "--check", "--junit", str(junit))
    assert over.returncode == 1, over.stdout
    assert "base/big.cpp:1 f  OVER" in over.stdout
    assert 'failures="1"' in junit.read_text() and "base/big.cpp:1 f (101 lines)" in junit.read_text()
    # Without --check it only reports.
    assert run(root, "size_report.py").returncode == 0


def test_size_report_exemptions_must_match_something(tmp_path):
    root = make_tree(tmp_path, "size_report.py")
    with_error_table(root)  # printed with its reason, not counted
    exempt = run(root, "size_report.py", "--check")
    assert exempt.returncode == 0, exempt.stdout
    assert "exempt: a table" in exempt.stdout
    # The table gone: the exemption names nothing any more, which fails so it gets removed.
    (root / "protocol" / "error_codes.cpp").write_text("int name(int c) { return c; }\n")
    stale = run(root, "size_report.py", "--check")
    assert stale.returncode == 1, stale.stdout
    assert "exemption for 'protocol/error_codes.cpp name' matches nothing above a limit" in stale.stdout


def tidy_tree(tmp_path: Path, source: str) -> Path:
    root = make_tree(tmp_path, "tidy.py")
    (root / ".clang-tidy").write_text("Checks: '-*,modernize-use-nullptr'\n")
    (root / "base").mkdir()
    (root / "base" / "a.cpp").write_text(source)
    build = root / "build"
    build.mkdir()
    # Listed twice, as a test that compiles the library's source again would: checked once.
    entry = {"directory": str(build), "file": "../base/a.cpp", "command": "c++ -std=c++20 -c ../base/a.cpp -o a.o"}
    (build / "compile_commands.json").write_text(json.dumps([entry, dict(entry, command=entry["command"] + " -DT")]))
    return root


def test_tidy_fails_on_a_finding_caches_it_and_rechecks_a_fix(tmp_path):
    root = tidy_tree(tmp_path, "int* p() {\n  return 0;\n}\n")
    cache = tmp_path / "cache"
    junit = tmp_path / "tidy.xml"
    first = run(root, "tidy.py", "--cache", str(cache), "--junit", str(junit))
    assert first.returncode == 1, first.stdout + first.stderr
    assert "base/a.cpp:2:10: use nullptr [modernize-use-nullptr]" in first.stdout
    assert "1 translation units, 1 checked, 0 cached; 1 finding(s)" in first.stdout
    assert 'failures="1"' in junit.read_text()
    again = run(root, "tidy.py", "--cache", str(cache))
    assert again.returncode == 1
    assert "0 checked, 1 cached; 1 finding(s)" in again.stdout
    assert "base/a.cpp:2:10: use nullptr" in again.stdout
    # A comment changes the preprocessed text (comments are kept, so a NOLINT would count).
    (root / "base" / "a.cpp").write_text("// fixed\nint* p() {\n  return nullptr;\n}\n")
    fixed = run(root, "tidy.py", "--cache", str(cache))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "1 checked, 0 cached; 0 finding(s)" in fixed.stdout
    assert not list((root / "build").glob("tidy-db*")), "the per-run compile database is removed"


def test_tidy_config_change_rechecks_and_budget_defers(tmp_path):
    root = tidy_tree(tmp_path, "int* p() {\n  return 0;\n}\n")
    cache = tmp_path / "cache"
    deferred = run(root, "tidy.py", "--cache", str(cache), "--budget", "0")
    assert deferred.returncode == 0, deferred.stdout
    assert "0 checked, 0 cached, 1 deferred" in deferred.stdout
    assert run(root, "tidy.py", "--cache", str(cache)).returncode == 1
    (root / ".clang-tidy").write_text("Checks: '-*,modernize-use-override'\n")
    other = run(root, "tidy.py", "--cache", str(cache))
    assert other.returncode == 0, other.stdout
    assert "1 checked, 0 cached; 0 finding(s)" in other.stdout


def test_tidy_without_a_build_is_a_usage_error(tmp_path):
    root = make_tree(tmp_path, "tidy.py")
    missing = run(root, "tidy.py", "--build", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "compile_commands.json not found" in missing.stderr
