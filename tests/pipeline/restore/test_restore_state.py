"""Restore state and pre-flight checks against the harness's real broker: the state records the
target's identity (a deleted target is restored again), requested groups that cannot be
translated fail before anything is written, an unreadable state is an error naming the file,
permissions the group commit needs on topics still to be created are checked before creating
them, and a read-only backup store keeps the state in a local directory. Data is produced and
checked with confluent-kafka."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from restore_helpers import (binary, create_topic, deny_read, make_backup, name, plain, produce, read_partition,
                          restore_config, run_restore, topic_exists, undo_deny_read, _env)


@pytest.fixture(scope="module")
def env() -> dict:
    return _env()


def records(n: int) -> list[dict]:
    return [{"key": f"k{i}".encode(), "value": f"v{i}".encode()} for i in range(n)]


def committed(env: dict, group: str, topic: str) -> int:
    c = Consumer({**plain(env), "group.id": group, "enable.auto.commit": False})
    off = c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
    c.close()
    return off


def delete_topic(env: dict, topic: str) -> None:
    admin = AdminClient(plain(env))
    admin.delete_topics([topic])[topic].result(30)
    deadline = time.time() + 60
    while time.time() < deadline:
        if topic not in admin.list_topics(timeout=10).topics:
            return
        time.sleep(0.2)
    pytest.fail(f"topic {topic} still listed 60 s after its deletion")


def test_rerun_after_the_target_topic_was_deleted_restores_everything_again(env, tmp_path):
    src = name("ident")
    create_topic(env, src, 1)
    produce(env, src, records(100))
    source = read_partition(env, src, 0)
    g = name("ident-g")
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g}:{src}:0:60"])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "create_topics": True, "consumer_groups": [g], "reset_consumer_offsets": True})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    assert len(read_partition(env, dst, 0)) == 100
    delete_topic(env, dst)
    # The state says "done"; the topic it describes is gone: the re-run must restore it again.
    deadline = time.time() + 60
    while True:
        r = run_restore(env, cfg)
        if r.returncode == 0 or time.time() > deadline or "marked for deletion" not in r.stderr:
            break
        time.sleep(0.5)  # KRaft may still be removing the old topic's log
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    assert [(m["key"], m["value"]) for m in got] == [(m["key"], m["value"]) for m in source]
    assert "no longer exists" in r.stderr, r.stderr
    off = committed(env, g, dst)
    assert 0 <= off < len(got)
    assert (got[off]["key"], got[off]["value"]) == (source[60]["key"], source[60]["value"])


@pytest.mark.parametrize("case", ["no-snapshot", "group-absent"])
def test_requested_group_that_cannot_be_translated_fails_before_writing(env, tmp_path, case):
    src = name("nogrp")
    create_topic(env, src, 1)
    produce(env, src, records(20))
    other = name("other-g")
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{other}:{src}:0:5"] if case == "group-absent" else [])
    missing = name("bars-g")
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "create_topics": True, "consumer_groups": [missing],
        "reset_consumer_offsets": True})
    for extra in (["--dry-run"], []):
        r = run_restore(env, cfg, "restore", *extra)
        assert r.returncode == 2, (extra, r.stdout, r.stderr)
        assert f"consumer group '{missing}' cannot be translated" in r.stderr, r.stderr
        want = "holds no consumer-group snapshot" if case == "no-snapshot" else "is not in the backup's group snapshot"
        assert want in r.stderr, r.stderr
        assert not topic_exists(env, dst)
        assert not (store / "b" / "restores").exists()


@pytest.mark.parametrize("content", ["", "{\"restore_id\": \"r-"])
def test_empty_or_unparsable_checkpoint_state_is_an_error_naming_the_file(env, tmp_path, content):
    src = name("ckpt")
    create_topic(env, src, 1)
    produce(env, src, records(30))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    ckpt = tmp_path / "state.json"
    ckpt.write_text(content)
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "create_topics": True, "checkpoint_state": str(ckpt)})
    r = run_restore(env, cfg)
    assert r.returncode != 0, r.stderr
    assert str(ckpt) in r.stderr and "restore state" in r.stderr, r.stderr
    assert not topic_exists(env, dst)
    assert ckpt.read_text() == content  # left as it was for the operator to look at


def test_dry_run_and_run_check_read_on_topics_they_will_create_for_group_commits(env, tmp_path):
    src = name("noread")
    create_topic(env, src, 1)
    produce(env, src, records(20))
    g = name("noread-g")
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g}:{src}:0:10"])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "create_topics": True, "consumer_groups": [g], "reset_consumer_offsets": True})
    # The restore user keeps Read on its groups and Create/Write on topics, but not Read on dst.
    deny_read(env, dst, "restore")
    try:
        r = run_restore(env, cfg, "restore", "--dry-run")
        assert r.returncode == 3, (r.stdout, r.stderr)
        assert f"Not authorized to access topic '{dst}'" in r.stderr, r.stderr
        assert "--operation Read --topic" in r.stderr, r.stderr
        assert "Target checks passed" not in r.stdout
        r = run_restore(env, cfg)
        assert r.returncode == 3, r.stderr
        assert f"Not authorized to access topic '{dst}'" in r.stderr, r.stderr
        assert not topic_exists(env, dst)
    finally:
        undo_deny_read(env, dst, "restore")


def run_on_read_only_store(env: dict, store: Path, config: Path, extra_env: dict) -> subprocess.CompletedProcess:
    """The restore in a private mount namespace where `store` is a read-only bind mount (root
    ignores file modes, a read-only mount it cannot)."""
    e = {**os.environ, "KB_TEST_RESTORE_PASSWORD": env["users"]["restore"], **extra_env}
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"',
           str(store), binary(), "--no-progress", "restore", "--config", str(config)]
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=300)
    assert env["users"]["restore"] not in p.stdout + p.stderr
    return p


@pytest.mark.parametrize("where", ["default", "state_dir"])
def test_restore_from_a_read_only_backup_store_keeps_its_state_locally(env, tmp_path, where):
    src = name("rostore")
    create_topic(env, src, 1)
    produce(env, src, records(50))
    source = read_partition(env, src, 0)
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    opts = {"topic_mapping": {src: dst}, "create_topics": True}
    xdg = tmp_path / "xdg"
    local = xdg / "kafka-backup"
    if where == "state_dir":
        local = tmp_path / "restore-state"
        opts["state_dir"] = str(local)
    cfg = restore_config(env, tmp_path, store, "b", [src], opts)
    r = run_on_read_only_store(env, store, cfg, {"XDG_STATE_HOME": str(xdg)})
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    assert [(m["key"], m["value"]) for m in got] == [(m["key"], m["value"]) for m in source]
    states = list((local / "b").glob("r-*.json"))
    assert len(states) == 1, list(local.rglob("*"))
    state = json.loads(states[0].read_text())
    assert all(p["done"] for p in state["partitions"])
    assert not (store / "b" / "restores").exists()
    if where == "default":
        assert str(local) in r.stderr and "not writable" in r.stderr, r.stderr
    # A second run finds that state: nothing is restored twice.
    r = run_on_read_only_store(env, store, cfg, {"XDG_STATE_HOME": str(xdg)})
    assert r.returncode == 0, r.stderr
    assert "already completed" in r.stderr, r.stderr
    assert len(read_partition(env, dst, 0)) == 50


def test_read_only_store_resumes_from_the_state_an_earlier_writable_run_left(env, tmp_path):
    src = name("roseed")
    create_topic(env, src, 1)
    produce(env, src, records(40))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "create_topics": True})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    assert len(read_partition(env, dst, 0)) == 40
    # Later the store is mounted read-only: the state in it still says what was restored.
    r = run_on_read_only_store(env, store, cfg, {"XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert r.returncode == 0, r.stderr
    assert "already completed" in r.stderr, r.stderr
    assert len(read_partition(env, dst, 0)) == 40
