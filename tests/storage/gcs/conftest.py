"""The GCS tests' server: the harness's fake-gcs-server when it runs one (`cluster.py up --gcs`
writes "gcs" into env.json), else one started here for the session (tests/harness/gcs_server.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))
import gcs_server  # noqa: E402


@pytest.fixture(scope="session")
def gcs(env, tmp_path_factory) -> dict:
    if env.get("gcs"):  # a generator fixture: yield, never return, the harness's server
        yield env["gcs"]
        return
    run_dir = tmp_path_factory.mktemp("gcs-run")
    try:
        info = gcs_server.start(run_dir)
    except gcs_server.GcsError as e:
        pytest.fail(str(e), pytrace=False)
    yield info
    gcs_server.stop(info)


@pytest.fixture(scope="session")
def oauth2(tmp_path_factory) -> dict:
    """mock-oauth2-server for the token exchanges. Issuer "short" hands out 12 s tokens through a
    request-mapping callback, which needs a client_id: it serves the refresh_token grant (gcloud user
    credentials) and refuses a service account's jwt-bearer request (401 invalid_client)."""
    import oauth2_server

    try:
        info = oauth2_server.start(tmp_path_factory.mktemp("oauth2-run"), token_expiry={"short": 12})
    except oauth2_server.OAuth2Error as e:
        pytest.fail(str(e), pytrace=False)
    yield info
    oauth2_server.stop(info)


@pytest.fixture
def service_account_key(tmp_path):
    """A service-account key file with a key pair made for this test; returns make(token_uri) -> path."""
    import subprocess

    pem = tmp_path / "sa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(pem)],
                   check=True, capture_output=True, timeout=60)

    def make(token_uri: str) -> tuple[Path, str]:
        import json

        key = pem.read_text()
        path = tmp_path / f"key-{abs(hash(token_uri)) % 10000}.json"
        path.write_text(json.dumps({"type": "service_account", "project_id": "kb-test", "private_key_id": "kid-test",
                                    "private_key": key, "client_email": "kafka-backup@kb-test.iam.gserviceaccount.com",
                                    "client_id": "1", "token_uri": token_uri}))
        path.chmod(0o600)
        return path, key

    return make
