"""Restore's topic and partition mapping against the harness's real broker: renames, murmur2
repartitioning checked against librdkafka's own murmur2 partitioner, round-robin repartitioning,
and the mappings refused before anything is created."""
from __future__ import annotations

from restore_helpers import (content, create_topic, make_backup, name, partitions_of, produce,
                             read_partition, restore_config, run_restore, sample_records,
                             topic_exists)


def test_topic_and_partition_mapping(env, tmp_path):
    src = name("map")
    create_topic(env, src, 3)
    produce(env, src, [{"key": f"k{i}".encode(), "value": f"p{i % 3}-{i}".encode(), "partition": i % 3}
                       for i in range(90)])
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-moved"
    mapping = {0: 2, 1: 0, 2: 1}
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst},
                                                            "partition_mapping": mapping})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    for s, d in mapping.items():
        assert content(read_partition(env, dst, d)) == content(read_partition(env, src, s))


def test_murmur2_repartitioning_matches_the_librdkafka_murmur2_partitioner(env, tmp_path):
    src = name("rp")
    create_topic(env, src, 1)
    keys = [f"customer-{i}".encode() for i in range(300)] + [b"", "ünï".encode()]
    produce(env, src, [{"key": k, "value": b"v"} for k in keys] + [{"key": None, "value": b"nokey"}] * 10)
    # Reference placement: librdkafka's murmur2_random partitioner (Java-compatible) on 5 partitions,
    # as stored by the broker.
    ref = name("rp-ref")
    create_topic(env, ref, 5)
    produce(env, ref, [{"key": k, "value": b"v"} for k in keys], partitioner="murmur2_random")
    expected = {}
    for part in range(5):
        for m in read_partition(env, ref, part):
            expected[m["key"]] = part
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-5"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "repartitioning": {dst: {"strategy": "murmur2", "target_partitions": 5}}})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    assert partitions_of(env, dst) == 5
    placed, nulls = {}, 0
    for part in range(5):
        for m in read_partition(env, dst, part):
            if m["key"] is None:
                nulls += 1
            else:
                placed[m["key"]] = part
    assert placed == expected
    assert nulls == 10


def test_automatic_repartitioning_is_round_robin_in_the_dry_run_and_in_the_target(env, tmp_path):
    # issue #11 item 17: `automatic` printed round-robin in the dry run while the engine routed by
    # murmur2; a key naming the source topic was ignored once topic_mapping renamed it.
    src = name("rr")
    create_topic(env, src, 1)
    produce(env, src, [{"key": b"same" if i % 2 else b"other", "value": f"v{i}".encode()} for i in range(300)])
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-3"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "repartitioning": {src: {"strategy": "automatic", "target_partitions": 3}}})
    dry = run_restore(env, cfg, "restore", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Topic {src} -> {dst} (1 source partitions, target needs 3, repartitioned by round-robin into 3)" in dry.stdout
    assert "partition 0 -> round-robin" in dry.stdout
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    assert partitions_of(env, dst) == 3
    per_partition = [read_partition(env, dst, part) for part in range(3)]
    # Two keys would land in at most two partitions by murmur2; round-robin fills all three evenly.
    assert [len(x) for x in per_partition] == [100, 100, 100]
    assert sorted(m["value"] for x in per_partition for m in x) == sorted(f"v{i}".encode() for i in range(300))


def test_a_repartitioning_key_naming_no_restored_topic_is_exit_2(env, tmp_path):
    src = name("rpkey")
    create_topic(env, src, 1)
    produce(env, src, sample_records(10))
    store = make_backup(env, tmp_path, "b", [src])
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: src + "-r"},
        "repartitioning": {src + "-typo": {"strategy": "murmur2", "target_partitions": 3}}})
    for extra in (("--dry-run",), ()):
        r = run_restore(env, cfg, "restore", *extra)
        assert r.returncode == 2, r.stderr
        assert f"restore.repartitioning.{src}-typo: no restored topic is named" in r.stderr
    assert not topic_exists(env, src + "-r")


def test_partition_mapping_beyond_the_source_partitions_is_refused_before_creating(env, tmp_path):
    # issue #12 item 7: {0: 99} with create_topics silently created a 100-partition topic.
    src = name("pm99")
    create_topic(env, src, 1)
    produce(env, src, sample_records(10))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {
        "topic_mapping": {src: dst}, "partition_mapping": {0: 99}, "create_topics": True})
    for extra in (("--dry-run",), ()):
        r = run_restore(env, cfg, "restore", *extra)
        assert r.returncode == 2, r.stderr
        assert "restore.partition_mapping (0 -> 99)" in r.stderr
        assert "would create" in r.stderr and "with 100" in r.stderr
    assert not topic_exists(env, dst)
