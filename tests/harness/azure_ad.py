"""Azure AD for the tests: mock-oauth2-server (a real OAuth2 server, Maven Central) issuing tokens
with Azure's issuer and storage audience, and Azurite over HTTPS with `--oauth basic`, which accepts
only such bearer tokens (it checks issuer, audience and lifetime). start() returns what a test
needs; stop() ends both. Used by tests/storage/azure/test_azure_ad.py."""
from __future__ import annotations

import base64
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import azurite

KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))
MOCK_OAUTH2_VERSION = os.environ.get("MOCK_OAUTH2_VERSION", "2.1.10")
START_TIMEOUT = 60.0
TENANT = "kbtenant"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _wait(url: str, ok: tuple, proc: subprocess.Popen, log: Path, context=None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        except (urllib.error.URLError, OSError):
            code = 0
        if code in ok:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise azurite.AzuriteError(f"{url} not ready within {START_TIMEOUT:.0f} s; log {log}:\n{azurite.tail(log)}")
        time.sleep(0.3)


def start(run_dir: Path) -> dict:
    lib = KB_CACHE / f"mock-oauth2-server-{MOCK_OAUTH2_VERSION}" / "lib"
    if not (lib / f"mock-oauth2-server-{MOCK_OAUTH2_VERSION}.jar").exists():
        raise azurite.AzuriteError(f"{lib} has no mock-oauth2-server jar: run scripts/install-deps.sh")
    run_dir.mkdir(parents=True, exist_ok=True)
    # A CA and a 127.0.0.1 certificate for Azurite's HTTPS (bearer tokens need it).
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=kafka-backup test CA", cwd=run_dir)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1",
             cwd=run_dir)
    (run_dir / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
             "srv.pem", "-days", "2", "-extfile", "ext.cnf", cwd=run_dir)
    procs = []
    try:
        # Tokens for issuer "<tenant>/oauth2/v2.0" (the path our client posts to) carry Azure's claims.
        oauth_port = azurite.free_port()
        config = {"interactiveLogin": False, "httpServer": "NettyWrapper", "tokenCallbacks": [{
            "issuerId": f"{TENANT}/oauth2/v2.0", "tokenExpiry": 3600,
            "requestMappings": [{"requestParam": "grant_type", "match": "*", "claims": {
                "iss": f"https://sts.windows.net/{TENANT}/", "aud": "https://storage.azure.com",
                "sub": "kafka-backup", "oid": "kafka-backup", "tid": TENANT}}]}]}
        oauth_log = run_dir / "oauth.log"
        with open(oauth_log, "ab") as out:
            oauth = subprocess.Popen(["java", "-Xmx128m", "-cp", f"{lib}/*",
                                      "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True,
                                     env=dict(os.environ, SERVER_HOSTNAME="127.0.0.1", SERVER_PORT=str(oauth_port),
                                              JSON_CONFIG=json.dumps(config)))
        procs.append(oauth)
        authority = f"http://127.0.0.1:{oauth_port}"
        _wait(f"{authority}/{TENANT}/.well-known/openid-configuration", (200,), oauth, oauth_log)

        az_port = azurite.free_port()
        key = base64.b64encode(secrets.token_bytes(64)).decode()
        az_log = run_dir / "azurite-oauth.log"
        with open(az_log, "ab") as out:
            az = subprocess.Popen([str(azurite.azurite_binary()), "--blobHost", "127.0.0.1", "--blobPort", str(az_port),
                                   "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
                                   "--cert", str(run_dir / "srv.pem"), "--key", str(run_dir / "srv.key"),
                                   "--oauth", "basic"],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True, env=dict(os.environ, AZURITE_ACCOUNTS=f"{azurite.ACCOUNT}:{key}"))
        procs.append(az)
        endpoint = f"https://127.0.0.1:{az_port}"
        ctx = ssl.create_default_context(cafile=str(run_dir / "ca.pem"))
        _wait(f"{endpoint}/{azurite.ACCOUNT}?comp=list", (200, 401, 403), az, az_log, ctx)
        url = f"{endpoint}/{azurite.ACCOUNT}/{azurite.CONTAINER}?restype=container"
        h = azurite.shared_key_headers("PUT", url, azurite.ACCOUNT, key, 0, {"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="PUT", headers=h), timeout=10,
                                    context=ctx) as r:
            if r.status != 201:
                raise azurite.AzuriteError(f"Create Container on {endpoint} returned {r.status}")
    except BaseException:
        stop({"procs": procs})
        raise
    return {"authority": authority, "tenant": TENANT, "endpoint": endpoint, "ca": str(run_dir / "ca.pem"),
            "ca_key": str(run_dir / "ca.key"), "account": azurite.ACCOUNT, "container": azurite.CONTAINER,
            "procs": procs}


def stop(ad: dict) -> None:
    for p in ad.get("procs", []):
        if p.poll() is None:
            p.terminate()
    for p in ad.get("procs", []):
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
