"""Crash points at scale (issue #16 item 5): backup and restore, filesystem and S3, killed with
SIGKILL at seeded random moments until KB_CRASH_POINTS points per mode (default 100, the CI slice;
KB_CRASH_POINTS=1000 is the long mode), and a backup SIGSTOPped while a second process takes its
lease over (KB_CRASH_STOP_POINTS, default a quarter of that, at least 25). Each mode prints one line, e.g.
`kill -9 backup fs: 100 points, 0 lost, 0 duplicated (seed 1234, 41 s)`, and fails when anything
was lost, duplicated or reordered. The seed is KB_CRASH_SEED (default: random, printed) and the
driver is tests/reliability/crash_points.py.
"""
from __future__ import annotations

import os
import random
import time
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crash_points as cp  # noqa: E402

POINTS = int(os.environ.get("KB_CRASH_POINTS", "100"))
SEED = int(os.environ.get("KB_CRASH_SEED", str(random.SystemRandom().randrange(1, 1_000_000))))
PER_PARTITION = int(os.environ.get("KB_CRASH_RECORDS", "1000"))  # x 8 partitions
PER_ROUND = 60            # kills of one logical run (one backup id / one target) at most
MAX_WINDOW_S = 0.5        # a kill lands in [0, min(one clean run, this)] after the start
MAX_RUN_S = 120           # any run of the tool past this is a hang


def report(result: cp.Result) -> None:
    print(f"\n{result.line()}\n{result.detail()}", flush=True)
    if os.environ.get("KB_RELIABILITY_COUNTS"):
        with open(os.environ["KB_RELIABILITY_COUNTS"], "a") as f:
            f.write(result.line() + "\n")


