"""Storage resilience of `kafka-backup backup` against the harness ($KB_TEST_ENV): a frozen or
briefly closed S3 endpoint (a TCP proxy in front of the harness's S3 server that this test opens,
closes and freezes), a frozen broker, and the leftovers of a kill -9 (multipart uploads on S3,
temp files on the filesystem). Signals must be answered at every stage, retries are logged at
warn, and the retry budget ends with "giving up after N attempts over T s".
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def env(env) -> dict:
    """The single-broker harness (tests/conftest.py), which must include its S3 server."""
    if not env.get("s3"):
        pytest.fail("these tests need the harness's S3 server", pytrace=False)
    return env


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env, records=0, value_size=100, prefix="kbst") -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    if records:
        pr = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 20, "compression.type": "none"})
        for i in range(records):
            pr.produce(name, key=f"k{i}".encode(), value=os.urandom(value_size // 2).hex().encode())
            if i % 500 == 0:
                pr.poll(0)
        assert pr.flush(60) == 0
    return name


def s3_storage(env, prefix, endpoint=None, **extra) -> dict:
    s3 = env["s3"]
    return {"backend": "s3", "bucket": s3["bucket"], "endpoint": endpoint or s3["endpoint"], "region": s3["region"],
            "path_style": True, "prefix": prefix, "access_key": s3["access_key"], "secret_key": s3["secret_key"],
            **extra}


def write_config(tmp: Path, env, topics, backup_id, storage, backup=None, bootstrap=None) -> Path:
    cfg = {
        "mode": "backup",
        "backup_id": backup_id,
        "source": {"bootstrap_servers": [bootstrap or plaintext(env)], "topics": {"include": topics}},
        "storage": storage,
        "backup": {"compression": "none", **(backup or {})},
    }
    path = tmp / f"{backup_id}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


class Proc:
    """A running kafka-backup whose stderr is collected line by line."""

    def __init__(self, binary, cfg, *extra):
        self.p = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress", *extra],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stderr:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, phrase, timeout) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if phrase in self.text():
                return True
            if self.p.poll() is not None:
                self.reader.join(5)
                return phrase in self.text()
            time.sleep(0.05)
        return False

    def finish(self, timeout) -> tuple[int, str, float]:
        """Waits at most `timeout` s; returns (exit code, stderr, seconds waited). Kills on timeout."""
        start = time.monotonic()
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(30)
            rc = None
        self.reader.join(10)
        return rc, self.text(), time.monotonic() - start


class Proxy:
    """A TCP proxy on 127.0.0.1: `forward` to a target, `closed` (connection refused), or `frozen`
    (accepts, reads, never answers)."""

    def __init__(self, target: tuple[str, int] | None):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.mode = "closed"
        self.listener: socket.socket | None = None
        self.accepted = 0
        self.bytes_in = 0
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def set_mode(self, mode: str):
        with self.lock:
            self.mode = mode
            if mode == "closed" and self.listener:
                self.listener.close()
                self.listener = None
                for s in self.held:
                    s.close()
                self.held.clear()
            elif mode != "closed" and not self.listener:
                ls = socket.socket()
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                ls.bind(("127.0.0.1", self.port))
                ls.listen(64)
                ls.settimeout(0.05)
                self.listener = ls

    def _serve(self):
        while not self.stop.is_set():
            with self.lock:
                ls = self.listener
            if ls is None:
                time.sleep(0.02)
                continue
            try:
                conn, _ = ls.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.mode == "frozen":
                with self.lock:
                    self.held.append(conn)
                threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()
            else:
                threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _swallow(self, conn):
        try:
            while not self.stop.is_set():
                r, _, _ = select.select([conn], [], [], 0.1)
                if r:
                    data = conn.recv(65536)
                    if not data:
                        return
                    self.bytes_in += len(data)
        except OSError:
            return

    def _pipe(self, conn):
        try:
            up = socket.create_connection(self.target, timeout=10)
        except OSError:
            conn.close()
            return
        socks = [conn, up]
        try:
            while not self.stop.is_set():
                if self.mode == "frozen":  # from now on nothing moves
                    time.sleep(0.1)
                    continue
                r, _, _ = select.select(socks, [], [], 0.1)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (up if s is conn else conn).sendall(data)
        except OSError:
            return
        finally:
            conn.close()
            up.close()

    def close(self):
        self.stop.set()
        self.set_mode("closed")
        self.thread.join(5)


def endpoint_host_port(env) -> tuple[str, int]:
    u = urllib.parse.urlparse(env["s3"]["endpoint"])
    return u.hostname, u.port


# ---- a minimal SigV4 client, independent of ours: ListMultipartUploads ------------------------

def list_multipart_uploads(env, prefix: str) -> list[str]:
    s3 = env["s3"]
    host = urllib.parse.urlparse(s3["endpoint"]).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    query = {"prefix": prefix, "uploads": ""}
    canonical_query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                               for k, v in sorted(query.items()))
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["GET", f"/{s3['bucket']}/", canonical_query,
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload])
    scope = f"{day}/{s3['region']}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + s3["secret_key"]).encode()
    for part in (day, s3["region"], "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{s3['endpoint']}/{s3['bucket']}/?{canonical_query}", headers={
        "x-amz-content-sha256": payload, "x-amz-date": amz_date,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={s3['access_key']}/{scope}, SignedHeaders={signed}, "
                         f"Signature={sig}"})
    body = urllib.request.urlopen(req, timeout=30).read()
    root = ET.fromstring(body)
    return [el.text for el in root.iter() if el.tag.endswith("}Key") or el.tag == "Key"]


# ---- signals at every stage -------------------------------------------------------------------

def test_sigterm_while_the_lock_put_waits_on_a_frozen_s3(env, binary, tmp_path):
    t = new_topic(env, records=10)
    proxy = Proxy(None)
    proxy.set_mode("frozen")
    try:
        cfg = write_config(tmp_path, env, [t], "frozen-lock",
                           s3_storage(env, f"st-{uuid.uuid4().hex[:8]}", f"http://127.0.0.1:{proxy.port}"))
        proc = Proc(binary, cfg)
        end = time.monotonic() + 60
        while proxy.bytes_in == 0 and time.monotonic() < end and proc.p.poll() is None:
            time.sleep(0.05)
        assert proxy.bytes_in > 0, f"the backup never sent its lock PUT: {proc.text()[-2000:]}"
        proc.p.send_signal(signal.SIGTERM)
        rc, err, waited = proc.finish(timeout=30)
    finally:
        proxy.close()
    assert rc == 1, err[-2000:]
    assert waited < 8, f"SIGTERM took {waited:.1f} s: {err[-2000:]}"
    assert "received signal 15" in err
    assert "interrupted by signal 15" in err, err[-2000:]
    assert env["s3"]["secret_key"] not in err


def test_sigterm_while_bootstrapping_against_a_frozen_broker(env, binary, tmp_path):
    frozen = Proxy(None)
    frozen.set_mode("frozen")
    try:
        cfg = write_config(tmp_path, env, ["anything"], "frozen-broker",
                           {"backend": "filesystem", "path": str(tmp_path / "store")},
                           bootstrap=f"127.0.0.1:{frozen.port}")
        proc = Proc(binary, cfg)
        end = time.monotonic() + 30
        while frozen.bytes_in == 0 and time.monotonic() < end and proc.p.poll() is None:
            time.sleep(0.05)
        assert frozen.bytes_in > 0, f"no request reached the frozen broker: {proc.text()[-2000:]}"
        proc.p.send_signal(signal.SIGTERM)
        rc, err, waited = proc.finish(timeout=60)
    finally:
        frozen.close()
    assert rc == 1, err[-2000:]
    assert waited < 5, f"SIGTERM took {waited:.1f} s: {err[-2000:]}"
    assert "interrupted by signal 15 while bootstrapping" in err, err[-2000:]


def test_s3_frozen_mid_run_warns_per_retry_and_sigterm_ends_it(env, binary, tmp_path):
    t = new_topic(env, records=200)
    proxy = Proxy(endpoint_host_port(env))
    proxy.set_mode("forward")
    try:
        storage = s3_storage(env, f"st-{uuid.uuid4().hex[:8]}", f"http://127.0.0.1:{proxy.port}",
                             stall_timeout_ms=1500)
        cfg = write_config(tmp_path, env, [t], "frozen-mid", storage,
                           backup={"continuous": True, "segment_max_interval_ms": 200, "poll_interval_ms": 50})
        proc = Proc(binary, cfg, "--log-level", "info")
        assert proc.wait_for("topic(s)", 60), proc.text()[-2000:]
        start = proxy.accepted
        end = time.monotonic() + 30
        while proxy.accepted == start and time.monotonic() < end:  # the run has started talking to S3
            time.sleep(0.05)
        proxy.set_mode("frozen")
        # Producing more makes the run upload (and checkpoint) into the frozen endpoint.
        from confluent_kafka import Producer
        pr = Producer({"bootstrap.servers": plaintext(env)})
        for i in range(50):
            pr.produce(t, value=b"more-%d" % i)
        pr.flush(30)
        assert proc.wait_for("retrying in", 30), f"no retry warning while S3 was frozen: {proc.text()[-3000:]}"
        warn = [ln for ln in proc.lines if "retrying in" in ln]
        assert "warn" in warn[0].lower() and "attempt 1" in warn[0] and "stall_timeout_ms" in warn[0], warn[0]
        proc.p.send_signal(signal.SIGTERM)
        rc, err, waited = proc.finish(timeout=60)
    finally:
        proxy.close()
    assert waited < 8, f"SIGTERM took {waited:.1f} s: {err[-2000:]}"
    assert rc == 1, err[-2000:]
    assert "interrupted by signal 15" in err, err[-2000:]


# ---- retries with back-off inside a budget ----------------------------------------------------

def test_s3_closed_for_3_seconds_then_open_the_backup_succeeds(env, binary, tmp_path):
    t = new_topic(env, records=100)
    proxy = Proxy(endpoint_host_port(env))  # starts closed: connection refused
    try:
        cfg = write_config(tmp_path, env, [t], "blip",
                           s3_storage(env, f"st-{uuid.uuid4().hex[:8]}", f"http://127.0.0.1:{proxy.port}"))
        proc = Proc(binary, cfg)
        assert proc.wait_for("retrying in", 60), proc.text()[-2000:]
        first = time.monotonic()
        while time.monotonic() - first < 3:  # the blip: the endpoint stays closed for ~3 s
            assert proc.p.poll() is None, f"the backup gave up during a 3 s blip: {proc.text()[-2000:]}"
            time.sleep(0.1)
        proxy.set_mode("forward")
        rc, err, _ = proc.finish(timeout=120)
    finally:
        proxy.close()
    assert rc == 0, err[-3000:]
    assert "complete" in err
    retries = [ln for ln in err.splitlines() if "retrying in" in ln]
    assert len(retries) >= 3 and all("warn" in ln.lower() for ln in retries), retries
    assert "cannot connect to S3 endpoint" in retries[0]


def test_s3_closed_with_a_small_budget_gives_up_with_exit_3(env, binary, tmp_path):
    t = new_topic(env, records=10)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens here now: connection refused
    cfg = write_config(tmp_path, env, [t], "budget",
                       s3_storage(env, f"st-{uuid.uuid4().hex[:8]}", f"http://127.0.0.1:{port}",
                                  retry_budget_ms=1500))
    start = time.monotonic()
    p = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                       text=True, timeout=60)
    took = time.monotonic() - start
    assert p.returncode == 3, p.stderr[-2000:]
    import re
    m = re.search(r"giving up after (\d+) attempts over ([0-9.]+) s", p.stderr)
    assert m, p.stderr[-2000:]
    assert int(m.group(1)) >= 3 and 0.5 <= float(m.group(2)) <= 1.6, m.group(0)
    assert took < 20
    assert env["s3"]["secret_key"] not in p.stderr


# ---- leftovers of a kill -9 -------------------------------------------------------------------

def test_kill_9_mid_multipart_upload_leaves_no_upload_after_a_rerun(env, binary, tmp_path):
    # ~24 MB uncompressed in one segment: above the 8 MiB part size, so it goes up in parts.
    t = new_topic(env, records=24000, value_size=1000)
    s3_log = Path(env["s3"]["log"])
    leftovers = []
    for attempt in range(20):
        # A fresh backup each attempt: when a kill comes after the last part and the completion, the
        # next run of the same backup would only resume past a finished segment and upload nothing.
        prefix = f"st-{uuid.uuid4().hex[:8]}"
        cfg = write_config(tmp_path, env, [t], "mp", s3_storage(env, prefix),
                           backup={"segment_max_bytes": 256 << 20, "segment_max_interval_ms": 600000})
        log_size = s3_log.stat().st_size
        proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 60
        started = False
        while time.monotonic() < end and proc.poll() is None:
            with s3_log.open("rb") as f:
                f.seek(log_size)
                fresh = f.read().decode(errors="replace")
            if f"/{prefix}/mp/" in fresh and "uploadId=" in fresh and "partNumber=" in fresh:
                started = True
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert started, "no multipart upload was seen"
        leftovers = list_multipart_uploads(env, f"{prefix}/mp/")
        if leftovers:
            break
    assert leftovers, "20 kills never left an unfinished multipart upload"
    p = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert list_multipart_uploads(env, f"{prefix}/mp/") == []
    assert "leftover(s) of an interrupted run" in p.stderr


def test_kill_9_leaves_no_temp_files_after_a_rerun(env, binary, tmp_path):
    t = new_topic(env, records=30000, value_size=1000)
    store = tmp_path / "store"
    cfg = write_config(tmp_path, env, [t], "tmpfiles", {"backend": "filesystem", "path": str(store)},
                       backup={"segment_max_bytes": 4 << 20})

    def temp_files() -> set[str]:
        return {str(p.relative_to(store)) for p in store.rglob("*") if ".kb-tmp." in p.name} if store.exists() else set()

    left: set[str] = set()
    for attempt in range(30):
        proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 30
        while time.monotonic() < end and proc.poll() is None and not temp_files():
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        left = temp_files()
        if left:
            break
    assert left, "30 kills never left a temp file"
    p = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert temp_files() == set()
    assert "leftover(s) of an interrupted run" in p.stderr
