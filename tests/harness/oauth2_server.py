#!/usr/bin/env python3
"""mock-oauth2-server (Maven Central, a real OAuth2/OIDC server) on a free 127.0.0.1 port.

Any issuer id works as a path: http://127.0.0.1:PORT/<issuer>/token is its token endpoint
(jwt-bearer, client_credentials, refresh_token grants), /<issuer>/jwks its keys. `token_expiry`
makes the tokens of the issuers named in it short-lived. The jars come from scripts/install-deps.sh
($KB_CACHE/mock-oauth2-server-<V>/lib, the step that tests/harness/oauth/pom.xml feeds); Java 17 runs them.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))
MOCK_OAUTH2_VERSION = "2.1.10"
MAIN_CLASS = "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"
START_TIMEOUT = 60.0


class OAuth2Error(Exception):
    """A failure meant for the user."""


def lib_dir() -> Path:
    return KB_CACHE / f"mock-oauth2-server-{MOCK_OAUTH2_VERSION}" / "lib"


def start(run_dir: Path, token_expiry: dict[str, int] | None = None) -> dict:
    """Starts the server; `token_expiry` maps issuer id -> token lifetime in seconds."""
    lib = lib_dir()
    if not (lib / f"mock-oauth2-server-{MOCK_OAUTH2_VERSION}.jar").exists():
        raise OAuth2Error(f"{lib} has no mock-oauth2-server jar: run scripts/install-deps.sh")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = run_dir / "oauth2"
    d.mkdir(parents=True, exist_ok=True)
    log_path = d / "mock-oauth2-server.log"
    env = dict(os.environ, SERVER_HOSTNAME="127.0.0.1", SERVER_PORT=str(port))
    if token_expiry:
        env["JSON_CONFIG"] = json.dumps({"tokenCallbacks": [
            {"issuerId": issuer, "tokenExpiry": seconds,
             "requestMappings": [{"requestParam": "grant_type", "match": "*", "claims": {}}]}
            for issuer, seconds in token_expiry.items()]})
    marker = str(lib)
    with open(log_path, "ab") as out:
        p = subprocess.Popen(["java", "-cp", f"{lib}/*", MAIN_CLASS], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, env=env)
    url = f"http://127.0.0.1:{port}"
    info = {"url": url, "pid": p.pid, "log": str(log_path), "cmd_marker": marker}
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url + "/default/.well-known/openid-configuration", timeout=2) as r:
                if r.status == 200:
                    return info
        except (urllib.error.URLError, OSError):
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            stop(info)
            raise OAuth2Error(f"mock-oauth2-server not ready on {url} within {START_TIMEOUT:.0f} s; log {log_path}")
        time.sleep(0.3)


def _alive(pid: int, marker: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return False


def stop(info: dict, grace: float = 10.0) -> None:
    pid, marker = info.get("pid"), info.get("cmd_marker", MAIN_CLASS)
    if not pid or not _alive(pid, marker):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid, marker):
        os.kill(pid, signal.SIGKILL)
