"""The partition's log start inside a record batch (issue #11 item 8, DESIGN.md §5 invariant 6).

Kafka answers a fetch from inside a batch with the whole batch. The backup stores it as fetched
with the offsets below the log start recorded as a gap; validate --deep accepts the set; restore
(also with a time window) produces only the records at or after the log start. Data is produced
and read back with confluent-kafka; the stored batches are read with the dump_segment test tool.
"""
from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env, config=None) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbls-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, 1, 1, config=config or {})]).values():
        f.result(timeout=60)
    return name


BASE_TS = int(time.time() * 1000) - 3_600_000


def produce(env, topic, first, count, one_batch):
    """Records `first..first+count-1` (value `v{offset}`, timestamp BASE_TS + offset) into
    partition 0; with one_batch they go out as a single record batch."""
    from confluent_kafka import Producer

    conf = {"bootstrap.servers": plaintext(env), "enable.idempotence": False, "acks": "all"}
    if one_batch:
        conf.update({"linger.ms": 60_000, "batch.size": 4_000_000, "batch.num.messages": 1_000_000,
                     "message.max.bytes": 4_000_000, "compression.type": "lz4"})
    else:
        conf.update({"linger.ms": 0, "batch.num.messages": 50})
    p = Producer(conf)
    for i in range(first, first + count):
        p.produce(topic, key=f"k{i % 13}".encode(), value=f"v{i}".encode(), partition=0, timestamp=BASE_TS + i)
    assert p.flush(60) == 0, "records left unsent"


def delete_records(env, topic, before):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.delete_records([TopicPartition(topic, 0, before)]).values():
        f.result(timeout=30)


