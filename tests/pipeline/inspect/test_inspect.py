"""`kafka-backup list/describe/validate` after a real `kafka-backup backup` from the harness broker.

Topics are produced with kcat; describe's offsets and counts are checked against what
confluent-kafka reads from the broker. Then segments are damaged (one byte flipped, one
truncated, one deleted) on the filesystem and on the harness's S3 server (versitygw, objects
changed with curl's SigV4 signing), and `validate` must exit 4 naming each one.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def kcat(env, rdkafka_dir, *args, input_text=None, timeout=60):
    e = dict(os.environ, LD_LIBRARY_PATH=str(rdkafka_dir))
    p = subprocess.run(["kcat", "-b", plaintext(env), *args], input=input_text, capture_output=True, text=True,
                       timeout=timeout, env=e)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def new_topic(env, partitions) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbi-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(timeout=60)
    return name


def broker_view(env, topic, partitions) -> dict[int, dict]:
    """Per partition: low/high watermarks and the offsets of every record, read by confluent-kafka."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": "kbi-" + uuid.uuid4().hex[:6],
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        out = {}
        for p in range(partitions):
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            offsets = []
            if high > low:
                c.assign([TopicPartition(topic, p, low)])
                for _ in range(1000):  # bounded
                    msgs = c.consume(num_messages=500, timeout=5)
                    offsets += [m.offset() for m in msgs if m.error() is None]
                    if offsets and offsets[-1] >= high - 1:
                        break
                c.unassign()
            out[p] = {"low": low, "high": high, "offsets": offsets}
        return out
    finally:
        c.close()


def run(binary, *args, extra_env=None, timeout=180):
    e = dict(os.environ, **(extra_env or {}))
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout, env=e)


