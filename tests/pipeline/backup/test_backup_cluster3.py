"""`kafka-backup backup` on the three-broker harness ($KB_TEST_ENV_CLUSTER3): a partition leader is
killed while a continuous backup runs; the backup follows the new leaders and, after SIGTERM and
a final one-shot run, holds every offset of the source exactly once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster3

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def env3() -> dict:
    path = os.environ.get("KB_TEST_ENV_CLUSTER3")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV_CLUSTER3 must name a cluster3 harness env.json", pytrace=False)
    return json.loads(Path(path).read_text())


def produce(bootstrap, topic, n, tag):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "message.timeout.ms": 60000, "linger.ms": 5})
    errors = []
    for i in range(n):
        p.produce(topic, key=f"{tag}{i}".encode(), value=uuid.uuid4().hex.encode(),
                  on_delivery=lambda err, _m: errors.append(err) if err else None)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(90) == 0
    assert errors == []


def leaders(bootstrap, topic):
    p = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-t", topic], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    md = json.loads(p.stdout)
    return {x["partition"]: x["leader"] for x in md["topics"][0]["partitions"]}


def wait_for_checkpoints(proc, root: Path, parts: int, pred, timeout: float = 120) -> None:
    """Polls (bounded) the partitions' checkpoint.json files under `root` until every partition
    has one and `pred` holds for the sum of their next_offset."""
    deadline = time.monotonic() + timeout
    total = -1
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        try:
            offsets = [json.loads((root / str(p) / "checkpoint.json").read_text())["next_offset"] for p in range(parts)]
        except (FileNotFoundError, json.JSONDecodeError):
            offsets = None
        if offsets is not None:
            total = sum(offsets)
            if pred(total):
                return
        time.sleep(0.1)
    raise AssertionError(f"the backup's checkpoints did not reach the expected state in {timeout} s (sum {total})")


def test_leader_killed_during_continuous_backup(env3, tmp_path):
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    binary = os.environ["KB_BINARY"]
    dump = os.environ.get("KB_DUMP_SEGMENT", str(Path(binary).parent.parent / "tests/pipeline/backup/dump_segment"))
    bootstrap = env3["kafka"]["listeners"]["PLAINTEXT"]
    parts = 6
    topic = "kbb3-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, parts, 3)]).values():
        f.result(timeout=60)
    produce(bootstrap, topic, 20000, "a")
    cfg = tmp_path / "c.yaml"
    base = {"mode": "backup", "backup_id": "leader", "source": {"bootstrap_servers": bootstrap.split(","),
                                                                "topics": {"include": [topic]}},
            "storage": {"backend": "filesystem", "path": str(tmp_path / "store")}}
    cfg.write_text(json.dumps({**base, "backup": {"continuous": True, "segment_max_interval_ms": 300,
                                                  "poll_interval_ms": 100}}))
    proc = subprocess.Popen([binary, "backup", "--config", str(cfg), "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    victim = leaders(bootstrap, topic)[0]
    try:
        # The leader is killed once the backup is under way: every partition has a checkpoint.
        wait_for_checkpoints(proc, tmp_path / "store/leader/topics" / topic, parts, lambda total: total > 0)
        k = subprocess.run([sys.executable, str(REPO / "tests/harness/cluster.py"), "--run-dir", env3["run_dir"], "kill",
                            "--node", str(victim), "--signal", "KILL"], capture_output=True, text=True, timeout=60)
        assert k.returncode == 0, k.stderr
        produce(bootstrap, topic, 10000, "b")  # goes to the new leaders
        # The running backup follows the new leaders: it commits all 30000 offsets before the stop.
        wait_for_checkpoints(proc, tmp_path / "store/leader/topics" / topic, parts, lambda total: total == 30000)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        subprocess.run([sys.executable, str(REPO / "tests/harness/cluster.py"), "--run-dir", env3["run_dir"], "start",
                        "--node", str(victim)], capture_output=True, text=True, timeout=240)
    final = tmp_path / "f.yaml"
    final.write_text(json.dumps({**base, "backup": {}}))
    r = subprocess.run([binary, "backup", "--config", str(final), "--no-progress"], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kbb3-probe"})
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(parts)}
    c.close()
    assert sum(ends.values()) == 30000
    for p in range(parts):
        out = subprocess.run([dump, str(tmp_path / "store"), "leader", topic, str(p)], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        offsets = []
        for line in out.stdout.splitlines():
            row = json.loads(line)
            if "hex" in row:
                offsets.extend(range(row["first"], row["last"] + 1))
        assert sorted(offsets) == list(range(ends[p])), f"partition {p}"