def read_topic(env, topic) -> list[tuple[int, bytes]]:
    """(source offset from the value, value) of every record in partition 0, in order."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": "kbls-" + uuid.uuid4().hex[:6],
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        out = []
        if high > low:
            c.assign([TopicPartition(topic, 0, low)])
            last = -1
            for _ in range(400):  # bounded
                for m in c.consume(num_messages=1000, timeout=2):
                    assert m.error() is None, m.error()
                    out.append((int(m.value().split(b"|")[0][1:]), m.value()))
                    last = m.offset()
                if last >= high - 1:
                    break
        return out
    finally:
        c.close()


def write_config(tmp: Path, env, topics, backup_id) -> Path:
    cfg = {
        "mode": "backup",
        "backup_id": backup_id,
        "source": {"bootstrap_servers": [plaintext(env)], "topics": {"include": topics}},
        "storage": {"backend": "filesystem", "path": str(tmp / "store")},
        "backup": {"compression": "zstd"},
    }
    path = tmp / f"{backup_id}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def run(binary, *args, timeout=180):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout)


def backup(binary, cfg):
    return run(binary, "backup", "--config", str(cfg), "--no-progress")


def stored(dump_tool, store: Path, backup_id, topic):
    p = subprocess.run([str(dump_tool), str(store), backup_id, topic, "0"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def validate_deep(binary, store: Path, backup_id):
    r = run(binary, "validate", "--path", str(store), "--backup-id", backup_id, "--deep")
    assert r.returncode == 0, r.stdout + r.stderr


def restore(binary, tmp: Path, env, store: Path, backup_id, src, dst, **window) -> subprocess.CompletedProcess:
    cfg = {
        "mode": "restore",
        "backup_id": backup_id,
        "target": {"bootstrap_servers": [plaintext(env)], "topics": {"include": [src]}},
        "storage": {"backend": "filesystem", "path": str(store)},
        "restore": {"topic_mapping": {src: dst}, **window},
    }
    path = tmp / f"restore-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    r = run(binary, "--no-progress", "restore", "--config", str(path), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def expect_exactly(env, topic, first, last):
    got = read_topic(env, topic)
    assert [o for o, _ in got] == list(range(first, last + 1)), (
        f"{topic}: {len(got)} records, first {got[:1]}, last {got[-1:]}; want {first}..{last}")
    assert all(v == f"v{o}".encode() for o, v in got)


def seed_with_one_big_batch(env):
    """Offsets 0..999 in small batches, 1000..4999 in ONE batch, then the log start moved to 3000."""
    t = new_topic(env)
    produce(env, t, 0, 1000, one_batch=False)
    return t


def add_big_batch_and_delete(env, t):
    produce(env, t, 1000, 4000, one_batch=True)
    delete_records(env, t, 3000)


def assert_big_batch_stored(rows):
    batches = [(r["first"], r["last"]) for r in rows if "hex" in r]
    assert (1000, 4999) in batches, f"the 4,000 records were not one batch: {batches[-5:]}"
    gaps = [(r["gap_first"], r["gap_last"]) for r in rows if "gap_first" in r]
    assert (1000, 2999) in gaps, gaps


def test_log_start_inside_a_batch_on_a_resumed_backup(env, binary, dump_tool, tmp_path):
    """The set holds 0..999; 1000..4999 arrive as one batch and 1000..2999 are deleted before the
    next run (the state that, before the fix, failed every later run of the backup id)."""
    t = seed_with_one_big_batch(env)
    cfg = write_config(tmp_path, env, [t], "ls-resume")
    r = backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    add_big_batch_and_delete(env, t)
    r = backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert "1000..2999" in r.stderr, r.stderr
    store = tmp_path / "store"
    assert_big_batch_stored(stored(dump_tool, store, "ls-resume", t))
    ck = json.loads((store / "ls-resume/topics" / t / "0/checkpoint.json").read_text())
    assert ck["next_offset"] == 5000 and ck["gaps"] == [{"first_offset": 1000, "last_offset": 2999}], ck
    # A later run of the same backup id goes on normally.
    produce(env, t, 5000, 100, one_batch=False)
    r = backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    validate_deep(binary, store, "ls-resume")

    d = json.loads(run(binary, "describe", "--path", str(store), "--backup-id", "ls-resume", "--format", "json").stdout)
    (part,) = d["topics"][0]["partitions"]
    assert part["records"] == 1000 + 2000 + 100, part
    assert part["gaps"] == [{"first_offset": 1000, "last_offset": 2999}], part

    dst = t + "-r"
    restore(binary, tmp_path, env, store, "ls-resume", t, dst)
    got = read_topic(env, dst)
    assert [o for o, _ in got] == list(range(0, 1000)) + list(range(3000, 5100)), (len(got), got[995:1005])
    assert all(v == f"v{o}".encode() for o, v in got)


def test_log_start_inside_a_batch_on_a_fresh_backup_and_pitr(env, binary, dump_tool, tmp_path):
    t = seed_with_one_big_batch(env)
    add_big_batch_and_delete(env, t)
    cfg = write_config(tmp_path, env, [t], "ls-fresh")
    r = backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    store = tmp_path / "store"
    assert_big_batch_stored(stored(dump_tool, store, "ls-fresh", t))
    validate_deep(binary, store, "ls-fresh")

    dst = t + "-all"
    restore(binary, tmp_path, env, store, "ls-fresh", t, dst)
    expect_exactly(env, dst, 3000, 4999)

    # Point in time: the window starts below the log start (records below it stay out) ...
    dst = t + "-early"
    restore(binary, tmp_path, env, store, "ls-fresh", t, dst,
            time_window_start=BASE_TS + 2000, time_window_end=BASE_TS + 4500)
    expect_exactly(env, dst, 3000, 4500)
    # ... and inside the kept part of the boundary batch.
    dst = t + "-late"
    restore(binary, tmp_path, env, store, "ls-fresh", t, dst,
            time_window_start=BASE_TS + 3500, time_window_end=BASE_TS + 4800)
    expect_exactly(env, dst, 3500, 4800)


def test_log_start_after_deleted_log_segments(env, binary, dump_tool, tmp_path):
    """Small broker log segments: moving the log start deletes whole log segments; the new
    start lies inside a batch of a later log segment."""
    t = new_topic(env, {"segment.bytes": str(1024 * 1024)})
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 20, "batch.size": 65536,
                  "compression.type": "none"})
    pad = "p" * 1000
    for i in range(4000):  # ~4 MB: four or more broker log segments
        p.produce(t, value=f"v{i}".encode() + b"|" + pad.encode(), partition=0)
    assert p.flush(60) == 0
    cfg = write_config(tmp_path, env, [t], "ls-segs")
    # A first run sees only what is there now; then more data, then the start moves on.
    r = backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    for i in range(4000, 6000):
        p.produce(t, value=f"v{i}".encode() + b"|" + pad.encode(), partition=0)
    assert p.flush(60) == 0
    delete_records(env, t, 5003)  # 5003 is not a multiple of any batch size the producer used
    r = backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    store = tmp_path / "store"
    validate_deep(binary, store, "ls-segs")
    dst = t + "-r"
    restore(binary, tmp_path, env, store, "ls-segs", t, dst)
    got = read_topic(env, dst)
    assert [o for o, _ in got] == list(range(0, 4000)) + list(range(5003, 6000)), (len(got), got[3995:4005])
    assert all(v == f"v{o}|{pad}".encode() for o, v in got)
