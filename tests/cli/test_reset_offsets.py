"""`kafka-backup reset-offsets` through the built binary ($KB_BINARY) against the harness's real broker
($KB_TEST_ENV): a group that consumed part of a topic (committed with confluent-kafka, then closed) is reset
to-earliest / to-latest / to-timestamp / to-offset and the committed offsets are read back with
confluent-kafka's AdminClient; an active group (a live confluent-kafka consumer) is refused and keeps its
offsets; --dry-run commits nothing; a principal without group ACLs exits 3; the run summary has the counts."""
from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/ is on sys.path (its conftest.py)
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 2
PER_PARTITION = 10
BASE_TS = 1_700_000_000_000  # record i of each partition has timestamp BASE_TS + i * 1000


@pytest.fixture(scope="module")
def env() -> dict:
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    return harness_env.load(path)


@pytest.fixture(scope="module")
def binary() -> str:
    path = os.environ.get("KB_BINARY")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("KB_BINARY must name the built kafka-backup binary", pytrace=False)
    return path


@pytest.fixture(scope="module")
def bootstrap(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]  # ANONYMOUS is a super user in the harness


@pytest.fixture(scope="module")
def topic(bootstrap) -> str:
    name = f"kb-reset-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, PARTITIONS, 1)]).values():
        f.result(timeout=60)
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(PARTITIONS):
        for i in range(PER_PARTITION):
            p.produce(name, value=f"v{part}-{i}".encode(), partition=part, timestamp=BASE_TS + i * 1000)
    assert p.flush(30) == 0
    return name


def consumed_group(bootstrap: str, topic: str, upto: int) -> str:
    """A group that read `upto` records of each partition and committed, then closed."""
    group = f"kb-reset-g-{uuid.uuid4().hex[:8]}"
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        seen = {p: 0 for p in range(PARTITIONS)}
        deadline = time.monotonic() + 60
        while sum(seen.values()) < PARTITIONS * PER_PARTITION and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            seen[m.partition()] += 1
        assert sum(seen.values()) == PARTITIONS * PER_PARTITION, seen
        c.commit(offsets=[TopicPartition(topic, p, upto) for p in range(PARTITIONS)], asynchronous=False)
    finally:
        c.close()
    return group


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    res = fut.result(timeout=60)
    return {tp.partition: tp.offset for tp in res.topic_partitions if tp.topic == topic}


def run_reset(binary, tmp: Path, source: dict, reset: dict, *args, env_extra: dict | None = None):
    cfg = {"source": source, "reset_offsets": reset}
    path = tmp / f"reset-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    e = dict(os.environ, **(env_extra or {}))
    return subprocess.run([binary, "reset-offsets", "--config", str(path), *args], capture_output=True, text=True,
                          timeout=180, env=e)


def plaintext(bootstrap) -> dict:
    return {"bootstrap_servers": [bootstrap]}


@pytest.mark.parametrize("reset, want", [
    ({"strategy": "to-earliest"}, 0),
    ({"strategy": "to-latest"}, PER_PARTITION),
    ({"strategy": "to-timestamp", "timestamp": BASE_TS + 3000}, 3),
    ({"strategy": "to-timestamp", "timestamp": "2023-11-14T22:13:23.5Z"}, 4),  # BASE_TS + 3500 ms
    ({"strategy": "to-timestamp", "timestamp": BASE_TS + 3_600_000}, PER_PARTITION),  # past the end: latest
    ({"strategy": "to-offset", "offset": 7}, 7),
    ({"strategy": "to-offset", "offset": 99}, PER_PARTITION),  # clamped to the end, as Kafka does
], ids=["earliest", "latest", "timestamp-ms", "timestamp-rfc3339", "timestamp-past-end", "offset", "offset-clamped"])
def test_reset_strategy_commits_the_offsets(binary, bootstrap, topic, tmp_path, reset, want):
    group = consumed_group(bootstrap, topic, 5)
    assert committed(bootstrap, group, topic) == {0: 5, 1: 5}
    r = run_reset(binary, tmp_path, plaintext(bootstrap), {"groups": [group], "topics": [topic], **reset})
    assert r.returncode == 0, r.stderr
    assert committed(bootstrap, group, topic) == {p: want for p in range(PARTITIONS)}
    lines = [line.split() for line in r.stdout.splitlines() if line.startswith(group)]
    assert sorted(lines) == sorted([[group, topic, str(p), "5", "->", str(want)] for p in range(PARTITIONS)]), r.stdout


