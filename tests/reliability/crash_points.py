"""Crash points at scale (issue #16 item 5): a driver that starts kafka-backup over and over and
kills it (SIGKILL) at a seeded random moment, then checks the end result record by record.

One mode = one source topic (8 partitions, produced with confluent-kafka, keys, values, headers and
timestamps all distinct) and a series of rounds. A round is one logical run of the tool (a fresh
backup id, or a fresh restore target topic): the tool is started, killed after a delay drawn
uniformly from [0, window] (window = the measured duration of one clean run, at most
`max_window_s`), started again (it resumes), killed again, ... Every kill of a still-running process
is one point. A run that ends by itself before its kill ends the round (its exit code must be 0);
so does the per-round cap, after which one clean run finishes the work. Then the round is checked:

- backup: `validate --deep`, a clean restore into a new topic, and that topic read back;
- restore: the target read back;

both compared with the source per partition (key, value, headers, timestamp, order). `lost` counts
source records missing from the result, `duplicated` records present more often than in the source,
`reordered` partitions whose multiset matched but whose order did not.

SIGSTOP mode (backup): the tool is stopped (SIGSTOP) at the random moment; a second process, whose
wall clock libfaketime moves past the lease's expiry (the lease TTL is a fixed 60 s), takes the
lease over and is itself killed at a random moment or finishes; then the first is continued
(SIGCONT) and must either stop (its lease is gone) or finish without damaging what the second wrote.
Each stop is one point.

Everything is bounded: each run of the tool (max_run_s), the rounds (the point count), the reads.
"""
from __future__ import annotations

import collections
import json
import os
import random
import select
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PARTITIONS = 8
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


class CrashPointFailure(AssertionError):
    pass


# ---- data ------------------------------------------------------------------------------------

def make_record(p: int, i: int, rng: random.Random, base_ms: int) -> tuple[bytes, bytes, list, int]:
    key = f"p{p}-{i:07d}".encode()
    value = f"{p}:{i}:".encode() + rng.randbytes(rng.randint(40, 240))
    headers = [] if i % 5 == 0 else [("h", f"{i}".encode()), ("seq", rng.randbytes(8))]
    return key, value, headers, base_ms + i * 7 + p


def produce_source(bootstrap: str, topic: str, per_partition: int, seed: int) -> dict[int, list]:
    """Creates the topic and produces per_partition records into each partition in small batches
    (many batches per segment); returns what was sent, per partition."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        f.result(timeout=60)
    rng = random.Random(seed)
    # Recent timestamps: records older than the broker's retention (7 days) would be deleted under the test.
    base_ms = int(time.time() * 1000) - 3_600_000
    sent = {p: [make_record(p, i, rng, base_ms) for i in range(per_partition)] for p in range(PARTITIONS)}
    pr = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 8,
                   "enable.idempotence": True, "compression.type": "lz4"})
    for i in range(per_partition):
        for p in range(PARTITIONS):
            k, v, h, ts = sent[p][i]
            while True:
                try:
                    pr.produce(topic, key=k, value=v, headers=h, partition=p, timestamp=ts)
                    break
                except BufferError:
                    pr.poll(0.05)
        if i % 500 == 0:
            pr.poll(0)
    assert pr.flush(120) == 0, "the source topic was not fully produced"
    return {p: [norm(k, v, h, ts) for k, v, h, ts in recs] for p, recs in sent.items()}


def norm(key, value, headers, ts) -> tuple:
    return (key, value, tuple((k, bytes(v) if v is not None else None) for k, v in (headers or [])), ts)


def read_topic(bootstrap: str, topic: str, bound_s: float = 120) -> dict[int, list]:
    """Every record of the topic's 8 partitions, from the log start to the high watermark, as
    (key, value, headers, timestamp), in offset order."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"kb-crash-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, "fetch.max.bytes": 8 << 20})
    try:
        out: dict[int, list] = {p: [] for p in range(PARTITIONS)}
        ends, assign = {}, []
        for p in range(PARTITIONS):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if hi > lo:
                ends[p] = hi
                assign.append(TopicPartition(topic, p, lo))
        if not assign:
            return out
        c.assign(assign)
        pending = set(ends)
        deadline = time.monotonic() + bound_s
        while pending and time.monotonic() < deadline:
            for m in c.consume(1000, 1.0):
                if m.error():
                    continue
                p = m.partition()
                out[p].append(norm(m.key(), m.value(), m.headers(), m.timestamp()[1]))
                if m.offset() >= ends[p] - 1:
                    pending.discard(p)
        if pending:
            raise CrashPointFailure(f"{topic}: partitions {sorted(pending)} not read to their end in {bound_s} s")
        return out
    finally:
        c.close()


