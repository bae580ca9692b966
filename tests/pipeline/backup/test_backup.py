"""`kafka-backup backup` against the harness's real broker and S3 server ($KB_TEST_ENV).

Data is produced by independent clients (kcat, confluent-kafka); what the backup stored is read
back with the `dump_segment` test tool (storage/format) and compared, byte for byte, with the
batches a minimal Fetch v4 client written here (no shared code with ours) gets from the broker.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


# ---- environment ------------------------------------------------------------------------------

def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def kcat(env, rdkafka_dir, *args, input_text=None, timeout=60):
    e = dict(os.environ, LD_LIBRARY_PATH=str(rdkafka_dir))
    p = subprocess.run(["kcat", "-b", plaintext(env), *args], input=input_text, capture_output=True, text=True,
                       timeout=timeout, env=e)
    assert p.returncode == 0, p.stderr
    return p.stdout


def new_topic(env, partitions=1, config=None, prefix="kbb") -> str:
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, partitions, 1, config=config or {})]).values():
        f.result(timeout=60)
    return name


# ---- an independent Fetch v4 client -----------------------------------------------------------

def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class RawFetcher:
    """Fetch v4 (read_uncommitted) over PLAINTEXT: returns the broker's record batches as bytes."""

    def __init__(self, bootstrap: str):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.corr = 0

    def close(self):
        self.sock.close()

    def _recv(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "broker closed the connection"
            buf += chunk
        return buf

    def fetch(self, topic: str, partition: int, offset: int):
        self.corr += 1
        body = struct.pack(">iiiib", -1, 100, 1, 4 << 20, 0)
        body += struct.pack(">i", 1) + _str(topic) + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 4 << 20)
        header = struct.pack(">hhi", 1, 4, self.corr) + _str("raw-fetch-test")
        msg = header + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(size)
        pos = 4 + 4  # correlation id, throttle
        (ntopics,) = struct.unpack_from(">i", data, pos); pos += 4
        assert ntopics == 1
        (tlen,) = struct.unpack_from(">h", data, pos); pos += 2 + tlen
        (nparts,) = struct.unpack_from(">i", data, pos); pos += 4
        assert nparts == 1
        _, err, hw, _lso = struct.unpack_from(">ihqq", data, pos); pos += 4 + 2 + 8 + 8
        (naborted,) = struct.unpack_from(">i", data, pos); pos += 4
        if naborted > 0:
            pos += 16 * naborted
        (rlen,) = struct.unpack_from(">i", data, pos); pos += 4
        records = data[pos:pos + max(rlen, 0)]
        return err, hw, records

    def all_batches(self, topic: str, partition: int, end: int):
        """Every complete batch in [log start, end), in order, as (base, last, bytes)."""
        out, offset = [], 0
        for _ in range(100000):
            if offset >= end:
                break
            err, hw, records = self.fetch(topic, partition, offset)
            if err == 1:  # OFFSET_OUT_OF_RANGE: start at the log start
                offset = earliest_offset(self, topic, partition)
                continue
            assert err == 0, f"fetch error {err}"
            pos, got = 0, False
            while pos + 12 <= len(records):
                base, blen = struct.unpack_from(">qi", records, pos)
                if pos + 12 + blen > len(records):
                    break
                raw = records[pos:pos + 12 + blen]
                last = base + struct.unpack_from(">i", raw, 23)[0]
                pos += 12 + blen
                if last < offset:
                    continue
                if base >= end:
                    break
                out.append((base, last, raw))
                offset = last + 1
                got = True
            if not got:
                break
        return out


def earliest_offset(f: RawFetcher, topic, partition) -> int:
    # ListOffsets v1: timestamp -2 (earliest)
    f.corr += 1
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + _str(topic) + struct.pack(">i", 1) + struct.pack(">iq", partition, -2)
    header = struct.pack(">hhi", 2, 1, f.corr) + _str("raw-fetch-test")
    msg = header + body
    f.sock.sendall(struct.pack(">i", len(msg)) + msg)
    data = f._recv(struct.unpack(">i", f._recv(4))[0])
    pos = 4 + 4
    (tlen,) = struct.unpack_from(">h", data, pos); pos += 2 + tlen + 4
    _, err, _ts, off = struct.unpack_from(">ihqq", data, pos)
    assert err == 0
    return off


def end_offsets(env, topic, partitions) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": "kbb-probe-" + uuid.uuid4().hex[:6]})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in range(partitions)}
    finally:
        c.close()


