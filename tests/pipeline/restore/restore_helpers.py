"""What the restore tests share: the harness environment and the built binary, topics and records
made and read back with confluent-kafka (librdkafka), ACLs, backup sets made from the broker's own
batches by the restore_make_backup_set fixture, and restore configs and runs. Imported by the
test_restore_*.py files here and by tests elsewhere that restore."""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/ is on sys.path (its conftest.py)

import confluent_kafka as ck
from confluent_kafka import Consumer, Producer, TopicPartition
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
