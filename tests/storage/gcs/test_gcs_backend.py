"""The GCS backend end to end: kafka-backup against a real fake-gcs-server (GCS JSON API) and the
harness's broker. Data is produced and checked record by record with confluent-kafka; stored
objects are looked at through the JSON API with urllib (no code shared with ours)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import confluent_kafka as ck
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

pytestmark = pytest.mark.gcs


def plain(env) -> dict:
    return {"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]}


def new_topic(env, partitions: int) -> str:
    t = f"gcs-{uuid.uuid4().hex[:10]}"
    admin = AdminClient(plain(env))
    admin.create_topics([NewTopic(t, partitions, 1)])[t].result(60)
    deadline = time.time() + 30
    while time.time() < deadline:
        md = admin.list_topics(t, timeout=10).topics.get(t)
        if md is not None and md.error is None and len(md.partitions) == partitions and \
                all(p.leader >= 0 for p in md.partitions.values()):
            return t
        time.sleep(0.2)
    pytest.fail(f"topic {t} has no leaders after 30 s")


def records(n: int, partitions: int) -> list[dict]:
    base = int(time.time() * 1000) - 3_600_000
    out = []
    for i in range(n):
        r = {"key": None if i % 7 == 3 else f"key-{i % 23}".encode(),
             "value": None if i % 11 == 5 else f"value-{i}-{uuid.uuid4().hex * (1 + i % 4)}".encode(),
             "timestamp": base + i * 10, "partition": i % partitions}
        if i % 3 == 0:
            r["headers"] = [("h", b"1"), ("h", b"2"), ("empty", b"")]
        out.append(r)
    return out


def produce(env, topic: str, recs: list[dict]) -> None:
    p = Producer({**plain(env), "linger.ms": 20, "batch.num.messages": 50})
    for r in recs:
        kw = {k: r[k] for k in ("partition", "timestamp", "headers") if r.get(k) is not None}
        p.produce(topic, key=r.get("key"), value=r.get("value"), **kw)
        p.poll(0)
    assert p.flush(30) == 0


def read_partition(env, topic: str, partition: int) -> list[tuple]:
    c = Consumer({**plain(env), "group.id": f"gcs-reader-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    out = []
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
            out.append((m.offset(), m.key(), m.value(), tuple(m.headers() or []), m.timestamp()[1]))
            if m.offset() >= hi - 1:
                break
    c.close()
    return out


def end_offsets(env, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({**plain(env), "group.id": f"gcs-probe-{uuid.uuid4().hex[:6]}"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    finally:
        c.close()


def emulator_env(gcs) -> dict:
    e = dict(os.environ, STORAGE_EMULATOR_HOST=gcs["emulator_host"])
    for k in ("GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST"):
        e.pop(k, None)
    return e


def run(binary, args, extra_env, timeout=300):
    return subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=timeout,
                          env=extra_env)


def backup_config(tmp: Path, env, topics, backup_id, storage, backup=None) -> Path:
    cfg = {"mode": "backup", "backup_id": backup_id,
           "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": topics}},
           "storage": storage, "backup": {"compression": "zstd", **(backup or {})}}
    path = tmp / f"backup-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def objects(gcs, prefix: str) -> list[dict]:
    """Every object under prefix, through the JSON API (pageToken followed)."""
    out, token = [], ""
    for _ in range(1000):
        q = {"prefix": prefix, "maxResults": "1000", **({"pageToken": token} if token else {})}
        url = f"{gcs['endpoint']}/storage/v1/b/{gcs['bucket']}/o?" + urllib.parse.urlencode(q)
        with urllib.request.urlopen(url, timeout=10) as r:
            page = json.loads(r.read())
        out += page.get("items", [])
        token = page.get("nextPageToken", "")
        if not token:
            return out
    raise AssertionError("listing did not end")


def test_backup_validate_restore_round_trip_on_gcs(env, binary, gcs, tmp_path):
    parts = 2
    src = new_topic(env, parts)
    recs = records(3000, parts)
    produce(env, src, recs)
    # One large record set on partition 0 so its segment exceeds the 8 MiB resumable chunk.
    produce(env, src, [{"key": f"big-{i}".encode(), "value": os.urandom(64 << 10), "partition": 0} for i in range(160)])
    prefix = f"rt-{uuid.uuid4().hex[:6]}"
    storage = {"backend": "gcs", "bucket": gcs["bucket"], "prefix": prefix,
               "kms_key_name": "projects/kb-test/locations/us/keyRings/kb/cryptoKeys/backups"}
    cfg = backup_config(tmp_path, env, [src], "gcsrt", storage,
                        {"compression": "none", "segment_max_bytes": 64 << 20, "stop_at_current_offsets": True})
    e = emulator_env(gcs)
    b = run(binary, ["backup", "--config", str(cfg)], e)
    assert b.returncode == 0, b.stderr
    assert "credentials from no credentials (STORAGE_EMULATOR_HOST is set)" in b.stderr
    big = [o for o in objects(gcs, prefix + "/") if int(o["size"]) > 8 << 20]
    assert big, "no segment above the 8 MiB chunk size: the resumable path was not exercised"

    for url in (f"gs://{gcs['bucket']}/{prefix}", f"gcs://{gcs['bucket']}/{prefix}/"):
        ls = run(binary, ["list", "--path", url], e)
        assert ls.returncode == 0 and "gcsrt" in ls.stdout, ls.stdout + ls.stderr
        d = run(binary, ["describe", "--path", url, "--backup-id", "gcsrt", "--format", "json"], e)
        assert d.returncode == 0, d.stderr
        desc = json.loads(d.stdout)
        ends = end_offsets(env, src, parts)
        assert desc["totals"]["records"] == sum(ends.values())
        v = run(binary, ["validate", "--path", url, "--backup-id", "gcsrt", "--deep"], e)
        assert v.returncode == 0, v.stdout + v.stderr

    dst = f"{src}-restored"
    rcfg = tmp_path / "restore.yaml"
    rcfg.write_text(json.dumps({
        "mode": "restore", "backup_id": "gcsrt",
        "target": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": [src]}},
        "storage": storage, "restore": {"topic_mapping": {src: dst}, "create_topics": True}}))
    r = run(binary, ["restore", "--config", str(rcfg)], e)
    assert r.returncode == 0, r.stderr
    for p in range(parts):
        want = read_partition(env, src, p)
        got = read_partition(env, dst, p)
        assert len(got) == len(want) and len(want) > 0
        assert got == want, f"partition {p}: restored records differ from the source"


def test_kill_9_and_resume_stores_every_offset_once_on_gcs(env, binary, dump_tool, gcs, tmp_path):
    parts = 3
    t = new_topic(env, parts)
    produce(env, t, records(6000, parts))
    stop = threading.Event()

    def produce_live():
        pr = Producer({**plain(env), "linger.ms": 5, "batch.num.messages": 40})
        for i in range(100000):
            if stop.is_set():
                break
            pr.produce(t, key=f"live{i}".encode(), value=uuid.uuid4().hex.encode(), partition=i % parts)
            if i % 200 == 0:
                pr.poll(0)
                time.sleep(0.005)
        pr.flush(30)

    prefix = f"kill-{uuid.uuid4().hex[:6]}"
    storage = {"backend": "gcs", "bucket": gcs["bucket"], "prefix": prefix}
    live = backup_config(tmp_path, env, [t], "killed", storage,
                         {"continuous": True, "segment_max_bytes": 32768, "segment_max_interval_ms": 150,
                          "fetch_max_bytes": 65536, "poll_interval_ms": 50})
    e = emulator_env(gcs)

    def writes() -> set:
        return {(o["name"], o.get("generation")) for o in objects(gcs, prefix + "/")}

    producer = threading.Thread(target=produce_live)
    producer.start()
    rng = random.Random(7)
    kills = 0
    started = time.time()
    try:
        for _ in range(12):
            if time.time() - started > 90:
                break
            before = writes()
            proc = subprocess.Popen([str(binary), "backup", "--config", str(live), "--no-progress"], env=e,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            target = rng.randint(1, 6)
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline and len(writes() - before) < target:
                time.sleep(0.02)
            alive = proc.poll() is None
            if alive:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            _, err = proc.communicate(timeout=30)
            assert alive, f"the continuous backup ended by itself: {err[-800:]}"
    finally:
        stop.set()
        producer.join(timeout=60)
    assert kills >= 8
    ends = end_offsets(env, t, parts)
    final = backup_config(tmp_path, env, [t], "killed", storage, {"segment_max_bytes": 32768})
    r = run(binary, ["backup", "--config", str(final)], e)
    assert r.returncode == 0, r.stderr
    url = f"gs://{gcs['bucket']}/{prefix}"
    for p in range(parts):
        d = subprocess.run([str(dump_tool), url, "killed", t, str(p)], capture_output=True, text=True, timeout=120,
                           env=e)
        assert d.returncode == 0, d.stderr
        rows = [json.loads(x) for x in d.stdout.splitlines() if x.strip()]
        offsets = []
        for b in (x for x in rows if "hex" in x):
            offsets.extend(range(b["first"], b["last"] + 1))
        assert len(offsets) == len(set(offsets)), f"partition {p}: an offset is stored twice"
        assert sorted(offsets) == list(range(0, ends[p])), f"partition {p}: stored offsets differ from the source"
    v = run(binary, ["validate", "--path", url, "--backup-id", "killed", "--deep"], e)
    assert v.returncode == 0, v.stdout + v.stderr


def test_missing_bucket_is_exit_2_naming_the_key(env, binary, gcs, tmp_path):
    t = new_topic(env, 1)
    missing = f"kb-missing-{uuid.uuid4().hex[:8]}"
    e = emulator_env(gcs)
    cfg = backup_config(tmp_path, env, [t], "nobucket", {"backend": "gcs", "bucket": missing, "prefix": "x"})
    r = run(binary, ["backup", "--config", str(cfg)], e, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "storage.bucket" in r.stderr and missing in r.stderr, r.stderr
    ls = run(binary, ["list", "--path", f"gs://{missing}/x"], e, timeout=60)
    assert ls.returncode == 2, ls.stderr
    assert missing in ls.stderr


def test_unparsable_gcs_url_is_exit_2(binary, gcs):
    r = run(binary, ["list", "--path", "gs://Not_A_Bucket/x"], emulator_env(gcs), timeout=30)
    assert r.returncode == 2, r.stderr
    assert "bucket" in r.stderr


def no_gcp_env(tmp_path) -> dict:
    """The environment without any Google credential source (HOME has no gcloud file)."""
    e = dict(os.environ, HOME=str(tmp_path))
    for k in ("GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "STORAGE_EMULATOR_HOST", "CLOUDSDK_CONFIG"):
        e.pop(k, None)
    return e


def key_body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_service_account_key_is_exchanged_at_a_real_oauth2_server(env, binary, gcs, oauth2, service_account_key,
                                                                   tmp_path):
    t = new_topic(env, 1)
    produce(env, t, records(200, 1))
    token_uri = f"{oauth2['url']}/gcs/token"
    key, pem = service_account_key(token_uri)
    prefix = f"sa-{uuid.uuid4().hex[:6]}"
    storage = {"backend": "gcs", "bucket": gcs["bucket"], "prefix": prefix, "endpoint": gcs["endpoint"],
               "service_account_path": str(key)}
    cfg = backup_config(tmp_path, env, [t], "sa", storage, {"stop_at_current_offsets": True})
    r = run(binary, ["backup", "--config", str(cfg)], no_gcp_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (f"credentials from service account kafka-backup@kb-test.iam.gserviceaccount.com from {key} "
            f"(storage.service_account_path) at {token_uri}") in r.stderr, r.stderr
    assert not any(line in r.stderr + r.stdout for line in key_body_lines(pem))
    # The same key through GOOGLE_APPLICATION_CREDENTIALS, for a URL.
    e = dict(no_gcp_env(tmp_path), GOOGLE_APPLICATION_CREDENTIALS=str(key))
    v = run(binary, ["validate", "--path", f"gs://{gcs['bucket']}/{prefix}?endpoint={gcs['endpoint']}",
                     "--backup-id", "sa", "--deep"], e)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "(GOOGLE_APPLICATION_CREDENTIALS)" in v.stderr


def test_short_lived_tokens_are_refreshed_during_a_continuous_backup(env, binary, dump_tool, gcs, oauth2, tmp_path):
    """gcloud user credentials (refresh_token grant) whose tokens live 12 s: a continuous backup
    fetches new ones before expiry and no upload fails."""
    parts = 2
    t = new_topic(env, parts)
    token_uri = f"{oauth2['url']}/short/token"
    adc = tmp_path / "adc.json"
    adc.write_text(json.dumps({"type": "authorized_user", "client_id": "kb-client", "client_secret": "cs-9f3e1d2c",
                               "refresh_token": "rt-5b7a0c44e1", "token_uri": token_uri}))
    prefix = f"refresh-{uuid.uuid4().hex[:6]}"
    storage = {"backend": "gcs", "bucket": gcs["bucket"], "prefix": prefix, "endpoint": gcs["endpoint"]}
    cfg = backup_config(tmp_path, env, [t], "refresh", storage,
                        {"continuous": True, "segment_max_bytes": 16384, "segment_max_interval_ms": 200,
                         "poll_interval_ms": 50})
    e = dict(no_gcp_env(tmp_path), GOOGLE_APPLICATION_CREDENTIALS=str(adc))
    proc = subprocess.Popen([str(binary), "--no-progress", "--log-level", "debug", "backup", "--config", str(cfg)],
                            env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr))
    reader.start()
    try:
        deadline = time.monotonic() + 60
        # Produce until two refreshes happened (each ~6 s), so uploads run across token changes.
        while time.monotonic() < deadline and sum("refreshed" in line for line in err_lines) < 2:
            produce(env, t, records(50, parts))
            time.sleep(0.3)
            assert proc.poll() is None, "".join(err_lines[-20:])
        produce(env, t, records(50, parts))
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        reader.join(timeout=10)
    text = "".join(err_lines)
    assert rc == 0, text[-2000:]
    assert sum("refreshed" in line for line in err_lines) >= 2, "the token was not refreshed"
    assert "refreshing the access token failed" not in text
    assert not [line for line in err_lines if " warn " in line and "gcs:" in line], "a GCS request failed"
    assert "cs-9f3e1d2c" not in text and "rt-5b7a0c44e1" not in text
    # Everything produced is stored: a final snapshot run adds the tail, then every offset is there once.
    final = backup_config(tmp_path, env, [t], "refresh", storage, {"stop_at_current_offsets": True})
    r = run(binary, ["backup", "--config", str(final)], e)
    assert r.returncode == 0, r.stderr
    ends = end_offsets(env, t, parts)
    for p in range(parts):
        d = subprocess.run([str(dump_tool), f"gs://{gcs['bucket']}/{prefix}?endpoint={gcs['endpoint']}", "refresh", t,
                            str(p)], capture_output=True, text=True, timeout=120, env=e)
        assert d.returncode == 0, d.stderr
        offsets = []
        for b in (json.loads(x) for x in d.stdout.splitlines() if x.strip()):
            if "hex" in b:
                offsets.extend(range(b["first"], b["last"] + 1))
        assert sorted(offsets) == list(range(ends[p])), f"partition {p}"


def test_refused_token_exits_3_naming_backend_source_and_fix(env, binary, gcs, oauth2, service_account_key,
                                                            tmp_path):
    """No key file: the metadata server is asked; here GCE_METADATA_HOST names a real HTTP server
    (mock-oauth2-server) that has no metadata endpoint and refuses (404)."""
    t = new_topic(env, 1)
    storage = {"backend": "gcs", "bucket": gcs["bucket"], "prefix": "refused", "endpoint": gcs["endpoint"]}
    cfg = backup_config(tmp_path, env, [t], "refused", storage)
    host = oauth2["url"].removeprefix("http://")
    r = run(binary, ["backup", "--config", str(cfg)], dict(no_gcp_env(tmp_path), GCE_METADATA_HOST=host), timeout=120)
    assert r.returncode == 3, r.stderr
    assert "GCS access token" in r.stderr
    assert f"the metadata server http://{host}" in r.stderr
    assert "GOOGLE_APPLICATION_CREDENTIALS" in r.stderr and "workload identity" in r.stderr
    # Nothing answers at the metadata address: exit 3, saying what was looked at.
    r2 = run(binary, ["list", "--path", f"gs://{gcs['bucket']}/x?endpoint={gcs['endpoint']}"],
             dict(no_gcp_env(tmp_path), GCE_METADATA_HOST="127.0.0.1:1"), timeout=120)
    assert r2.returncode == 3, r2.stderr
    assert "no GCS credentials" in r2.stderr and "metadata server http://127.0.0.1:1" in r2.stderr
    # A service-account key whose token endpoint refuses the jwt-bearer request (the "short"
    # issuer answers 401 invalid_client): exit 3 naming the account, the key file and the fix.
    key, pem = service_account_key(f"{oauth2['url']}/short/token")
    r3 = run(binary, ["list", "--path", f"gs://{gcs['bucket']}/x?endpoint={gcs['endpoint']}"],
             dict(no_gcp_env(tmp_path), GOOGLE_APPLICATION_CREDENTIALS=str(key)), timeout=120)
    assert r3.returncode == 3, r3.stderr
    assert "kafka-backup@kb-test.iam.gserviceaccount.com" in r3.stderr and str(key) in r3.stderr
    assert "refused to issue a GCS access token (HTTP 401 invalid_client" in r3.stderr
    assert "download a new key" in r3.stderr
    assert not any(line in r3.stderr + r3.stdout for line in key_body_lines(pem))