# ---- running the backup -----------------------------------------------------------------------

def write_config(tmp: Path, env, topics, backup_id, storage=None, backup=None, security=None, listener="PLAINTEXT") -> Path:
    cfg = {
        "mode": "backup",
        "backup_id": backup_id,
        "source": {"bootstrap_servers": [env["kafka"]["listeners"][listener]], "topics": {"include": topics}},
        "storage": storage or {"backend": "filesystem", "path": str(tmp / "store")},
        "backup": {"compression": "zstd", **(backup or {})},
    }
    if security:
        cfg["source"]["security"] = security
    path = tmp / f"{backup_id}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def run_backup(binary, cfg: Path, timeout=120, extra_env=None):
    e = dict(os.environ, **(extra_env or {}))
    return subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                          text=True, timeout=timeout, env=e)


def stored(dump_tool, url: str, backup_id: str, topic: str, partition: int, extra_env=None):
    e = dict(os.environ, **(extra_env or {}))
    p = subprocess.run([str(dump_tool), url, backup_id, topic, str(partition)], capture_output=True, text=True,
                       timeout=120, env=e)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def assert_identical(env, dump_tool, url, backup_id, topic, partitions, extra_env=None):
    ends = end_offsets(env, topic, partitions)
    f = RawFetcher(plaintext(env))
    try:
        total = 0
        for p in range(partitions):
            rows = stored(dump_tool, url, backup_id, topic, p, extra_env)
            batches = [r for r in rows if "hex" in r]
            want = f.all_batches(topic, p, ends[p])
            assert [(b["first"], b["last"]) for b in batches] == [(w[0], w[1]) for w in want], f"{topic}-{p} offsets"
            for b, w in zip(batches, want):
                assert bytes.fromhex(b["hex"]) == w[2], f"{topic}-{p} batch at {w[0]} differs from the broker's"
            total += len(batches)
        return total
    finally:
        f.close()


# ---- tests ------------------------------------------------------------------------------------

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def produce_mixed(env, rdkafka_dir, topic, codec, n=300):
    """Keys and null keys, headers, tombstones."""
    lines = "\n".join(f"k{i % 11}:value-{i}-{'x' * (i % 50)}" for i in range(n)) + "\n"
    kcat(env, rdkafka_dir, "-P", "-t", topic, "-p", "0", "-K:", "-z", codec, "-H", "origin=kcat", "-H", "n=1",
         input_text=lines)
    kcat(env, rdkafka_dir, "-P", "-t", topic, "-p", "0", "-z", codec, input_text="nokey-1\nnokey-2\n")
    kcat(env, rdkafka_dir, "-P", "-t", topic, "-p", "0", "-K:", "-Z", "-z", codec, input_text="k1:\nk2:\n")


def test_round_trip_every_codec_filesystem(env, binary, dump_tool, rdkafka_dir, tmp_path):
    topics = []
    for codec in CODECS:
        t = new_topic(env, prefix=f"kbb-{codec}")
        produce_mixed(env, rdkafka_dir, t, codec)
        topics.append(t)
    cfg = write_config(tmp_path, env, topics, "codecs", backup={"segment_max_bytes": 8192})
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert "complete" in r.stderr and "5 topics" in r.stderr
    url = str(tmp_path / "store")
    for t in topics:
        assert assert_identical(env, dump_tool, url, "codecs", t, 1) >= 3
    # Small segments: rotation happened, and the checkpoint names the newest one.
    ck = json.loads((tmp_path / "store/codecs/topics" / topics[0] / "0/checkpoint.json").read_text())
    assert ck["next_offset"] == end_offsets(env, topics[0], 1)[0]
    assert ck["segments"] >= 2
    # Tombstones and null keys are stored as the broker holds them (checked above byte for byte);
    # a second run finds nothing new and stores nothing twice.
    before = sorted(p.name for p in (tmp_path / "store/codecs/topics" / topics[0] / "0").iterdir())
    r2 = run_backup(binary, cfg)
    assert r2.returncode == 0, r2.stderr
    after = sorted(p.name for p in (tmp_path / "store/codecs/topics" / topics[0] / "0").iterdir())
    assert before == after
    assert "0 records" in r2.stderr


