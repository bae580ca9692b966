"""Self-test of the three-node profile: three brokers in metadata, a killed node leaves the
metadata and its leaderships move, `start` brings it back.
Reads env.json from $KB_TEST_ENV_CLUSTER3 (written by `cluster.py up --profile cluster3`)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from conftest import CLUSTER_PY, new_topic

pytestmark = pytest.mark.cluster3


def metadata(bootstrap: str, topic: str | None = None) -> dict:
    """kcat -L -J: {"brokers":[{"id":..}], "topics":[{"topic":..,"partitions":[{"leader":..,"isrs":[..]}]}]}."""
    args = ["kcat", "-b", bootstrap, "-L", "-J", "-m", "5"] + (["-t", topic] if topic else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-500:]
    return json.loads(p.stdout)


def settled_metadata(bootstrap: str, topic: str, partitions: int, timeout: float = 30) -> dict:
    """Metadata once every broker answering knows all of the new topic's partitions and their leaders.

    CreateTopics returns when the controller has the topic; brokers learn it from the metadata log
    a moment later, so the first answer can list no partitions yet.
    """
    def known():
        md = metadata(bootstrap, topic)
        parts = md["topics"][0].get("partitions", []) if md.get("topics") else []
        ready = len(parts) == partitions and all(p.get("leader", -1) in (1, 2, 3) for p in parts)
        return md if ready else None
    md = wait_for(known, timeout)
    assert md, f"topic {topic} did not show {partitions} partition(s) with leaders within {timeout}s"
    return md


def broker_ids(md: dict) -> list[int]:
    return sorted(b["id"] for b in md["brokers"])


def cluster(env3, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLUSTER_PY), "--run-dir", env3["run_dir"], *args],
                          capture_output=True, text=True, timeout=timeout)


def wait_for(pred, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    return last


def produce_acks_all(bootstrap: str, topic: str, n: int) -> list[str]:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "message.timeout.ms": 60000})
    values = [f"v{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
    errors = []
    for v in values:
        p.produce(topic, value=v.encode(), on_delivery=lambda err, _m: errors.append(err) if err else None)
    assert p.flush(90) == 0
    assert errors == []
    return values


def test_three_brokers_up(env3):
    boot = env3["kafka"]["listeners"]["PLAINTEXT"]
    assert len(boot.split(",")) == 3
    assert [b["node_id"] for b in env3["kafka"]["brokers"]] == [1, 2, 3]
    assert broker_ids(metadata(boot)) == [1, 2, 3]
    # Each node answers on its own listener.
    for b in env3["kafka"]["brokers"]:
        assert broker_ids(metadata(b["listeners"]["PLAINTEXT"])) == [1, 2, 3]
    r = cluster(env3, "status", timeout=30)
    want = 3 + (1 if env3.get("s3") else 0)  # three nodes (+ versitygw unless --no-s3)
    assert r.returncode == 0 and r.stdout.count("alive") == want, r.stdout


def test_topic_defaults_replicate_three_ways(env3):
    boot = env3["kafka"]["listeners"]["PLAINTEXT"]
    topic = new_topic(boot, partitions=3, replication=3)
    md = settled_metadata(boot, topic, 3)
    parts = md["topics"][0]["partitions"]
    assert len(parts) == 3
    assert all(sorted(p["replicas"][i]["id"] for i in range(3)) == [1, 2, 3] for p in parts)


@pytest.mark.parametrize("sig", ["KILL", "TERM"])
def test_kill_leaves_metadata_and_start_brings_back(env3, sig):
    from confluent_kafka import Consumer

    boot = env3["kafka"]["listeners"]["PLAINTEXT"]
    topic = new_topic(boot, partitions=1, replication=3)
    before = produce_acks_all(boot, topic, 20)
    leader = settled_metadata(boot, topic, 1)["topics"][0]["partitions"][0]["leader"]
    assert leader in (1, 2, 3)

    r = cluster(env3, "kill", "--node", str(leader), "--signal", sig)
    assert r.returncode == 0, r.stderr[-2000:]
    st = cluster(env3, "status", timeout=30).stdout
    assert f"kafka node {leader}: pid" in st and st.count("dead") == 1, st

    def moved():
        md = metadata(boot, topic)
        part = md["topics"][0]["partitions"][0]
        return leader not in broker_ids(md) and part["leader"] not in (leader, -1)
    # KILL: the controller fences the node after broker.session.timeout.ms (6 s here).
    assert wait_for(moved, 45), f"node {leader} still in metadata or still leader"

    # Two in-sync replicas remain, so acks=all (min.insync.replicas=2) still succeeds.
    during = produce_acks_all(boot, topic, 20)

    r = cluster(env3, "start", "--node", str(leader))
    assert r.returncode == 0, r.stderr[-2000:]
    assert broker_ids(metadata(boot)) == [1, 2, 3]
    assert cluster(env3, "status", timeout=30).returncode == 0

    c = Consumer({"bootstrap.servers": boot, "group.id": f"g-{uuid.uuid4().hex[:8]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    got: list[str] = []
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 60
        while len(got) < len(before) + len(during) and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m.value().decode())
    finally:
        c.close()
    assert got == before + during
    # The restarted node catches up and rejoins the ISR.
    assert wait_for(lambda: len(metadata(boot, topic)["topics"][0]["partitions"][0]["isrs"]) == 3, 60)
