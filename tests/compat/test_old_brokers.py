"""Older brokers (issue #16): Kafka 3.9 (KRaft) and 2.8 (ZooKeeper; log.message.format.version
0.10.2, so the broker stores and serves legacy v1 message sets). Against each: a backup over
SASL_SSL/SCRAM, `validate --deep`, a restore over SASL_SSL/SCRAM with consumer-group offset
translation, checked record by record with confluent-kafka on the PLAINTEXT listener. And a
backup taken from the harness's 4.1.1 restored into 3.9, and the reverse.

The negotiated API versions of each broker are printed (`compat: Kafka <v> ...`) from the
tool's debug log; docs/reliability.md records them."""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

RUN_BOUND = 180  # s per run of the tool


def name(prefix: str) -> str:
    return f"kbcompat-{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap: str, topic: str, partitions: int, config: dict | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})]).values():
        f.result(timeout=60)


def produce(bootstrap: str, topic: str, legacy: bool) -> None:
    """Each codec the broker accepts (zstd needs message format v2), 2 partitions, keys, null
    values and (v2 only) headers."""
    codecs = ("none", "gzip", "snappy", "lz4") if legacy else ("none", "gzip", "snappy", "lz4", "zstd")
    for codec in codecs:
        p = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20,
                      "enable.idempotence": False})
        for i in range(60):
            value = None if i % 17 == 5 else f"{codec}-v{i}-".encode() + b"x" * (i % 50)
            headers = None if legacy else [("h", f"{codec}{i}".encode()), ("n", None)]
            p.produce(topic, key=f"{codec}-k{i}".encode(), value=value, partition=i % 2, headers=headers)
        assert p.flush(60) == 0