def test_transactions_committed_and_aborted(env, binary, dump_tool, tmp_path):
    from confluent_kafka import Producer

    t = new_topic(env)
    p = Producer({"bootstrap.servers": plaintext(env), "transactional.id": "kbb-tx-" + uuid.uuid4().hex[:6]})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(t, key=b"c", value=f"committed-{i}".encode(), partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(3):
        p.produce(t, key=b"a", value=f"aborted-{i}".encode(), partition=0)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(t, key=b"c2", value=b"committed-again", partition=0)
    p.commit_transaction(30)

    cfg = write_config(tmp_path, env, [t], "txn")
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    url = str(tmp_path / "store")
    assert_identical(env, dump_tool, url, "txn", t, 1)
    rows = stored(dump_tool, url, "txn", t, 0)
    markers = [r for r in rows if "hex" in r and r["flags"] & 2]
    commits = [m for m in markers if m["flags"] & 16]
    aborts = [m for m in markers if m["flags"] & 32]
    assert len(commits) >= 2 and len(aborts) == 1
    spans = [r for r in rows if "txn_pid" in r]
    assert sorted(s["txn_outcome"] for s in spans if s["txn_outcome"]) == [1] * len(commits) + [2]
    aborted = [s for s in spans if s["txn_outcome"] == 2][0]
    assert aborted["txn_last"] == aborts[0]["first"]


def store_writes(root: Path) -> set[tuple]:
    """Every object under `root` with its modification time: a new entry is a write."""
    out = set()
    for p in root.rglob("*") if root.exists() else ():
        try:
            if p.is_file():
                out.add((str(p), p.stat().st_mtime_ns))
        except FileNotFoundError:  # a temporary file renamed meanwhile
            pass
    return out


def serve_metrics(cfg: Path) -> int:
    """Turns on the metrics endpoint in `cfg` on a free local port and returns the port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = json.loads(cfg.read_text())
    data["metrics"] = {"enabled": True, "bind_address": "127.0.0.1", "port": port}
    cfg.write_text(json.dumps(data))
    return port


def wait_metrics(port: int, pred, timeout: float = 30) -> dict:
    """Polls (bounded) the running backup's metrics until `pred` holds for
    {"fetched": fetched bytes, "lag": {partition: lag}} and returns them."""
    import urllib.request

    deadline = time.monotonic() + timeout
    m: dict = {"fetched": -1, "lag": {}}
    while time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            text = ""
        if text:
            fetched = [float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith("kafka_backup_fetched_bytes_total{")]
            lags = {int(p): int(float(v)) for p, v in re.findall(
                r'^kafka_backup_partition_lag\{[^}]*partition="(\d+)"\} (\S+)$', text, re.M)}
            m = {"fetched": fetched[0] if fetched else -1, "lag": lags}
            if pred(m):
                return m
        time.sleep(0.05)
    raise AssertionError(f"the backup's metrics did not reach the expected state in {timeout} s: {m}")


def test_compacted_topic(env, binary, dump_tool, rdkafka_dir, tmp_path):
    t = new_topic(env, config={"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
                               "delete.retention.ms": "100", "min.compaction.lag.ms": "0"})
    for round_ in range(3):
        kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:",
             input_text="".join(f"k{i % 5}:r{round_}-{i}\n" for i in range(50)))
        time.sleep(0.3)
    # Give the cleaner a bounded chance to remove superseded records (offset holes appear).
    deadline = time.time() + 45
    while time.time() < deadline:
        out = kcat(env, rdkafka_dir, "-C", "-t", t, "-p", "0", "-o", "beginning", "-e", "-f", "%o\n")
        if len(out.split()) < 150:
            break
        kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="roll:x\n")
        time.sleep(2)
    offsets = [int(o) for o in out.split()]
    assert len(offsets) < offsets[-1] + 1, "the cleaner removed nothing: the test would not cover offset holes"
    cfg = write_config(tmp_path, env, [t], "compact")
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert_identical(env, dump_tool, str(tmp_path / "store"), "compact", t, 1)
    ck = json.loads((tmp_path / "store/compact/topics" / t / "0/checkpoint.json").read_text())
    assert ck["next_offset"] == end_offsets(env, t, 1)[0]


def test_s3_round_trip_with_multipart(env, binary, dump_tool, rdkafka_dir, tmp_path):
    s3 = env["s3"]
    t = new_topic(env, partitions=2)
    payload = "".join(f"k{i}:{uuid.uuid4().hex * 8}\n" for i in range(40000))  # ~10 MiB of fresh bytes
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text=payload, timeout=120)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "1", "-K:", "-z", "zstd", input_text=payload[: len(payload) // 8])
    prefix = "bk-" + uuid.uuid4().hex[:6]
    storage = {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
               "path_style": True, "prefix": prefix, "access_key": s3["access_key"], "secret_key": s3["secret_key"]}
    # No compression: partition 0's one segment is larger than the 8 MiB S3 part size -> multipart.
    cfg = write_config(tmp_path, env, [t], "s3set", storage=storage,
                       backup={"compression": "none", "segment_max_bytes": 64 << 20})
    r = run_backup(binary, cfg, timeout=300)
    assert r.returncode == 0, r.stderr
    url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
    creds = {"AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}
    assert_identical(env, dump_tool, url, "s3set", t, 2, creds)
    v = subprocess.run([str(binary), "validate", "--path", url, "--backup-id", "s3set", "--deep"], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, **creds))
    assert v.returncode == 0, v.stdout + v.stderr
    rows = stored(dump_tool, url, "s3set", t, 0, creds)
    sizes = sum(len(r["hex"]) // 2 for r in rows if "hex" in r)
    assert sizes > 8 << 20, "partition 0 should hold one segment larger than the part size"
    assert len({r["segment"] for r in rows}) == 1
    # The S3 server's request log shows the segment went up in parts and was completed.
    log = Path(s3["log"]).read_text(errors="replace")
    seg_path = f"/{s3['bucket']}/{prefix}/{rows[0]['segment']}"  # listed keys are relative to the prefix
    part_lines = [line for line in log.splitlines() if seg_path in line and "uploadId=" in line]
    assert any("| PUT |" in line and "partNumber=2" in line for line in part_lines), "no second part uploaded"
    assert any("| POST |" in line and "| 200 |" in line for line in part_lines), "multipart upload not completed"


def test_s3_wrong_secret_exits_3(env, binary, tmp_path):
    s3 = env["s3"]
    t = new_topic(env)
    storage = {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
               "path_style": True, "prefix": "wrong", "access_key": s3["access_key"],
               "secret_key": "definitely-not-the-secret"}
    r = run_backup(binary, write_config(tmp_path, env, [t], "wrong", storage=storage))
    assert r.returncode == 3, r.stderr
    assert "definitely-not-the-secret" not in r.stderr + r.stdout
    assert "s3://" in r.stderr or "S3" in r.stderr or "credential" in r.stderr.lower() or "403" in r.stderr


def test_kill_9_and_resume_stores_every_offset_once(env, binary, dump_tool, rdkafka_dir, tmp_path):
    import threading

    from confluent_kafka import Producer

    parts = 4
    t = new_topic(env, partitions=parts)
    for p in range(parts):
        # Small producer batches (50 records), so a segment holds many and fetches end anywhere.
        kcat(env, rdkafka_dir, "-P", "-t", t, "-p", str(p), "-K:", "-X", "batch.num.messages=50",
             input_text="".join(f"k{i}:{uuid.uuid4().hex * 3}-{i}\n" for i in range(5000)), timeout=120)
    # While the backups are killed, a producer keeps adding data (bounded), so every kill lands
    # in the middle of fetching, sealing, uploading or checkpointing.
    stop = threading.Event()

    def produce():
        pr = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 5, "batch.num.messages": 40})
        for i in range(200000):
            if stop.is_set():
                break
            pr.produce(t, key=f"live{i}".encode(), value=uuid.uuid4().hex.encode() * 2, partition=i % parts)
            if i % 200 == 0:
                pr.poll(0)
                time.sleep(0.005)
        pr.flush(30)

    producer = threading.Thread(target=produce)
    producer.start()
    live = write_config(tmp_path, env, [t], "killed",
                        backup={"continuous": True, "segment_max_bytes": 32768, "segment_max_interval_ms": 150,
                                "fetch_max_bytes": 65536, "compression": "zstd", "poll_interval_ms": 50})
    rng = random.Random(4)
    started = time.time()
    kills = 0
    try:
        for _ in range(24):
            if time.time() - started > 100:
                break
            # Killed at a random point of its progress, not of the clock: once it has written 1..6
            # objects (lease, manifests, segments, checkpoints) to the store.
            before = store_writes(tmp_path / "store/killed")
            proc = subprocess.Popen([str(binary), "backup", "--config", str(live), "--no-progress"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            target = rng.randint(1, 6)
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline \
                    and len(store_writes(tmp_path / "store/killed") - before) < target:
                time.sleep(0.02)
            alive = proc.poll() is None
            if alive:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            _, err = proc.communicate(timeout=30)
            assert alive, f"the continuous backup ended by itself: {err[-800:]}"
    finally:
        stop.set()
        producer.join(timeout=60)
    assert kills >= 20
    ends = end_offsets(env, t, parts)
    final = write_config(tmp_path, env, [t], "killed", backup={"segment_max_bytes": 32768, "compression": "zstd"})
    r = run_backup(binary, final, timeout=120)
    assert r.returncode == 0, r.stderr
    for p in range(parts):
        rows = [x for x in stored(dump_tool, str(tmp_path / "store"), "killed", t, p) if "hex" in x]
        offsets = []
        for b in rows:
            offsets.extend(range(b["first"], b["last"] + 1))
        assert len(offsets) == len(set(offsets)), f"partition {p}: an offset is stored twice"
        assert sorted(offsets) == list(range(0, ends[p])), f"partition {p}: stored offsets differ from the source"
    assert_identical(env, dump_tool, str(tmp_path / "store"), "killed", t, parts)
    v = subprocess.run([str(binary), "validate", "--path", str(tmp_path / "store"), "--backup-id", "killed", "--deep"],
                       capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stdout + v.stderr


def test_second_writer_is_locked_out_and_sigterm_commits(env, binary, dump_tool, rdkafka_dir, tmp_path):
    t = new_topic(env, partitions=2)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="".join(f"a{i}:x\n" for i in range(500)))
    cfg = write_config(tmp_path, env, [t], "cont",
                       backup={"continuous": True, "segment_max_interval_ms": 600000, "poll_interval_ms": 100})
    first = cfg.with_name("first-" + cfg.name)  # the first writer also serves metrics, to be polled
    first.write_text(cfg.read_text())
    port = serve_metrics(first)
    proc = subprocess.Popen([str(binary), "backup", "--config", str(first), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = tmp_path / "store/cont/lock.json"
        deadline = time.time() + 30
        while not lock.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert lock.exists(), "the running backup holds no lease"
        holder = json.loads(lock.read_text())["owner"]
        second = run_backup(binary, cfg, timeout=60)
        assert second.returncode == 1, second.stderr
        assert holder in second.stderr, second.stderr
        # More data while it runs, then SIGTERM once it is fetched: everything fetched must be committed.
        fetched = wait_metrics(port, lambda m: m["fetched"] > 0 and m["lag"].get(0) == 0)
        kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "1", "-K:", input_text="".join(f"b{i}:y\n" for i in range(300)))
        wait_metrics(port, lambda m: m["fetched"] > fetched["fetched"] and m["lag"].get(1) == 0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert not (tmp_path / "store/cont/lock.json").exists(), "the lease was not released"
    ends = end_offsets(env, t, 2)
    for p in range(2):
        ck = json.loads((tmp_path / f"store/cont/topics/{t}/{p}/checkpoint.json").read_text())
        assert ck["next_offset"] == ends[p], f"partition {p}: {ck['next_offset']} != {ends[p]}"
    assert_identical(env, dump_tool, str(tmp_path / "store"), "cont", t, 2)


def test_sasl_ssl_scram_512_with_least_privilege_user(env, binary, dump_tool, rdkafka_dir, tmp_path):
    t = new_topic(env)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="".join(f"s{i}:v{i}\n" for i in range(200)))
    sec = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "backup",
           "sasl_password": "${KB_PW}", "ssl_ca_location": env["tls"]["ca"]}
    cfg = write_config(tmp_path, env, [t], "scram", security=sec, listener="SASL_SSL",
                       backup={"consumer_group_snapshot": True})
    r = run_backup(binary, cfg, extra_env={"KB_PW": env["users"]["backup"]})
    assert r.returncode == 0, r.stderr
    assert env["users"]["backup"] not in r.stderr + r.stdout
    assert_identical(env, dump_tool, str(tmp_path / "store"), "scram", t, 1)
    assert list((tmp_path / "store/scram/groups").glob("*.json")), "no consumer-group snapshot written"
    # The least-privilege user may not DescribeConfigs: warned once and recorded in backup.json.
    notes = json.loads((tmp_path / "store/scram/backup.json").read_text()).get("notes", [])
    assert any("DescribeConfigs" in n for n in notes), notes


def test_mtls_backup_user(env, binary, dump_tool, rdkafka_dir, tmp_path):
    t = new_topic(env)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="".join(f"m{i}:v{i}\n" for i in range(200)))
    sec = {"security_protocol": "SSL", "ssl_ca_location": env["tls"]["ca"],
           "ssl_certificate_location": env["tls"]["client_cert"], "ssl_key_location": env["tls"]["client_key"]}
    cfg = write_config(tmp_path, env, [t], "mtls", security=sec, listener="MTLS")
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert_identical(env, dump_tool, str(tmp_path / "store"), "mtls", t, 1)


def test_unauthorized_topic_exits_3(env, binary, tmp_path):
    t = new_topic(env)
    sec = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "noacl",
           "sasl_password": "${KB_PW}"}
    cfg = write_config(tmp_path, env, [t], "noacl", security=sec, listener="SASL_PLAINTEXT")
    r = run_backup(binary, cfg, extra_env={"KB_PW": env["users"]["noacl"]})
    assert r.returncode == 3, r.stderr
    assert f"Not authorized to access topic '{t}'" in r.stderr


def test_glob_hidden_by_a_missing_describe_acl_names_the_acl_and_the_command(env, binary, tmp_path):
    """Kafka leaves out of Metadata the topics a principal may not describe: a glob then matches
    nothing, and the message must say that this can be the ACL and how to grant it."""
    t = new_topic(env, prefix="kbb-acl")
    pattern = t[: t.rindex("-") + 1] + "*"  # kbb-acl-<id>*: the topic exists and matches
    sec = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "noacl",
           "sasl_password": "${KB_PW}"}
    cfg = write_config(tmp_path, env, [pattern], "noacl-glob", security=sec, listener="SASL_PLAINTEXT")
    r = run_backup(binary, cfg, extra_env={"KB_PW": env["users"]["noacl"]})
    assert r.returncode == 1, r.stderr
    assert "no topic on the cluster matches source.topics" in r.stderr
    assert "missing Describe ACL for User:noacl" in r.stderr
    prefix = pattern[:-1]
    command = (f"kafka-acls.sh --bootstrap-server {env['kafka']['listeners']['SASL_PLAINTEXT']} "
               f"--command-config admin.properties --add --allow-principal User:noacl "
               f"--operation Describe --operation Read --topic '{prefix}' --resource-pattern-type prefixed")
    assert command in [line.strip() for line in r.stderr.splitlines()], r.stderr  # a line of its own, to copy
    assert env["users"]["noacl"] not in r.stderr


def test_missing_literal_topic_is_an_error(env, binary, tmp_path):
    r = run_backup(binary, write_config(tmp_path, env, ["kbb-does-not-exist-" + uuid.uuid4().hex[:6]], "missing"))
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_retention_gap_is_recorded_and_the_backup_goes_on(env, binary, dump_tool, rdkafka_dir, tmp_path):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    t = new_topic(env)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", "-X", "batch.num.messages=10",
         input_text="".join(f"a{i}:v{i}\n" for i in range(100)))
    cfg = write_config(tmp_path, env, [t], "gaps")
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", "-X", "batch.num.messages=10",
         input_text="".join(f"b{i}:v{i}\n" for i in range(100)))
    # Retention (here: DeleteRecords) removes 100..149 before the next run could read them.
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.delete_records([TopicPartition(t, 0, 150)]).values():
        f.result(timeout=30)
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert "100..149" in r.stderr and "gap" in r.stderr
    rows = stored(dump_tool, str(tmp_path / "store"), "gaps", t, 0)
    gaps = [(x["gap_first"], x["gap_last"]) for x in rows if "gap_first" in x]
    assert gaps == [(100, 149)]
    offsets = sorted(o for x in rows if "hex" in x for o in range(x["first"], x["last"] + 1))
    assert offsets[:100] == list(range(100))
    assert offsets[100:] == list(range(150, 200))
    ck = json.loads((tmp_path / "store/gaps/topics" / t / "0/checkpoint.json").read_text())
    assert ck["next_offset"] == 200
    assert ck["gaps"] == [{"first_offset": 100, "last_offset": 149}]


def test_metrics_endpoint_while_running(env, binary, rdkafka_dir, tmp_path):
    import urllib.request

    t = new_topic(env)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="".join(f"m{i}:v{i}\n" for i in range(250)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = write_config(tmp_path, env, [t], "metrics",
                       backup={"continuous": True, "segment_max_interval_ms": 200, "poll_interval_ms": 100})
    data = json.loads(cfg.read_text())
    data["metrics"] = {"enabled": True, "bind_address": "127.0.0.1", "port": port}
    cfg.write_text(json.dumps(data))
    proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        text, deadline = "", time.time() + 30
        while time.time() < deadline:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
                if 'kafka_backup_records_total{backup_id="metrics"} 250' in text:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert 'kafka_backup_records_total{backup_id="metrics"} 250' in text, text
        assert f'kafka_backup_partition_lag{{backup_id="metrics",topic="{t}",partition="0"}} 0' in text
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_start_offset_latest_then_incremental(env, binary, dump_tool, rdkafka_dir, tmp_path):
    t = new_topic(env)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="".join(f"old{i}:v\n" for i in range(100)))
    cfg = write_config(tmp_path, env, [t], "latest", backup={"start_offset": "latest"})
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    ck = json.loads((tmp_path / "store/latest/topics" / t / "0/checkpoint.json").read_text())
    assert ck["next_offset"] == 100 and ck["segments"] == 0
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", input_text="".join(f"new{i}:v\n" for i in range(50)))
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    rows = [x for x in stored(dump_tool, str(tmp_path / "store"), "latest", t, 0) if "hex" in x]
    assert sorted(o for x in rows for o in range(x["first"], x["last"] + 1)) == list(range(100, 150))


def test_snapshot_stops_at_the_offsets_seen_at_start(env, binary, dump_tool, rdkafka_dir, tmp_path):
    t = new_topic(env, partitions=2)
    for p in range(2):
        kcat(env, rdkafka_dir, "-P", "-t", t, "-p", str(p), "-K:", input_text="".join(f"s{i}:v\n" for i in range(300)))
    cfg = write_config(tmp_path, env, [t], "snap", backup={"stop_at_current_offsets": True})
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert_identical(env, dump_tool, str(tmp_path / "store"), "snap", t, 2)


def test_segment_uploaded_but_not_checkpointed_is_adopted_and_junk_removed(env, binary, dump_tool, rdkafka_dir,
                                                                            tmp_path):
    t = new_topic(env)
    kcat(env, rdkafka_dir, "-P", "-t", t, "-p", "0", "-K:", "-X", "batch.num.messages=20",
         input_text="".join(f"c{i}:{'z' * 100}{i}\n" for i in range(1000)))
    cfg = write_config(tmp_path, env, [t], "crash", backup={"segment_max_bytes": 16384})
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    pdir = tmp_path / "store/crash/topics" / t / "0"
    segs = sorted(p for p in pdir.iterdir() if p.suffix == ".kbs")
    assert len(segs) >= 3
    last = segs[-1]
    before = last.read_bytes()
    # Rewind the checkpoint by one segment: as if the process died after the last upload and
    # before its checkpoint was written.
    ck = json.loads((pdir / "checkpoint.json").read_text())
    first_of_last = int(last.name.split("-")[0])
    ck["next_offset"] = first_of_last
    ck["last_segment"] = f"crash/topics/{t}/0/{segs[-2].name}"
    ck["segments"] -= 1
    (pdir / "checkpoint.json").write_text(json.dumps(ck))
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert "adopting" in r.stderr
    assert last.read_bytes() == before, "the adopted segment must be kept as it was"
    assert sorted(p.name for p in pdir.iterdir() if p.suffix == ".kbs") == [s.name for s in segs]
    assert json.loads((pdir / "checkpoint.json").read_text())["next_offset"] == 1000
    # A damaged object past the checkpoint is not adopted: it is removed and the data fetched again.
    ck = json.loads((pdir / "checkpoint.json").read_text())
    ck["next_offset"] = first_of_last
    ck["last_segment"] = f"crash/topics/{t}/0/{segs[-2].name}"
    (pdir / "checkpoint.json").write_text(json.dumps(ck))
    last.write_bytes(before[: len(before) // 2])
    r = run_backup(binary, cfg)
    assert r.returncode == 0, r.stderr
    assert "removing" in r.stderr
    rows = [x for x in stored(dump_tool, str(tmp_path / "store"), "crash", t, 0) if "hex" in x]
    offsets = [o for x in rows for o in range(x["first"], x["last"] + 1)]
    assert sorted(offsets) == list(range(1000)) and len(offsets) == len(set(offsets))
