"""A backup run by a group of `kafka-backup backup` processes (issue #17 item 2, docs/scale-out.md):
three workers with one `workers:` section back up a 60-partition topic while confluent-kafka
produces; a fourth joins and takes a share; one is killed with SIGKILL and its partitions move
within the session timeout; the stored set is byte-for-byte the broker's log (an independent
Fetch client), `validate --deep` passes, and a restore into a new topic is record-by-record
equal. A single-process backup of the same id is refused while the workers run. Against the
harness's real broker ($KB_TEST_ENV); every wait is bounded."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from test_backup import assert_identical, end_offsets, new_topic, plaintext, write_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "restore"))
from restore_helpers import create_topic, name, restore_config, run_restore  # noqa: E402

PARTITIONS = 60
SESSION_MS = 6000
GEN_LINE = re.compile(r"backup worker (\S+): generation (\d+)(?: \(leader\))?: (\d+) partition\(s\): (.*)$")


def parse_partitions(text: str) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    if text == "none":
        return out
    for topic, body in re.findall(r"(\S+?)\[([^\]]*)\]", text):
        for part in body.split(","):
            lo, _, hi = part.partition("-")
            for p in range(int(lo), int(hi or lo) + 1):
                out.add((topic, p))
    return out


class Worker:
    def __init__(self, binary, cfg: Path, log: Path):
        self.log = log
        self.proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress"],
                                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def generations(self) -> dict[int, tuple[str, set]]:
        """generation -> (member id, partitions) as this worker logged them."""
        out = {}
        for line in self.log.read_text().splitlines():
            m = GEN_LINE.search(line)
            if m:
                out[int(m.group(2))] = (m.group(1), parse_partitions(m.group(4)))
        return out

    def member_id(self) -> str | None:
        g = self.generations()
        return g[max(g)][0] if g else None


class ProducerThread(threading.Thread):
    """Writes to every partition until stopped; counts what the broker acknowledged."""

    def __init__(self, env, topic):
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 10, "enable.idempotence": True})
        self.topic = topic
        self.stop = threading.Event()
        self.sent = 0
        self.errors: list[str] = []

    def run(self):
        i = 0
        while not self.stop.is_set():
            for part in range(PARTITIONS):
                self.p.produce(self.topic, key=f"k{i}-{part}".encode(), value=f"{part}-{i}-".encode() + b"v" * (i % 300),
                               partition=part, on_delivery=self._delivered)
            self.p.poll(0)
            i += 1
            time.sleep(0.02)
        assert self.p.flush(60) == 0

    def _delivered(self, err, msg):
        if err:
            self.errors.append(str(err))
        else:
            self.sent += 1


def wait_for(pred, timeout: float, what: str, step: float = 0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s: {what}")


def latest_generation(workers: list[Worker]) -> tuple[int, dict[str, set]]:
    """The newest generation any live worker logged, and each worker's partitions in it."""
    gens: dict[int, dict[str, set]] = {}
    for w in workers:
        for g, (member, parts) in w.generations().items():
            gens.setdefault(g, {})[member] = parts
    if not gens:
        return -1, {}
    g = max(gens)
    return g, gens[g]


def check_disjoint(workers: list[Worker]) -> None:
    """In every generation no partition was given to two workers."""
    gens: dict[int, list[set]] = {}
    for w in workers:
        for g, (_, parts) in w.generations().items():
            gens.setdefault(g, []).append(parts)
    for g, sets in gens.items():
        seen: set = set()
        for s in sets:
            assert not (seen & s), f"generation {g}: partitions {sorted(seen & s)[:5]} owned twice"
            seen |= s


def stable_cover(workers: list[Worker], members: int, all_parts: set):
    """The newest generation has `members` workers whose partitions are exactly all_parts."""
    g, by_member = latest_generation(workers)
    if len(by_member) != members:
        return None
    union: set = set()
    for s in by_member.values():
        union |= s
    return (g, by_member) if union == all_parts and sum(len(s) for s in by_member.values()) == len(all_parts) else None


