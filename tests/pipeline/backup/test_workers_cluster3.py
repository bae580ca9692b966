"""Backup workers on the three-broker harness ($KB_TEST_ENV_CLUSTER3; issue #17): three
`kafka-backup backup` processes of one `workers:` group back up a 12-partition topic (replication
3) continuously; the broker coordinating their group is killed with SIGKILL mid-run while more
records are produced. The workers find the new coordinator and go on: none fails, no generation
gives a partition to two workers, every checkpoint reaches the new end offsets, SIGTERM ends each
with exit 0, `validate --deep` passes and the stored offsets are exactly the broker's (dump_segment).
Every wait is bounded."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from test_backup_cluster3 import env3, produce  # noqa: F401  (env3 is a fixture)
from test_workers_backup import (Worker, check_disjoint, checkpoints_reach, latest_generation, stable_cover,
                                 wait_for)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "workers"))
from test_group_member_cluster3 import coordinator_node  # noqa: E402

pytestmark = pytest.mark.cluster3

REPO = Path(__file__).resolve().parents[3]
PARTS = 12


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kbw3-probe"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(PARTS)}
    finally:
        c.close()


def test_workers_backup_survives_the_coordinator_killed_mid_run(env3, tmp_path):
    from confluent_kafka.admin import AdminClient, NewTopic

    binary = os.environ["KB_BINARY"]
    dump = os.environ.get("KB_DUMP_SEGMENT", str(Path(binary).parent.parent / "tests/pipeline/backup/dump_segment"))
    bootstrap = env3["kafka"]["listeners"]["PLAINTEXT"]
    topic = "kbw3-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, PARTS, 3)]).values():
        f.result(timeout=60)
    produce(bootstrap, topic, 12000, "a")
    group = "kbw3-" + uuid.uuid4().hex[:8]
    backup_id = "w3"
    store = tmp_path / "store"
    cfg = tmp_path / "w.yaml"
    cfg.write_text(json.dumps({
        "mode": "backup", "backup_id": backup_id,
        "source": {"bootstrap_servers": bootstrap.split(","), "topics": {"include": [topic]}},
        "storage": {"backend": "filesystem", "path": str(store)},
        "backup": {"continuous": True, "segment_max_interval_ms": 300, "poll_interval_ms": 100},
        "workers": {"group_id": group, "session_timeout_ms": 6000, "rebalance_timeout_ms": 30000}}))
    all_parts = {(topic, p) for p in range(PARTS)}
    workers = [Worker(binary, cfg, tmp_path / f"w{i}.log") for i in range(3)]
    victim = None
    try:
        wait_for(lambda: stable_cover(workers, 3, all_parts), 120, "three workers sharing the 12 partitions")
        first = end_offsets(bootstrap, topic)
        wait_for(lambda: checkpoints_reach(store, backup_id, topic, first), 120, "the first records stored")
        generation_before, _ = latest_generation(workers)
        victim = coordinator_node(env3, group)
        k = subprocess.run([sys.executable, str(REPO / "tests/harness/cluster.py"), "--run-dir", env3["run_dir"], "kill",
                            "--node", str(victim), "--signal", "KILL"], capture_output=True, text=True, timeout=60)
        assert k.returncode == 0, k.stderr
        produce(bootstrap, topic, 6000, "b")  # to the partitions' new leaders
        ends = end_offsets(bootstrap, topic)
        assert sum(ends.values()) == 18000
        wait_for(lambda: checkpoints_reach(store, backup_id, topic, ends), 180,
                 "every checkpoint at the end offsets after the coordinator was killed")
        for w in workers:
            assert w.proc.poll() is None, w.log.read_text()[-3000:]
        assert coordinator_node(env3, group) != victim
        generation_after, owners = latest_generation(workers)
        assert generation_after >= generation_before
        check_disjoint(workers)
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.proc.wait(120) == 0, w.log.read_text()[-3000:]
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)
        if victim is not None:
            subprocess.run([sys.executable, str(REPO / "tests/harness/cluster.py"), "--run-dir", env3["run_dir"], "start",
                            "--node", str(victim)], capture_output=True, text=True, timeout=240)
    v = subprocess.run([binary, "validate", "--path", f"file://{store}", "--backup-id", backup_id, "--deep"],
                       capture_output=True, text=True, timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr
    for p in range(PARTS):
        out = subprocess.run([dump, str(store), backup_id, topic, str(p)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        offsets = []
        for line in out.stdout.splitlines():
            row = json.loads(line)
            if "hex" in row:
                offsets.extend(range(row["first"], row["last"] + 1))
        assert sorted(set(offsets)) == list(range(ends[p])), f"partition {p}"
