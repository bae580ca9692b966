"""End-to-end restore round trips: the built `kafka-backup restore` ($KB_BINARY) against the
harness's real Kafka broker ($KB_TEST_ENV) — every codec, time windows, transactions, compaction,
S3, the backup engine's own sets, the dry run and how batches are split and merged. Source data is
produced and every result read back with confluent-kafka, never with our own reader."""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from restore_helpers import (binary, content, create_topic, fixture_tool, make_backup, name,
                             partitions_of, plain, produce, read_partition, restore_config,
                             restore_with_group, run_restore, sample_records, topic_exists)


def test_round_trip_every_codec_headers_tombstones_null_keys(env, tmp_path):
    src = name("codecs")
    create_topic(env, src, 2)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        produce(env, src, sample_records(120, 2), **{"compression.type": codec})
    store = make_backup(env, tmp_path, "b1", [src])
    dst = src + "-restored"
    cfg = restore_config(env, tmp_path, store, "b1", [src], {"topic_mapping": {src: dst}, "create_topics": True})
    p = run_restore(env, cfg)
    assert p.returncode == 0, p.stderr
    assert "complete: 600 records" in p.stdout, p.stdout
    assert partitions_of(env, dst) == 2
    for part in range(2):
        want = read_partition(env, src, part)
        got = read_partition(env, dst, part)
        assert len(want) == 300
        assert content(got) == content(want), f"partition {part} differs"
    # The offset map and state live in the backup set.
    states = list((store / "b1" / "restores").glob("*/state.json"))
    assert len(states) == 1
    st = json.loads(states[0].read_text())
    assert all(p["done"] for p in st["partitions"])
    assert sum(r[2] for p in st["partitions"] for r in p["ranges"]) == 600


@pytest.mark.parametrize("window", ["inside-batches", "exact-bounds", "empty"])
def test_time_window_restores_exactly_the_records_inside(env, tmp_path, window):
    src = name("pitr")
    create_topic(env, src, 1)
    base = int(time.time() * 1000) - 7_200_000
    recs = []
    for i in range(200):
        # Not monotonic inside a batch: every 5th record is stamped 500 ms earlier.
        ts = base + i * 10 - (500 if i % 5 == 4 else 0)
        recs.append({"key": f"k{i}".encode(), "value": f"v{i}".encode(), "timestamp": ts})
    produce(env, src, recs, **{"compression.type": "lz4"})
    source = read_partition(env, src, 0)
    ts = sorted(r["timestamp"] for r in source)
    if window == "inside-batches":
        start, end = ts[37] + 1, ts[151] - 1
    elif window == "exact-bounds":
        start, end = ts[40], ts[160]
    else:
        start, end = base + 10_000_000, base + 10_000_100
    store = make_backup(env, tmp_path, "b", [src], fixture=True)  # tiny frames: windows span several
    dst = src + "-w"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "time_window_start": start, "time_window_end": end})
    p = run_restore(env, cfg)
    assert p.returncode == 0, p.stderr
    want = [r for r in source if start <= r["timestamp"] <= end]
    got = read_partition(env, dst, 0)
    assert content(got) == content(want)
    if window != "empty":
        assert 0 < len(want) < len(source)


def test_transactions_aborted_records_and_markers_never_appear(env, tmp_path):
    src = name("txn")
    create_topic(env, src, 1)
    p = Producer({**plain(env), "transactional.id": name("tx")})
    p.init_transactions(30)
    for round_, commit in enumerate([True, False, True, False, True]):
        p.begin_transaction()
        for i in range(10):
            p.produce(src, key=f"r{round_}-{i}".encode(), value=("commit" if commit else "abort").encode())
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    assert [m["value"] for m in got] == [b"commit"] * 30
    assert [m["key"] for m in got] == [f"r{k}-{i}".encode() for k in (0, 2, 4) for i in range(10)]
    # No markers either: 30 records occupy exactly offsets 0..29 in the target.
    c = Consumer({**plain(env), "group.id": name("wm")})
    lo, hi = c.get_watermark_offsets(TopicPartition(dst, 0), timeout=10)
    c.close()
    assert (lo, hi) == (0, 30)


def test_compacted_topic_latest_value_per_key(env, tmp_path):
    src = name("compact")
    create_topic(env, src, 1, {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.001",
                               "delete.retention.ms": "100", "min.compaction.lag.ms": "0"})
    for round_ in range(4):
        # Every key twice in one batch, so the cleaner leaves gaps inside batches too.
        produce(env, src, [{"key": f"k{i % 30}".encode(), "value": f"v{round_}-{i}".encode()} for i in range(60)],
                **{"linger.ms": 100})
        time.sleep(0.3)
    # Give the cleaner a bounded chance to leave offset gaps (the case the restore must renumber).
    deadline = time.time() + 45
    while time.time() < deadline and len(read_partition(env, src, 0)) >= 240:
        produce(env, src, [{"key": b"roll", "value": b"x"}])
        time.sleep(2)
    source = read_partition(env, src, 0)
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    latest_src = {m["key"]: m["value"] for m in source}
    latest_dst = {m["key"]: m["value"] for m in got}
    assert latest_dst == latest_src
    assert content(got) == content(source)  # same records, same order, gaps closed
    offsets = [m["offset"] for m in source]
    assert offsets != list(range(len(offsets))), "the cleaner removed nothing"
    # Gaps between batches need nothing; batches with gaps inside are renumbered. Either way
    # the target's offsets are dense.
    assert [m["offset"] for m in got] == list(range(len(got)))
    assert "re-encoded 0," not in r.stdout, r.stdout  # the in-batch gaps were renumbered