def backup(binary, tmp: Path, env, topics, backup_id, storage, extra_env=None):
    cfg = {
        "mode": "backup",
        "backup_id": backup_id,
        "source": {"bootstrap_servers": [plaintext(env)], "topics": {"include": topics}},
        "storage": storage,
        "backup": {"compression": "zstd", "segment_max_bytes": 4096},
    }
    path = tmp / f"{backup_id}.yaml"
    path.write_text(json.dumps(cfg))
    r = run(binary, "backup", "--config", str(path), "--no-progress", extra_env=extra_env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def produce(env, rdkafka_dir, topic, partitions):
    """Eight kcat runs per partition, so each partition gets at least eight batches of ~5 KiB
    (random payload, so compression cannot shrink them below the 4 KiB segment size)."""
    for p in range(partitions):
        codec = ["none", "lz4", "gzip"][p % 3]
        for round_ in range(8):
            lines = "".join(f"k{i % 7}:p{p}-r{round_}-{i}-{uuid.uuid4().hex * 2}\n" for i in range(60))
            kcat(env, rdkafka_dir, "-P", "-t", topic, "-p", str(p), "-K:", "-z", codec, input_text=lines)


def check_describe(binary, url, backup_id, env, topic, partitions, extra_env=None):
    r = run(binary, "describe", "--path", url, "--backup-id", backup_id, "--format", "json", extra_env=extra_env)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["backup_id"] == backup_id and d["format_version"] == 1
    view = broker_view(env, topic, partitions)
    (t,) = [t for t in d["topics"] if t["name"] == topic]
    assert len(t["partitions"]) == partitions
    total = 0
    for part in t["partitions"]:
        v = view[part["partition"]]
        assert part["first_offset"] == v["low"], part
        assert part["last_offset"] == v["high"] - 1, part
        assert part["records"] == len(v["offsets"]), part
        assert part["segments"] >= 2, "segment_max_bytes 4096 makes several segments"
        assert part["bytes_stored"] > 0 and part["bytes_raw"] > 0
        assert part["gaps"] == []
        total += part["records"]
    assert d["totals"]["records"] == total
    assert d["totals"]["segments"] == sum(p["segments"] for p in t["partitions"])
    return d


def segment_keys(url_root: Path | None, listing: list[str], backup_id, topic) -> list[str]:
    return sorted(k for k in listing if k.startswith(f"{backup_id}/topics/{topic}/") and k.endswith(".kbs"))


def damage_plan(keys: list[str], checkpoints: dict[str, str]):
    """A middle segment of three different partitions, none of them a checkpoint's last segment."""
    by_part: dict[str, list[str]] = {}
    for k in keys:
        by_part.setdefault(k.rsplit("/", 1)[0], []).append(k)
    picks = []
    for part, ks in sorted(by_part.items()):
        candidates = [k for k in ks[:-1] if k not in checkpoints.values()]
        assert candidates, f"{part} needs at least two segments"
        picks.append(candidates[len(candidates) // 2])
    assert len(picks) >= 3
    return picks[0], picks[1], picks[2]


def validate_finds(binary, url, backup_id, corrupt, truncated, deleted, extra_env=None):
    r = run(binary, "validate", "--path", url, "--backup-id", backup_id, "--deep", extra_env=extra_env)
    assert r.returncode == 4, r.stdout + r.stderr
    out = r.stdout
    problems = [line for line in out.splitlines() if line.startswith("problem: ")]
    assert any(corrupt in line and "checksum mismatch" in line for line in problems), out
    assert any(truncated in line for line in problems), out
    deleted_first = int(deleted.rsplit("/", 1)[1].split("-")[0])
    assert any("missing and not recorded as a gap" in line and f"offsets {deleted_first}.." in line
               for line in problems), out
    assert out.rstrip().endswith(f"{len(problems)} problems"), out
    # Shallow validation reads only indexes: the flipped frame byte is not visible there, the
    # truncation and the deletion are.
    s = run(binary, "validate", "--path", url, "--backup-id", backup_id, extra_env=extra_env)
    assert s.returncode == 4
    assert truncated in s.stdout and "not recorded as a gap" in s.stdout
    assert corrupt not in s.stdout


def test_filesystem_describe_validate_and_damage(env, binary, rdkafka_dir, tmp_path):
    topic = new_topic(env, 3)
    produce(env, rdkafka_dir, topic, 3)
    store = tmp_path / "store"
    backup(binary, tmp_path, env, [topic], "fs1", {"backend": "filesystem", "path": str(store)})

    r = run(binary, "list", "--path", str(store))
    assert r.returncode == 0, r.stderr
    assert "fs1" in r.stdout and topic in r.stdout

    check_describe(binary, str(store), "fs1", env, topic, 3)
    text = run(binary, "describe", "--path", str(store), "--backup-id", "fs1")
    assert text.returncode == 0 and f"Topic {topic} (3 partitions)" in text.stdout

    ok = run(binary, "validate", "--path", str(store), "--backup-id", "fs1", "--deep")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.rstrip().endswith("checked: OK")

    missing = run(binary, "describe", "--path", str(store), "--backup-id", "nope")
    assert missing.returncode == 1 and "backups there: fs1" in missing.stderr

    listing = [str(p.relative_to(store)) for p in store.rglob("*") if p.is_file()]
    keys = segment_keys(None, listing, "fs1", topic)
    checkpoints = {str(p): json.loads(p.read_text())["last_segment"] for p in store.rglob("checkpoint.json")}
    corrupt, truncated, deleted = damage_plan(keys, checkpoints)
    data = bytearray((store / corrupt).read_bytes())
    data[60] ^= 0xFF  # inside frame 0 (the header is 26 bytes + the topic name)
    (store / corrupt).write_bytes(bytes(data))
    size = (store / truncated).stat().st_size
    with open(store / truncated, "r+b") as f:
        f.truncate(size - 7)
    (store / deleted).unlink()
    validate_finds(binary, str(store), "fs1", corrupt, truncated, deleted)


def s3_curl(s3, method, key, data: bytes | None = None) -> bytes:
    """One signed request with curl's SigV4 (independent of our S3 client). `key` may be a query."""
    url = f"{s3['endpoint']}/{s3['bucket']}" + (key if key.startswith("?") else "/" + key)
    args = ["curl", "-sS", "--fail", "-X", method, "--aws-sigv4", f"aws:amz:{s3['region']}:s3",
            "--user", f"{s3['access_key']}:{s3['secret_key']}",
            "-H", "x-amz-content-sha256: " + hashlib.sha256(data or b"").hexdigest(), url]
    if data is not None:
        args += ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"]
    p = subprocess.run(args, input=data, capture_output=True, timeout=60)
    assert p.returncode == 0, f"curl {method} {key}: {p.stderr.decode(errors='replace')}"
    return p.stdout


def test_s3_describe_validate_and_damage(env, binary, rdkafka_dir, tmp_path):
    s3 = env["s3"]
    topic = new_topic(env, 3)
    produce(env, rdkafka_dir, topic, 3)
    prefix = "insp-" + uuid.uuid4().hex[:6]
    storage = {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
               "path_style": True, "prefix": prefix, "access_key": s3["access_key"], "secret_key": s3["secret_key"]}
    backup(binary, tmp_path, env, [topic], "s3b", storage)
    url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
    creds = {"AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}

    r = run(binary, "list", "--path", url, extra_env=creds)
    assert r.returncode == 0 and "s3b" in r.stdout, r.stdout + r.stderr
    check_describe(binary, url, "s3b", env, topic, 3, creds)
    ok = run(binary, "validate", "--path", url, "--backup-id", "s3b", "--deep", extra_env=creds)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # The keys, from our own describe-independent listing: ListObjectsV2 through curl.
    xml = s3_curl(s3, "GET", "?list-type=2&prefix=" + quote(f"{prefix}/s3b/topics/", safe="")).decode()
    assert "<IsTruncated>false</IsTruncated>" in xml
    listing = [k[len(prefix) + 1:] for k in
               (part.split("</Key>")[0] for part in xml.split("<Key>")[1:])]
    keys = segment_keys(None, listing, "s3b", topic)
    checkpoints = {k: json.loads(s3_curl(s3, "GET", f"{prefix}/{k}"))["last_segment"]
                   for k in listing if k.endswith("checkpoint.json")}
    corrupt, truncated, deleted = damage_plan(keys, checkpoints)
    data = bytearray(s3_curl(s3, "GET", f"{prefix}/{corrupt}"))
    data[60] ^= 0xFF
    s3_curl(s3, "PUT", f"{prefix}/{corrupt}", bytes(data))
    data = s3_curl(s3, "GET", f"{prefix}/{truncated}")
    s3_curl(s3, "PUT", f"{prefix}/{truncated}", data[:-7])
    s3_curl(s3, "DELETE", f"{prefix}/{deleted}")
    validate_finds(binary, url, "s3b", corrupt, truncated, deleted, creds)


def test_transactions_count_data_records_only(env, binary, tmp_path):
    """Committed and aborted transactions: `records` counts what a read_uncommitted consumer sees
    (markers excluded), offsets span the markers too, and the set validates deep."""
    from confluent_kafka import Producer

    topic = new_topic(env, 1)
    p = Producer({"bootstrap.servers": plaintext(env), "transactional.id": "kbi-" + uuid.uuid4().hex[:8]})
    p.init_transactions(30)
    for commit in (True, False, True):
        p.begin_transaction()
        for i in range(25):
            p.produce(topic, key=b"k", value=f"v{i}".encode(), partition=0)
        p.flush(30)  # on the broker before the abort (abort purges what is still queued)
        p.commit_transaction(30) if commit else p.abort_transaction(30)
    p.flush(30)
    store = tmp_path / "store"
    backup(binary, tmp_path, env, [topic], "tx", {"backend": "filesystem", "path": str(store)})

    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": "kbi-" + uuid.uuid4().hex[:6],
                  "isolation.level": "read_uncommitted", "enable.auto.commit": False})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        c.assign([TopicPartition(topic, 0, low)])
        seen = []
        for _ in range(20):  # bounded
            batch = [m.offset() for m in c.consume(num_messages=500, timeout=3) if m.error() is None]
            seen += batch
            if len(seen) >= 75 or (seen and not batch):
                break
    finally:
        c.close()
    assert len(seen) == 75, "three transactions of 25 records, aborted one included"

    r = run(binary, "describe", "--path", str(store), "--backup-id", "tx", "--format", "json")
    assert r.returncode == 0, r.stderr
    (part,) = json.loads(r.stdout)["topics"][0]["partitions"]
    assert part["records"] == len(seen)
    assert part["first_offset"] == low and part["last_offset"] == high - 1  # the last marker
    assert part["batches"] >= 6, "three data batches and three markers"
    v = run(binary, "validate", "--path", str(store), "--backup-id", "tx", "--deep")
    assert v.returncode == 0, v.stdout + v.stderr


def test_compacted_topic_holes_are_not_problems(env, binary, rdkafka_dir, tmp_path):
    """Compaction leaves offset holes that are not retention gaps: validate must accept them."""
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"kbi-c-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    cfg = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
           "delete.retention.ms": "100", "min.compaction.lag.ms": "0"}
    for f in admin.create_topics([NewTopic(topic, 1, 1, config=cfg)]).values():
        f.result(timeout=60)
    for round_ in range(3):
        kcat(env, rdkafka_dir, "-P", "-t", topic, "-p", "0", "-K:",
             input_text="".join(f"k{i % 5}:r{round_}-{i}\n" for i in range(50)))
        time.sleep(0.3)
    deadline = time.time() + 45  # bounded wait for the cleaner
    while time.time() < deadline:
        out = kcat(env, rdkafka_dir, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o\n")
        if len(out.split()) < 150:
            break
        kcat(env, rdkafka_dir, "-P", "-t", topic, "-p", "0", "-K:", input_text="roll:x\n")
        time.sleep(2)
    offsets = [int(o) for o in out.split()]
    assert len(offsets) < offsets[-1] + 1, "the cleaner left holes"
    store = tmp_path / "store"
    backup(binary, tmp_path, env, [topic], "cmp", {"backend": "filesystem", "path": str(store)})
    v = run(binary, "validate", "--path", str(store), "--backup-id", "cmp", "--deep")
    assert v.returncode == 0, v.stdout + v.stderr
    r = run(binary, "describe", "--path", str(store), "--backup-id", "cmp", "--format", "json")
    (part,) = json.loads(r.stdout)["topics"][0]["partitions"]
    # The cleaner may still run while the backup reads, so the count is bounded, not exact.
    assert 0 < part["records"] <= offsets[-1] + 1 and part["gaps"] == []
