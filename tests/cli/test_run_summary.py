"""What running in a cluster needs (issue #15 item 4): the /health and /ready probes on the
metrics port and the JSON run summary (--summary-file), against the shared harness broker and
S3 server. Each wait polls a state, bounded in count and time."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def plaintext(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


def new_topic(env, records: int) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbsum-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    pr = Producer({"bootstrap.servers": plaintext(env)})
    for i in range(records):
        pr.produce(name, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert pr.flush(60) == 0
    return name


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(tmp: Path, env, topic, backup_id, storage=None, security=None, listener="PLAINTEXT",
                 metrics_port=None, backup=None) -> Path:
    cfg = {
        "mode": "backup",
        "backup_id": backup_id,
        "source": {"bootstrap_servers": [env["kafka"]["listeners"][listener]], "topics": {"include": [topic]}},
        "storage": storage or {"backend": "filesystem", "path": str(tmp / "store")},
        "backup": {"compression": "none", **(backup or {})},
    }
    if security:
        cfg["source"]["security"] = security
    if metrics_port:
        cfg["metrics"] = {"enabled": True, "bind_address": "127.0.0.1", "port": metrics_port}
    path = tmp / f"{backup_id}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def get(port: int, path: str) -> tuple[int, str]:
    """(status, body) of one GET, or (0, reason) when nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def poll(port: int, path: str, want: int, proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    last = (0, "")
    for _ in range(int(timeout * 10)):
        if time.monotonic() > deadline or proc.poll() is not None:
            break
        last = get(port, path)
        if last[0] == want:
            return last[1]
        time.sleep(0.1)
    raise AssertionError(f"{path} did not answer {want} within {timeout} s (last {last}, exit {proc.poll()})")


def stop(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"no exit within {timeout} s of SIGTERM: {err[-3000:]}")
    return proc.returncode, err


def start(binary, cfg: Path, summary: Path, extra_env=None) -> subprocess.Popen:
    return subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress", "--summary-file",
                             str(summary)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(extra_env or {})))


def test_probes_during_continuous_backup_and_summary_after_sigterm(env, binary, tmp_path):
    t = new_topic(env, 300)
    port = free_port()
    summary = tmp_path / "summary.json"
    # A short segment interval: the 300 records are sealed and counted while the run goes on.
    cfg = write_config(tmp_path, env, t, "probes", metrics_port=port,
                       backup={"continuous": True, "segment_max_interval_ms": 1000})
    proc = start(binary, cfg, summary)
    try:
        assert poll(port, "/health", 200, proc).strip() == "ok"
        assert poll(port, "/ready", 200, proc).strip() == "ready"
        # All 300 records stored before the stop, as the metrics page shows.
        poll(port, "/metrics", 200, proc)
        stored = 'kafka_backup_records_total{backup_id="probes"} 300'
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and stored not in get(port, "/metrics")[1]:
            time.sleep(0.2)
        assert stored in get(port, "/metrics")[1]
        assert get(port, "/health") == (200, "ok\n")
    finally:
        code, err = stop(proc)
    assert code == 0, err[-3000:]
    s = json.loads(summary.read_text())
    assert s["command"] == "backup" and s["backup_id"] == "probes"
    assert s["exit_code"] == 0 and s["outcome"] == "stopped", s
    assert s["records"] == 300 and s["partitions"] == 1 and s["segments"] >= 1, s
    assert s["errors"] == []
    assert not list(tmp_path.glob("summary.json.tmp*")), "the temp file of the atomic write was left behind"


def test_wrong_scram_password_summary_has_exit_3_and_no_password(env, binary, tmp_path):
    t = new_topic(env, 10)
    summary = tmp_path / "summary.json"
    wrong = "not-the-password-" + uuid.uuid4().hex[:8]
    sec = {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "backup",
           "sasl_password": "${KB_PW}", "ssl_ca_location": env["tls"]["ca"]}
    cfg = write_config(tmp_path, env, t, "badpw", security=sec, listener="SASL_SSL")
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress", "--summary-file", str(summary)],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, KB_PW=wrong))
    assert r.returncode == 3, r.stderr
    text = summary.read_text()
    assert wrong not in text and wrong not in r.stderr
    assert len(text.encode()) <= 4096
    s = json.loads(text)
    assert s["exit_code"] == 3 and s["outcome"] == "failed" and s["records"] == 0, s
    assert s["errors"] and any("authentication" in e.lower() or "sasl" in e.lower() for e in s["errors"]), s


def test_ready_is_503_while_the_store_is_unreachable(env, binary, tmp_path):
    t = new_topic(env, 10)
    port = free_port()
    closed = free_port()  # nothing listens there: connection refused on every attempt
    s3 = env["s3"]
    storage = {"backend": "s3", "bucket": s3["bucket"], "endpoint": f"http://127.0.0.1:{closed}",
               "region": s3["region"], "path_style": True, "prefix": f"sum-{uuid.uuid4().hex[:8]}",
               "access_key": s3["access_key"], "secret_key": s3["secret_key"], "retry_budget_ms": 600000}
    summary = tmp_path / "summary.json"
    cfg = write_config(tmp_path, env, t, "nostore", storage=storage, metrics_port=port)
    proc = start(binary, cfg, summary)
    try:
        assert poll(port, "/health", 200, proc).strip() == "ok"
        body = poll(port, "/ready", 503, proc)
        # The brokers are reached first ("connecting to the brokers"); wait until the store is the reason.
        for _ in range(300):
            if "store" in body or proc.poll() is not None:
                break
            time.sleep(0.1)
            status, body = get(port, "/ready")
            assert status == 503, body
        assert "store" in body, body
        # Still 503 a few probes later: the store keeps failing.
        for _ in range(5):
            status, body = get(port, "/ready")
            assert status == 503, body
            assert "store" in body, body
            time.sleep(0.2)
        assert s3["secret_key"] not in body
    finally:
        code, err = stop(proc)
    assert code != 0, err[-3000:]
    s = json.loads(summary.read_text())
    assert s["exit_code"] == code and s["outcome"] == "failed", s
    assert s3["secret_key"] not in summary.read_text()