def test_round_trip_from_s3_with_local_checkpoint_and_offset_report(env, tmp_path):
    s3 = env.get("s3")
    if not s3:
        pytest.fail("the harness runs without S3 (--no-s3); this test needs it", pytrace=False)
    src = name("s3")
    create_topic(env, src, 2)
    produce(env, src, sample_records(300, 2), **{"compression.type": "zstd"})
    prefix = f"restore-it/{uuid.uuid4().hex[:8]}"
    url = (f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true")
    creds = {"AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}
    cmd = [fixture_tool(), "--bootstrap", env["kafka"]["listeners"]["PLAINTEXT"], "--path", url,
           "--backup-id", "s3b", "--topic", src, "--frame-bytes", "4096", "--segment-batches", "10"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env={**os.environ, **creds})
    assert p.returncode == 0, p.stderr
    dst = src + "-r"
    ckpt, report = tmp_path / "restore-state.json", tmp_path / "offsets.json"
    cfg = restore_config(env, tmp_path, tmp_path, "s3b", [src], {
        "topic_mapping": {src: dst}, "checkpoint_state": str(ckpt), "offset_report": str(report)})
    text = cfg.read_text().replace(
        "storage:\n  backend: filesystem\n  path: " + str(tmp_path) + "\n",
        "storage:\n  backend: s3\n  bucket: " + s3["bucket"] + "\n  endpoint: " + s3["endpoint"] +
        "\n  region: " + s3["region"] + "\n  path_style: true\n  prefix: " + prefix + "\n")
    assert "backend: s3" in text
    cfg.write_text(text)
    e = {**os.environ, **creds, "KB_TEST_RESTORE_PASSWORD": env["users"]["restore"]}
    r = subprocess.run([binary(), "--no-progress", "restore", "--config", str(cfg)], env=e, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert s3["secret_key"] not in r.stdout + r.stderr
    for part in range(2):
        assert content(read_partition(env, dst, part)) == content(read_partition(env, src, part))
    state = json.loads(ckpt.read_text())
    assert all(p["done"] for p in state["partitions"])
    offsets = json.loads(report.read_text())
    # Each source partition went to a fresh target partition in order: one range 0 -> 0.
    assert sorted((p["source_partition"], p["ranges"]) for p in offsets["partitions"]) == [
        (0, [[0, 0, 150]]), (1, [[0, 0, 150]])]


def test_backup_engine_then_restore_round_trip_with_transactions_and_groups(env, tmp_path):
    """The real `kafka-backup backup` (snapshot, group snapshot) feeding `kafka-backup restore`."""
    src = name("e2e")
    create_topic(env, src, 2)
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        produce(env, src, sample_records(60, 2), **{"compression.type": codec})
    tp = Producer({**plain(env), "transactional.id": name("tx")})
    tp.init_transactions(30)
    for commit in (True, False):
        tp.begin_transaction()
        for i in range(20):
            tp.produce(src, key=f"t{i}".encode(), value=b"commit" if commit else b"abort", partition=i % 2)
        tp.commit_transaction(30) if commit else tp.abort_transaction(30)
    g = name("e2e-g")
    c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(src, 0, 40), TopicPartition(src, 1, 7)], asynchronous=False)
    c.close()
    source = {q: read_partition(env, src, q, "read_committed") for q in range(2)}
    store = tmp_path / "store"
    bcfg = tmp_path / "backup.yaml"
    bcfg.write_text(json.dumps({
        "mode": "backup", "backup_id": "e2e",
        "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": [src]}},
        "storage": {"backend": "filesystem", "path": str(store)},
        "backup": {"stop_at_current_offsets": True, "consumer_group_snapshot": True}}))
    b = subprocess.run([binary(), "--no-progress", "backup", "--config", str(bcfg)], capture_output=True, text=True,
                       timeout=180)
    assert b.returncode == 0, b.stderr
    dst, r = restore_with_group(env, tmp_path, store, "e2e", src, g)
    for q in range(2):
        got = read_partition(env, dst, q)
        assert content(got) == content(source[q]), f"partition {q}"
        assert b"abort" not in [m["value"] for m in got]
    # The group resumes at the same record in the target.
    c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
    committed = {t.partition: t.offset for t in c.committed([TopicPartition(dst, 0), TopicPartition(dst, 1)], timeout=10)}
    c.close()
    src_all = {q: read_partition(env, src, q) for q in range(2)}
    for q, src_off in ((0, 40), (1, 7)):
        want = next(m for m in src_all[q] if m["offset"] == src_off)
        got = next(m for m in read_partition(env, dst, q) if m["offset"] == committed[q])
        assert (got["key"], got["value"]) == (want["key"], want["value"])


