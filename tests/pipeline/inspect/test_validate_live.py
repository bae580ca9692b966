"""`kafka-backup validate --deep` while a continuous backup writes to the same set (issue #11 item 13).

The backup seals a segment per partition every few hundred milliseconds while confluent-kafka
produces; validate must always see a consistent snapshot (a checkpoint and the segments it
names), never a checkpoint that moved on after the folder was listed.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env, partitions) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbv-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(timeout=60)
    return name


def test_validate_deep_during_continuous_backup_sees_a_consistent_snapshot(env, binary, tmp_path):
    from confluent_kafka import Producer

    partitions = 4
    topic = new_topic(env, partitions)
    store = tmp_path / "store"
    cfg = {
        "mode": "backup",
        "backup_id": "live",
        "source": {"bootstrap_servers": [plaintext(env)], "topics": {"include": [topic]}},
        "storage": {"backend": "filesystem", "path": str(store)},
        "backup": {"compression": "zstd", "continuous": True, "segment_max_interval_ms": 100,
                   "poll_interval_ms": 50},
    }
    cfg_path = tmp_path / "live.yaml"
    cfg_path.write_text(json.dumps(cfg))

    stop = threading.Event()
    produced = [0]

    def produce():
        p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 5})
        i = 0
        while not stop.is_set() and i < 200_000:  # bounded
            p.produce(topic, key=f"k{i}".encode(), value=f"v{i}-{uuid.uuid4().hex}".encode(), partition=i % partitions)
            i += 1
            if i % 50 == 0:
                p.poll(0)
                time.sleep(0.01)
        p.flush(30)
        produced[0] = i

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg_path), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failures = []
    runs = 0
    try:
        # Wait (bounded) until every partition has a checkpoint, so validate has a set to check.
        deadline = time.time() + 60
        ckpts = [store / f"live/topics/{topic}/{p}/checkpoint.json" for p in range(partitions)]
        while time.time() < deadline and not all(c.exists() for c in ckpts):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            time.sleep(0.1)
        assert all(c.exists() for c in ckpts), "the continuous backup wrote no checkpoints within 60 s"
        end = time.time() + 60
        while runs < 150 and time.time() < end:
            r = subprocess.run([str(binary), "validate", "--path", str(store), "--backup-id", "live", "--deep"],
                               capture_output=True, text=True, timeout=120)
            runs += 1
            if r.returncode != 0:
                failures.append((r.returncode, (r.stdout + r.stderr)[-2000:]))
    finally:
        stop.set()
        producer.join(60)
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert runs >= 10, f"only {runs} validate runs in 60 s"
    assert not failures, f"{len(failures)} of {runs} validate runs failed; first: {failures[0]}"
    assert proc.returncode == 0, err[-3000:]
    assert produced[0] > 0
    # After the backup stopped, the set is complete and valid.
    r = subprocess.run([str(binary), "validate", "--path", str(store), "--backup-id", "live", "--deep"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
