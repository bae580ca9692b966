"""Clock skew (issue #16): the tool's wall clock moved with libfaketime (LD_PRELOAD, Debian's
`faketime` package; the monotonic clock stays real) against the harness S3 server (versitygw),
which checks SigV4's request time. 20 minutes off either way: S3 answers 403
RequestTimeTooSkewed and the tool must stop at once with exit 3 and say to fix the clock, not
retry. 5 minutes off (inside the 15-minute allowance): backup and restore work. And records
stamped 30 minutes in the future (a producer's clock ahead): point-in-time restore goes by the
records' timestamps."""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/harness_env.py

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
RUN_BOUND = 120


def faked(offset: str) -> dict:
    if not LIBFAKETIME.is_file():
        pytest.fail(f"{LIBFAKETIME} missing: apt-get install faketime libfaketime (scripts/install-deps.sh)",
                    pytrace=False)
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_NO_CACHE": "1"}


def run(binary: Path, args: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float]:
    t = time.monotonic()
    p = subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=RUN_BOUND,
                       env={**os.environ, **env}, stdin=subprocess.DEVNULL)
    return p, time.monotonic() - t


@pytest.fixture
def s3(env) -> dict:
    s = env["s3"]
    prefix = f"skew-{uuid.uuid4().hex[:8]}"
    return harness_env.HarnessEnv({
            "storage": {"backend": "s3", "bucket": s["bucket"], "endpoint": s["endpoint"], "region": s["region"],
                        "path_style": True, "prefix": prefix, "access_key": s["access_key"],
                        "secret_key": s["secret_key"]},
            "url": f"s3://{s['bucket']}/{prefix}?endpoint={s['endpoint']}&region={s['region']}&path_style=true",
            "aws": {"AWS_ACCESS_KEY_ID": s["access_key"], "AWS_SECRET_ACCESS_KEY": s["secret_key"]},
            "secret": s["secret_key"]})  # its repr (in a failure's traceback) leaves out the keys


@pytest.fixture
def topic(env) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = env["kafka"]["listeners"]["PLAINTEXT"]
    name = f"kbskew-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(200):
        p.produce(name, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert p.flush(30) == 0
    return name


def backup_cfg(tmp: Path, env: dict, topic: str, storage: dict) -> Path:
    cfg = tmp / f"backup-{uuid.uuid4().hex[:6]}.yaml"
    cfg.write_text(json.dumps({"mode": "backup", "backup_id": "skew",
                               "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]],
                                          "topics": {"include": [topic]}},
                               "storage": storage, "backup": {"stop_at_current_offsets": True}}))
    return cfg


@pytest.mark.parametrize("offset", ["+20m", "-20m"])
def test_skewed_clock_is_reported_at_once_with_exit_3(env, binary, tmp_path, s3, topic, offset):
    fake = faked(offset)
    lst, took = run(binary, ["list", "--path", s3["url"]], {**fake, **s3["aws"]})
    assert lst.returncode == 3, lst.stderr
    assert "RequestTimeTooSkewed" in lst.stderr and "fix the clock" in lst.stderr, lst.stderr
    assert took < 30, f"list took {took:.0f} s: the skew error was retried"
    b, took = run(binary, ["backup", "--config", str(backup_cfg(tmp_path, env, topic, s3["storage"]))], fake)
    assert b.returncode == 3, b.stderr[-2000:]
    assert "RequestTimeTooSkewed" in b.stderr and "fix the clock" in b.stderr, b.stderr[-2000:]
    assert took < 30, f"backup took {took:.0f} s: the skew error was retried"
    for p in (lst, b):
        assert s3["secret"] not in p.stdout + p.stderr


def test_skew_inside_the_allowance_works(env, binary, tmp_path, s3, topic):
    from confluent_kafka import Consumer, TopicPartition

    fake = faked("+5m")
    b, _ = run(binary, ["backup", "--config", str(backup_cfg(tmp_path, env, topic, s3["storage"]))], fake)
    assert b.returncode == 0, b.stderr[-2000:]
    v, _ = run(binary, ["validate", "--path", s3["url"], "--backup-id", "skew", "--deep"], {**fake, **s3["aws"]})
    assert v.returncode == 0, v.stdout + v.stderr
    target = topic + "-r"
    cfg = tmp_path / "restore.yaml"
    cfg.write_text(json.dumps({"mode": "restore", "backup_id": "skew",
                               "target": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]],
                                          "topics": {"include": [topic]}},
                               "storage": s3["storage"],
                               "restore": {"topic_mapping": {topic: target}, "create_topics": True}}))
    r, _ = run(binary, ["restore", "--config", str(cfg)], fake)
    assert r.returncode == 0, r.stderr[-2000:]
    c = Consumer({"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"], "group.id": f"kbskew-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(target, 0, 0)])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 200 and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is not None and not m.error():
                got.append((m.key(), m.value()))
    finally:
        c.close()
    assert got == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(200)]


def test_records_stamped_in_the_future_restore_by_their_own_time(env, binary, tmp_path):
    """A producer whose clock runs 30 min ahead (the broker accepts CreateTime up to
    log.message.timestamp.after.max.ms, 1 h in 4.x): point-in-time restore goes by the records'
    timestamps, not by our clock — a window ending now leaves them out, one starting in the future
    restores exactly them, timestamps kept."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = env["kafka"]["listeners"]["PLAINTEXT"]
    topic = f"kbfuture-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        f.result(timeout=60)
    now = int(time.time() * 1000)
    past = [(f"p{i}".encode(), f"past{i}".encode(), now - 600_000 + i) for i in range(100)]
    future = [(f"f{i}".encode(), f"future{i}".encode(), now + 1_800_000 + i) for i in range(100)]
    p = Producer({"bootstrap.servers": bootstrap})
    for k, v, ts in past + future:
        p.produce(topic, key=k, value=v, timestamp=ts)
    assert p.flush(30) == 0
    store = tmp_path / "store"
    cfg = tmp_path / "backup.yaml"
    cfg.write_text(json.dumps({"mode": "backup", "backup_id": "future",
                               "source": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
                               "storage": {"backend": "filesystem", "path": str(store)},
                               "backup": {"stop_at_current_offsets": True}}))
    b, _ = run(binary, ["backup", "--config", str(cfg)], {})
    assert b.returncode == 0, b.stderr[-2000:]

    def restore(suffix: str, window: dict) -> list[tuple]:
        target = f"{topic}-{suffix}"
        rc = tmp_path / f"restore-{suffix}.yaml"
        rc.write_text(json.dumps({"mode": "restore", "backup_id": "future",
                                  "target": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
                                  "storage": {"backend": "filesystem", "path": str(store)},
                                  "restore": {"topic_mapping": {topic: target}, "create_topics": True, **window}}))
        r, _ = run(binary, ["restore", "--config", str(rc)], {})
        assert r.returncode == 0, r.stderr[-2000:]
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"kbfuture-{uuid.uuid4().hex[:6]}",
                      "enable.auto.commit": False})
        try:
            lo, hi = c.get_watermark_offsets(TopicPartition(target, 0), timeout=30)
            c.assign([TopicPartition(target, 0, lo)])
            got: list[tuple] = []
            deadline = time.monotonic() + 60
            while len(got) < hi - lo and time.monotonic() < deadline:
                m = c.poll(1.0)
                if m is not None and not m.error():
                    got.append((m.key(), m.value(), m.timestamp()[1]))
            return got
        finally:
            c.close()

    assert restore("upto-now", {"time_window_end": now}) == past
    assert restore("from-future", {"time_window_start": now + 1_200_000}) == future
