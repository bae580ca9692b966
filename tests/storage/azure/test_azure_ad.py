"""Azure AD end to end: tokens from a real OAuth2 server (mock-oauth2-server) that Azurite over
HTTPS with `--oauth basic` accepts or refuses. Client secret and workload identity (federated token
file, jwt-bearer client assertion) each run a backup and read it back; a token with a foreign
issuer is refused with exit 3 naming the source. Managed identity (IMDS) has unit tests only.
Needs $KB_TEST_ENV (the Kafka harness) and $KB_BINARY; starts its own OAuth server and Azurite."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))
import azure_ad  # noqa: E402


@pytest.fixture(scope="module")
def ad(tmp_path_factory):
    started = azure_ad.start(tmp_path_factory.mktemp("azure-ad"))
    yield started
    azure_ad.stop(started)


def url(ad, prefix: str) -> str:
    return f"azure://{ad['account']}/{ad['container']}/{prefix}?endpoint={ad['endpoint']}"


def base_env(ad) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    return {**e, "AZURE_AUTHORITY_HOST": ad["authority"], "AZURE_CA_FILE": ad["ca"]}


def run(binary, *args, env):
    return subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=120, env=env)


def federated_token(ad, path: Path, client_id: str) -> None:
    """A signed JWT as the kubelet projects it (mock-oauth2-server wants sub == client_id)."""
    b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()  # noqa: E731
    now = int(time.time())
    head = b(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b(json.dumps({"iss": client_id, "sub": client_id, "aud": "api://AzureADTokenExchange", "iat": now,
                         "nbf": now, "exp": now + 3600, "jti": uuid.uuid4().hex}).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", ad["ca_key"]], input=f"{head}.{body}".encode(),
                         capture_output=True, check=True, timeout=30).stdout
    path.write_text(f"{head}.{body}.{b(sig)}\n")


def small_backup(env, binary, ad, tmp_path, storage_extra: dict, run_env: dict, backup_id: str):
    topic = f"az-ad-{uuid.uuid4().hex[:8]}"
    plain = {"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]}
    admin = AdminClient(plain)  # kept alive until the creation is answered
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    p = Producer(plain)
    for i in range(50):
        p.produce(topic, key=str(i).encode(), value=f"v{i}".encode())
    assert p.flush(30) == 0
    prefix = f"ad-{uuid.uuid4().hex[:8]}"
    cfg = {"mode": "backup", "backup_id": backup_id,
           "source": {"bootstrap_servers": [plain["bootstrap.servers"]], "topics": {"include": [topic]}},
           "storage": {"backend": "azure", "account_name": ad["account"], "container_name": ad["container"],
                       "endpoint": ad["endpoint"], "prefix": prefix, **storage_extra},
           "backup": {"stop_at_current_offsets": True}}
    path = tmp_path / f"{backup_id}.yaml"
    path.write_text(json.dumps(cfg))
    r = run(binary, "backup", "--config", str(path), env=run_env)
    return r, prefix


def test_client_secret_backs_up_and_validates(env, binary, ad, tmp_path):
    e = {**base_env(ad), "AZURE_CLIENT_SECRET": "kb-client-secret-value"}
    r, prefix = small_backup(env, binary, ad, tmp_path, {"tenant_id": ad["tenant"], "client_id": "kb-app"}, e, "adcs")
    assert r.returncode == 0, r.stderr
    assert "Azure AD client secret" in r.stderr
    assert "kb-client-secret-value" not in r.stdout + r.stderr
    v = run(binary, "validate", "--path", url(ad, prefix), "--backup-id", "adcs", "--deep",
            env={**e, "AZURE_TENANT_ID": ad["tenant"], "AZURE_CLIENT_ID": "kb-app"})
    assert v.returncode == 0, v.stdout + v.stderr


def test_workload_identity_with_a_federated_token_file(env, binary, ad, tmp_path):
    token = tmp_path / "azure-identity-token"
    federated_token(ad, token, "kb-workload")
    e = {**base_env(ad), "AZURE_FEDERATED_TOKEN_FILE": str(token), "AZURE_CLIENT_ID": "kb-workload",
         "AZURE_TENANT_ID": ad["tenant"]}
    r, prefix = small_backup(env, binary, ad, tmp_path, {"use_workload_identity": True}, e, "adwi")
    assert r.returncode == 0, r.stderr
    assert "Azure workload identity" in r.stderr
    ls = run(binary, "list", "--path", url(ad, prefix), env=e)
    assert ls.returncode == 0 and "adwi" in ls.stdout, ls.stdout + ls.stderr


def test_a_token_azurite_refuses_is_exit_3_naming_the_source(binary, ad):
    # Another tenant's issuer has no Azure claims mapping: its token is not one Azure Storage accepts.
    e = {**base_env(ad), "AZURE_TENANT_ID": "othertenant", "AZURE_CLIENT_ID": "kb-app",
         "AZURE_CLIENT_SECRET": "kb-client-secret-value"}
    r = run(binary, "list", "--path", url(ad, "x"), env=e)
    assert r.returncode == 3, r.stderr
    assert "Azure AD client secret (tenant othertenant" in r.stderr and "403" in r.stderr, r.stderr
    assert "kb-client-secret-value" not in r.stdout + r.stderr
