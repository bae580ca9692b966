"""End-to-end restore tests: the built `kafka-backup restore` ($KB_BINARY) against the harness's
real Kafka broker ($KB_TEST_ENV). Source data is produced with confluent-kafka (librdkafka), the
backup set is made from the broker's own batches by the restore_make_backup_set fixture (the
storage format's builder over our net client, stored as fetched), and every result is read back
with confluent-kafka — never with our own reader."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/ is on sys.path (its conftest.py)

import confluent_kafka as ck
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka_acls import acl_key, wait_for_acls  # tests/ is on sys.path (its conftest.py)


# ---- environment -------------------------------------------------------------------------------

def _env() -> dict:
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    e = harness_env.load(path)
    if e.get("profile") != "single":
        pytest.fail("these tests need the single-node harness profile", pytrace=False)
    return e


@pytest.fixture(scope="module")
def env() -> dict:
    return _env()


def binary() -> str:
    path = os.environ.get("KB_BINARY")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("KB_BINARY must name the built kafka-backup binary", pytrace=False)
    return path


def fixture_tool() -> str:
    path = os.environ.get("KB_RESTORE_FIXTURE") or str(
        Path(binary()).resolve().parent.parent / "tests" / "pipeline" / "restore" / "restore_make_backup_set")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} (restore_make_backup_set) is not built", pytrace=False)
    return path


def plain(env: dict) -> dict:
    # PLAINTEXT connects as ANONYMOUS, a super user in the harness: test setup and checks only.
    return {"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]}


def name(prefix: str) -> str:
    return f"rt-{prefix}-{uuid.uuid4().hex[:8]}"


# ---- Kafka helpers (confluent-kafka) -------------------------------------------------------------

def create_topic(env: dict, topic: str, partitions: int = 1, config: dict | None = None) -> None:
    admin = AdminClient(plain(env))
    fut = admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})])[topic]
    fut.result(30)
    deadline = time.time() + 30
    while time.time() < deadline:
        md = admin.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.2)
    pytest.fail(f"topic {topic} has no leaders after 30 s")


def topic_exists(env: dict, topic: str) -> bool:
    md = AdminClient(plain(env)).list_topics(timeout=10)
    return topic in md.topics


def produce(env: dict, topic: str, records: list[dict], **conf) -> None:
    """records: {key, value, headers, timestamp, partition} (any may be missing/None)."""
    p = Producer({**plain(env), "linger.ms": 20, "batch.num.messages": 50, **conf})
    for r in records:
        kwargs = {}
        if r.get("partition") is not None:
            kwargs["partition"] = r["partition"]
        if r.get("timestamp") is not None:
            kwargs["timestamp"] = r["timestamp"]
        if r.get("headers") is not None:
            kwargs["headers"] = r["headers"]
        p.produce(topic, key=r.get("key"), value=r.get("value"), **kwargs)
        p.poll(0)
    assert p.flush(30) == 0


def read_partition(env: dict, topic: str, partition: int, isolation: str = "read_uncommitted") -> list[dict]:
    c = Consumer({**plain(env), "group.id": name("reader"), "enable.auto.commit": False,
                  "isolation.level": isolation, "enable.partition.eof": True})
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    out: list[dict] = []
    if hi > lo:
        c.assign([TopicPartition(topic, partition, lo)])
        deadline = time.time() + 60
        while time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == ck.KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(str(m.error()))
            out.append({"offset": m.offset(), "key": m.key(), "value": m.value(),
                        "headers": m.headers() or [], "timestamp": m.timestamp()[1]})
            if m.offset() >= hi - 1:
                break
    c.close()
    return out


def _read_acl(topic: str, user: str, permission):
    from confluent_kafka.admin import AclBinding, AclOperation, ResourcePatternType, ResourceType
    return AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{user}", "*",
                      AclOperation.READ, permission)


def grant_read(env: dict, topic: str, user: str) -> None:
    from confluent_kafka.admin import AclPermissionType
    admin = AdminClient(plain(env))
    for fut in admin.create_acls([_read_acl(topic, user, AclPermissionType.ALLOW)]).values():
        fut.result(30)
    # ACL changes propagate through the metadata log: wait until the broker applies it.
    wait_for_acls(plain(env), f"User:{user}", {acl_key("TOPIC", topic, "LITERAL", "READ", "ALLOW")})


def deny_read(env: dict, topic: str, user: str) -> None:
    """The harness grants the restore user Read on every topic; a DENY on one topic takes it away."""
    from confluent_kafka.admin import AclPermissionType
    admin = AdminClient(plain(env))
    for fut in admin.create_acls([_read_acl(topic, user, AclPermissionType.DENY)]).values():
        fut.result(30)
    wait_for_acls(plain(env), f"User:{user}", {acl_key("TOPIC", topic, "LITERAL", "READ", "DENY")})


def undo_deny_read(env: dict, topic: str, user: str) -> None:
    from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    admin = AdminClient(plain(env))
    flt = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{user}", "*",
                           AclOperation.READ, AclPermissionType.DENY)
    for fut in admin.delete_acls([flt]).values():
        fut.result(30)
    wait_for_acls(plain(env), f"User:{user}", {acl_key("TOPIC", topic, "LITERAL", "READ", "DENY")}, present=False)


def content(recs: list[dict]) -> list[tuple]:
    return [(r["key"], r["value"], tuple(r["headers"]), r["timestamp"]) for r in recs]


def partitions_of(env: dict, topic: str) -> int:
    md = AdminClient(plain(env)).list_topics(topic, timeout=10)
    return len(md.topics[topic].partitions)


# ---- backup sets and restore runs ----------------------------------------------------------------

def make_backup(env: dict, tmp: Path, backup_id: str, topics: list[str], groups: list[str] = (),
                frame_bytes: int = 2048, segment_batches: int = 8, fixture: bool = False) -> Path:
    """A backup set of `topics` under tmp/store: by default a real `kafka-backup backup` snapshot;
    with fixture=True the restore_make_backup_set fixture (small frames, explicit group offsets).
    `groups` are "GROUP:TOPIC:PARTITION:OFFSET"; for a real backup they are committed in the
    source first and captured by the backup's group snapshot."""
    store = tmp / "store"
    store.mkdir(exist_ok=True)
    if not fixture:
        for g in groups:
            gid, rest = g.split(":", 1)
            topic, part, off = rest.rsplit(":", 2)
            c = Consumer({**plain(env), "group.id": gid, "enable.auto.commit": False})
            c.commit(offsets=[TopicPartition(topic, int(part), int(off))], asynchronous=False)
            c.close()
        cfg = tmp / f"backup-{backup_id}.yaml"
        cfg.write_text(json.dumps({
            "mode": "backup", "backup_id": backup_id,
            "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": topics}},
            "storage": {"backend": "filesystem", "path": str(store)},
            "backup": {"stop_at_current_offsets": True, "consumer_group_snapshot": bool(groups)}}))
        p = subprocess.run([binary(), "--no-progress", "backup", "--config", str(cfg)], capture_output=True, text=True,
                           timeout=180)
        assert p.returncode == 0, p.stderr
        return store
    cmd = [fixture_tool(), "--bootstrap", env["kafka"]["listeners"]["PLAINTEXT"], "--path", str(store),
           "--backup-id", backup_id, "--frame-bytes", str(frame_bytes), "--segment-batches", str(segment_batches)]
    for t in topics:
        cmd += ["--topic", t]
    for g in groups:
        cmd += ["--group", g]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    return store


