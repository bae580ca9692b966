"""Cross-check of our Kafka client with independent ones, against the harness's broker ($KB_TEST_ENV).

kcat (librdkafka) produces with each codec, with headers, null keys and tombstones; our fetch
(the `kb_net_probe` driver, built in tests/net) must return the same records kcat reads back:
offset, key, value, headers, timestamp. The other way round, records our encoder produces with
each codec are read identically by kcat. Transactions: confluent-kafka commits and aborts; our
fetch reports the aborted transactions, the control batches and the last stable offset.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/ is on sys.path (its conftest.py)

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


# ---- environment ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def env_path() -> str:
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    if json.loads(Path(path).read_text())["profile"] != "single":
        pytest.fail("these tests need the single-node harness profile", pytrace=False)
    return path


@pytest.fixture(scope="session")
def env(env_path) -> dict:
    return harness_env.load(env_path)


@pytest.fixture(scope="session")
def probe() -> Path:
    explicit = os.environ.get("KB_NET_PROBE")
    if explicit:
        p = Path(explicit)
    else:
        binary = os.environ.get("KB_BINARY")
        assert binary, "set KB_BINARY (<build>/cli/kafka-backup) or KB_NET_PROBE"
        p = Path(binary).parent.parent / "tests" / "net" / "kb_net_probe"
    assert p.is_file(), f"kb_net_probe not found at {p} (ninja -C <build> tests/net/kb_net_probe)"
    return p


def bootstrap(env: dict) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env: dict, prefix: str) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap(env)})
    for f in admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=30).values():
        f.result(timeout=60)
    return name


def kcat(rdkafka_dir: Path, env: dict, *args: str, input_text: str | None = None) -> str:
    cmd = ["kcat", "-b", bootstrap(env), *args]
    e = dict(os.environ, LD_LIBRARY_PATH=str(rdkafka_dir))
    p = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=60, env=e,
                       stdin=None if input_text is not None else subprocess.DEVNULL)
    assert p.returncode == 0, f"kcat {' '.join(args[:4])}…: rc={p.returncode} {p.stderr[-800:]}"
    return p.stdout


def kcat_read(rdkafka_dir: Path, env: dict, topic: str) -> list[dict]:
    """Every record of partition 0 as kcat -C -J sees it, normalised for comparison."""
    out = kcat(rdkafka_dir, env, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-J", "-q")
    records = []
    for line in out.splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        h = m.get("headers") or []
        records.append({"offset": m["offset"], "timestamp": m["ts"], "key": m["key"], "value": m["payload"],
                        "headers": [[h[i], h[i + 1]] for i in range(0, len(h), 2)]})
    return records


def run_probe(probe: Path, env_path: str, verb: str, *args: str) -> dict:
    p = subprocess.run([str(probe), verb, "--env", env_path, *args], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    out = json.loads(p.stdout) if p.stdout.strip() else {}
    assert p.returncode == 0, f"kb_net_probe {verb}: {out.get('error')} {p.stderr[-500:]}"
    return out


def our_fetch(probe: Path, env_path: str, topic: str, *extra: str) -> dict:
    return run_probe(probe, env_path, "fetch", "--topic", topic, *extra)


def comparable(records: list[dict]) -> list[dict]:
    return [{k: r[k] for k in ("offset", "timestamp", "key", "value", "headers")} for r in records]


# ---- kcat produces, we fetch ------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_kcat_produced_records_fetch_identically(env, env_path, probe, rdkafka_dir, codec):
    topic = new_topic(env, f"kb-net-kcat-{codec}")
    pad = "x" * 400  # compressible, so librdkafka keeps the codec (it sends uncompressed otherwise)
    common = ["-P", "-t", topic, "-p", "0", "-X", f"compression.codec={codec}", "-X", "linger.ms=50"]
    # 1. keyed records with two headers
    kcat(rdkafka_dir, env, *common, "-K", ":", "-H", "trace=abc", "-H", "origin=kcat",
         input_text="".join(f"key-{i}:value-{i}-{pad}\n" for i in range(5)))
    # 2. null keys
    kcat(rdkafka_dir, env, *common, input_text="".join(f"no-key-{i}-{pad}\n" for i in range(3)))
    # 3. tombstones: empty value sent as NULL
    kcat(rdkafka_dir, env, *common, "-K", ":", "-Z", input_text="".join(f"gone-{i}:\n" for i in range(2)))

    theirs = kcat_read(rdkafka_dir, env, topic)
    assert len(theirs) == 10
    assert [r["key"] for r in theirs[5:8]] == [None, None, None]
    assert [r["value"] for r in theirs[8:]] == [None, None]
    assert theirs[0]["headers"] == [["trace", "abc"], ["origin", "kcat"]]

    ours = our_fetch(probe, env_path, topic)
    assert comparable(ours["records"]) == theirs
    codecs = {b["codec"] for b in ours["batches"]}
    assert codecs == {codec} or (codec != "none" and codec in codecs and codecs <= {codec, "none"}), codecs
    assert ours["high_watermark"] == 10


def test_kcat_over_sasl_ssl_scram_matches_our_fetch_over_sasl_ssl(env, env_path, probe, rdkafka_dir):
    topic = new_topic(env, "kb-net-kcat-sasl")
    sasl = ["-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=admin",
            "-X", f"sasl.password={env['users']['admin']}", "-X", f"ssl.ca.location={env['tls']['ca']}"]
    cmd = ["kcat", "-b", env["kafka"]["listeners"]["SASL_SSL"], *sasl, "-P", "-t", topic, "-K", ":",
           "-X", "compression.codec=zstd", "-H", "h=1"]
    e = dict(os.environ, LD_LIBRARY_PATH=str(rdkafka_dir))
    p = subprocess.run(cmd, input="".join(f"k{i}:v{i}{'y' * 300}\n" for i in range(4)), capture_output=True,
                       text=True, timeout=60, env=e)
    assert p.returncode == 0, p.stderr[-500:].replace(env["users"]["admin"], "***")
    theirs = kcat_read(rdkafka_dir, env, topic)
    ours = our_fetch(probe, env_path, topic, "--listener", "SASL_SSL", "--mechanism", "SCRAM-SHA-512",
                     "--user", "backup")
    assert len(theirs) == 4
    assert comparable(ours["records"]) == theirs


# ---- we produce, kcat reads -------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_our_records_read_identically_by_kcat(env, env_path, probe, rdkafka_dir, tmp_path, codec):
    topic = new_topic(env, f"kb-net-ours-{codec}")
    ts = int(time.time() * 1000)  # now: the shared broker's 7-day retention must not delete the log mid-test
    sent = [
        {"key": "k0", "value": "v0-" + "z" * 300, "timestamp": ts, "headers": [["a", "1"], ["b", "two"]]},
        {"key": None, "value": "null-key", "timestamp": ts + 1, "headers": []},
        {"key": "tomb", "value": None, "timestamp": ts + 2, "headers": [["why", "deleted"]]},
        {"key": "", "value": "", "timestamp": ts + 3, "headers": []},
        {"key": "ü-ключ", "value": "värde ✓", "timestamp": ts - 5000, "headers": [["ü", "✓"]]},
    ]
    for batch in (sent[:3], sent[3:]):
        f = tmp_path / "records.json"
        f.write_text(json.dumps(batch))
        run_probe(probe, env_path, "produce", "--topic", topic, "--codec", codec, "--input", str(f))

    theirs = kcat_read(rdkafka_dir, env, topic)
    want = [dict(r, offset=i) for i, r in enumerate(sent)]
    # kcat prints an empty key or value as "" and a null one as null.
    assert theirs == [{k: w[k] for k in ("offset", "timestamp", "key", "value", "headers")} for w in want]
    ours = our_fetch(probe, env_path, topic)
    assert comparable(ours["records"]) == theirs
    assert [b["codec"] for b in ours["batches"]] == [codec, codec]


# ---- transactions (confluent-kafka) -----------------------------------------------------------

def test_transactions_aborted_list_and_control_batches(env, env_path, probe):
    from confluent_kafka import Consumer, Producer, TopicPartition

    topic = new_topic(env, "kb-net-txn")
    p = Producer({"bootstrap.servers": bootstrap(env), "transactional.id": f"kb-net-txn-{uuid.uuid4().hex[:8]}",
                  "linger.ms": 5})
    p.init_transactions(30)
    plan = [("commit", ["c1", "c2", "c3"]), ("abort", ["a1", "a2"]), ("commit", ["c4"]), ("abort", ["a3"])]
    for outcome, values in plan:
        p.begin_transaction()
        for v in values:
            p.produce(topic, value=v.encode(), key=f"key-{v}".encode(), partition=0)
        p.flush(30)
        (p.commit_transaction if outcome == "commit" else p.abort_transaction)(30)

    # Layout: each transaction's records followed by one control batch (its marker).
    # c1 c2 c3 [C] a1 a2 [A] c4 [C] a3 [A]  -> offsets 0..10
    unc = our_fetch(probe, env_path, topic, "--isolation", "uncommitted")
    com = our_fetch(probe, env_path, topic, "--isolation", "committed")
    for f in (unc, com):
        assert f["high_watermark"] == 11
        assert f["last_stable_offset"] == 11
        assert [r["value"] for r in f["records"]] == ["c1", "c2", "c3", "a1", "a2", "c4", "a3"]
        assert [r["offset"] for r in f["records"]] == [0, 1, 2, 4, 5, 7, 9]
        assert all(r["transactional"] for r in f["records"])
        control = [b for b in f["batches"] if b["control"]]
        assert [(b["marker"], b["marker_offset"]) for b in control] == [("commit", 3), ("abort", 6), ("commit", 8),
                                                                        ("abort", 10)]
        pids = {b["producer_id"] for b in f["batches"]}
        assert len(pids) == 1 and next(iter(pids)) >= 0
    pid = unc["batches"][0]["producer_id"]
    # read_uncommitted: the broker sends no aborted-transaction list (null or empty).
    assert unc["aborted_transactions"] == []
    # read_committed: one entry per aborted transaction in the fetched range, with its first offset.
    assert sorted((a["producer_id"], a["first_offset"]) for a in com["aborted_transactions"]) == [(pid, 4), (pid, 9)]
    assert com["aborted_transactions_null"] is False

    # Applying the list as a consumer would leaves exactly what confluent-kafka's read_committed sees.
    aborted_starts = {a["first_offset"] for a in com["aborted_transactions"]}
    abort_markers = [b["marker_offset"] for b in com["batches"] if b["control"] and b["marker"] == "abort"]
    visible = []
    for r in com["records"]:
        start = max((s for s in aborted_starts if s <= r["offset"]), default=None)
        # an aborted transaction runs from its first offset to the producer's next abort marker
        in_aborted = start is not None and r["offset"] < min(m for m in abort_markers if m > start)
        if not in_aborted:
            visible.append(r["value"])
    c = Consumer({"bootstrap.servers": bootstrap(env), "group.id": f"kb-net-txn-{uuid.uuid4().hex[:8]}",
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    seen = []
    for _ in range(60):
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            seen.append(m.value().decode())
        if len(seen) >= 4:
            break
    c.close()
    assert visible == seen == ["c1", "c2", "c3", "c4"]


def test_open_transaction_holds_the_last_stable_offset(env, env_path, probe):
    from confluent_kafka import Producer

    topic = new_topic(env, "kb-net-txn-open")
    p = Producer({"bootstrap.servers": bootstrap(env), "transactional.id": f"kb-net-open-{uuid.uuid4().hex[:8]}"})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=b"done", partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    p.produce(topic, value=b"pending", partition=0)
    p.flush(30)
    try:
        com = our_fetch(probe, env_path, topic, "--isolation", "committed")
        unc = our_fetch(probe, env_path, topic, "--isolation", "uncommitted")
        assert com["high_watermark"] == 3
        assert com["last_stable_offset"] == 2  # the open transaction's first offset
        assert [r["value"] for r in com["records"]] == ["done"]  # read_committed stops at the LSO
        assert [r["value"] for r in unc["records"]] == ["done", "pending"]
    finally:
        p.abort_transaction(30)
    after = our_fetch(probe, env_path, topic, "--isolation", "committed")
    assert after["last_stable_offset"] == after["high_watermark"] == 4
    assert [(b["marker"], b["marker_offset"]) for b in after["batches"] if b["control"]] == [("commit", 1),
                                                                                             ("abort", 3)]