def checkpoints_reach(store: Path, backup_id: str, topic: str, ends: dict[int, int]) -> bool:
    for p, end in ends.items():
        f = store / backup_id / "topics" / topic / str(p) / "checkpoint.json"
        try:
            if json.loads(f.read_text())["next_offset"] < end:
                return False
        except (OSError, ValueError, KeyError):
            return False
    return True


def test_three_workers_a_fourth_joins_one_is_killed_and_the_set_is_exact(env, binary, dump_tool, tmp_path):
    topic = new_topic(env, partitions=PARTITIONS, prefix="kbw")
    all_parts = {(topic, p) for p in range(PARTITIONS)}
    backup_id = "w-" + uuid.uuid4().hex[:8]
    group = "kbw-" + uuid.uuid4().hex[:8]
    cfg = write_config(tmp_path, env, [topic], backup_id,
                       backup={"continuous": True, "segment_max_interval_ms": 1000, "poll_interval_ms": 100})
    doc = json.loads(cfg.read_text())
    doc["workers"] = {"group_id": group, "session_timeout_ms": SESSION_MS, "rebalance_timeout_ms": 30000}
    cfg.write_text(json.dumps(doc))
    store = tmp_path / "store"

    producer = ProducerThread(env, topic)
    producer.start()
    workers = [Worker(binary, cfg, tmp_path / f"w{i}.log") for i in range(3)]
    try:
        g3, owners3 = wait_for(lambda: stable_cover(workers, 3, all_parts), 90, "three workers sharing 60 partitions")
        # A single-process backup of the same id is refused while the workers run (once their
        # engines started: workers.json is written when a generation's engine opens the set).
        wait_for(lambda: (store / backup_id / "workers.json").is_file(), 30, "workers.json written")
        plain = write_config(tmp_path, env, [topic], backup_id)
        r = subprocess.run([str(binary), "backup", "--config", str(plain), "--no-progress"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 1, r.stderr
        assert f"is being written by the workers of group '{group}'" in r.stderr

        # The owner records name the member of the newest generation each partition went to.
        def owners_match():
            for member, parts in stable_cover(workers, 3, all_parts)[1].items():
                for t, p in parts:
                    path = store / backup_id / "owners" / t / f"{p}.json"
                    if not path.exists():  # not written yet (the store renames complete files into place)
                        return False
                    rec = json.loads(path.read_text())
                    if rec["member_id"] != member or rec["group_id"] != group:
                        return False
            return True
        wait_for(owners_match, 30, "owners/ records matching the group's assignment")

        # A fourth worker takes a share; nothing is owned twice.
        workers.append(Worker(binary, cfg, tmp_path / "w3.log"))
        g4, owners4 = wait_for(lambda: stable_cover(workers, 4, all_parts), 90, "four workers sharing 60 partitions")
        assert g4 > g3
        fourth = workers[3].member_id()
        assert fourth in owners4 and len(owners4[fourth]) >= PARTITIONS // 8, owners4.get(fourth)

        # kill -9 of one worker: its partitions move to the others after the session timeout.
        victim = workers[1]
        victim_id = victim.member_id()
        killed_at = time.time()
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        live = [w for w in workers if w is not victim]
        g5, owners5 = wait_for(lambda: stable_cover(live, 3, all_parts), SESSION_MS / 1000 + 60,
                               "three survivors sharing 60 partitions")
        moved_after = time.time() - killed_at
        assert victim_id not in owners5
        assert moved_after < SESSION_MS / 1000 + 45, moved_after
        check_disjoint(workers)

        # Stop writing; the survivors catch up to the end offsets; SIGTERM commits and leaves.
        producer.stop.set()
        producer.join(90)
        assert not producer.errors, producer.errors[:3]
        ends = end_offsets(env, topic, PARTITIONS)
        assert sum(ends.values()) == producer.sent
        wait_for(lambda: checkpoints_reach(store, backup_id, topic, ends), 120, "checkpoints at the end offsets", 0.5)
        for w in live:
            w.proc.send_signal(signal.SIGTERM)
        for w in live:
            assert w.proc.wait(90) == 0, w.log.read_text()[-3000:]
    finally:
        producer.stop.set()
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)

    check_disjoint(workers)
    v = subprocess.run([str(binary), "validate", "--path", f"file://{store}", "--backup-id", backup_id, "--deep"],
                       capture_output=True, text=True, timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr
    # Every offset stored once, byte-identical to the broker's batches (an independent Fetch client).
    assert_identical(env, dump_tool, f"file://{store}", backup_id, topic, PARTITIONS)
    manifest = json.loads((store / backup_id / "backup.json").read_text())
    assert manifest["topics"] == [topic]


GROUP_LINE = re.compile(r"backup group (\S+) \(generation (\d+), leader (\S+)\): (\d+)/(\d+) partitions at their end "
                        r"offsets, (\d+) with a checkpoint, (\d+) records")


def describe_json(binary, store: Path, backup_id: str) -> dict:
    r = subprocess.run([str(binary), "describe", "--path", f"file://{store}", "--backup-id", backup_id, "--format",
                        "json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_describe_names_the_worker_of_each_range_and_the_leader_logs_the_group_totals(env, binary, tmp_path):
    """Three workers back up 60 partitions while confluent-kafka produces, then stop. `describe`
    names, per partition, every worker term (member, generation, the offsets it committed, the
    segments it wrote) and the ranges chain without a gap up to the end offset; the leader's log
    has the group's totals with every partition at its end offset and the records the producer
    wrote (issue #17 item 4)."""
    topic = new_topic(env, partitions=PARTITIONS, prefix="kbd")
    all_parts = {(topic, p) for p in range(PARTITIONS)}
    backup_id = "wd-" + uuid.uuid4().hex[:8]
    group = "kbw-" + uuid.uuid4().hex[:8]
    cfg = write_config(tmp_path, env, [topic], backup_id,
                       backup={"continuous": True, "segment_max_interval_ms": 1000, "poll_interval_ms": 100})
    doc = json.loads(cfg.read_text())
    doc["workers"] = {"group_id": group, "session_timeout_ms": SESSION_MS, "rebalance_timeout_ms": 30000}
    cfg.write_text(json.dumps(doc))
    store = tmp_path / "store"
    producer = ProducerThread(env, topic)
    producer.start()
    workers = [Worker(binary, cfg, tmp_path / f"d{i}.log") for i in range(3)]
    try:
        g3, owners3 = wait_for(lambda: stable_cover(workers, 3, all_parts), 90, "three workers sharing 60 partitions")
        # Every partition's owner record names its member of that generation before we stop.
        def owners_current():
            for member, parts in stable_cover(workers, 3, all_parts)[1].items():
                for t, p in parts:
                    f = store / backup_id / "owners" / t / f"{p}.json"
                    if not f.is_file() or json.loads(f.read_text())["member_id"] != member:
                        return False
            return True
        wait_for(owners_current, 60, "owner records of the three-worker generation")
        producer.stop.set()
        producer.join(90)
        assert not producer.errors, producer.errors[:3]
        ends = end_offsets(env, topic, PARTITIONS)
        wait_for(lambda: checkpoints_reach(store, backup_id, topic, ends), 120, "checkpoints at the end offsets", 0.5)
        final_gen, final_owners = latest_generation(workers)
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.proc.wait(90) == 0, w.log.read_text()[-3000:]
    finally:
        producer.stop.set()
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)
    check_disjoint(workers)
    owner_of = {p: m for m, parts in final_owners.items() for _, p in parts}
    members = {m for w in workers for (m, _) in w.generations().values()}

    d = describe_json(binary, store, backup_id)
    (t,) = d["topics"]
    assert len(t["partitions"]) == PARTITIONS
    writers = set()
    for part in t["partitions"]:
        p = part["partition"]
        terms = part["owners"]
        assert terms, f"partition {p}: no owner terms"
        assert [o["generation"] for o in terms] == sorted(o["generation"] for o in terms), terms
        for o in terms:
            assert o["group_id"] == group and o["member_id"] in members, o
            assert o["next_offset"] >= 0 and o["ended_ms"] >= o["assigned_ms"] > 0, (p, o)  # every term ended cleanly
        # The ranges chain: each term starts where the previous one committed; the last ends at the end offset.
        for a, b in zip(terms, terms[1:]):
            assert b["first_offset"] == a["next_offset"], (p, terms)
        assert terms[-1]["member_id"] == owner_of[p] and terms[-1]["generation"] == final_gen, (p, terms)
        assert terms[-1]["next_offset"] == ends[p], (p, terms, ends[p])
        # Every stored segment is attributed to exactly one term.
        assert sum(o["segments"] for o in terms) == part["segments"], (p, terms, part["segments"])
        writers |= {o["member_id"] for o in terms if o["segments"] > 0}
    assert writers >= set(final_owners), (writers, set(final_owners))

    text = subprocess.run([str(binary), "describe", "--path", f"file://{store}", "--backup-id", backup_id],
                          capture_output=True, text=True, timeout=120)
    assert text.returncode == 0, text.stderr
    for m in final_owners:
        assert f"written by {m}, group {group} generation {final_gen}" in text.stdout, text.stdout[:3000]

    # The leader of the last generation logged the group's totals when it stopped: all 60 partitions
    # at their end offsets, and every record the producer wrote (summed from the checkpoints).
    totals = [m for w in workers for m in GROUP_LINE.finditer(w.log.read_text())]
    assert totals, "no group totals line in any worker's log"
    last = [m for m in totals if int(m.group(2)) == final_gen]
    assert last, [m.group(0) for m in totals]
    for m in last:
        assert m.group(1) == group and m.group(3) in final_owners, m.group(0)
        assert (int(m.group(4)), int(m.group(5)), int(m.group(6))) == (PARTITIONS, PARTITIONS, PARTITIONS), m.group(0)
        assert int(m.group(7)) == producer.sent == sum(ends.values()), (m.group(0), producer.sent)


def test_a_workers_progress_line_on_a_terminal_names_the_worker(env, binary, tmp_path):
    """On a TTY the progress line of a worker names it (`backup worker MEMBER: … fetched`), as its
    log lines do: several workers may share one terminal (issue #17 item 4). stderr is a pty."""
    import os
    import pty
    src = name("wp")
    create_topic(env, src, 4)
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 10})
    for i in range(400):
        p.produce(src, value=f"v{i}".encode() * 20, partition=i % 4)
    assert p.flush(60) == 0
    cfg = write_config(tmp_path, env, [src], "wp-" + uuid.uuid4().hex[:8])
    doc = json.loads(cfg.read_text())
    doc["workers"] = {"group_id": "kbw-" + uuid.uuid4().hex[:8], "session_timeout_ms": SESSION_MS,
                      "rebalance_timeout_ms": 30000}
    cfg.write_text(json.dumps(doc))
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=slave,
                            stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(30) == 0, out.decode(errors="replace")[-3000:]
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = out.decode(errors="replace")
    member = re.search(r"backup worker (\S+): generation \d+", text)
    assert member, text[-3000:]
    lines = re.findall(r"\rbackup worker (\S+): \S+ \S*B fetched, (\d+) records stored", text)
    assert lines, text[-3000:]
    assert {m for m, _ in lines} == {member.group(1)}, lines
    assert int(lines[-1][1]) == 400, lines[-1]
    assert "\rbackup: " not in text


def read_all(env, topic: str, partitions: int) -> dict[int, list[tuple]]:
    """Every record of every partition (one confluent-kafka consumer, until EOF on all)."""
    import confluent_kafka as ck
    c = ck.Consumer({"bootstrap.servers": plaintext(env), "group.id": "kbw-read-" + uuid.uuid4().hex[:6],
                     "enable.auto.commit": False, "enable.partition.eof": True})
    out: dict[int, list[tuple]] = {p: [] for p in range(partitions)}
    try:
        pending = set()
        tps = []
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)
            if hi > lo:
                pending.add(p)
                tps.append(ck.TopicPartition(topic, p, lo))
        c.assign(tps)
        deadline = time.time() + 120
        while pending and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == ck.KafkaError._PARTITION_EOF:
                    pending.discard(m.partition())
                    continue
                raise AssertionError(str(m.error()))
            out[m.partition()].append((m.key(), m.value(), tuple(m.headers() or ()), m.timestamp()[1]))
        assert not pending, f"no end of partition {sorted(pending)} within 120 s"
    finally:
        c.close()
    return out