@dataclass
class Diff:
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    examples: list = field(default_factory=list)

    def add(self, other: "Diff") -> None:
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.reordered += other.reordered
        self.examples.extend(other.examples[: max(0, 12 - len(self.examples))])


def compare(want: dict[int, list], got: dict[int, list]) -> Diff:
    d = Diff()
    for p in range(PARTITIONS):
        w, g = want[p], got.get(p, [])
        if w == g:
            continue
        cw, cg = collections.Counter(w), collections.Counter(g)
        lost = cw - cg
        dup = cg - cw
        d.lost += sum(lost.values())
        d.duplicated += sum(dup.values())
        if not lost and not dup:
            d.reordered += 1
        if lost:
            first = min(lost, key=lambda r: r[0])
            by_key = {r[0]: r for r in g}
            how = "absent" if first[0] not in by_key else \
                "present but " + ", ".join(n for n, a, b in zip(("key", "value", "headers", "timestamp"), first,
                                                                 by_key[first[0]]) if a != b) + " differ"
            d.examples.append(f"partition {p}: {sum(lost.values())} lost, e.g. key {first[0]!r} ({how};"
                              f" {len(g)} records read, {len(w)} expected)")
        if dup:
            d.examples.append(f"partition {p}: {sum(dup.values())} extra, e.g. key {min(dup)[0]!r}")
        if not lost and not dup:
            first = next(i for i, (a, b) in enumerate(zip(w, g)) if a != b)
            d.examples.append(f"partition {p}: same records, order differs from index {first}")
    return d


# ---- running the tool ------------------------------------------------------------------------

