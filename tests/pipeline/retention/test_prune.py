"""`kafka-backup prune` after real `kafka-backup backup` runs from the harness broker, on the
filesystem and on the harness's S3 server (versitygw).

Backup ages are set by rewriting each backup.json's created_ms/updated_ms (the only clock prune
reads); what remains is checked independently of our code: the directory tree on the filesystem,
a ListObjectsV2 through curl's SigV4 on S3, and the data of the kept backups through `validate --deep`
plus a confluent-kafka count of the topic.
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

DAY_MS = 24 * 3600 * 1000


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def run(binary, *args, extra_env=None, timeout=180):
    e = dict(os.environ, **(extra_env or {}))
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout, env=e)


def new_topic_with_records(env, records=200) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbp-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, 2, 1)]).values():
        f.result(timeout=60)
    p = Producer({"bootstrap.servers": plaintext(env)})
    for i in range(records):
        p.produce(name, key=f"k{i}".encode(), value=f"v{i}-{uuid.uuid4().hex}".encode(), partition=i % 2)
    assert p.flush(30) == 0
    return name


def backup(binary, tmp: Path, env, topic, backup_id, storage, extra_env=None):
    cfg = {"mode": "backup", "backup_id": backup_id,
           "source": {"bootstrap_servers": [plaintext(env)], "topics": {"include": [topic]}},
           "storage": storage, "backup": {"compression": "zstd", "stop_at_current_offsets": True}}
    path = tmp / f"{backup_id}.yaml"
    path.write_text(json.dumps(cfg))
    r = run(binary, "backup", "--config", str(path), "--no-progress", extra_env=extra_env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def aged(manifest: bytes, age_days: float) -> bytes:
    m = json.loads(manifest)
    m["created_ms"] = m["updated_ms"] = int(time.time() * 1000 - age_days * DAY_MS)
    return json.dumps(m).encode()


def lease(expires_in_s: float) -> bytes:
    now = int(time.time() * 1000)
    return json.dumps({"owner": "otherhost:4242:cafe", "acquired_ms": now,
                       "expires_ms": now + int(expires_in_s * 1000)}).encode()


def fs_ids(store: Path) -> set[str]:
    return {p.name for p in store.iterdir()}


def test_filesystem_prune_dry_run_then_delete(env, binary, tmp_path):
    topic = new_topic_with_records(env)
    store = tmp_path / "store"
    ages = {"old40": 40, "old20": 20, "leased30": 30, "mid10": 10, "new0": 0}
    for bid in ages:
        backup(binary, tmp_path, env, topic, bid, {"backend": "filesystem", "path": str(store)})
    for bid, days in ages.items():
        m = store / bid / "backup.json"
        m.write_bytes(aged(m.read_bytes(), days))
    (store / "leased30" / "lock.json").write_bytes(lease(600))  # a backup is "writing" it
    (store / "notes").mkdir()
    (store / "notes" / "readme.txt").write_text("not a backup: prune must leave it")
    before = sorted(str(p.relative_to(store)) for p in store.rglob("*"))

    dry = run(binary, "prune", "--path", str(store), "--keep-last", "1", "--max-age-days", "14", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete old40" in dry.stdout and "would delete old20" in dry.stdout, dry.stdout
    assert "kept leased30" in dry.stdout and "lease" in dry.stdout
    assert "kept mid10" in dry.stdout and "kept new0" in dry.stdout
    assert "nothing was deleted" in dry.stdout
    assert sorted(str(p.relative_to(store)) for p in store.rglob("*")) == before

    r = run(binary, "prune", "--path", str(store), "--keep-last", "1", "--max-age-days", "14", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert sorted(b["backup_id"] for b in out["deleted"]) == ["old20", "old40"]
    assert sorted(b["backup_id"] for b in out["kept"]) == ["leased30", "mid10", "new0"]
    assert out["failed"] == [] and out["totals"]["deleted"] == 2 and out["dry_run"] is False
    assert fs_ids(store) == {"leased30", "mid10", "new0", "notes"}
    assert (store / "notes" / "readme.txt").read_text().startswith("not a backup")

    # What stayed is whole: every kept backup validates deep and holds every record of the topic.
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": "kbp-" + uuid.uuid4().hex[:6]})
    try:
        total = sum(h - lo for lo, h in (c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                                         for p in range(2)))
    finally:
        c.close()
    for bid in ("leased30", "mid10", "new0"):
        v = run(binary, "validate", "--path", str(store), "--backup-id", bid, "--deep")
        assert v.returncode == 0, v.stdout + v.stderr
        d = json.loads(run(binary, "describe", "--path", str(store), "--backup-id", bid, "--format", "json").stdout)
        assert d["totals"]["records"] == total == 200

    # keep-last alone: only the newest stays, except what a live lease protects.
    r = run(binary, "prune", "--path", str(store), "--keep-last", "1")
    assert r.returncode == 0, r.stderr
    assert "deleted mid10" in r.stdout and "kept leased30" in r.stdout, r.stdout
    assert fs_ids(store) == {"leased30", "new0", "notes"}
    # Once the lease is gone (expired), the next prune deletes it.
    (store / "leased30" / "lock.json").write_bytes(lease(-60))
    r = run(binary, "prune", "--path", str(store), "--keep-last", "1")
    assert r.returncode == 0, r.stderr
    assert fs_ids(store) == {"new0", "notes"}


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


def s3_keys(s3, prefix) -> list[str]:
    xml = s3_curl(s3, "GET", "?list-type=2&max-keys=1000&prefix=" + quote(prefix + "/", safe="")).decode()
    assert "<IsTruncated>false</IsTruncated>" in xml
    return [k[len(prefix) + 1:] for k in (part.split("</Key>")[0] for part in xml.split("<Key>")[1:])]


def test_s3_prune(env, binary, tmp_path):
    s3 = env["s3"]
    topic = new_topic_with_records(env)
    prefix = "prune-" + uuid.uuid4().hex[:6]
    storage = {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
               "path_style": True, "prefix": prefix, "access_key": s3["access_key"], "secret_key": s3["secret_key"]}
    ages = {"a-old": 9, "b-old": 8, "c-new": 1}
    for bid in ages:
        backup(binary, tmp_path, env, topic, bid, storage)
    for bid, days in ages.items():
        key = f"{prefix}/{bid}/backup.json"
        s3_curl(s3, "PUT", key, aged(s3_curl(s3, "GET", key), days))
    kept_before = sorted(k for k in s3_keys(s3, prefix) if k.startswith("c-new/"))
    url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
    creds = {"AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}

    dry = run(binary, "prune", "--path", url, "--keep-last", "1", "--max-age-days", "7", "--dry-run", extra_env=creds)
    assert dry.returncode == 0, dry.stderr
    assert "would delete a-old" in dry.stdout and "would delete b-old" in dry.stdout, dry.stdout
    assert {k.split("/")[0] for k in s3_keys(s3, prefix)} == set(ages)

    r = run(binary, "prune", "--path", url, "--keep-last", "1", "--max-age-days", "7", extra_env=creds)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deleted a-old" in r.stdout and "deleted b-old" in r.stdout and "kept c-new" in r.stdout, r.stdout
    keys = s3_keys(s3, prefix)
    assert sorted(keys) == kept_before, "only c-new's objects remain, all of them"
    assert s3["secret_key"] not in r.stdout + r.stderr

    # Wrong credentials: an authorization failure (exit 3), nothing deleted.
    bad = dict(creds, AWS_SECRET_ACCESS_KEY="not-the-secret")
    r = run(binary, "prune", "--path", url, "--keep-last", "0", "--max-age-days", "0", extra_env=bad)
    assert r.returncode == 3, r.stdout + r.stderr
    assert sorted(s3_keys(s3, prefix)) == kept_before


def test_prune_usage_errors(binary, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    cases = [
        (["--path", str(store)], "needs --keep-last"),
        (["--path", str(store), "--keep-last", "0"], "would delete every backup"),
        (["--path", str(store), "--keep-last", "two"], "not a whole number"),
        (["--path", str(store), "--keep-last", "-1"], "not a whole number"),
        (["--path", str(store), "--keep-last", "1", "--max-age-days", "1.5"], "not a whole number"),
        (["--keep-last", "1"], "--path"),
        (["--path", str(store), "--keep-last", "1", "--format", "xml"], "--format"),
        (["--path", str(store), "--keep-last", "1", "--deep"], "unknown flag"),
    ]
    for args, phrase in cases:
        r = run(binary, "prune", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert phrase in r.stderr, (args, r.stderr)
        assert "usage: kafka-backup prune" in r.stderr
    r = run(binary, "prune", "--path", str(tmp_path / "missing"), "--keep-last", "1")
    assert r.returncode != 0 and "does not exist" in r.stderr, r.stderr
    r = run(binary, "prune", "--path", str(store), "--keep-last", "3")
    assert r.returncode == 0 and "deleted 0 backups" in r.stdout, r.stdout + r.stderr