def test_one_shot_workers_exit_when_done_and_a_restore_is_record_equal(env, binary, tmp_path):
    src = name("wk")
    create_topic(env, src, PARTITIONS)
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 10})
    for i in range(150):
        for part in range(PARTITIONS):
            p.produce(src, key=None if i % 7 == 3 else f"k{i}".encode(), value=f"{part}-{i}".encode() * (1 + i % 5),
                      partition=part, headers=[("h", f"{i}".encode())] if i % 3 == 0 else None)
        p.poll(0)
    assert p.flush(60) == 0
    backup_id = "wo-" + uuid.uuid4().hex[:8]
    cfg = write_config(tmp_path, env, [src], backup_id, backup={"segment_max_bytes": 65536})
    doc = json.loads(cfg.read_text())
    doc["workers"] = {"group_id": "kbw-" + uuid.uuid4().hex[:8], "session_timeout_ms": SESSION_MS,
                      "rebalance_timeout_ms": 30000}
    cfg.write_text(json.dumps(doc))
    store = tmp_path / "store"
    workers = [Worker(binary, cfg, tmp_path / f"o{i}.log") for i in range(3)]
    try:
        for w in workers:
            assert w.proc.wait(120) == 0, w.log.read_text()[-3000:]
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)
    check_disjoint(workers)
    for w in workers:
        assert "reached their end offsets; leaving the group" in w.log.read_text() or \
            "no partitions to back up" in w.log.read_text(), w.log.read_text()[-2000:]
    v = subprocess.run([str(binary), "validate", "--path", f"file://{store}", "--backup-id", backup_id, "--deep"],
                       capture_output=True, text=True, timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr

    dst = src + "-restored"
    rcfg = restore_config(env, tmp_path, store, backup_id, [src], {"topic_mapping": {src: dst}, "create_topics": True})
    r = run_restore(env, rcfg)
    assert r.returncode == 0, r.stderr
    want = read_all(env, src, PARTITIONS)
    got = read_all(env, dst, PARTITIONS)
    assert sum(len(v) for v in want.values()) == 150 * PARTITIONS
    for part in range(PARTITIONS):
        assert got[part] == want[part], f"partition {part} differs after the restore"


SEGMENT_NAME = re.compile(r"^(\d{20})-(\d{20})\.kbs$")


def overlapping_segments(store: Path, backup_id: str, topic: str) -> list[tuple[int, str, str]]:
    """(partition, earlier, later) for every pair of stored segments whose offset ranges overlap,
    read from the segment names in the store (first-last offsets)."""
    out = []
    for pdir in (store / backup_id / "topics" / topic).iterdir():
        if not pdir.is_dir():
            continue
        segs = sorted((int(m.group(1)), int(m.group(2)), f.name) for f in pdir.iterdir()
                      if (m := SEGMENT_NAME.match(f.name)))
        for i, (first, last, name) in enumerate(segs):
            for first2, _, name2 in segs[i + 1:]:
                if first2 <= last:
                    out.append((int(pdir.name), name, name2))
    return out


def test_a_zombie_worker_frozen_past_its_session_leaves_the_set_exact(env, binary, tmp_path):
    """SIGSTOP past the session timeout: the other worker takes its partitions; after SIGCONT the
    zombie finds its partitions lost, still seals and uploads what it held — segments that overlap
    the new owner's (asserted from the store: the zombie held up to a segment interval of fetched
    data when frozen, and the new owner fetched the same offsets again from the checkpoint) — and
    never moves a checkpoint back. validate --deep passes (the shared offsets hold byte-identical
    batches) and a restore is record-by-record equal (each offset once)."""
    topic = name("wz")
    create_topic(env, topic, PARTITIONS)
    all_parts = {(topic, p) for p in range(PARTITIONS)}
    backup_id = "wz-" + uuid.uuid4().hex[:8]
    cfg = write_config(tmp_path, env, [topic], backup_id,
                       backup={"continuous": True, "segment_max_interval_ms": 3000, "poll_interval_ms": 100})
    doc = json.loads(cfg.read_text())
    doc["workers"] = {"group_id": "kbw-" + uuid.uuid4().hex[:8], "session_timeout_ms": SESSION_MS,
                      "rebalance_timeout_ms": 30000}
    cfg.write_text(json.dumps(doc))
    store = tmp_path / "store"
    producer = ProducerThread(env, topic)
    producer.start()
    workers = [Worker(binary, cfg, tmp_path / f"z{i}.log") for i in range(2)]
    try:
        wait_for(lambda: stable_cover(workers, 2, all_parts), 90, "two workers sharing 60 partitions")
        zombie, other = workers
        zombie_id = zombie.member_id()
        zombie.proc.send_signal(signal.SIGSTOP)
        try:
            # The other worker alone owns everything once the zombie's session expired.
            def alone():
                g, by_member = latest_generation([other])
                return g > 0 and len(by_member) == 1 and len(next(iter(by_member.values()))) == PARTITIONS
            wait_for(alone, SESSION_MS / 1000 + 60, "the other worker owning all partitions")
        finally:
            zombie.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: "lost " in zombie.log.read_text(), 60, "the zombie noticing its partitions were lost")
        wait_for(lambda: stable_cover(workers, 2, all_parts), 90, "the zombie back in the group")
        assert zombie_id is not None
        producer.stop.set()
        producer.join(90)
        assert not producer.errors, producer.errors[:3]
        ends = end_offsets(env, topic, PARTITIONS)
        wait_for(lambda: checkpoints_reach(store, backup_id, topic, ends), 120, "checkpoints at the end offsets", 0.5)
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.proc.wait(90) == 0, w.log.read_text()[-3000:]
    finally:
        producer.stop.set()
        for w in workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGCONT)
                w.proc.kill()
                w.proc.wait(10)
    check_disjoint(workers)
    # The zombie really wrote the same offsets again: two stored segments overlap.
    overlaps = overlapping_segments(store, backup_id, topic)
    assert overlaps, "the zombie uploaded no segment overlapping the new owner's"
    v = subprocess.run([str(binary), "validate", "--path", f"file://{store}", "--backup-id", backup_id, "--deep"],
                       capture_output=True, text=True, timeout=300)
    assert v.returncode == 0, v.stdout + v.stderr
    assert checkpoints_reach(store, backup_id, topic, ends), "a checkpoint moved back"
    # describe attributes the overlap: a partition with an overlap has a term that lost its session.
    d = describe_json(binary, store, backup_id)
    terms = {part["partition"]: part["owners"] for part in d["topics"][0]["partitions"]}
    p, _, _ = overlaps[0]
    assert any(o["member_id"] == zombie_id and o["next_offset"] == -1 for o in terms[p]), terms[p]
    dst = topic + "-restored"
    rcfg = restore_config(env, tmp_path, store, backup_id, [topic], {"topic_mapping": {topic: dst}, "create_topics": True})
    r = run_restore(env, rcfg)
    assert r.returncode == 0, r.stderr
    want = read_all(env, topic, PARTITIONS)
    got = read_all(env, dst, PARTITIONS)
    assert sum(len(v) for v in want.values()) == producer.sent
    for part in range(PARTITIONS):
        assert got[part] == want[part], f"partition {part} differs after the restore"
