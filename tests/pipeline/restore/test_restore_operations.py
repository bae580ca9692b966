"""Running a restore against the harness's real broker: kill -9 and a re-run, a user without
CREATE, the metrics endpoint (and an idle client on it), the produce rate limit and the refused
purge. Results are read back with confluent-kafka."""
from __future__ import annotations

import signal
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from restore_helpers import (content, create_topic, make_backup, name, plain, produce,
                             read_partition, restore_config, run_restore, sample_records,
                             topic_exists)


def test_kill_9_during_restore_then_rerun_restores_every_record_once(env, tmp_path):
    src = name("kill")
    create_topic(env, src, 2)
    n = 200_000
    base = int(time.time() * 1000) - 3_600_000
    p = Producer({**plain(env), "linger.ms": 5, "batch.num.messages": 200, "compression.type": "none"})
    for i in range(n):
        while True:
            try:
                p.produce(src, key=str(i).encode(), value=f"{i:08d}".encode() * 8, partition=i % 2, timestamp=base + i)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    store = make_backup(env, tmp_path, "b", [src], frame_bytes=16384, segment_batches=40)
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "max_concurrent_partitions": 1})
    proc = run_restore(env, cfg, wait=False)
    killed_at = None
    c = Consumer({**plain(env), "group.id": name("wm")})
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if topic_exists(env, dst):
            try:
                total = sum(c.get_watermark_offsets(TopicPartition(dst, q), timeout=10)[1] for q in range(2))
            except KafkaException:
                time.sleep(0.05)  # the just-created topic's leaders are not known everywhere yet
                continue
            if total > 2000:
                proc.send_signal(signal.SIGKILL)
                killed_at = total
                break
        time.sleep(0.02)
    proc.wait(60)
    c.close()
    assert killed_at is not None and proc.returncode == -signal.SIGKILL, "the restore ended before it was killed"
    assert killed_at < n, "everything was restored before the kill; make the data set larger"
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    for part in range(2):
        got = read_partition(env, dst, part)
        want = read_partition(env, src, part)
        assert len(got) == len(want), f"partition {part}: {len(got)} records in the target, {len(want)} in the source"
        assert content(got) == content(want)


def test_restore_user_without_create_gets_not_authorized_exit_3_and_nothing_written(env, tmp_path):
    src = name("noacl")
    create_topic(env, src, 1)
    produce(env, src, [{"key": b"k", "value": b"v"}] * 3)
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    # The harness's `backup` user has Read+Describe on topics, no Create or Write.
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "create_topics": True},
                         user="backup")
    r = run_restore(env, cfg, user="backup")
    assert r.returncode == 3, r.stderr
    assert "Not authorized" in r.stderr
    assert dst in r.stderr
    assert not topic_exists(env, dst)
    assert not (store / "b" / "restores").exists()


def test_metrics_endpoint_serves_restore_counters_while_running(env, tmp_path):
    import socket
    import threading
    import urllib.request
    src = name("metrics")
    create_topic(env, src, 1)
    p = Producer({**plain(env), "linger.ms": 5})
    for i in range(40_000):
        p.produce(src, key=str(i).encode(), value=b"m" * 64)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    store = make_backup(env, tmp_path, "b", [src], frame_bytes=16384, segment_batches=40)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: src + "-r"}})
    cfg.write_text(cfg.read_text() + f"metrics:\n  enabled: true\n  bind_address: 127.0.0.1\n  port: {port}\n")
    scrapes: list[str] = []
    done = threading.Event()

    def scrape():
        while not done.is_set() and len(scrapes) < 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    scrapes.append(r.read().decode())
            except OSError:
                pass
            time.sleep(0.01)

    t = threading.Thread(target=scrape)
    t.start()
    try:
        r = run_restore(env, cfg)
    finally:
        done.set()
        t.join(10)
    assert r.returncode == 0, r.stderr
    assert scrapes, "no scrape succeeded while the restore ran"
    assert any("kafka_backup_restore_records_total{" in s for s in scrapes)
    assert env["users"]["restore"] not in "".join(scrapes)


def test_an_idle_client_on_the_metrics_port_does_not_keep_the_restore_running(env, tmp_path):
    # issue #11 item 15: a metrics session waited for its request forever and io_.run() with it.
    import socket
    import urllib.request
    src = name("idle")
    create_topic(env, src, 1)
    produce(env, src, sample_records(4000), **{"batch.num.messages": 100, "linger.ms": 5})
    store = make_backup(env, tmp_path, "b", [src])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = restore_config(env, tmp_path, store, "b", [src],
                         {"topic_mapping": {src: src + "-r"}, "rate_limit_records_per_sec": 1000})
    cfg.write_text(cfg.read_text() + f"metrics:\n  enabled: true\n  bind_address: 127.0.0.1\n  port: {port}\n")
    proc = run_restore(env, cfg, wait=False)
    idle = socket.socket()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the restore ended before its metrics port opened: " + proc.stderr.read()
            try:
                idle.connect(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline, "the metrics port never opened"
                idle.close()
                idle = socket.socket()
                time.sleep(0.05)
        # Connections are accepted in order: a scrape served after it means the idle one was accepted.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert "kafka_backup_restore_records_total{" in r.read().decode()
        assert proc.poll() is None, "the restore ended before the idle client was in place"
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("the restore did not exit while an idle client held a metrics connection")
        assert proc.returncode == 0, err
        assert "complete" in out
    finally:
        idle.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_rate_limit_paces_produce_and_restores_everything(env, tmp_path):
    src = name("paced")
    create_topic(env, src, 1)
    produce(env, src, sample_records(3000), **{"batch.num.messages": 100, "linger.ms": 5})
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src],
                         {"topic_mapping": {src: dst}, "rate_limit_records_per_sec": 1000})
    started = time.monotonic()
    r = run_restore(env, cfg)
    took = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    assert "not supported" not in r.stderr
    # 3000 records at 1000/s with one second's burst cannot finish in under 2 s; a lower bound
    # only, so a slow machine never fails it.
    assert took >= 1.9, f"restore took {took:.2f} s: the rate limit was not applied"
    assert content(read_partition(env, dst, 0)) == content(read_partition(env, src, 0))


def test_purge_topics_is_refused_with_exit_2_before_anything_is_written(env, tmp_path):
    src = name("purge")
    create_topic(env, src, 1)
    produce(env, src, sample_records(10))
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "purge_topics": True})
    r = run_restore(env, cfg)
    assert r.returncode == 2, r.stderr
    assert "restore.purge_topics: true is not supported" in r.stderr
    assert "topic_mapping" in r.stderr
    assert not topic_exists(env, dst)
    assert not (store / "b" / "restores").exists()
