"""Re-running a backup id with a narrower `source.topics.include` (issue #11 item 9).

The current config decides what is fetched; topics of earlier runs stay in the set and
`describe` marks them as no longer followed. Data is produced with confluent-kafka.
"""
from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env, partitions) -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbn-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(timeout=60)
    return name


def produce(env, topic, partitions, n):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": plaintext(env)})
    for i in range(n):
        p.produce(topic, value=f"{topic}-{i}".encode(), partition=i % partitions)
    assert p.flush(60) == 0


def run(binary, *args):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=180)


def backup(binary, tmp: Path, env, include) -> subprocess.CompletedProcess:
    cfg = {
        "mode": "backup",
        "backup_id": "narrow",
        "source": {"bootstrap_servers": [plaintext(env)], "topics": {"include": include}},
        "storage": {"backend": "filesystem", "path": str(tmp / "store")},
        "backup": {"compression": "zstd"},
    }
    path = tmp / f"narrow-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    r = run(binary, "backup", "--config", str(path), "--no-progress")
    assert r.returncode == 0, r.stderr
    return r


def test_narrower_include_fetches_only_the_selected_topics(env, binary, tmp_path):
    a = new_topic(env, 2)
    b = new_topic(env, 3)
    produce(env, a, 2, 100)
    produce(env, b, 3, 90)
    r = backup(binary, tmp_path, env, [a, b])
    assert "2 topic(s), 5 partition(s)" in r.stderr, r.stderr
    store = tmp_path / "store/narrow"
    b_checkpoints = {p: json.loads((store / f"topics/{b}/{p}/checkpoint.json").read_text()) for p in range(3)}

    # More data in both; the second run selects A only.
    produce(env, a, 2, 50)
    produce(env, b, 3, 60)
    r = backup(binary, tmp_path, env, [a])
    assert "1 topic(s), 2 partition(s)" in r.stderr, r.stderr
    assert f"no longer selected by source.topics and are not fetched (their stored data stays): {b}" in r.stderr
    assert "1 topics, 2 partitions, 50 records" in r.stderr, r.stderr
    for p in range(3):  # B was not fetched: its checkpoints did not move
        assert json.loads((store / f"topics/{b}/{p}/checkpoint.json").read_text()) == b_checkpoints[p]
    assert sum(json.loads((store / f"topics/{a}/{p}/checkpoint.json").read_text())["next_offset"]
               for p in range(2)) == 150

    manifest = json.loads((store / "backup.json").read_text())
    assert sorted(manifest["topics"]) == sorted([a, b]) and manifest["not_followed"] == [b], manifest
    d = json.loads(run(binary, "describe", "--path", str(tmp_path / "store"), "--backup-id", "narrow",
                       "--format", "json").stdout)
    followed = {t["name"]: t["followed"] for t in d["topics"]}
    assert followed == {a: True, b: False}, followed
    records = {t["name"]: sum(p["records"] for p in t["partitions"]) for t in d["topics"]}
    assert records == {a: 150, b: 90}, records
    text = run(binary, "describe", "--path", str(tmp_path / "store"), "--backup-id", "narrow").stdout
    (b_line,) = [line for line in text.splitlines() if line.startswith(f"Topic {b} ")]
    assert "no longer followed" in b_line, text
    (a_line,) = [line for line in text.splitlines() if line.startswith(f"Topic {a} ")]
    assert "no longer followed" not in a_line, text
    v = run(binary, "validate", "--path", str(tmp_path / "store"), "--backup-id", "narrow", "--deep")
    assert v.returncode == 0, v.stdout + v.stderr

    # Selecting B again follows it again and picks up where it stopped.
    r = backup(binary, tmp_path, env, [a, b])
    assert "2 topic(s), 5 partition(s)" in r.stderr and "60 records" in r.stderr, r.stderr
    manifest = json.loads((store / "backup.json").read_text())
    assert "not_followed" not in manifest, manifest
