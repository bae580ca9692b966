"""A pytest plugin for the TSan slice of scripts/test.sh: a ThreadSanitizer report from any process a
test started fails that test, whatever exit code the test expected.

Loaded with `-p tsan_reports` (tests/ on PYTHONPATH). scripts/test.sh points TSAN_OPTIONS' log_path at
$KB_TSAN_LOG_DIR/tsan, so each report lands in a file `tsan.<pid>` there instead of in the stderr the
tests parse; halt_on_error=1 ends the process at the first one. After every test (its fixtures' teardown
included, where continuous runs are stopped) the files that appeared during it are the test's reports."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def _log_dir() -> Path | None:
    d = os.environ.get("KB_TSAN_LOG_DIR")
    return Path(d) if d else None


def _reports(d: Path) -> set[Path]:
    return set(d.glob("tsan.*")) if d.is_dir() else set()


@pytest.fixture(autouse=True)
def _fail_on_tsan_report():
    d = _log_dir()
    before = _reports(d) if d else set()
    yield
    if d is None:
        return
    new = sorted(_reports(d) - before)
    if new:
        text = "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[:80]) for p in new)
        pytest.fail(f"ThreadSanitizer reported {len(new)} time(s) during this test:\n{text}", pytrace=False)


def pytest_configure(config):
    d = _log_dir()
    if d is None:
        raise pytest.UsageError("tsan_reports: set $KB_TSAN_LOG_DIR (TSAN_OPTIONS log_path points into it)")
    if "log_path=" not in os.environ.get("TSAN_OPTIONS", ""):
        raise pytest.UsageError("tsan_reports: TSAN_OPTIONS must set log_path=$KB_TSAN_LOG_DIR/tsan")
    d.mkdir(parents=True, exist_ok=True)
