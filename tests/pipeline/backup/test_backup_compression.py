"""Compressed backups store Kafka batches as columns (docs/format.md §2.5, format version 2).

Records come from confluent-kafka; the stored segments are read as bytes here (header, index and
trailer versions, the index's filter byte) and their size is compared with one plain stream of
the independent `zstd` program over the broker's own log files; a restore into a new topic must
give back every record as confluent-kafka reads it from the source.
"""
from __future__ import annotations

import json
import struct
import subprocess
import uuid
from pathlib import Path



def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env, partitions=1) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic
    name = f"kbc-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(timeout=60)
    return name


def produce_json(env, topic: str, count: int) -> None:
    """1 KB JSON events drawn from a pool of 512, as bench/e2e's D2 (issue #18 target 3's data)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 20, "batch.size": 500_000, "acks": "all",
                  "compression.type": "none"})
    events = ["click", "view", "purchase", "login"]
    pool = []
    for j in range(512):
        doc = json.dumps({"id": f"{(j * 2654435761) % 2**64:016x}", "user_id": (j * 7919) % 100_000,
                          "event": events[j % 4], "ts": 1_700_000_000_000 + j, "tags": ["a", "b"], "ok": True})
        pool.append((doc * (1024 // len(doc) + 1))[:1024].encode())
    for i in range(count):
        value = pool[(i * 193) % len(pool)]
        headers = [("trace", f"t{i % 7}".encode())] if i % 3 == 0 else None
        p.produce(topic, value, key=f"k{i:09d}".encode(), headers=headers, timestamp=1_700_000_000_000 + i)
        if i % 5000 == 0:
            p.poll(0)
    assert p.flush(60) == 0


def consume_all(env, topic: str, count: int) -> list[tuple]:
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": f"kbc-{uuid.uuid4().hex[:6]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out: list[tuple] = []
    try:
        for _ in range(600):  # bounded: at most ~10 minutes of 1 s polls
            if len(out) >= count:
                break
            for m in c.consume(num_messages=5000, timeout=1.0):
                assert m.error() is None, m.error()
                out.append((m.offset(), m.key(), m.value(), m.headers(), m.timestamp()))
    finally:
        c.close()
    return sorted(out)


def run(binary, cfg: dict, tmp: Path) -> subprocess.CompletedProcess:
    path = tmp / f"{cfg['mode']}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return subprocess.run([str(binary), "--no-progress", cfg["mode"], "--config", str(path)], capture_output=True,
                          text=True, timeout=300)


def backup(binary, env, tmp: Path, topic: str, backup_id: str, compression: str) -> Path:
    store = tmp / "store"
    r = run(binary, {"mode": "backup", "backup_id": backup_id,
                     "source": {"bootstrap_servers": [plaintext(env)], "topics": {"include": [topic]}},
                     "storage": {"backend": "filesystem", "path": str(store)},
                     "backup": {"compression": compression, "compression_level": 3, "stop_at_current_offsets": True}},
            tmp)
    assert r.returncode == 0, r.stderr
    return store / backup_id / "topics" / topic


def segment_versions(path: Path) -> tuple[int, int, int, int]:
    """(header version, index version, index byte 7, trailer version) read from the bytes."""
    b = path.read_bytes()
    assert b[:4] == b"KBSG" and b[-4:] == b"KBSE"
    index_offset = struct.unpack_from("<Q", b, len(b) - 48)[0]
    assert b[index_offset:index_offset + 4] == b"KBIX"
    return (struct.unpack_from("<H", b, 4)[0], struct.unpack_from("<H", b, index_offset + 4)[0],
            b[index_offset + 7], struct.unpack_from("<H", b, len(b) - 8)[0])


def plain_zstd_bytes(env, topic: str, level: int) -> int:
    root = Path(env["kafka"]["brokers"][0]["dir"])
    logs = sorted(f for f in root.rglob("*.log") if f.parent.name == f"{topic}-0")
    assert logs, f"no log files of {topic} under {root}"
    data = b"".join(f.read_bytes() for f in logs)
    return len(subprocess.run(["zstd", f"-{level}", "-c", "-q"], input=data, capture_output=True, check=True,
                              timeout=120).stdout)


def test_zstd_segments_are_batch_columns_smaller_than_a_plain_zstd_stream_and_restore_exactly(env, binary, tmp_path):
    topic = new_topic(env)
    count = 20_000
    produce_json(env, topic, count)

    stored = backup(binary, env, tmp_path, topic, "columns", "zstd")
    segments = sorted((stored / "0").glob("*.kbs"))
    assert segments
    for s in segments:
        assert segment_versions(s) == (2, 2, 1, 2), s.name
    stored_bytes = sum(s.stat().st_size for s in segments)
    reference = plain_zstd_bytes(env, topic, 3)
    # Without the columns the stored size is about one plain stream's (0.99x, issue #18).
    assert stored_bytes <= 0.7 * reference, f"stored {stored_bytes} bytes, one plain zstd -3 stream {reference}"

    target = f"{topic}-restored"
    r = run(binary, {"mode": "restore", "backup_id": "columns",
                     "target": {"bootstrap_servers": [plaintext(env)]},
                     "storage": {"backend": "filesystem", "path": str(tmp_path / "store")},
                     "restore": {"topic_mapping": {topic: target}}}, tmp_path)
    assert r.returncode == 0, r.stderr
    source = consume_all(env, topic, count)
    restored = consume_all(env, target, count)
    assert len(source) == count
    assert restored == source

    # validate --deep rebuilds every frame and checks every batch's CRC.
    r = subprocess.run([str(binary), "validate", "--path", str(tmp_path / "store"), "--backup-id", "columns", "--deep"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_uncompressed_segments_stay_version_1(env, binary, tmp_path):
    topic = new_topic(env)
    produce_json(env, topic, 200)
    stored = backup(binary, env, tmp_path, topic, "plain", "none")
    segments = sorted((stored / "0").glob("*.kbs"))
    assert segments
    for s in segments:
        assert segment_versions(s) == (1, 1, 0, 1), s.name