def restore_config(env: dict, tmp: Path, store: Path, backup_id: str, topics: list[str], restore: dict,
                   user: str = "restore") -> Path:
    lines = [
        "mode: restore",
        f"backup_id: {backup_id}",
        "target:",
        f"  bootstrap_servers: [\"{env['kafka']['listeners']['SASL_SSL']}\"]",
        "  security:",
        "    security_protocol: SASL_SSL",
        "    sasl_mechanism: SCRAM-SHA-512",
        f"    sasl_username: {user}",
        "    sasl_password: ${KB_TEST_RESTORE_PASSWORD}",
        f"    ssl_ca_location: {env['tls']['ca']}",
        "  topics:",
        f"    include: {json.dumps(topics)}",
        "storage:",
        "  backend: filesystem",
        f"  path: {store}",
        "restore:",
    ]
    for k, v in restore.items():
        lines.append(f"  {k}: {json.dumps(v)}")
    path = tmp / f"restore-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_restore(env: dict, config: Path, user: str = "restore", *extra: str, timeout: float = 300,
                wait: bool = True):
    e = {**os.environ, "KB_TEST_RESTORE_PASSWORD": env["users"][user]}
    cmd = [binary(), "--no-progress", "restore", "--config", str(config), *extra]
    if not wait:
        return subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
    assert env["users"][user] not in p.stdout + p.stderr, "a password leaked into the output"
    return p


