"""One round trip, the same assertions, on all four storage backends: filesystem, S3 (versitygw,
which checks SigV4), Azure Blob (Azurite, which checks SharedKey) and GCS (fake-gcs-server, JSON API).

backup (two backup ids) → describe (record totals equal the source's end offsets) → validate --deep →
restore into a new topic, compared record by record with confluent-kafka (offset, key, value, headers,
timestamp) → prune --dry-run (the older id would go, the newer is kept, nothing is deleted).

The servers are the harness's ($KB_TEST_ENV: `cluster.py up --azurite --gcs`, as scripts/test.sh
starts it). The GCS case carries the `gcs` marker, so it runs in test.sh's GCS phase and the other
three in the single-broker phase; no case is skipped: a missing server is a failure."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import confluent_kafka as ck
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
import gcs_server  # noqa: E402

BACKENDS = ["filesystem", "s3", "azure", pytest.param("gcs", marks=pytest.mark.gcs)]
PARTITIONS = 2
RECORDS = 600


@pytest.fixture(scope="module")
def gcs(env, tmp_path_factory):
    """The harness's fake-gcs-server (`cluster.py up --gcs`), else one started for this module."""
    if env.get("gcs"):
        yield env["gcs"]
        return
    try:
        info = gcs_server.start(tmp_path_factory.mktemp("gcs-run"))
    except gcs_server.GcsError as e:
        pytest.fail(str(e), pytrace=False)
    yield info
    gcs_server.stop(info)


def without(environ: dict, *names: str) -> dict:
    return {k: v for k, v in environ.items() if k not in names}


