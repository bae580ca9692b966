"""A failing test prints no harness secret: pytest shows the fixture arguments of a failed test
in its traceback, so the env fixtures hold the harness env.json in a dict whose repr leaves the
users' passwords and storage keys out (tests/harness_env.py). Checked by running a failing test
with the real conftest in a pytest of its own."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import harness_env

TESTS = Path(__file__).resolve().parent


def test_a_failing_test_shows_the_env_fixture_without_its_secrets(env, tmp_path):
    secrets = harness_env.secrets(env)
    assert len(secrets) >= 4, "env.json should hold the users' passwords"
    for f in ("conftest.py", "harness_env.py"):
        shutil.copy(TESTS / f, tmp_path / f)
    (tmp_path / "test_fails.py").write_text(
        "def test_fails(env):\n"
        "    assert env['profile'] == 'no-such-profile'\n")
    p = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--tb=long", "test_fails.py"],
                       cwd=tmp_path, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, capture_output=True,
                       text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 1, "the inner test should fail"
    assert "no-such-profile" in out and "env = " in out, "the traceback should show the fixture argument"
    leaked = [i for i, s in enumerate(secrets) if s in out]
    assert not leaked, f"{len(leaked)} harness secret(s) printed in a failing test's traceback"
    assert "env = <harness env.json profile=single" in out