def test_dry_run_prints_the_plan_and_writes_nothing(env, tmp_path):
    src = name("dry")
    create_topic(env, src, 2)
    produce(env, src, sample_records(40, 2))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    r = run_restore(env, cfg, "restore", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"Topic {src} -> {dst}" in r.stdout
    assert "partition 0 -> 0" in r.stdout and "partition 1 -> 1" in r.stdout
    assert f"Would create topic {dst}" in r.stdout
    assert "nothing was written" in r.stdout
    assert not topic_exists(env, dst)
    assert not (store / "b" / "restores").exists()


def test_batches_larger_than_the_targets_max_message_bytes_are_split(env, tmp_path):
    src = name("big")
    create_topic(env, src, 1)
    recs = [{"key": f"k{i}".encode(), "value": f"{i:06d}".encode() * 20} for i in range(2000)]
    produce(env, src, recs, **{"linger.ms": 200, "batch.num.messages": 10000, "batch.size": 1000000,
                               "compression.type": "none"})
    dst = src + "-small"
    create_topic(env, dst, 1, {"max.message.bytes": "3000"})  # source batches are ~100 KiB
    store = make_backup(env, tmp_path, "b", [src], frame_bytes=1 << 20)
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    assert content(got) == content(read_partition(env, src, 0))
    assert len(got) == 2000


def broker_batches(env: dict, topic: str, partition: int) -> list[dict]:
    """The partition's batches as Apache Kafka's own DumpLogSegments reads them from the broker's log."""
    d = Path(env["kafka"]["brokers"][0]["dir"]) / "data" / f"{topic}-{partition}"
    files = sorted(str(f) for f in d.glob("*.log"))
    out = subprocess.run([*env["kafka"]["java_tools"], "kafka.tools.DumpLogSegments", "--files", ",".join(files)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    batches = []
    for line in out.stdout.splitlines():
        if line.startswith("baseOffset:"):
            f = line.split()
            batches.append({"base": int(f[1]), "last": int(f[3]), "count": int(f[5]),
                            "control": "isControl: true" in line, "size": int(f[f.index("size:") + 1])})
    return batches


def test_small_batches_are_merged_and_a_group_translates_through_them(env, tmp_path):
    """Small uncompressed source batches (10 records each, a committed transaction and its marker
    in between) reach the target as a few large batches; every record, and a group committed
    after the marker, land where they belong."""
    src = name("merge")
    create_topic(env, src, 1)
    base = int(time.time() * 1000) - 3_600_000
    first = [{"key": f"a{i}".encode(), "value": f"v{i}".encode() * 20, "timestamp": base + i,
              "headers": [("n", str(i).encode())]} for i in range(400)]
    produce(env, src, first, **{"batch.num.messages": 10, "linger.ms": 0})
    tp = Producer({**plain(env), "transactional.id": name("tx")})
    tp.init_transactions(30)
    tp.begin_transaction()
    for i in range(10):
        tp.produce(src, key=f"t{i}".encode(), value=b"txn")
    tp.commit_transaction(30)
    produce(env, src, [{"key": f"b{i}".encode(), "value": f"w{i}".encode() * 20, "timestamp": base + 1000 + i}
                       for i in range(200)], **{"batch.num.messages": 10, "linger.ms": 0})
    source = read_partition(env, src, 0)
    assert len(source) == 610
    src_batches = broker_batches(env, src, 0)
    assert sum(1 for b in src_batches if b["control"]) == 1 and len(src_batches) >= 40, src_batches[:5]
    g, g_at = name("g-merge"), source[450]["offset"]  # after the marker: source offsets skip one there
    assert g_at == 451
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g}:{src}:0:{g_at}"])
    dst, r = restore_with_group(env, tmp_path, store, "b", src, g)
    assert "small batches merged into" in r.stdout, r.stdout
    got = read_partition(env, dst, 0)
    assert content(got) == content(source)
    assert [m["offset"] for m in got] == list(range(610))
    dst_batches = broker_batches(env, dst, 0)
    assert sum(b["count"] for b in dst_batches) == 610
    assert len(dst_batches) <= 3, dst_batches  # 610 records of ~250 bytes: one frame, one batch or so
    c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
    committed = c.committed([TopicPartition(dst, 0)], timeout=10)[0].offset
    c.close()
    assert committed == 450
    assert (got[committed]["key"], got[committed]["value"]) == (source[450]["key"], source[450]["value"])
