"""Fixtures of the compat suite (marker `compat`): older Kafka brokers started by
tests/harness/old_broker.py — 3.9 (KRaft) and 2.8 (ZooKeeper, legacy v1 message sets).

$KB_COMPAT_ENV_<version with _> (e.g. KB_COMPAT_ENV_3_9_1) may name the env.json of a broker
already started with `old_broker.py up`, to reuse it instead of starting one per session."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
import old_broker  # noqa: E402

import harness_env  # tests/harness_env.py: a dict whose repr leaves out passwords

OLD_VERSIONS = ("3.9.1", "2.8.2")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/compat/" in str(item.fspath):
            item.add_marker(pytest.mark.compat)


_started: dict[str, dict] = {}


def _broker(version: str, tmp_path_factory) -> dict:
    if version in _started:
        return _started[version]
    reuse = os.environ.get("KB_COMPAT_ENV_" + version.replace(".", "_"))
    if reuse:
        env = json.loads(Path(reuse).read_text())
        env["owned"] = False
    else:
        t = time.monotonic()
        env = old_broker.up(version, tmp_path_factory.mktemp(f"kafka-{version}"))
        env["owned"] = True
        print(f"compat: Kafka {version} ({env['mode']}) started in {time.monotonic() - t:.0f} s", flush=True)
    env["passwords"] = old_broker.passwords(env)
    env = harness_env.HarnessEnv(env)  # a failing test's traceback must not print the passwords
    _started[version] = env
    return env


@pytest.fixture(scope="session")
def old_brokers(tmp_path_factory):
    """version -> env of a running old broker, started on first use, stopped at session end."""
    yield lambda version: _broker(version, tmp_path_factory)
    for env in _started.values():
        if env.get("owned"):
            old_broker.down_procs(env["procs"])
    _started.clear()