class Tool:
    """Starts kafka-backup runs with their output in one log file per mode."""

    def __init__(self, binary: Path, log: Path, max_run_s: float):
        self.binary = binary
        self.log = log
        self.max_run_s = max_run_s

    def start(self, command: str, config: Path, env: dict | None = None) -> subprocess.Popen:
        with open(self.log, "ab") as out:
            out.write(f"---- {command} {config.name} at {time.time():.3f}\n".encode())
            out.flush()
            return subprocess.Popen([str(self.binary), "--no-progress", command, "--config", str(config)],
                                    stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env)

    def run(self, command: str, config: Path, env: dict | None = None) -> int:
        p = self.start(command, config, env)
        try:
            return p.wait(self.max_run_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(30)
            raise CrashPointFailure(f"{command} hung: still running after {self.max_run_s} s; log {self.log}:\n"
                                    + self.tail())

    def tail(self, n: int = 3000) -> str:
        data = self.log.read_bytes()[-n:].decode(errors="replace")
        return data


def wait_or_timeout(p: subprocess.Popen, seconds: float) -> bool:
    """Waits up to `seconds` (precisely, through a pidfd) for p to end; True when it ended."""
    if p.poll() is not None:
        return True
    fd = os.pidfd_open(p.pid)
    try:
        select.select([fd], [], [], max(0.0, seconds))
    finally:
        os.close(fd)
    return p.poll() is not None


def validate_deep(tool: Tool, url: str, backup_id: str, env: dict) -> None:
    p = subprocess.run([str(tool.binary), "validate", "--path", url, "--backup-id", backup_id, "--deep"],
                       capture_output=True, text=True, timeout=tool.max_run_s, env=env)
    if p.returncode != 0:
        raise CrashPointFailure(f"validate --deep {backup_id}: exit {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")


# ---- modes -----------------------------------------------------------------------------------

@dataclass
class Store:
    """Where the backups of a mode go: the tool's storage section, and validate's URL + env."""
    kind: str           # "fs" | "s3"
    cfg: dict
    url: str
    url_env: dict


def fs_store(root: Path) -> Store:
    return Store("fs", {"backend": "filesystem", "path": str(root)}, str(root), dict(os.environ))


def s3_store(env: dict, prefix: str) -> Store:
    s3 = env["s3"]
    cfg = {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
           "path_style": True, "prefix": prefix, "access_key": s3["access_key"], "secret_key": s3["secret_key"]}
    url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
    return Store("s3", cfg, url, {**os.environ, "AWS_ACCESS_KEY_ID": s3["access_key"],
                                  "AWS_SECRET_ACCESS_KEY": s3["secret_key"]})


# Small segments and fetches: many segment files, checkpoints and fetches per run, so a kill
# lands in every step of a segment's commit; a rate-limited restore with small batches: many
# acknowledged batches and state writes per run.
BACKUP_TUNING = {"compression": "zstd", "stop_at_current_offsets": True, "segment_max_bytes": 2048,
                 "fetch_max_bytes": 4096}
RESTORE_TUNING = {"produce_batch_size": 4096, "rate_limit_bytes_per_sec": 512 * 1024}


def backup_config(tmp: Path, bootstrap: str, topic: str, store: Store, backup_id: str) -> Path:
    cfg = {"mode": "backup", "backup_id": backup_id,
           "source": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
           "storage": store.cfg, "backup": dict(BACKUP_TUNING)}
    path = tmp / f"backup-{backup_id}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def restore_config(tmp: Path, bootstrap: str, topic: str, target: str, store: Store, backup_id: str,
                   tuning: dict | None = None) -> Path:
    cfg = {"mode": "restore", "backup_id": backup_id,
           "target": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
           "storage": store.cfg, "restore": {"topic_mapping": {topic: target}, "create_topics": True, **(tuning or {})}}
    path = tmp / f"restore-{target}.yaml"
    path.write_text(json.dumps(cfg))
    return path


@dataclass
class Result:
    name: str
    points: int = 0
    rounds: int = 0
    finished_early: int = 0     # runs that ended by themselves before their kill
    diff: Diff = field(default_factory=Diff)
    seed: int = 0
    seconds: float = 0.0
    window_s: float = 0.0
    check_s: float = 0.0        # of seconds, the checks' share
    kind: str = "kill -9"

    def line(self) -> str:
        return (f"{self.kind} {self.name}: {self.points} points, {self.diff.lost} lost, {self.diff.duplicated} duplicated"
                f" (seed {self.seed}, {self.seconds:.0f} s)")

    def detail(self) -> str:
        return (f"{self.kind} {self.name}: {self.rounds} rounds, {self.finished_early} runs ended before their kill,"
                f" kill window 0-{self.window_s * 1000:.0f} ms, checks {self.check_s:.0f} s, {self.diff.reordered} partitions"
                f" reordered")