def restore_with_group(env: dict, tmp: Path, store: Path, backup_id: str, src: str, group: str):
    """Restores `src` into `src`-r (created by the restore, Read granted for the commit) with `group`'s
    offsets translated; returns the target topic and the finished run."""
    dst = src + "-r"
    grant_read(env, dst, "restore")
    cfg = restore_config(env, tmp, store, backup_id, [src], {
        "topic_mapping": {src: dst}, "consumer_groups": [group], "reset_consumer_offsets": True})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    return dst, r


def sample_records(n: int, partitions: int = 1, base_ts: int | None = None) -> list[dict]:
    base_ts = base_ts or (int(time.time() * 1000) - 3_600_000)
    out = []
    for i in range(n):
        r = {"key": None if i % 7 == 3 else f"key-{i % 23}".encode(),
             "value": None if i % 11 == 5 else f"value-{i}-{'x' * (i % 40)}".encode(),
             "timestamp": base_ts + i * 10, "partition": i % partitions}
        if i % 3 == 0:
            r["headers"] = [("h", b"1"), ("h", b"2"), ("empty", b""), ("null", None)]
        out.append(r)
    return out


# ---- tests ---------------------------------------------------------------------------------------

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


def test_consumer_group_offsets_translate_through_a_window(env, tmp_path):
    src = name("groups")
    create_topic(env, src, 1)
    base = int(time.time() * 1000) - 3_600_000
    produce(env, src, [{"key": f"k{i}".encode(), "value": f"v{i}".encode(), "timestamp": base + i * 100}
                       for i in range(100)])
    source = read_partition(env, src, 0)
    g_mid, g_early = name("g-mid"), name("g-early")
    for g, off in ((g_mid, 60), (g_early, 10)):
        c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(src, 0, off)], asynchronous=False)
        c.close()
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g_mid}:{src}:0:60", f"{g_early}:{src}:0:10"])
    dst = src + "-r"
    create_topic(env, dst, 1)
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "time_window_start": base + 30 * 100,
        "consumer_groups": [g_mid, g_early], "reset_consumer_offsets": True})
    # OffsetCommit needs Read on the topic too: without it the restore is refused before any
    # record is written.
    deny_read(env, dst, "restore")
    r = run_restore(env, cfg)
    assert r.returncode == 3, r.stderr
    assert "Not authorized to access topic" in r.stderr and "Read" in r.stderr
    assert read_partition(env, dst, 0) == []
    undo_deny_read(env, dst, "restore")
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    assert len(got) == 70
    by_offset = {m["offset"]: m for m in got}
    for g, src_off, expect_src in ((g_mid, 60, 60), (g_early, 10, 30)):
        c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
        committed = c.committed([TopicPartition(dst, 0)], timeout=10)[0].offset
        c.close()
        target = by_offset[committed]
        assert (target["key"], target["value"]) == (source[expect_src]["key"], source[expect_src]["value"]), g


