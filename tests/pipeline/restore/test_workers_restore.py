"""A restore run by a group of `kafka-backup restore` processes (issue #17 item 3, docs/scale-out.md
"Restore with workers"): a real backup of a multi-partition topic (confluent-kafka produced keys,
headers and timestamps) and a consumer group's committed offsets; three workers with one
`workers:` section restore it into a new topic. confluent-kafka reads both topics back: per
partition, record by record equal; the group's offsets are translated; within every generation
each source partition has exactly one owner (the workers' assignment log lines). kill -9 of one
worker mid-restore: the others take its partitions over after the session timeout and the result
is still exact. Against the harness's real broker ($KB_TEST_ENV); every wait is bounded."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, TopicPartition

from restore_helpers import (binary, content, create_topic, env, make_backup, name, plain, produce,  # noqa: F401
                          read_partition, restore_config)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backup"))
from test_workers_backup import parse_partitions  # noqa: E402  (the workers' "a[0-2,5]" partition lists)

PARTITIONS = 6
SESSION_MS = 6000
GEN_LINE = re.compile(r"restore worker (\S+): generation (\d+)(?: \(leader\))?: (\d+) partition\(s\): (.*)$")


class Worker:
    """One `kafka-backup restore` process; its log goes to a file (a pipe could fill and block it)."""

    def __init__(self, env, cfg: Path, log: Path):
        self.log = log
        e = {**os.environ, "KB_TEST_RESTORE_PASSWORD": env["users"]["restore"]}
        self.secret = env["users"]["restore"]
        self.proc = subprocess.Popen([binary(), "--no-progress", "restore", "--config", str(cfg)], env=e,
                                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def text(self) -> str:
        return self.log.read_text()

    def generations(self) -> dict[int, tuple[str, set]]:
        """generation -> (member id, partitions) as this worker logged them."""
        out = {}
        for line in self.text().splitlines():
            m = GEN_LINE.search(line)
            if m:
                out[int(m.group(2))] = (m.group(1), parse_partitions(m.group(4)))
        return out


def workers_config(env, tmp: Path, store: Path, src: str, dst: str, group: str, restore: dict) -> Path:
    cfg = restore_config(env, tmp, store, "b", [src], {"topic_mapping": {src: dst}, **restore})
    with cfg.open("a") as f:
        f.write(f"workers:\n  group_id: {name('kbw')}\n  session_timeout_ms: {SESSION_MS}\n"
                f"  rebalance_timeout_ms: 30000\n")
    return cfg


def source_with_group(env, tmp: Path, records_per_partition: int) -> tuple[str, Path, str, dict[int, int]]:
    """A topic of PARTITIONS partitions (keys, headers, timestamps), a group with an offset
    committed on every partition, and a real backup of both."""
    src = name("wsrc")
    create_topic(env, src, PARTITIONS)
    base = int(time.time() * 1000) - 3_600_000
    recs = []
    for i in range(records_per_partition * PARTITIONS):
        part = i % PARTITIONS
        recs.append({"partition": part, "key": None if i % 13 == 4 else f"key-{i % 17}".encode(),
                     "value": f"value-{i}-".encode() + b"x" * (i % 50), "timestamp": base + i,
                     "headers": [("n", str(i).encode()), ("empty", b"")] if i % 3 else None})
    produce(env, src, recs)
    group = name("wgroup")
    committed = {p: 10 + 7 * p for p in range(PARTITIONS)}
    store = make_backup(env, tmp, "b", [src], groups=[f"{group}:{src}:{p}:{o}" for p, o in committed.items()])
    return src, store, group, committed


def wait_all(workers: list[Worker], timeout: float) -> None:
    deadline = time.time() + timeout
    for w in workers:
        try:
            w.proc.wait(max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for x in workers:
                if x.proc.poll() is None:
                    x.proc.kill()
            raise AssertionError(f"a worker did not finish within {timeout} s:\n{w.text()[-3000:]}")


def assert_one_owner_per_generation(workers: list[Worker], src: str) -> dict[tuple[str, int], set[str]]:
    """No partition has two owners in one generation; returns each partition's owners over the run."""
    by_gen: dict[int, dict[str, set]] = {}
    for w in workers:
        for gen, (member, parts) in w.generations().items():
            by_gen.setdefault(gen, {})[member] = parts
    assert by_gen, "no worker logged an assignment"
    owners: dict[tuple[str, int], set[str]] = {}
    for gen, members in by_gen.items():
        seen: dict[tuple[str, int], str] = {}
        for member, parts in members.items():
            for tp in parts:
                assert tp not in seen, f"generation {gen}: {tp} assigned to {seen[tp]} and {member}"
                seen[tp] = member
                owners.setdefault(tp, set()).add(member)
    assert set(owners) == {(src, p) for p in range(PARTITIONS)}, owners
    return owners


