"""kafka-backup against Azure Blob (Azurite, which checks SharedKey and SAS signatures): backup →
validate --deep → restore → record-by-record check with confluent-kafka; kill -9 and resume; list,
describe and validate through the azure:// URL; the refusals (wrong key → 403 → exit 3, missing
container → exit 2). Needs $KB_TEST_ENV with an "azure" section (cluster.py up --azurite) and
$KB_BINARY."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))
import azurite  # noqa: E402  (tests/harness/azurite.py: SharedKey requests for checks)


@pytest.fixture(scope="module")
def az(env) -> dict:
    if not env.get("azure"):
        pytest.fail("the harness runs without Azurite: start it with cluster.py up --azurite", pytrace=False)
    return env["azure"]


def plain(env) -> dict:
    return {"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]}


def name(prefix: str) -> str:
    return f"az-{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(env, topic: str, partitions: int) -> None:
    admin = AdminClient(plain(env))
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    deadline = time.time() + 30
    while time.time() < deadline:
        t = admin.list_topics(topic, timeout=10).topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.2)
    pytest.fail(f"topic {topic} has no leaders after 30 s")


def produce(env, topic: str, n: int, partitions: int, start: int = 0) -> None:
    p = Producer({**plain(env), "linger.ms": 5, "batch.num.messages": 20, "compression.type": "lz4"})
    for i in range(start, start + n):
        p.produce(topic, key=f"k{i}".encode(), value=(f"v{i}-" + "x" * (i % 200)).encode(),
                  headers=[("h", str(i).encode())], partition=i % partitions, timestamp=1_700_000_000_000 + i)
        p.poll(0)
    assert p.flush(30) == 0


def read_all(env, topic: str, partition: int) -> list[tuple]:
    c = Consumer({**plain(env), "group.id": name("reader"), "enable.auto.commit": False,
                  "enable.partition.eof": True})
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    out: list[tuple] = []
    if hi > lo:
        c.assign([TopicPartition(topic, partition, lo)])
        deadline = time.time() + 60
        while time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(str(m.error()))
            out.append((m.offset(), m.key(), m.value(), m.headers() or [], m.timestamp()[1]))
            if m.offset() >= hi - 1:
                break
    c.close()
    return out


def storage(az, prefix: str, **extra) -> dict:
    return {"backend": "azure", "account_name": az["account"], "container_name": az["container"],
            "endpoint": az["endpoint"], "prefix": prefix, **extra}


def url(az, prefix: str) -> str:
    return f"azure://{az['account']}/{az['container']}/{prefix}?endpoint={az['endpoint']}"


def key_env(az) -> dict:
    return {**os.environ, "AZURE_STORAGE_KEY": az["account_key"]}


def write_backup_config(tmp: Path, env, topics, backup_id, store: dict, backup: dict | None = None) -> Path:
    cfg = {"mode": "backup", "backup_id": backup_id,
           "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": topics}},
           "storage": store, "backup": {"compression": "zstd", **(backup or {})}}
    path = tmp / f"backup-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def write_restore_config(tmp: Path, env, backup_id, topic: str, target: str, store: dict) -> Path:
    cfg = {"mode": "restore", "backup_id": backup_id,
           "target": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": [topic]}},
           "storage": store, "restore": {"topic_mapping": {topic: target}, "create_topics": True}}
    path = tmp / f"restore-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def run(binary, *args, env=None, timeout=180):
    return subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=timeout,
                          env=env or dict(os.environ))


def blob_names(az, prefix: str) -> list[str]:
    status, body = azurite.request(
        "GET", f"{az['blob_endpoint']}/{az['container']}?restype=container&comp=list&prefix="
               f"{urllib.parse.quote(prefix, safe='')}", az["account"], az["account_key"])
    assert status == 200, body[:300]
    text = body.decode()
    return [part.split("</Name>")[0] for part in text.split("<Name>")[1:]]


def assert_restored_identically(env, src: str, dst: str, partitions: int, expected: int) -> None:
    total = 0
    for p in range(partitions):
        a, b = read_all(env, src, p), read_all(env, dst, p)
        assert [r[1:] for r in a] == [r[1:] for r in b], f"partition {p} differs"
        total += len(b)
    assert total == expected


def test_backup_validate_restore_round_trip_on_azure(env, binary, az, tmp_path):
    src, dst, prefix = name("src"), name("dst"), f"e2e-{uuid.uuid4().hex[:8]}"
    create_topic(env, src, 3)
    produce(env, src, 3000, 3)
    store = storage(az, prefix, account_key=az["account_key"])
    # Small segments, so the backup writes many blobs; 1 MiB segments go up as blocks.
    cfg = write_backup_config(tmp_path, env, [src], "azset", store,
                              {"segment_max_bytes": 1_200_000, "stop_at_current_offsets": True})
    r = run(binary, "backup", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert az["account_key"] not in r.stdout + r.stderr
    names = blob_names(az, prefix + "/")
    assert f"{prefix}/azset/backup.json" in names
    assert any(n.endswith(".kbs") for n in names)

    v = run(binary, "validate", "--path", url(az, prefix), "--backup-id", "azset", "--deep", env=key_env(az))
    assert v.returncode == 0, v.stdout + v.stderr
    ls = run(binary, "list", "--path", url(az, prefix), env=key_env(az))
    assert ls.returncode == 0 and "azset" in ls.stdout, ls.stdout + ls.stderr
    d = run(binary, "describe", "--path", url(az, prefix), "--backup-id", "azset", env=key_env(az))
    assert d.returncode == 0 and src in d.stdout, d.stdout + d.stderr

    rc = write_restore_config(tmp_path, env, "azset", src, dst, store)
    r = run(binary, "restore", "--config", str(rc))
    assert r.returncode == 0, r.stderr
    assert_restored_identically(env, src, dst, 3, 3000)


def test_kill_9_during_backup_then_resume_stores_every_offset_once(env, binary, az, tmp_path):
    src, dst, prefix = name("kill"), name("killdst"), f"kill-{uuid.uuid4().hex[:8]}"
    create_topic(env, src, 2)
    produce(env, src, 20000, 2)
    store = storage(az, prefix, account_key=az["account_key"])
    # The killed run is continuous, so it cannot finish before the kill however fast the machine is;
    # the resumed run stops at the current offsets.
    live = write_backup_config(tmp_path, env, [src], "killed", store, {"segment_max_bytes": 65536, "continuous": True})
    cfg = write_backup_config(tmp_path, env, [src], "killed", store,
                              {"segment_max_bytes": 65536, "stop_at_current_offsets": True})
    proc = subprocess.Popen([str(binary), "--no-progress", "backup", "--config", str(live)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = False
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if sum(n.endswith(".kbs") for n in blob_names(az, prefix + "/")) >= 3:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    proc.wait(30)
    assert killed and proc.returncode == -signal.SIGKILL, f"the backup ended before it was killed: {proc.stderr.read()[-2000:]}"

    r = run(binary, "backup", "--config", str(cfg))  # resumes from the checkpoints
    assert r.returncode == 0, r.stderr
    v = run(binary, "validate", "--path", url(az, prefix), "--backup-id", "killed", "--deep", env=key_env(az))
    assert v.returncode == 0, v.stdout + v.stderr
    rc = write_restore_config(tmp_path, env, "killed", src, dst, store)
    r = run(binary, "restore", "--config", str(rc))
    assert r.returncode == 0, r.stderr
    assert_restored_identically(env, src, dst, 2, 20000)


def test_wrong_account_key_is_403_exit_3_naming_backend_source_and_fix(env, binary, az, tmp_path):
    import base64
    wrong = base64.b64encode(os.urandom(64)).decode()
    topic = name("wrong")
    create_topic(env, topic, 1)
    produce(env, topic, 10, 1)
    cfg = write_backup_config(tmp_path, env, [topic], "wrongkey",
                              storage(az, "wrong", account_key=wrong))
    r = run(binary, "backup", "--config", str(cfg))
    assert r.returncode == 3, r.stderr
    assert "Azure Blob" in r.stderr and "403" in r.stderr, r.stderr
    assert "storage.account_key" in r.stderr, r.stderr
    assert wrong not in r.stdout + r.stderr and az["account_key"] not in r.stdout + r.stderr
    ls = run(binary, "list", "--path", url(az, "wrong"), env={**os.environ, "AZURE_STORAGE_KEY": wrong})
    assert ls.returncode == 3, ls.stderr
    assert "AZURE_STORAGE_KEY" in ls.stderr and wrong not in ls.stdout + ls.stderr


def test_missing_container_is_exit_2_naming_the_key(env, binary, az, tmp_path):
    store = storage(az, "p", account_key=az["account_key"])
    store["container_name"] = "no-such-container"
    topic = name("nocont")
    create_topic(env, topic, 1)
    produce(env, topic, 10, 1)
    cfg = write_backup_config(tmp_path, env, [topic], "nocontainer", store)
    r = run(binary, "backup", "--config", str(cfg))
    assert r.returncode == 2, r.stderr
    assert "storage.container_name" in r.stderr and "no-such-container" in r.stderr, r.stderr
    ls = run(binary, "list", "--path", f"azure://{az['account']}/no-such-container/p?endpoint={az['endpoint']}",
             env=key_env(az))
    assert ls.returncode == 2, ls.stderr
    assert "storage.container_name" in ls.stderr


def test_unparsable_azure_url_is_exit_2(binary):
    r = run(binary, "list", "--path", "azure://UPPER/container")
    assert r.returncode == 2, r.stderr
    assert "azure://ACCOUNT/CONTAINER/prefix" in r.stderr