class Mode:
    """One mode's rounds. Subclasses say what a round's config is and how it is checked."""

    def __init__(self, name: str, tool: Tool, tmp: Path, bootstrap: str, topic: str, source: dict,
                 store: Store, seed: int, points: int, per_round: int, max_window_s: float):
        self.name, self.tool, self.tmp, self.bootstrap, self.topic = name, tool, tmp, bootstrap, topic
        self.source, self.store, self.points, self.per_round = source, store, points, per_round
        self.max_window_s = max_window_s
        self.rng = random.Random(seed)
        self.result = Result(name, seed=seed)

    # the round's config (fresh backup id / target topic) and its check
    def new_round(self, i: int) -> tuple[str, Path]:
        raise NotImplementedError

    def check(self, i: int) -> Diff:
        raise NotImplementedError

    def describe_round(self) -> str:
        raise NotImplementedError

    def calibrate(self) -> float:
        """One clean run (not a point): its duration is the kill window."""
        command, cfg = self.new_round(-1)
        t0 = time.monotonic()
        rc = self.tool.run(command, cfg)
        took = time.monotonic() - t0
        if rc != 0:
            raise CrashPointFailure(f"{self.name}: the clean calibration run failed (exit {rc}):\n{self.tool.tail()}")
        self.absorb(-1)
        return min(took, self.max_window_s)

    def absorb(self, i: int) -> None:
        """The calibration run's result is checked like a round's (it must be exact as well)."""
        self.checked(i)

    def checked(self, i: int) -> None:
        t0 = time.monotonic()
        d = self.check(i)
        if d.examples:
            d.examples.insert(0, f"round {i + 1} ({self.describe_round()}):")
        self.result.diff.add(d)
        self.result.check_s += time.monotonic() - t0

    def progress(self, t0: float) -> None:
        """A line every 100 points (a long run that is stopped still shows how far it got)."""
        r = self.result
        if r.points < self.points and r.points // 100 > getattr(self, "_reported", 0):
            self._reported = r.points // 100
            print(f"{r.kind} {self.name}: {r.points} points so far, {r.diff.lost} lost, {r.diff.duplicated} duplicated"
                  f" ({r.rounds} rounds checked, {time.monotonic() - t0:.0f} s)", flush=True)

    def run(self) -> Result:
        t0 = time.monotonic()
        window = self.calibrate()
        self.result.window_s = window
        r = self.result
        i = 0
        while r.points < self.points:
            command, cfg = self.new_round(i)
            kills = 0
            while kills < self.per_round and r.points < self.points:
                p = self.tool.start(command, cfg)
                if wait_or_timeout(p, self.rng.uniform(0, window)):
                    r.finished_early += 1
                    if p.returncode != 0:
                        raise CrashPointFailure(f"{self.name}: round {i}, a run ended with exit {p.returncode} "
                                                f"before its kill (after {kills} kills):\n{self.tool.tail()}")
                    break
                p.send_signal(signal.SIGKILL)
                p.wait(30)
                kills += 1
                r.points += 1
            rc = self.tool.run(command, cfg)  # the final clean run (a no-op when the round finished)
            if rc != 0:
                raise CrashPointFailure(f"{self.name}: round {i}, the clean run after {kills} kills ended with "
                                        f"exit {rc}:\n{self.tool.tail()}")
            self.checked(i)
            r.rounds += 1
            i += 1
            self.progress(t0)
        r.seconds = time.monotonic() - t0
        return r


class BackupMode(Mode):
    def new_round(self, i: int) -> tuple[str, Path]:
        self.bid = f"cp-{self.store.kind}-{i + 1}-{uuid.uuid4().hex[:6]}"
        return "backup", backup_config(self.tmp, self.bootstrap, self.topic, self.store, self.bid)

    def describe_round(self) -> str:
        return f"backup id {self.bid}"

    def check(self, i: int) -> Diff:
        validate_deep(self.tool, self.store.url, self.bid, self.store.url_env)
        target = f"{self.topic}-chk-{self.bid}"
        rc = self.tool.run("restore", restore_config(self.tmp, self.bootstrap, self.topic, target, self.store, self.bid))
        if rc != 0:
            raise CrashPointFailure(f"{self.name}: the check's restore of {self.bid} failed (exit {rc}):\n{self.tool.tail()}")
        d = compare(self.source, read_topic(self.bootstrap, target))
        delete_topics(self.bootstrap, [target])
        return d


class RestoreMode(Mode):
    def __init__(self, *a, backup_id: str, **kw):
        super().__init__(*a, **kw)
        self.bid = backup_id

    def new_round(self, i: int) -> tuple[str, Path]:
        self.target = f"{self.topic}-r{i + 1}-{uuid.uuid4().hex[:6]}"
        return "restore", restore_config(self.tmp, self.bootstrap, self.topic, self.target, self.store, self.bid,
                                         RESTORE_TUNING)

    def describe_round(self) -> str:
        return f"target {self.target}"

    def check(self, i: int) -> Diff:
        d = compare(self.source, read_topic(self.bootstrap, self.target))
        if not d.examples:  # a damaged target is kept for a look
            delete_topics(self.bootstrap, [self.target])
        return d