def assert_exact(env, src: str, dst: str, group: str, committed: dict[int, int]) -> None:
    for p in range(PARTITIONS):
        want = read_partition(env, src, p)
        got = read_partition(env, dst, p)
        assert len(got) == len(want), f"partition {p}: {len(got)} records in the target, {len(want)} in the source"
        assert content(got) == content(want), f"partition {p} differs"
    c = Consumer({**plain(env), "group.id": group, "enable.auto.commit": False})
    got_offsets = c.committed([TopicPartition(dst, p) for p in range(PARTITIONS)], timeout=10)
    c.close()
    for tp in got_offsets:
        # The source topic starts at offset 0 and everything is restored: offsets map 1:1.
        assert tp.offset == committed[tp.partition], f"{group} on {dst}[{tp.partition}]: {tp.offset}"


def shared_generation(workers: list[Worker], timeout: float = 90) -> int:
    """Waits for a generation in which every worker holds a share; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        gens = [w.generations() for w in workers]
        if all(gens) and len({max(g) for g in gens}) == 1 and all(g[max(g)][1] for g in gens):
            return max(gens[0])
        time.sleep(0.1)
    raise AssertionError("the workers never shared the partitions:\n" + workers[0].text()[-3000:])


def wait_for_progress(env, dst: str, parts: set, records: int = 50, timeout: float = 60) -> tuple[int, int]:
    """Waits until `records` more records are in `parts` of the target; returns (before, now)."""
    c = Consumer({**plain(env), "group.id": name("wm")})

    def written() -> int | None:
        try:
            return sum(c.get_watermark_offsets(TopicPartition(dst, p), timeout=10)[1] for _, p in parts)
        except KafkaException:
            return None  # the just-created target is not known to this client yet

    deadline = time.time() + timeout
    baseline, now = None, 0
    try:
        while time.time() < deadline:
            now = written()
            if now is not None:
                baseline = now if baseline is None else baseline
                if now >= baseline + records:
                    return baseline, now
            time.sleep(0.05)
    finally:
        c.close()
    raise AssertionError(f"no progress in {parts} within {timeout} s ({baseline} -> {now})")


def test_three_workers_restore_record_by_record_with_translated_group_offsets(env, tmp_path):
    src, store, group, committed = source_with_group(env, tmp_path, 400)
    dst = src + "-r"
    # A rate limit per worker keeps the restore running long enough for all three to share it.
    cfg = workers_config(env, tmp_path, store, src, dst, group, {
        "consumer_groups": [group], "reset_consumer_offsets": True, "rate_limit_records_per_sec": 300})
    workers = [Worker(env, cfg, tmp_path / f"w{i}.log") for i in range(3)]
    wait_all(workers, 240)
    for w in workers:
        text = w.text()
        assert w.proc.returncode == 0, text[-3000:]
        assert w.secret not in text
        assert "every partition of restore" in text or "every partition is done" in text, text[-3000:]
    owners = assert_one_owner_per_generation(workers, src)
    assert len({m for o in owners.values() for m in o}) >= 2, "the restore was not shared between workers"
    assert_exact(env, src, dst, group, committed)


def test_kill_9_of_a_worker_mid_restore_the_others_take_over_exactly(env, tmp_path):
    src, store, group, committed = source_with_group(env, tmp_path, 600)
    dst = src + "-r"
    cfg = workers_config(env, tmp_path, store, src, dst, group, {
        "consumer_groups": [group], "reset_consumer_offsets": True, "rate_limit_records_per_sec": 150})
    workers = [Worker(env, cfg, tmp_path / f"w{i}.log") for i in range(3)]
    # In a generation that gives each of the three workers a share, the victim is the one with the
    # most partitions (the most left to do); it is killed once it has written into them.
    shared_generation(workers)
    victim = max(workers, key=lambda w: len(w.generations()[max(w.generations())][1]))
    victim_parts = victim.generations()[max(victim.generations())][1]
    _, now = wait_for_progress(env, dst, victim_parts)
    assert now < 600 * len(victim_parts), "the victim's partitions were complete before the kill"
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(30)
    assert "generation" in victim.text() and " complete: " not in victim.text(), "the victim finished before the kill"
    survivors = [w for w in workers if w is not victim]
    wait_all(survivors, 240)
    for w in survivors:
        assert w.proc.returncode == 0, w.text()[-3000:]
    # The victim's partitions were restored further by a survivor.
    taken = set()
    for w in survivors:
        gens = w.generations()
        for gen, (_, parts) in gens.items():
            if gen > max(victim.generations()):
                taken |= parts & victim_parts
    assert taken == victim_parts, f"not taken over: {victim_parts - taken}"
    assert any("resuming restore" in w.text() for w in survivors), "no survivor resumed from the saved state"
    assert_one_owner_per_generation(workers, src)
    assert_exact(env, src, dst, group, committed)


def test_repartitioning_with_workers_is_a_config_error(env, tmp_path):
    src = name("wrep")
    create_topic(env, src, 2)
    produce(env, src, [{"key": b"k", "value": b"v", "partition": 0}])
    store = make_backup(env, tmp_path, "b", [src])
    cfg = workers_config(env, tmp_path, store, src, src + "-r", "", {
        "repartitioning": {src + "-r": {"strategy": "murmur2", "target_partitions": 4}}})
    p = subprocess.run([binary(), "--no-progress", "restore", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "KB_TEST_RESTORE_PASSWORD": env["users"]["restore"]})
    assert p.returncode == 2, p.stderr
    assert "restore.repartitioning" in p.stderr and "workers" in p.stderr


def test_sigterm_stops_a_worker_with_exit_1_and_the_other_finishes_its_partitions(env, tmp_path):
    src, store, group, committed = source_with_group(env, tmp_path, 500)
    dst = src + "-r"
    cfg = workers_config(env, tmp_path, store, src, dst, group, {
        "consumer_groups": [group], "reset_consumer_offsets": True, "rate_limit_records_per_sec": 150})
    workers = [Worker(env, cfg, tmp_path / f"w{i}.log") for i in range(2)]
    # Both hold a share of one generation and the first has written into its partitions: stop it.
    shared_generation(workers)
    stopped = workers[0]
    parts = stopped.generations()[max(stopped.generations())][1]
    _, now = wait_for_progress(env, dst, parts)
    assert now < 500 * len(parts), "the first worker's partitions were complete before the stop"
    stopped.proc.send_signal(signal.SIGTERM)
    try:
        stopped.proc.wait(60)
    except subprocess.TimeoutExpired:
        stopped.proc.kill()
        raise AssertionError("SIGTERM did not stop the worker within 60 s:\n" + stopped.text()[-3000:])
    text = stopped.text()
    assert stopped.proc.returncode == 1, text[-3000:]
    assert "restore interrupted" in text and "stop requested" in text, text[-3000:]
    # The other worker gets the stopped one's partitions at the rebalance its LeaveGroup starts.
    wait_all(workers[1:], 240)
    other = workers[1]
    assert other.proc.returncode == 0, other.text()[-3000:]
    assert any(parts <= p for gen, (_, p) in other.generations().items() if gen > max(stopped.generations())), \
        other.text()[-3000:]
    assert_one_owner_per_generation(workers, src)
    assert_exact(env, src, dst, group, committed)