def test_topics_absent_means_the_groups_committed_partitions_and_json_and_summary(binary, bootstrap, topic, tmp_path):
    group = consumed_group(bootstrap, topic, 6)
    summary = tmp_path / "summary.json"
    r = run_reset(binary, tmp_path, plaintext(bootstrap), {"groups": [group], "strategy": "to-earliest"},
                  "--format", "json", "--summary-file", str(summary))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["strategy"] == "to-earliest" and out["dry_run"] is False and out["groups"] == [group]
    assert sorted((x["topic"], x["partition"], x["old_offset"], x["new_offset"]) for x in out["partitions"]) == \
        [(topic, p, 6, 0) for p in range(PARTITIONS)]
    assert committed(bootstrap, group, topic) == {0: 0, 1: 0}
    s = json.loads(summary.read_text())
    assert (s["command"], s["exit_code"], s["outcome"], s["partitions"]) == ("reset-offsets", 0, "succeeded", 2)


def test_dry_run_commits_nothing(binary, bootstrap, topic, tmp_path):
    group = consumed_group(bootstrap, topic, 5)
    r = run_reset(binary, tmp_path, plaintext(bootstrap), {"groups": [group], "topics": [topic[:-3] + "*"],
                                                          "strategy": "to-latest"}, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "Dry run" in r.stdout and f"5 ->           {PER_PARTITION}" in r.stdout, r.stdout
    assert committed(bootstrap, group, topic) == {0: 5, 1: 5}
    r = run_reset(binary, tmp_path, plaintext(bootstrap), {"groups": [group], "topics": [topic],
                                                          "strategy": "to-latest", "dry_run": True})
    assert r.returncode == 0, r.stderr
    assert committed(bootstrap, group, topic) == {0: 5, 1: 5}


def test_active_group_is_refused_and_keeps_its_offsets(binary, bootstrap, topic, tmp_path):
    group = consumed_group(bootstrap, topic, 5)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "client.id": "kb-reset-live"})
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 60
        while not c.assignment() and time.monotonic() < deadline:
            c.poll(0.5)
        assert c.assignment(), "the live consumer never got an assignment"
        r = run_reset(binary, tmp_path, plaintext(bootstrap), {"groups": [group], "topics": [topic],
                                                              "strategy": "to-earliest"})
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert f"consumer group '{group}' is Stable with 1 member(s)" in r.stderr, r.stderr
        assert "kb-reset-live" in r.stderr and "stop its consumers" in r.stderr, r.stderr
        assert committed(bootstrap, group, topic) == {0: 5, 1: 5}
    finally:
        c.close()


def test_principal_without_group_acl_exits_3(env, binary, bootstrap, topic, tmp_path):
    group = consumed_group(bootstrap, topic, 5)
    password = env["users"]["noacl"]
    source = {"bootstrap_servers": [env["kafka"]["listeners"]["SASL_SSL"]],
              "security": {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                           "sasl_username": "noacl", "sasl_password": "${KB_PW}", "ssl_ca_location": env["tls"]["ca"]}}
    r = run_reset(binary, tmp_path, source, {"groups": [group], "topics": [topic], "strategy": "to-earliest"},
                  env_extra={"KB_PW": password})
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert f"Not authorized to access group '{group}'" in r.stderr, r.stderr
    assert password not in r.stdout + r.stderr
    assert committed(bootstrap, group, topic) == {0: 5, 1: 5}


@pytest.mark.parametrize("reset, phrase", [
    ({"strategy": "to-earliest"}, "reset_offsets.groups: is required"),
    ({"groups": ["g"], "strategy": "to-somewhere"}, "unknown value"),
    ({"groups": ["g"], "strategy": "to-timestamp"}, "reset_offsets.timestamp: is required"),
    ({"groups": ["g"], "strategy": "to-offset"}, "reset_offsets.offset: is required"),
])
def test_bad_config_exits_2_naming_the_key(binary, bootstrap, tmp_path, reset, phrase):
    r = run_reset(binary, tmp_path, plaintext(bootstrap), reset)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert phrase in r.stderr, r.stderr


def test_missing_literal_topic_exits_1_naming_it(binary, bootstrap, topic, tmp_path):
    group = consumed_group(bootstrap, topic, 5)
    r = run_reset(binary, tmp_path, plaintext(bootstrap), {"groups": [group], "topics": ["kb-no-such-topic-x"],
                                                          "strategy": "to-earliest"})
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "topic 'kb-no-such-topic-x' does not exist" in r.stderr, r.stderr
    assert committed(bootstrap, group, topic) == {0: 5, 1: 5}