@pytest.fixture(scope="module")
def bootstrap(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


@pytest.fixture(scope="module")
def source(bootstrap) -> tuple[str, dict]:
    topic = f"kbcrash-{uuid.uuid4().hex[:10]}"
    sent = cp.produce_source(bootstrap, topic, PER_PARTITION, SEED)
    # What the broker holds is the reference (it is what was sent, checked once here).
    held = cp.read_topic(bootstrap, topic)
    d = cp.compare(sent, held)
    assert (d.lost, d.duplicated, d.reordered) == (0, 0, 0), f"the source topic differs from what was sent: {d.examples}"
    return topic, held


def make_store(kind: str, env: dict, tmp: Path) -> cp.Store:
    if kind == "fs":
        return cp.fs_store(tmp / "store")
    if not env.get("s3"):
        pytest.fail("the crash-point S3 modes need the harness's S3 server ($KB_TEST_ENV)", pytrace=False)
    return cp.s3_store(env, f"kbcrash/{uuid.uuid4().hex[:10]}/")


def check_secrets(env: dict, log: Path) -> None:
    secret = (env.get("s3") or {}).get("secret_key", "")
    assert not secret or secret not in log.read_text(errors="replace"), "a secret reached the tool's output"


def assert_exact(result: cp.Result) -> None:
    d = result.diff
    assert result.points >= POINTS, f"only {result.points} points"
    assert (d.lost, d.duplicated, d.reordered) == (0, 0, 0), f"{result.line()}: {d.examples}"


@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_kill_9_backup(kind, env, binary, bootstrap, source, tmp_path):
    topic, held = source
    tool = cp.Tool(binary, tmp_path / "tool.log", MAX_RUN_S)
    mode = cp.BackupMode(f"backup {kind}", tool, tmp_path, bootstrap, topic, held, make_store(kind, env, tmp_path),
                         SEED, POINTS, PER_ROUND, MAX_WINDOW_S)
    result = mode.run()
    report(result)
    check_secrets(env, tool.log)
    assert_exact(result)


@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_kill_9_restore(kind, env, binary, bootstrap, source, tmp_path):
    topic, held = source
    tool = cp.Tool(binary, tmp_path / "tool.log", MAX_RUN_S)
    store = make_store(kind, env, tmp_path)
    bid = f"cp-src-{kind}"
    rc = tool.run("backup", cp.backup_config(tmp_path, bootstrap, topic, store, bid))
    assert rc == 0, tool.tail()
    mode = cp.RestoreMode(f"restore {kind}", tool, tmp_path, bootstrap, topic, held, store,
                          SEED, POINTS, PER_ROUND, MAX_WINDOW_S, backup_id=bid)
    result = mode.run()
    report(result)
    check_secrets(env, tool.log)
    assert_exact(result)


def test_sigstop_past_the_lease_backup(env, binary, bootstrap, source, tmp_path):
    topic, held = source
    tool = cp.Tool(binary, tmp_path / "tool.log", MAX_RUN_S)
    points = int(os.environ.get("KB_CRASH_STOP_POINTS", str(max(25, POINTS // 4))))
    mode = cp.StopMode("backup fs", tool, tmp_path, bootstrap, topic, held, make_store("fs", env, tmp_path),
                       SEED, points, PER_ROUND, MAX_WINDOW_S)
    result = mode.run()
    report(result)
    print("SIGSTOP backup fs outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(mode.exits.items())))
    d = result.diff
    assert result.points >= points
    assert (d.lost, d.duplicated, d.reordered) == (0, 0, 0), f"{result.line()}: {d.examples}"


def _ends(bootstrap: str, topic: str) -> list[int] | None:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"kb-ends-{uuid.uuid4().hex[:6]}"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(cp.PARTITIONS)]
    except Exception:  # noqa: BLE001  (the just-created topic's leaders may not be known yet)
        return None
    finally:
        c.close()


def test_a_killed_restores_late_produce_request_is_not_written_twice(toxiproxy, toxi_broker, binary, tmp_path):
    """The crash-point defect made deterministic: the killed run's last produce requests are held
    3 s in toxiproxy (as a slow network or a busy broker would), the re-run goes to the broker
    directly and reads the end offsets before they land."""
    direct, proxied = toxi_broker["direct"], toxi_broker["proxied"]
    topic = f"kbzombie-{uuid.uuid4().hex[:8]}"
    cp.produce_source(direct, topic, 1000, SEED)
    held = cp.read_topic(direct, topic)
    store = cp.fs_store(tmp_path / "store")
    tool = cp.Tool(binary, tmp_path / "tool.log", MAX_RUN_S)
    assert tool.run("backup", cp.backup_config(tmp_path, direct, topic, store, "src")) == 0, tool.tail()
    target = topic + "-r"
    through_proxy = cp.restore_config(tmp_path, proxied, topic, target, store, "src", cp.RESTORE_TUNING)
    through_proxy = through_proxy.rename(tmp_path / "through-proxy.yaml")
    direct_cfg = cp.restore_config(tmp_path, direct, topic, target, store, "src", cp.RESTORE_TUNING)
    first = tool.start("restore", through_proxy)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None:
        e = _ends(direct, target)
        if e and sum(e) > 400:
            break
        time.sleep(0.05)
    assert first.poll() is None, f"the first restore ended before it could be killed:\n{tool.tail()}"
    toxiproxy.toxic("kafka", "slow", "latency", stream="upstream", latency=3000)
    time.sleep(0.5)  # the produce requests sent meanwhile wait in the proxy
    first.kill()
    first.wait(30)
    assert tool.run("restore", direct_cfg) == 0, tool.tail()
    # The held requests land within the 3 s latency: wait until the end offsets stay put 4 s (bounded).
    last, since, deadline = _ends(direct, target), time.monotonic(), time.monotonic() + 60
    while time.monotonic() - since < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
        now = _ends(direct, target)
        if now != last:
            last, since = now, time.monotonic()
    toxiproxy.reset()
    d = cp.compare(held, cp.read_topic(direct, target))
    assert (d.lost, d.duplicated) == (0, 0), f"{d.lost} lost, {d.duplicated} duplicated: {d.examples}"
