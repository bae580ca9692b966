"""Restore and consumer groups against the harness's real broker: committed offsets translated
through a time window, and a group with live members refused before anything is written. Groups
are read back with confluent-kafka."""
from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from restore_helpers import (create_topic, deny_read, grant_read, make_backup, name, plain, produce,
                             read_partition, restore_config, run_restore, undo_deny_read)


def test_consumer_group_offsets_translate_through_a_window(env, tmp_path):
    src = name("groups")
    create_topic(env, src, 1)
    base = int(time.time() * 1000) - 3_600_000
    produce(env, src, [{"key": f"k{i}".encode(), "value": f"v{i}".encode(), "timestamp": base + i * 100}
                       for i in range(100)])
    source = read_partition(env, src, 0)
    g_mid, g_early = name("g-mid"), name("g-early")
    for g, off in ((g_mid, 60), (g_early, 10)):
        c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(src, 0, off)], asynchronous=False)
        c.close()
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g_mid}:{src}:0:60", f"{g_early}:{src}:0:10"])
    dst = src + "-r"
    create_topic(env, dst, 1)
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "time_window_start": base + 30 * 100,
        "consumer_groups": [g_mid, g_early], "reset_consumer_offsets": True})
    # OffsetCommit needs Read on the topic too: without it the restore is refused before any
    # record is written.
    deny_read(env, dst, "restore")
    r = run_restore(env, cfg)
    assert r.returncode == 3, r.stderr
    assert "Not authorized to access topic" in r.stderr and "Read" in r.stderr
    assert read_partition(env, dst, 0) == []
    undo_deny_read(env, dst, "restore")
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    got = read_partition(env, dst, 0)
    assert len(got) == 70
    by_offset = {m["offset"]: m for m in got}
    for g, src_off, expect_src in ((g_mid, 60, 60), (g_early, 10, 30)):
        c = Consumer({**plain(env), "group.id": g, "enable.auto.commit": False})
        committed = c.committed([TopicPartition(dst, 0)], timeout=10)[0].offset
        c.close()
        target = by_offset[committed]
        assert (target["key"], target["value"]) == (source[expect_src]["key"], source[expect_src]["value"]), g


def test_group_with_active_members_is_refused_before_writing(env, tmp_path):
    src = name("busy")
    create_topic(env, src, 1)
    produce(env, src, [{"key": b"k", "value": b"v"}] * 5)
    g = name("busy-g")
    store = make_backup(env, tmp_path, "b", [src], groups=[f"{g}:{src}:0:2"])
    dst = src + "-r"
    create_topic(env, dst, 1)
    grant_read(env, dst, "restore")
    member = Consumer({**plain(env), "group.id": g, "session.timeout.ms": 30000})
    member.subscribe([dst])
    deadline = time.time() + 30
    while time.time() < deadline and not member.assignment():
        member.poll(0.5)
    try:
        cfg = restore_config(env, tmp_path, store, "b", [src], {
            "topic_mapping": {src: dst}, "consumer_groups": [g], "reset_consumer_offsets": True})
        r = run_restore(env, cfg)
        assert r.returncode == 1, r.stderr
        assert "active member" in r.stderr and g in r.stderr
        assert read_partition(env, dst, 0) == []
    finally:
        member.close()