class StopMode(BackupMode):
    """SIGSTOP past the lease. A is stopped at the random moment; B starts with its clocks (wall and
    monotonic, libfaketime) 2 min ahead, so A's lease (TTL 60 s) has expired for it and B takes the
    lease over; at a second random moment, with B most often still running, A's clocks jump the
    same 2 min (its libfaketime file is rewritten) and A is continued (SIGCONT): to A it is as if it
    had been stopped for 2 min. Both then run on to their end (bounded); either may end with 0 or 1
    (a lost lease), and the result must stay exact."""

    def faked(self, offset: str, rc_file: Path | None = None) -> dict:
        e = {**os.environ, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME_NO_CACHE": "1"}
        if rc_file is None:
            e["FAKETIME"] = offset
        else:  # read on every clock call: rewriting it moves the running process's clocks
            rc_file.write_text(offset + "\n")
            e["FAKETIME_TIMESTAMP_FILE"] = str(rc_file)
        return e

    def run(self) -> Result:
        if not LIBFAKETIME.is_file():
            raise CrashPointFailure(f"{LIBFAKETIME} missing: apt-get install libfaketime (scripts/install-deps.sh)")
        later = self.faked("+2m")
        t0 = time.monotonic()
        window = self.calibrate()
        r = self.result
        r.kind, r.window_s = "SIGSTOP", window
        self.exits: collections.Counter = collections.Counter()
        i = 0
        while r.points < self.points:
            command, cfg = self.new_round(i)
            stops = 0
            while stops < self.per_round and r.points < self.points:
                clock_a = self.tmp / f"clock-a-{i}-{stops}.rc"
                a = self.tool.start(command, cfg, self.faked("+0", clock_a))
                if wait_or_timeout(a, self.rng.uniform(0, window)):
                    r.finished_early += 1
                    if a.returncode != 0:
                        raise CrashPointFailure(f"{self.name}: round {i}, a run ended with exit {a.returncode}:\n"
                                                f"{self.tool.tail()}")
                    break
                a.send_signal(signal.SIGSTOP)
                stops += 1
                r.points += 1
                b = None
                try:
                    b = self.tool.start(command, cfg, later)
                    b_done = wait_or_timeout(b, self.rng.uniform(0, window))
                    self.exits["B ended before A went on" if b_done else "B running when A went on"] += 1
                finally:
                    clock_a.write_text("+2m\n")
                    a.send_signal(signal.SIGCONT)
                for who, p in (("A", a), ("B", b)):
                    if not wait_or_timeout(p, self.tool.max_run_s):
                        a.kill(), b.kill(), a.wait(30), b.wait(30)
                        raise CrashPointFailure(f"{self.name}: {who} did not end in {self.tool.max_run_s} s:\n"
                                                f"{self.tool.tail()}")
                    if p.returncode not in (0, 1):
                        raise CrashPointFailure(f"{self.name}: {who} ended with exit {p.returncode}:\n{self.tool.tail()}")
                    self.exits[f"{who} exit {p.returncode}"] += 1
            rc = self.tool.run(command, cfg, later)
            if rc != 0:
                raise CrashPointFailure(f"{self.name}: round {i}, the clean run after {stops} stops ended with "
                                        f"exit {rc}:\n{self.tool.tail()}")
            self.checked(i)
            r.rounds += 1
            i += 1
            self.progress(t0)
        r.seconds = time.monotonic() - t0
        return r


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    from confluent_kafka.admin import AdminClient
    for f in AdminClient({"bootstrap.servers": bootstrap}).delete_topics(topics).values():
        try:
            f.result(timeout=30)
        except Exception:  # noqa: BLE001  (a cleanup; the check already ran)
            pass
