"""Scaling figure for a backup run by workers (issue #17, docs/scale-out.md): 1, 2, 4, ... workers
back up the same amount of data, each behind its own per-worker rate limit, and the aggregate rate
is compared with N x one worker; the bytes each worker stored show the balance.

The backup has no rate limit of its own, so each worker writes to the S3 server through its own
toxiproxy proxy with a `bandwidth` toxic on the upload direction (toxiproxy applies it per
connection; a worker uploads over `upload_threads` = 4 connections, so its limit is about 4 x the
rate). Per N: the workers start in continuous mode on an empty topic and form their group; once
one generation holds all N of them, the data is produced (confluent-kafka, unthrottled) and the
clock runs until every partition's checkpoint reaches its end offset (read from the S3 server's
posix folder). Group formation is therefore not in the figure (it is reported separately). Then
SIGTERM, and each worker's last `this worker so far: ... bytes raw` line gives its share.

Not a test: no assertion on the figures; every wait is bounded; what it starts it stops.
"""
from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from datasets import produce_all  # bench/e2e/datasets.py, beside this file

MB = 1_000_000
GEN_LINE = re.compile(r"backup worker (\S+): generation (\d+)(?: \(leader\))?: (\d+) partition\(s\)")
WORKER_TOTAL = re.compile(r"backup worker (\S+): generation \d+ \w+: .*this worker so far: (\d+) records, (\d+) bytes raw")
TOXIPROXY = Path.home() / ".cache/kafka-backup/bin/toxiproxy-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Toxiproxy:
    """Our own toxiproxy-server on 127.0.0.1 (stopped by close())."""

    def __init__(self, work: Path):
        if not TOXIPROXY.is_file():
            raise SystemExit(f"{TOXIPROXY} missing: run scripts/install-deps.sh --tools-only")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(TOXIPROXY), "-host", "127.0.0.1", "-port", str(self.port)],
                                     stdout=open(work / "toxiproxy.log", "wb"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + "/version", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise SystemExit("toxiproxy-server did not start")
                time.sleep(0.1)

    def call(self, method: str, path: str, body: dict | None = None) -> None:
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()

    def limited_proxy(self, name: str, upstream: str, rate_kbs: int) -> int:
        port = free_port()
        self.call("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{port}", "upstream": upstream})
        self.call("POST", f"/proxies/{name}/toxics",
                  {"name": "bw", "type": "bandwidth", "stream": "upstream", "attributes": {"rate": rate_kbs}})
        return port

    def remove(self, name: str) -> None:
        self.call("DELETE", f"/proxies/{name}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def stable_generation(logs: list[Path], n: int, partitions: int) -> bool:
    """Some generation was logged by n workers whose partitions add up to all of them."""
    gens: dict[int, dict[str, int]] = {}
    for f in logs:
        for line in f.read_text(errors="replace").splitlines():
            m = GEN_LINE.search(line)
            if m:
                gens.setdefault(int(m.group(2)), {})[m.group(1)] = int(m.group(3))
    return any(len(g) == n and sum(g.values()) == partitions for g in gens.values())


def worker_bytes(log: Path) -> int:
    """The worker's own stored raw bytes: its last 'this worker so far' line."""
    last = 0
    for line in log.read_text(errors="replace").splitlines():
        m = WORKER_TOTAL.search(line)
        if m:
            last = int(m.group(3))
    return last


def checkpoints_at(root: Path, topic: str, ends: dict[int, int]) -> bool:
    for p, end in ends.items():
        f = root / "topics" / topic / str(p) / "checkpoint.json"
        try:
            if json.loads(f.read_text())["next_offset"] < end:
                return False
        except (OSError, ValueError, KeyError):
            return False
    return True


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-workers-wm"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        c.close()


def produce(bootstrap: str, topic: str, partitions: int, total: int, value_size: int, timeout: float) -> None:
    import random
    from confluent_kafka import Producer
    rng = random.Random(17)
    pool = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(value_size)) for _ in range(64)]
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1_000_000, "acks": "all",
                  "queue.buffering.max.kbytes": 262144})
    produce_all(p, topic, pool, max(1, total // value_size), partitions, 10, time.monotonic() + timeout,
                "producing the workers dataset")
    if p.flush(timeout) != 0:
        raise TimeoutError("records still queued after the flush timeout")


def run_one(args, env: dict, tox: Toxiproxy, work: Path, n: int, log) -> dict:
    from confluent_kafka.admin import AdminClient, NewTopic
    s3 = env["s3"]
    bootstrap = env["kafka"]["listeners"]["PLAINTEXT"]
    tag = uuid.uuid4().hex[:6]
    topic, group, bid = f"bench-wk{n}-{tag}", f"bench-wk{n}-{tag}", f"bw{n}-{tag}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, args.worker_partitions, 1)])[topic].result(timeout=60)
    upstream = s3["endpoint"].removeprefix("http://")
    procs, logs, proxies = [], [], []
    try:
        for i in range(n):
            name = f"s3-{bid}-{i}"
            port = tox.limited_proxy(name, upstream, args.worker_rate_kbs)
            proxies.append(name)
            cfg = work / f"{bid}-{i}.yaml"
            cfg.write_text(json.dumps({
                "mode": "backup", "backup_id": bid,
                "source": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
                "storage": {"backend": "s3", "bucket": s3["bucket"], "endpoint": f"http://127.0.0.1:{port}",
                            "region": s3["region"], "path_style": True, "prefix": f"bench/{bid}",
                            "access_key": s3["access_key"], "secret_key": s3["secret_key"]},
                "backup": {"continuous": True, "compression": "none", "segment_max_bytes": args.worker_segment_bytes,
                           "segment_max_interval_ms": 1000, "poll_interval_ms": 100},
                "workers": {"group_id": group, "session_timeout_ms": 10000, "rebalance_timeout_ms": 30000}}))
            cfg.chmod(0o600)
            logs.append(work / f"{bid}-{i}.log")
            procs.append(subprocess.Popen([args.binary, "--no-progress", "backup", "--config", str(cfg)],
                                          stdout=subprocess.DEVNULL, stderr=open(logs[-1], "w")))
        t_start = time.monotonic()
        deadline = t_start + 120
        while not stable_generation(logs, n, args.worker_partitions):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"{n} worker(s) did not form one generation within 120 s; logs in {work}")
            time.sleep(0.2)
        formed_s = time.monotonic() - t_start

        t0 = time.monotonic()
        produce(bootstrap, topic, args.worker_partitions, args.worker_mb * MB, args.worker_value_size, 600)
        produced_s = time.monotonic() - t0
        ends = end_offsets(bootstrap, topic, args.worker_partitions)
        root = Path(s3["log"]).parent / "data" / s3["bucket"] / "bench" / bid / bid
        # Bounded: 4x the time one rate-limited worker would need, at least 120 s.
        limit = max(120.0, 4 * args.worker_mb * MB / (args.worker_rate_kbs * 1000 * 4))
        while not checkpoints_at(root, topic, ends):
            if time.monotonic() - t0 > limit or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"checkpoints not at the end offsets within {limit:.0f} s; logs in {work}")
            time.sleep(0.1)
        window = time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        for name in proxies:
            try:
                tox.remove(name)
            except OSError:
                pass
        try:
            admin.delete_topics([topic], operation_timeout=60)[topic].result(timeout=90)
        except Exception as e:  # noqa: BLE001 - best effort: only disk space is at stake
            log(f"could not delete {topic}: {e}")
    per_worker = [worker_bytes(f) for f in logs]
    total = sum(per_worker)
    import shutil
    shutil.rmtree(Path(s3["log"]).parent / "data" / s3["bucket"] / "bench" / bid, ignore_errors=True)
    mean = total / n if n else 0
    return {"workers": n, "formed_s": formed_s, "produced_s": produced_s, "window_s": window, "bytes": total,
            "mb_s": total / MB / window, "per_worker_bytes": per_worker,
            # The window ends with the busiest worker: its rate shows whether each worker ran at its limit.
            "busiest_mb_s": max(per_worker) / MB / window,
            # The assignor's own bound: every worker within 15 % of the mean (docs/scale-out.md).
            "balance": max(abs(b - mean) for b in per_worker) / mean if mean else 0.0,
            "rate_kbs_per_connection": args.worker_rate_kbs}