def read_partition(bootstrap: str, topic: str, partition: int) -> list[dict]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": name("read"), "enable.auto.commit": False})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        out: list[dict] = []
        if hi <= lo:
            return out
        c.assign([TopicPartition(topic, partition, lo)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            out.append({"offset": m.offset(), "key": m.key(), "value": m.value(),
                        "headers": m.headers() or [], "timestamp": m.timestamp()[1]})
            if m.offset() >= hi - 1:
                break
        assert out and out[-1]["offset"] == hi - 1, f"{topic}[{partition}]: read stopped before {hi - 1}"
        return out
    finally:
        c.close()


def content(msgs: list[dict]) -> list[tuple]:
    return [(m["key"], m["value"], m["headers"], m["timestamp"]) for m in msgs]


def commit(bootstrap: str, group: str, topic: str, offsets: dict[int, int]) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    c.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return {t.partition: t.offset for t in
                c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)}
    finally:
        c.close()


def cluster_cfg(bootstrap: str, topics: list[str], security: dict | None) -> dict:
    c = {"bootstrap_servers": [bootstrap], "topics": {"include": topics}}
    if security:
        c["security"] = security
    return c


def scram(env: dict, user: str, mech: str) -> tuple[dict, dict]:
    """The SASL_SSL section for `user` (password through ${KB_COMPAT_PASSWORD}) and its environment."""
    return ({"security_protocol": "SASL_SSL", "sasl_mechanism": mech, "sasl_username": user,
             "sasl_password": "${KB_COMPAT_PASSWORD}", "ssl_ca_location": env["ca"]},
            {"KB_COMPAT_PASSWORD": env["passwords"][user]})


def run_tool(binary: Path, args: list[str], extra_env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=RUN_BOUND,
                       env={**os.environ, **(extra_env or {})}, stdin=subprocess.DEVNULL)
    return p


def backup(binary: Path, tmp: Path, source: dict, store: Path, backup_id: str, extra_env: dict | None = None):
    cfg = tmp / f"backup-{uuid.uuid4().hex[:6]}.yaml"
    cfg.write_text(json.dumps({"mode": "backup", "backup_id": backup_id, "source": source,
                               "storage": {"backend": "filesystem", "path": str(store)},
                               "backup": {"stop_at_current_offsets": True, "consumer_group_snapshot": True}}))
    r = run_tool(binary, ["--log-level", "debug", "backup", "--config", str(cfg)], extra_env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def restore(binary: Path, tmp: Path, target: dict, store: Path, backup_id: str, mapping: dict, groups: list[str],
            extra_env: dict | None = None):
    cfg = tmp / f"restore-{uuid.uuid4().hex[:6]}.yaml"
    cfg.write_text(json.dumps({"mode": "restore", "backup_id": backup_id, "target": target,
                               "storage": {"backend": "filesystem", "path": str(store)},
                               "restore": {"topic_mapping": mapping, "create_topics": True,
                                           "consumer_groups": groups, "reset_consumer_offsets": True}}))
    r = run_tool(binary, ["--log-level", "debug", "restore", "--config", str(cfg)], extra_env)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def validate_deep(binary: Path, store: Path, backup_id: str) -> None:
    v = run_tool(binary, ["validate", "--path", str(store), "--backup-id", backup_id, "--deep"])
    assert v.returncode == 0, v.stdout + v.stderr
    assert "OK" in v.stdout, v.stdout


def described_records(binary: Path, store: Path, backup_id: str) -> dict[int, int]:
    d = run_tool(binary, ["describe", "--path", str(store), "--backup-id", backup_id, "--format", "json"])
    assert d.returncode == 0, d.stderr
    doc = json.loads(d.stdout)
    return {p["partition"]: p["records"] for t in doc["topics"] for p in t["partitions"]}


def negotiated(log: str, broker: str) -> str:
    m = re.search(rf"broker {re.escape(broker)}: (ApiVersions v\d+; negotiated [^\n]*)", log)
    assert m, f"no negotiation line for {broker} in the debug log"
    return m.group(1)


def check_round_trip(binary: Path, tmp: Path, src_bootstrap: str, src_security, src_env, dst_bootstrap: str,
                     dst_security, dst_env, src_plain: str, dst_plain: str, legacy: bool,
                     dst_config: dict | None = None) -> tuple[str, str]:
    """Produce on the source, back up, validate --deep, restore into the target, compare record by
    record, check the group's translated offsets. Returns the two debug logs. `dst_config`: the
    target topic is created beforehand with this config (else the restore creates it)."""
    src = name("src")
    dst = src + "-r"
    create_topic(src_plain, src, 2)
    if dst_config is not None:
        create_topic(dst_plain, dst, 2, dst_config)
    produce(src_plain, src, legacy)
    source = {q: read_partition(src_plain, src, q) for q in range(2)}
    group = name("g")
    commit(src_plain, group, src, {0: 40, 1: 7})
    store = tmp / "store"
    b = backup(binary, tmp, cluster_cfg(src_bootstrap, [src], src_security), store, "compat", src_env)
    validate_deep(binary, store, "compat")
    assert described_records(binary, store, "compat") == {q: len(source[q]) for q in range(2)}
    r = restore(binary, tmp, cluster_cfg(dst_bootstrap, [src], dst_security), store, "compat", {src: dst}, [group],
                dst_env)
    for q in range(2):
        got = read_partition(dst_plain, dst, q)
        assert content(got) == content(source[q]), f"partition {q}: restored records differ"
    got_offsets = committed(dst_plain, group, dst, 2)
    for q, src_off in ((0, 40), (1, 7)):
        want = next(m for m in source[q] if m["offset"] == src_off)
        got = next(m for m in read_partition(dst_plain, dst, q) if m["offset"] == got_offsets[q])
        assert (got["key"], got["value"]) == (want["key"], want["value"]), f"group offset of partition {q}"
    return b.stderr, r.stderr


@pytest.mark.parametrize("version", ["3.9.1", "2.8.2"])
def test_round_trip_over_sasl_ssl_scram(old_brokers, binary, tmp_path, version):
    env = old_brokers(version)
    bsec, benv = scram(env, "backup", "SCRAM-SHA-512")
    rsec, renv = scram(env, "restore", "SCRAM-SHA-256")
    sasl = env["listeners"]["SASL_SSL"]
    plain = env["listeners"]["PLAINTEXT"]
    legacy = version.startswith("2.")
    # On 2.8 the broker's default format is v1 (0.10.2), which refuses the restore's idempotent
    # batches (see the next test): the target topic gets the current format, the source keeps v1.
    blog, _ = check_round_trip(binary, tmp_path, sasl, bsec, benv, sasl, rsec, renv, plain, plain, legacy=legacy,
                               dst_config={"message.format.version": "2.8"} if legacy else None)
    line = f"compat: Kafka {version} ({env['mode']}): {negotiated(blog, sasl)}"
    print(line, flush=True)
    if os.environ.get("KB_COMPAT_NEGOTIATED"):  # scripts/test.sh prints these after the phase
        with open(os.environ["KB_COMPAT_NEGOTIATED"], "a") as f:
            f.write(line + "\n")


def test_restore_into_a_topic_of_the_old_message_format_fails_fast_with_the_fix(old_brokers, binary, tmp_path):
    """A 2.8 topic in message format v1 refuses idempotent batches with UNSUPPORTED_FOR_MESSAGE_FORMAT
    on every try: exit 1 at once, naming the setting to change (it was retried 12 times, ~40 s,
    then reported without a hint)."""
    env = old_brokers("2.8.2")
    plain = env["listeners"]["PLAINTEXT"]
    src = name("fmt")
    create_topic(plain, src, 1)
    produce(plain, src, legacy=True)
    store = tmp_path / "store"
    backup(binary, tmp_path, cluster_cfg(plain, [src], None), store, "fmt")
    rsec, renv = scram(env, "restore", "SCRAM-SHA-512")
    cfg = tmp_path / "restore.yaml"
    cfg.write_text(json.dumps({"mode": "restore", "backup_id": "fmt",
                               "target": cluster_cfg(env["listeners"]["SASL_SSL"], [src], rsec),
                               "storage": {"backend": "filesystem", "path": str(store)},
                               "restore": {"topic_mapping": {src: src + "-r"}, "create_topics": True}}))
    t = time.monotonic()
    r = run_tool(binary, ["restore", "--config", str(cfg)], renv)
    took = time.monotonic() - t
    assert r.returncode == 1, r.stderr[-2000:]
    assert "UNSUPPORTED_FOR_MESSAGE_FORMAT" in r.stderr and "message.format.version" in r.stderr, r.stderr[-2000:]
    assert took < 20, f"took {took:.0f} s: the refusal was retried"
    assert env["passwords"]["restore"] not in r.stderr + r.stdout


def test_legacy_message_sets_are_what_the_2_8_broker_serves(old_brokers, binary, tmp_path, dump_tool):
    """The 2.8 broker really serves v1 message sets (else the round trip above proves nothing
    about them): the stored segments hold magic-1 entries, compressed wrappers among them."""
    env = old_brokers("2.8.2")
    plain = env["listeners"]["PLAINTEXT"]
    src = name("legacy")
    create_topic(plain, src, 2)
    produce(plain, src, legacy=True)
    store = tmp_path / "store"
    backup(binary, tmp_path, cluster_cfg(plain, [src], None), store, "legacy")
    dump = subprocess.run([str(dump_tool), str(store), "legacy", src, "0"], capture_output=True, text=True,
                          timeout=60)
    assert dump.returncode == 0, dump.stderr
    batches = [json.loads(line) for line in dump.stdout.splitlines() if '"hex"' in line]
    magics = {int(b["hex"][32:34], 16) for b in batches}
    assert magics == {1}, f"stored entries have magic {magics}"
    # A compressed wrapper covers several offsets (its own offset is its last inner message's).
    wrappers = [b for b in batches if b["records"] > 1]
    assert wrappers, "no compressed v1 wrapper stored"
    assert all(b["last"] - b["first"] + 1 == b["records"] for b in wrappers), wrappers[:3]
    assert sum(b["records"] for b in batches) == sum(1 for i in range(60) if i % 2 == 0) * 4


@pytest.mark.parametrize("direction", ["4.1.1-to-3.9.1", "3.9.1-to-4.1.1"])
def test_backup_of_one_version_restores_into_the_other(env, old_brokers, binary, tmp_path, direction):
    old = old_brokers("3.9.1")
    new_plain = env["kafka"]["listeners"]["PLAINTEXT"]
    old_plain = old["listeners"]["PLAINTEXT"]
    src, dst = (new_plain, old_plain) if direction.startswith("4.1.1") else (old_plain, new_plain)
    check_round_trip(binary, tmp_path, src, None, None, dst, None, None, src, dst, legacy=False)