def test_group_with_active_members_is_refused_before_writing(env, tmp_path):
    src = name("busy")
    create_topic(env, src, 1)
    produce(env, src, [{"key": b"k", "value": b"v"}] * 5)
    g = name("busy-g")
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g}:{src}:0:2"])
    dst = src + "-r"
    create_topic(env, dst, 1)
    grant_read(env, dst, "restore")
    member = Consumer({**plain(env), "group.id": g, "session.timeout.ms": 30000})
    member.subscribe([dst])
    deadline = time.time() + 30
    while time.time() < deadline and not member.assignment():
        member.poll(0.5)
    try:
        cfg = restore_config(env, tmp_path, store, "b", [src], {
            "topic_mapping": {src: dst}, "consumer_groups": [g], "reset_consumer_offsets": True})
        r = run_restore(env, cfg)
        assert r.returncode == 1, r.stderr
        assert "active member" in r.stderr and g in r.stderr
        assert read_partition(env, dst, 0) == []
    finally:
        member.close()


def test_topic_and_partition_mapping(env, tmp_path):
    src = name("map")
    create_topic(env, src, 3)
    produce(env, src, [{"key": f"k{i}".encode(), "value": f"p{i % 3}-{i}".encode(), "partition": i % 3}
                       for i in range(90)])
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-moved"
    mapping = {0: 2, 1: 0, 2: 1}
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst},
                                                            "partition_mapping": mapping})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    for s, d in mapping.items():
        assert content(read_partition(env, dst, d)) == content(read_partition(env, src, s))


def test_murmur2_repartitioning_matches_the_librdkafka_murmur2_partitioner(env, tmp_path):
    src = name("rp")
    create_topic(env, src, 1)
    keys = [f"customer-{i}".encode() for i in range(300)] + [b"", "ünï".encode()]
    produce(env, src, [{"key": k, "value": b"v"} for k in keys] + [{"key": None, "value": b"nokey"}] * 10)
    # Reference placement: librdkafka's murmur2_random partitioner (Java-compatible) on 5 partitions,
    # as stored by the broker.
    ref = name("rp-ref")
    create_topic(env, ref, 5)
    produce(env, ref, [{"key": k, "value": b"v"} for k in keys], partitioner="murmur2_random")
    expected = {}
    for part in range(5):
        for m in read_partition(env, ref, part):
            expected[m["key"]] = part
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-5"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "repartitioning": {dst: {"strategy": "murmur2", "target_partitions": 5}}})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    assert partitions_of(env, dst) == 5
    placed, nulls = {}, 0
    for part in range(5):
        for m in read_partition(env, dst, part):
            if m["key"] is None:
                nulls += 1
            else:
                placed[m["key"]] = part
    assert placed == expected
    assert nulls == 10


def test_automatic_repartitioning_is_round_robin_in_the_dry_run_and_in_the_target(env, tmp_path):
    # issue #11 item 17: `automatic` printed round-robin in the dry run while the engine routed by
    # murmur2; a key naming the source topic was ignored once topic_mapping renamed it.
    src = name("rr")
    create_topic(env, src, 1)
    produce(env, src, [{"key": b"same" if i % 2 else b"other", "value": f"v{i}".encode()} for i in range(300)])
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-3"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "repartitioning": {src: {"strategy": "automatic", "target_partitions": 3}}})
    dry = run_restore(env, cfg, "restore", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Topic {src} -> {dst} (1 source partitions, target needs 3, repartitioned by round-robin into 3)" in dry.stdout
    assert "partition 0 -> round-robin" in dry.stdout
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    assert partitions_of(env, dst) == 3
    per_partition = [read_partition(env, dst, part) for part in range(3)]
    # Two keys would land in at most two partitions by murmur2; round-robin fills all three evenly.
    assert [len(x) for x in per_partition] == [100, 100, 100]
    assert sorted(m["value"] for x in per_partition for m in x) == sorted(f"v{i}".encode() for i in range(300))


def test_a_repartitioning_key_naming_no_restored_topic_is_exit_2(env, tmp_path):
    src = name("rpkey")
    create_topic(env, src, 1)
    produce(env, src, sample_records(10))
    store = make_backup(env, tmp_path, "b", [src])
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: src + "-r"},
        "repartitioning": {src + "-typo": {"strategy": "murmur2", "target_partitions": 3}}})
    for extra in (("--dry-run",), ()):
        r = run_restore(env, cfg, "restore", *extra)
        assert r.returncode == 2, r.stderr
        assert f"restore.repartitioning.{src}-typo: no restored topic is named" in r.stderr
    assert not topic_exists(env, src + "-r")