def location(kind: str, env: dict, tmp_path: Path, request) -> tuple[dict, str, dict, list[str]]:
    """storage config, the same location as a URL, the process environment, the secrets in play."""
    prefix = f"backends-{uuid.uuid4().hex[:8]}"
    base_env = without(dict(os.environ), "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                       "AZURE_STORAGE_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST",
                       "STORAGE_EMULATOR_HOST")
    if kind == "filesystem":
        path = tmp_path / "store"
        return {"backend": "filesystem", "path": str(path)}, str(path), base_env, []
    if kind == "s3":
        s3 = env.get("s3")
        if not s3:
            pytest.fail("the harness runs without its S3 server ($KB_TEST_ENV has no s3 section)", pytrace=False)
        storage = {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
                   "path_style": True, "prefix": prefix}
        url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
        # Credentials from the AWS chain's environment step, for the config and the URL alike.
        e = {**base_env, "AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}
        return storage, url, e, [s3["secret_key"]]
    if kind == "azure":
        az = env.get("azure")
        if not az:
            pytest.fail("the harness runs without Azurite: start it with cluster.py up --azurite", pytrace=False)
        storage = {"backend": "azure", "account_name": az["account"], "container_name": az["container"],
                   "endpoint": az["endpoint"], "prefix": prefix, "account_key": az["account_key"]}
        url = f"azure://{az['account']}/{az['container']}/{prefix}?endpoint={az['endpoint']}"
        return storage, url, {**base_env, "AZURE_STORAGE_KEY": az["account_key"]}, [az["account_key"]]
    assert kind == "gcs", kind
    g = request.getfixturevalue("gcs")
    storage = {"backend": "gcs", "bucket": g["bucket"], "prefix": prefix}
    # Google's client-library convention for emulators: no credentials then.
    return storage, f"gs://{g['bucket']}/{prefix}", {**base_env, "STORAGE_EMULATOR_HOST": g["emulator_host"]}, []


def plain(env) -> dict:
    return {"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]}


def new_topic(env, name: str) -> None:
    admin = AdminClient(plain(env))
    admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = admin.list_topics(name, timeout=10).topics.get(name)
        if md is not None and md.error is None and len(md.partitions) == PARTITIONS and \
                all(p.leader >= 0 for p in md.partitions.values()):
            return
        time.sleep(0.2)
    pytest.fail(f"topic {name} has no leaders after 30 s")


def produce(env, topic: str) -> None:
    p = Producer({**plain(env), "linger.ms": 10, "batch.num.messages": 50, "compression.type": "lz4"})
    base = int(time.time() * 1000) - 3_600_000
    for i in range(RECORDS):
        headers = [("h", str(i).encode()), ("empty", b"")] if i % 3 == 0 else None
        key = None if i % 7 == 3 else f"key-{i % 23}".encode()
        value = None if i % 11 == 5 else f"value-{i}-{uuid.uuid4().hex * (1 + i % 5)}".encode()
        p.produce(topic, key=key, value=value, partition=i % PARTITIONS, timestamp=base + i, headers=headers)
        p.poll(0)
    assert p.flush(60) == 0


def read_partition(env, topic: str, partition: int) -> list[tuple]:
    c = Consumer({**plain(env), "group.id": f"backends-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        out: list[tuple] = []
        if hi <= lo:
            return out
        c.assign([TopicPartition(topic, partition, lo)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == ck.KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(str(m.error()))
            out.append((m.offset(), m.key(), m.value(), tuple(m.headers() or []), m.timestamp()))
            if m.offset() >= hi - 1:
                break
        return out
    finally:
        c.close()


def end_offsets(env, topic: str) -> dict[int, int]:
    c = Consumer({**plain(env), "group.id": f"backends-probe-{uuid.uuid4().hex[:6]}"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(PARTITIONS)}
    finally:
        c.close()


def write_config(tmp: Path, doc: dict) -> Path:
    path = tmp / f"{doc['mode']}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(doc))
    return path


def run(binary, args: list[str], environ: dict, outputs: list[str], timeout: float = 300):
    r = subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=timeout,
                       env=environ)
    outputs.append(r.stdout + r.stderr)
    return r


@pytest.mark.parametrize("kind", BACKENDS)
def test_backup_describe_validate_restore_prune_on_every_backend(kind, env, binary, tmp_path, request):
    storage, url, environ, secrets = location(kind, env, tmp_path, request)
    outputs: list[str] = []
    src = f"backends-{kind}-{uuid.uuid4().hex[:8]}"
    new_topic(env, src)
    produce(env, src)
    ends = end_offsets(env, src)
    assert sum(ends.values()) == RECORDS

    source = {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": [src]}}
    for backup_id in ("older", "newer"):
        cfg = write_config(tmp_path, {"mode": "backup", "backup_id": backup_id, "source": source,
                                      "storage": storage,
                                      "backup": {"compression": "zstd", "segment_max_bytes": 16384,
                                                 "stop_at_current_offsets": True}})
        b = run(binary, ["backup", "--config", str(cfg)], environ, outputs)
        assert b.returncode == 0, f"{kind} backup {backup_id}: {b.stderr[-3000:]}"

    ls = run(binary, ["list", "--path", url], environ, outputs)
    assert ls.returncode == 0, ls.stderr[-3000:]
    assert "older" in ls.stdout and "newer" in ls.stdout, ls.stdout

    d = run(binary, ["describe", "--path", url, "--backup-id", "older", "--format", "json"], environ, outputs)
    assert d.returncode == 0, d.stderr[-3000:]
    desc = json.loads(d.stdout)
    assert desc["totals"]["records"] == RECORDS, desc["totals"]

    v = run(binary, ["validate", "--path", url, "--backup-id", "older", "--deep"], environ, outputs)
    assert v.returncode == 0, v.stdout[-2000:] + v.stderr[-2000:]

    dst = f"{src}-restored"
    rcfg = write_config(tmp_path, {"mode": "restore", "backup_id": "older",
                                   "target": source,
                                   "storage": storage,
                                   "restore": {"topic_mapping": {src: dst}, "create_topics": True}})
    r = run(binary, ["restore", "--config", str(rcfg)], environ, outputs)
    assert r.returncode == 0, r.stderr[-3000:]
    for p in range(PARTITIONS):
        want, got = read_partition(env, src, p), read_partition(env, dst, p)
        assert len(want) == ends[p] > 0, (p, len(want), ends[p])
        assert got == want, f"{kind}: partition {p} restored differs from the source"

    pr = run(binary, ["prune", "--path", url, "--keep-last", "1", "--dry-run", "--format", "json"], environ, outputs)
    assert pr.returncode == 0, pr.stderr[-3000:]
    plan = json.loads(pr.stdout)
    assert plan["dry_run"] is True
    assert [e["backup_id"] for e in plan["deleted"]] == ["older"], plan
    assert [e["backup_id"] for e in plan["kept"]] == ["newer"], plan
    assert plan["deleted"][0]["objects"] > 0 and plan["failed"] == [], plan
    # A dry run deletes nothing: the older backup still validates in full.
    again = run(binary, ["validate", "--path", url, "--backup-id", "older", "--deep"], environ, outputs)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]

    for s in secrets:
        assert not any(s in out for out in outputs), f"{kind}: a credential appears in the output"
