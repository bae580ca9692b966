#!/usr/bin/env python3
"""Azurite (Microsoft's Azure Blob emulator, npm `azurite`) for the Azure storage tests.

Used by cluster.py (`up --azurite`) and on its own, beside a running harness:
  up   --run-dir DIR [--base-env ENV_JSON]   start azurite-blob on a free 127.0.0.1 port with a random
                                             account key, create container kb-test, write DIR/env.json
                                             (ENV_JSON's content plus an "azure" section)
  down --run-dir DIR                         stop it
Azurite checks SharedKey and SAS signatures (a wrong key gets 403). It comes from
$KB_CACHE/npm-azurite-<version> (scripts/install-deps.sh installs it there).
"""
from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))
AZURITE_VERSION = os.environ.get("AZURITE_VERSION", "3.35.0")
START_TIMEOUT = 30.0
ACCOUNT = "kbtest"
CONTAINER = "kb-test"
API_VERSION = "2021-12-02"


class AzuriteError(Exception):
    """A failure meant for the user; never contains the account key."""


def azurite_binary() -> Path:
    return KB_CACHE / f"npm-azurite-{AZURITE_VERSION}" / "node_modules" / ".bin" / "azurite-blob"


def shared_key_headers(method: str, url: str, account: str, key_b64: str, length: int = 0,
                       extra: dict | None = None) -> dict:
    """SharedKey per the Blob service documentation (stdlib only; independent of the C++ signer)."""
    headers = {"x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
               "x-ms-version": API_VERSION, **(extra or {})}
    parts = urllib.parse.urlsplit(url)
    lower = {k.lower(): v for k, v in headers.items()}
    std = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
           "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    lines = [method]
    for h in std:
        lines.append(str(length) if h == "content-length" and length else lower.get(h, "") if h != "content-length"
                     else "")
    ms = sorted((k, v.strip()) for k, v in lower.items() if k.startswith("x-ms-"))
    sts = "\n".join(lines) + "\n" + "".join(f"{k}:{v}\n" for k, v in ms) + f"/{account}{parts.path}"
    for name, values in sorted(urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()):
        sts += f"\n{name.lower()}:{','.join(sorted(values))}"
    sig = base64.b64encode(hmac.new(base64.b64decode(key_b64), sts.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    return headers


def request(method: str, url: str, account: str, key: str, body: bytes = b"", extra: dict | None = None):
    if method in ("PUT", "POST"):
        # urllib would add (unsigned) Content-Type: application/x-www-form-urlencoded.
        extra = {"Content-Type": "application/octet-stream", **(extra or {})}
    req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method,
                                 headers=shared_key_headers(method, url, account, key, len(body), extra))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_azurite(run_dir: Path, port: int | None = None, started: list | None = None, extent_mib: int = 512) -> dict:
    binary = azurite_binary()
    if not binary.exists():
        raise AzuriteError(f"{binary} not found: run scripts/install-deps.sh (installs azurite@{AZURITE_VERSION})")
    if shutil_which("node") is None:
        raise AzuriteError("node not found on PATH (apt-get install nodejs)")
    az_dir = run_dir / "azurite"
    az_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    env = dict(os.environ, AZURITE_ACCOUNTS=f"{ACCOUNT}:{key}")
    log_path = az_dir / "azurite.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen([str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port),
                                 "--inMemoryPersistence",
                                 "--extentMemoryLimit", str(extent_mib), "--skipApiVersionCheck", "--disableTelemetry"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    # The process's command line names its port: the marker that tells our pid from a recycled one.
    marker = f"--blobPort {port}"
    if started is not None:
        started.append(("azurite", proc.pid, marker))
    endpoint = f"http://127.0.0.1:{port}"
    blob_endpoint = f"{endpoint}/{ACCOUNT}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        # An unauthenticated list answers 403 once Azurite is up.
        try:
            with urllib.request.urlopen(f"{blob_endpoint}?comp=list", timeout=2) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        except (urllib.error.URLError, OSError):
            code = 0
        if code in (200, 403):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AzuriteError(f"azurite not ready on {endpoint} within {START_TIMEOUT:.0f} s; "
                               f"last lines of {log_path}:\n{tail(log_path)}")
        time.sleep(0.2)
    status, body = request("PUT", f"{blob_endpoint}/{CONTAINER}?restype=container", ACCOUNT, key)
    if status != 201:
        raise AzuriteError(f"Create Container {CONTAINER} on {endpoint} returned HTTP {status}: {body[:300]!r}")
    return {"endpoint": endpoint, "blob_endpoint": blob_endpoint, "account": ACCOUNT, "account_key": key,
            "container": CONTAINER, "pid": proc.pid, "marker": marker, "log": str(log_path)}


def shutil_which(name: str):
    import shutil
    return shutil.which(name)


def stop_pid(pid: int, grace: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--run-dir", type=Path, required=True)
    up.add_argument("--base-env", type=Path, help="env.json of a running harness to extend")
    down = sub.add_parser("down")
    down.add_argument("--run-dir", type=Path, required=True)
    args = ap.parse_args(argv)
    run_dir = args.run_dir.absolute()
    try:
        if args.command == "up":
            run_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(run_dir, 0o700)
            env = json.loads(args.base_env.read_text()) if args.base_env else {"run_dir": str(run_dir)}
            env["azure"] = start_azurite(run_dir)
            write_private(run_dir / "env.json", json.dumps(env, indent=2) + "\n")
            print(f"azurite.py: ready on {env['azure']['endpoint']} (pid {env['azure']['pid']}); "
                  f"KB_TEST_ENV={run_dir / 'env.json'}")
        else:
            env = json.loads((run_dir / "env.json").read_text())
            stop_pid(env["azure"]["pid"])
            print(f"azurite.py: stopped pid {env['azure']['pid']}")
    except AzuriteError as e:
        print(f"azurite.py {args.command}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