def test_partition_mapping_beyond_the_source_partitions_is_refused_before_creating(env, tmp_path):
    # issue #12 item 7: {0: 99} with create_topics silently created a 100-partition topic.
    src = name("pm99")
    create_topic(env, src, 1)
    produce(env, src, sample_records(10))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "partition_mapping": {0: 99}, "create_topics": True})
    for extra in (("--dry-run",), ()):
        r = run_restore(env, cfg, "restore", *extra)
        assert r.returncode == 2, r.stderr
        assert "restore.partition_mapping (0 -> 99)" in r.stderr
        assert "would create" in r.stderr and "with 100" in r.stderr
    assert not topic_exists(env, dst)


def test_kill_9_during_restore_then_rerun_restores_every_record_once(env, tmp_path):
    src = name("kill")
    create_topic(env, src, 2)
    n = 200_000
    base = int(time.time() * 1000) - 3_600_000
    p = Producer({**plain(env), "linger.ms": 5, "batch.num.messages": 200, "compression.type": "none"})
    for i in range(n):
        while True:
            try:
                p.produce(src, key=str(i).encode(), value=f"{i:08d}".encode() * 8, partition=i % 2, timestamp=base + i)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    store = make_backup(env, tmp_path, "b", [src], frame_bytes=16384, segment_batches=40)
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "max_concurrent_partitions": 1})
    proc = run_restore(env, cfg, wait=False)
    killed_at = None
    c = Consumer({**plain(env), "group.id": name("wm")})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if topic_exists(env, dst):
            try:
                total = sum(c.get_watermark_offsets(TopicPartition(dst, q), timeout=10)[1] for q in range(2))
            except KafkaException:
                time.sleep(0.05)  # the just-created topic's leaders are not known everywhere yet
                continue
            if total > 2000:
                proc.send_signal(signal.SIGKILL)
                killed_at = total
                break
        time.sleep(0.02)
    proc.wait(60)
    c.close()
    assert killed_at is not None and proc.returncode == -signal.SIGKILL, "the restore ended before it was killed"
    assert killed_at < n, "everything was restored before the kill; make the data set larger"
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    for part in range(2):
        got = read_partition(env, dst, part)
        want = read_partition(env, src, part)
        assert len(got) == len(want), f"partition {part}: {len(got)} records in the target, {len(want)} in the source"
        assert content(got) == content(want)


def test_restore_user_without_create_gets_not_authorized_exit_3_and_nothing_written(env, tmp_path):
    src = name("noacl")
    create_topic(env, src, 1)
    produce(env, src, [{"key": b"k", "value": b"v"}] * 3)
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    # The harness's `backup` user has Read+Describe on topics, no Create or Write.
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "create_topics": True},
                         user="backup")
    r = run_restore(env, cfg, user="backup")
    assert r.returncode == 3, r.stderr
    assert "Not authorized" in r.stderr
    assert dst in r.stderr
    assert not topic_exists(env, dst)
    assert not (store / "b" / "restores").exists()


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


