"""The S3 credential chain end to end: a backup to the harness S3 server (versitygw, which checks
SigV4) with NO static credentials, the keys coming from a credential_process profile, a container
credentials endpoint, or EC2 instance metadata IMDSv2 (AWS's ec2-metadata-mock); `validate --deep` passes
with the same source; a failing source exits 3 naming the source, without printing a secret.

The container endpoint is a python http.server in this test serving the documented ECS/EKS Pod
Identity JSON (no official container-credentials server exists to run locally)."""
from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def env(env) -> dict:
    """The single-broker harness (tests/conftest.py), which must include its S3 server."""
    if not env.get("s3"):
        pytest.fail("these tests need the harness's S3 server", pytrace=False)
    return env


def new_topic(env, records=50) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    bootstrap = env["kafka"]["listeners"]["PLAINTEXT"]
    name = f"kbcred-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    pr = Producer({"bootstrap.servers": bootstrap})
    for i in range(records):
        pr.produce(name, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert pr.flush(60) == 0
    return name


def clean_env(tmp_path: Path, **extra) -> dict:
    """The process environment without any AWS_* variable, HOME without ~/.aws, IMDS off."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e["HOME"] = str(tmp_path)
    e["AWS_EC2_METADATA_DISABLED"] = "true"
    e.update(extra)
    return e


def write_config(tmp_path: Path, env, topic, backup_id, prefix, **storage_extra) -> Path:
    s3 = env["s3"]
    cfg = {
        "mode": "backup",
        "backup_id": backup_id,
        "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": [topic]}},
        "storage": {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
                    "path_style": True, "prefix": prefix, **storage_extra},
        "backup": {"compression": "none"},
    }
    path = tmp_path / f"{backup_id}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def backup_and_validate(binary, env, tmp_path, proc_env, source, **storage_extra):
    t = new_topic(env)
    prefix = f"cred-{uuid.uuid4().hex[:8]}"
    cfg = write_config(tmp_path, env, t, "cred", prefix, **storage_extra)
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                       text=True, timeout=180, env=proc_env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"using credentials from {source}" in r.stderr, r.stderr[-3000:]
    assert env["s3"]["secret_key"] not in r.stderr + r.stdout
    s3 = env["s3"]
    url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
    v = subprocess.run([str(binary), "validate", "--path", url, "--backup-id", "cred", "--deep"], capture_output=True,
                       text=True, timeout=120, env=proc_env)
    assert v.returncode == 0, v.stdout + v.stderr
    assert f"using credentials from {source}" in v.stderr, v.stderr[-3000:]


def process_script(tmp_path: Path, env, exit_code=0) -> str:
    s3 = env["s3"]
    script = tmp_path / f"creds-{exit_code}.py"
    script.write_text(
        "import json, sys\n"
        f"sys.exit({exit_code}) if {exit_code} else None\n"
        f"print(json.dumps({{'Version': 1, 'AccessKeyId': {s3['access_key']!r}, "
        f"'SecretAccessKey': {s3['secret_key']!r}}}))\n")
    return f"{sys.executable} {script}"


def test_credential_process_profile_backs_up_and_validates(env, binary, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text(f"[profile backup]\ncredential_process = {process_script(tmp_path, env)}\n")
    proc_env = clean_env(tmp_path, AWS_PROFILE="backup", AWS_CONFIG_FILE=str(config))
    backup_and_validate(binary, env, tmp_path, proc_env, "profile")


def test_failing_credential_process_exits_3_naming_the_source(env, binary, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text(f"[profile backup]\ncredential_process = {process_script(tmp_path, env, exit_code=5)}\n")
    proc_env = clean_env(tmp_path, AWS_PROFILE="backup", AWS_CONFIG_FILE=str(config))
    cfg = write_config(tmp_path, env, "unused-topic", "credfail", f"cred-{uuid.uuid4().hex[:8]}")
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                       text=True, timeout=60, env=proc_env)
    assert r.returncode == 3, r.stderr[-3000:]
    assert "credential_process of profile 'backup' failed (exit status 5)" in r.stderr, r.stderr
    assert "imds: AWS_EC2_METADATA_DISABLED is set" in r.stderr, r.stderr


class ContainerEndpoint:
    """The ECS / EKS Pod Identity credentials endpoint: GET with an Authorization header."""

    def __init__(self, env, token: str, status=200):
        self.requests: list[dict] = []
        s3 = env["s3"]
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                if status != 200 or self.headers.get("Authorization") != token:
                    self.send_response(403 if status == 200 else status)
                    self.end_headers()
                    return
                body = json.dumps({"AccessKeyId": s3["access_key"], "SecretAccessKey": s3["secret_key"],
                                   "Token": "container-session-token",
                                   "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                               time.gmtime(time.time() + 3600))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_container_credentials_with_token_file_back_up_and_validate(env, binary, tmp_path):
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text("pod-token-123\n")
    ep = ContainerEndpoint(env, "pod-token-123")
    try:
        proc_env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{ep.port}/v1/credentials",
                             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))
        backup_and_validate(binary, env, tmp_path, proc_env, "container")
    finally:
        ep.close()
    assert ep.requests and all(r["authorization"] == "pod-token-123" for r in ep.requests), ep.requests


def test_container_endpoint_refusing_exits_3_and_pinned_source_is_used(env, binary, tmp_path):
    ep = ContainerEndpoint(env, "x", status=500)
    try:
        # Static keys in the environment would win under "auto"; the pin skips them.
        proc_env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{ep.port}/creds",
                             AWS_ACCESS_KEY_ID=env["s3"]["access_key"], AWS_SECRET_ACCESS_KEY=env["s3"]["secret_key"])
        cfg = write_config(tmp_path, env, "unused-topic", "credpin", f"cred-{uuid.uuid4().hex[:8]}",
                           credentials="container")
        r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                           text=True, timeout=60, env=proc_env)
    finally:
        ep.close()
    assert r.returncode == 3, r.stderr[-3000:]
    assert f"container: container credentials endpoint http://127.0.0.1:{ep.port}/creds answered HTTP 500" in r.stderr
    assert "env:" not in r.stderr  # pinned: the env source was not tried
    assert env["s3"]["secret_key"] not in r.stderr + r.stdout
    assert len(ep.requests) == 1


def test_unknown_credentials_source_is_a_config_error(env, binary, tmp_path):
    cfg = write_config(tmp_path, env, "unused-topic", "credbad", "cred-bad", credentials="instance-role")
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                       text=True, timeout=60, env=clean_env(tmp_path))
    assert r.returncode == 2, r.stderr
    # refused at load (the config's line and column), naming the key, the value and what is allowed
    assert "credbad.yaml:" in r.stderr and "storage.credentials: unknown value 'instance-role'" in r.stderr, r.stderr
    assert "allowed: auto, static, env, profile, web_identity, container, imds" in r.stderr, r.stderr


def ec2_metadata_mock() -> str | None:
    """scripts/install-deps.sh builds it into $KB_CACHE/bin; KB_EC2_METADATA_MOCK overrides."""
    if os.environ.get("KB_EC2_METADATA_MOCK"):
        return os.environ["KB_EC2_METADATA_MOCK"]
    p = Path(os.environ.get("KB_CACHE", str(Path.home() / ".cache/kafka-backup"))) / "bin" / "ec2-metadata-mock"
    return str(p) if p.is_file() else shutil.which("ec2-metadata-mock")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_imdsv2_from_aws_ec2_metadata_mock_backs_up_and_validates(env, binary, tmp_path):
    mock = ec2_metadata_mock()
    assert mock, "ec2-metadata-mock is not installed: run scripts/install-deps.sh"
    s3 = env["s3"]
    port = free_port()
    # The mock's config sets the role credentials it hands out to the S3 server's key pair.
    conf = tmp_path / "aemm.json"
    conf.write_text(json.dumps({"metadata": {
        "paths": {"iam-security-credentials": "/latest/meta-data/iam/security-credentials/kb-backup-role"},
        "values": {
        "iam-security-credentials-role": "kb-backup-role",
        "iam-security-credentials": {"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
                                     "AccessKeyId": s3["access_key"], "SecretAccessKey": s3["secret_key"],
                                     "Token": "imds-session-token", "Expiration": "2099-01-01T00:00:00Z"}}}}))
    log = (tmp_path / "aemm.log").open("w")
    p = subprocess.Popen([mock, "--hostname", "127.0.0.1", "--port", str(port), "--config-file", str(conf),
                          "--imdsv2"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert p.poll() is None, (tmp_path / "aemm.log").read_text()
                time.sleep(0.1)
        proc_env = clean_env(tmp_path)
        del proc_env["AWS_EC2_METADATA_DISABLED"]
        proc_env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = f"http://127.0.0.1:{port}"
        backup_and_validate(binary, env, tmp_path, proc_env, "imds")
    finally:
        p.terminate()
        p.wait(30)
        log.close()