def run(args, env: dict, work: Path, results: Path, log) -> tuple[list[dict], str]:
    counts = [int(x) for x in args.workers.split(",")]
    tox = Toxiproxy(work)
    rows: list[dict] = []
    try:
        for n in counts:
            samples = []
            for r in range(args.runs):
                log(f"workers: {n} worker(s), run {r + 1}/{args.runs}")
                row = run_one(args, env, tox, work, n, log)
                (results / f"workers-{n}-{r}.json").write_text(json.dumps(row, indent=2))
                log(f"workers: {n}: {row['mb_s']:.2f} MB/s over {row['window_s']:.1f} s, per worker "
                    f"{[round(b / MB, 1) for b in row['per_worker_bytes']]} MB")
                samples.append(row)
            best = sorted(samples, key=lambda s: s["mb_s"])[len(samples) // 2]  # the median run
            best["mb_s_all"] = [s["mb_s"] for s in samples]
            rows.append(best)
    finally:
        tox.close()
    return rows, table(rows)


def table(rows: list[dict]) -> str:
    one = next((r for r in rows if r["workers"] == 1), None)
    out = ["| workers | MB/s aggregate (median) | all runs | × one worker | ÷ (N × one worker) | MB per worker | "
           "max deviation from the mean | busiest worker MB/s | group formed in s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        x = r["mb_s"] / one["mb_s"] if one else float("nan")
        eff = x / r["workers"]
        out.append(f"| {r['workers']} | {r['mb_s']:.2f} | {', '.join(f'{v:.2f}' for v in r['mb_s_all'])} | {x:.2f} | "
                   f"{eff:.2f} | {', '.join(f'{b / MB:.1f}' for b in r['per_worker_bytes'])} | "
                   f"{100 * r['balance']:.1f} % | {r['busiest_mb_s']:.2f} | {r['formed_s']:.1f} |")
    return "\n".join(out)