def test_metrics_endpoint_serves_restore_counters_while_running(env, tmp_path):
    import socket
    import threading
    import urllib.request
    src = name("metrics")
    create_topic(env, src, 1)
    p = Producer({**plain(env), "linger.ms": 5})
    for i in range(40_000):
        p.produce(src, key=str(i).encode(), value=b"m" * 64)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    store = make_backup(env, tmp_path, "b", [src], frame_bytes=16384, segment_batches=40)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: src + "-r"}})
    cfg.write_text(cfg.read_text() + f"metrics:\n  enabled: true\n  bind_address: 127.0.0.1\n  port: {port}\n")
    scrapes: list[str] = []
    done = threading.Event()

    def scrape():
        while not done.is_set() and len(scrapes) < 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    scrapes.append(r.read().decode())
            except OSError:
                pass
            time.sleep(0.01)

    t = threading.Thread(target=scrape)
    t.start()
    try:
        r = run_restore(env, cfg)
    finally:
        done.set()
        t.join(10)
    assert r.returncode == 0, r.stderr
    assert scrapes, "no scrape succeeded while the restore ran"
    assert any("kafka_backup_restore_records_total{" in s for s in scrapes)
    assert env["users"]["restore"] not in "".join(scrapes)


def test_an_idle_client_on_the_metrics_port_does_not_keep_the_restore_running(env, tmp_path):
    # issue #11 item 15: a metrics session waited for its request forever and io_.run() with it.
    import socket
    import urllib.request
    src = name("idle")
    create_topic(env, src, 1)
    produce(env, src, sample_records(4000), **{"batch.num.messages": 100, "linger.ms": 5})
    store = make_backup(env, tmp_path, "b", [src])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = restore_config(env, tmp_path, store, "b", [src],
                         {"topic_mapping": {src: src + "-r"}, "rate_limit_records_per_sec": 1000})
    cfg.write_text(cfg.read_text() + f"metrics:\n  enabled: true\n  bind_address: 127.0.0.1\n  port: {port}\n")
    proc = run_restore(env, cfg, wait=False)
    idle = socket.socket()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the restore ended before its metrics port opened: " + proc.stderr.read()
            try:
                idle.connect(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline, "the metrics port never opened"
                idle.close()
                idle = socket.socket()
                time.sleep(0.05)
        # Connections are accepted in order: a scrape served after it means the idle one was accepted.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert "kafka_backup_restore_records_total{" in r.read().decode()
        assert proc.poll() is None, "the restore ended before the idle client was in place"
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("the restore did not exit while an idle client held a metrics connection")
        assert proc.returncode == 0, err
        assert "complete" in out
    finally:
        idle.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


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


def test_rate_limit_paces_produce_and_restores_everything(env, tmp_path):
    src = name("paced")
    create_topic(env, src, 1)
    produce(env, src, sample_records(3000), **{"batch.num.messages": 100, "linger.ms": 5})
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src],
                         {"topic_mapping": {src: dst}, "rate_limit_records_per_sec": 1000})
    started = time.monotonic()
    r = run_restore(env, cfg)
    took = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    assert "not supported" not in r.stderr
    # 3000 records at 1000/s with one second's burst cannot finish in under 2 s; a lower bound
    # only, so a slow machine never fails it.
    assert took >= 1.9, f"restore took {took:.2f} s: the rate limit was not applied"
    assert content(read_partition(env, dst, 0)) == content(read_partition(env, src, 0))


def test_purge_topics_is_refused_with_exit_2_before_anything_is_written(env, tmp_path):
    src = name("purge")
    create_topic(env, src, 1)
    produce(env, src, sample_records(10))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "purge_topics": True})
    r = run_restore(env, cfg)
    assert r.returncode == 2, r.stderr
    assert "restore.purge_topics: true is not supported" in r.stderr
    assert "topic_mapping" in r.stderr
    assert not topic_exists(env, dst)
    assert not (store / "b" / "restores").exists()
