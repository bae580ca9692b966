#!/usr/bin/env python3
"""fake-gcs-server (the GCS JSON API, no auth checks) for the tests, on a free 127.0.0.1 port.

Used by `cluster.py up --gcs` (recorded in env.json as "gcs") and, when the harness was started
without it, by the GCS tests' own fixture. The binary comes from scripts/install-deps.sh
($KB_CACHE/bin/fake-gcs-server, built with `go install` at FAKE_GCS_VERSION).

  python3 tests/harness/gcs_server.py up --run-dir DIR     start, write DIR/gcs.json
  python3 tests/harness/gcs_server.py down --run-dir DIR   stop what DIR/gcs.json records
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))
FAKE_GCS_VERSION = "v1.55.1"
START_TIMEOUT = 30.0


class GcsError(Exception):
    """A failure meant for the user."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def create_bucket(endpoint: str, bucket: str) -> None:
    req = urllib.request.Request(f"{endpoint}/storage/v1/b", method="POST", data=json.dumps({"name": bucket}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status not in (200, 201):
                raise GcsError(f"creating bucket {bucket} at {endpoint} returned HTTP {r.status}")
    except urllib.error.HTTPError as e:
        if e.code != 409:  # already there
            raise GcsError(f"creating bucket {bucket} at {endpoint} returned HTTP {e.code}") from e


def start(run_dir: Path, port: int | None = None, bucket: str = "kb-test") -> dict:
    """Starts fake-gcs-server (memory backend) and creates `bucket`; returns its env.json entry."""
    binary = KB_CACHE / "bin" / "fake-gcs-server"
    if not binary.exists():
        raise GcsError(f"{binary} not found: run scripts/install-deps.sh")
    port = port or free_port()
    gcs_dir = run_dir / "gcs"
    gcs_dir.mkdir(parents=True, exist_ok=True)
    log_path = gcs_dir / "fake-gcs-server.log"
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
           "-public-host", f"127.0.0.1:{port}", "-external-url", endpoint, "-log-level", "info"]
    with open(log_path, "ab") as out:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(endpoint + "/storage/v1/b", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            stop({"pid": p.pid, "cmd_marker": str(binary)})
            raise GcsError(f"fake-gcs-server not ready on {endpoint} within {START_TIMEOUT:.0f} s; "
                           f"last lines of {log_path}:\n{tail(log_path)}")
        time.sleep(0.2)
    create_bucket(endpoint, bucket)
    return {"endpoint": endpoint, "emulator_host": f"127.0.0.1:{port}", "bucket": bucket, "pid": p.pid,
            "log": str(log_path), "version": FAKE_GCS_VERSION, "cmd_marker": str(binary)}


def alive(pid: int, marker: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False


def stop(info: dict, grace: float = 5.0) -> None:
    """Stops the recorded process (TERM, then KILL after `grace` s); only ours (checked by marker)."""
    pid, marker = info.get("pid"), info.get("cmd_marker", "fake-gcs-server")
    if not pid or not alive(pid, marker):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid, marker):
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("up", "down"))
    ap.add_argument("--run-dir", type=Path, required=True)
    args = ap.parse_args(argv)
    state = args.run_dir / "gcs.json"
    try:
        if args.command == "up":
            args.run_dir.mkdir(parents=True, exist_ok=True)
            info = start(args.run_dir.absolute())
            state.write_text(json.dumps(info, indent=2) + "\n")
            print(f"fake-gcs-server ready on {info['endpoint']} (pid {info['pid']}), bucket {info['bucket']}")
        else:
            if state.exists():
                stop(json.loads(state.read_text()))
    except GcsError as e:
        print(f"gcs_server.py {args.command}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
