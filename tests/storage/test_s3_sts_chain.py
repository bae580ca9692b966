"""The STS parts of the S3 credential chain end to end, against moto's server (a real STS
implementation, run by tests/storage/moto_sts.py from the moto venv that scripts/install-deps.sh
installs): web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, EKS IRSA), a shared-config
profile with role_arn + source_profile (AssumeRole, whose SigV4 signature moto checks), the
seed's complete secure example with no static credentials through IMDSv2, web identity and
container credentials, and a continuous backup whose temporary credentials expire and are
refreshed while it runs.

moto's STS is configured to hand out the harness S3 user's key pair as its temporary credentials,
because versitygw knows only that pair; versitygw ignores the session token (x-amz-security-token),
so the tests check the token reaches the store's signer through the unit tests instead."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from test_s3_credential_chain import (ContainerEndpoint, backup_and_validate, clean_env, ec2_metadata_mock, free_port,
                                      new_topic, write_config)


@pytest.fixture(scope="session")
def env(env) -> dict:
    if not env.get("s3"):
        pytest.fail("these tests need the harness's S3 server", pytrace=False)
    return env


def moto_python() -> str:
    """scripts/install-deps.sh installs moto[server] into $KB_CACHE/moto-venv; KB_MOTO_PYTHON overrides."""
    if os.environ.get("KB_MOTO_PYTHON"):
        return os.environ["KB_MOTO_PYTHON"]
    return str(Path(os.environ.get("KB_CACHE", str(Path.home() / ".cache/kafka-backup"))) / "moto-venv/bin/python")


def wait_port(port: int, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None, f"{what} exited: {log.read_text()[-2000:]}"
            time.sleep(0.1)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within 60 s: {log.read_text()[-2000:]}")


class MotoSts:
    """moto's server on a free loopback port; `calls(action)` counts what it served (its access log)."""

    def __init__(self, env, tmp_path: Path, duration: int | None = None, source: tuple[str, str] | None = None):
        py = moto_python()
        assert Path(py).is_file(), f"{py} is missing: run scripts/install-deps.sh (moto[server])"
        self.port = free_port()
        self.log = tmp_path / f"moto-{self.port}.log"
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e["KB_MOTO_TEMP_KEY_ID"] = env["s3"]["access_key"]
        e["KB_MOTO_TEMP_SECRET"] = env["s3"]["secret_key"]
        if duration:
            e["KB_MOTO_DURATION_SECONDS"] = str(duration)
        if source:
            e["KB_MOTO_SOURCE_KEY_ID"], e["KB_MOTO_SOURCE_SECRET"] = source
        self._log = self.log.open("w")
        self.proc = subprocess.Popen([py, str(Path(__file__).with_name("moto_sts.py")), str(self.port)], env=e,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc, self.log, "moto_server")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """The status codes of the POSTs it answered, in order."""
        return re.findall(r'"POST / HTTP/1\.1" (\d{3})', self.log.read_text())

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self._log.close()


@pytest.fixture
def moto(env, tmp_path):
    m = MotoSts(env, tmp_path)
    yield m
    m.close()


def web_identity_env(tmp_path: Path, sts: str, token: str = "eks-projected-token.jwt") -> dict:
    token_file = tmp_path / "eks-token"
    token_file.write_text(token + "\n")
    return clean_env(tmp_path, AWS_ROLE_ARN="arn:aws:iam::123456789012:role/kafka-backup",
                     AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file), AWS_ENDPOINT_URL_STS=sts)


def test_web_identity_from_moto_sts_backs_up_and_validates(env, binary, tmp_path, moto):
    backup_and_validate(binary, env, tmp_path, web_identity_env(tmp_path, moto.endpoint), "web_identity")
    assert moto.requests() and set(moto.requests()) == {"200"}, moto.log.read_text()[-2000:]


def test_sts_endpoint_in_the_config_wins_over_the_environment(env, binary, tmp_path, moto):
    proc_env = web_identity_env(tmp_path, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    cfg = write_config(tmp_path, env, new_topic(env), "stscfg", f"cred-{uuid.uuid4().hex[:8]}",
                       sts_endpoint=moto.endpoint, credentials="web_identity")
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                       timeout=180, env=proc_env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "using credentials from web_identity" in r.stderr, r.stderr[-3000:]
    assert moto.requests() and set(moto.requests()) == {"200"}, moto.log.read_text()[-2000:]
    bad = write_config(tmp_path, env, "unused-topic", "stsbad", "cred-bad", sts_endpoint="127.0.0.1:1")
    r = subprocess.run([str(binary), "backup", "--config", str(bad), "--no-progress"], capture_output=True, text=True,
                       timeout=60, env=proc_env)
    assert r.returncode == 2, r.stderr[-3000:]
    assert "storage.sts_endpoint" in r.stderr and "http://" in r.stderr, r.stderr


def test_web_identity_with_sts_down_exits_3_listing_the_sources(env, binary, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    cfg = write_config(tmp_path, env, "unused-topic", "wifail", f"cred-{uuid.uuid4().hex[:8]}")
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                       timeout=60, env=web_identity_env(tmp_path, dead, token="secret-jwt-value"))
    assert r.returncode == 3, r.stderr[-3000:]
    assert (f"web_identity: STS AssumeRoleWithWebIdentity for role arn:aws:iam::123456789012:role/kafka-backup "
            f"at {dead}") in r.stderr, r.stderr
    for tried in ("static:", "env:", "profile:", "container:", "imds: AWS_EC2_METADATA_DISABLED is set"):
        assert tried in r.stderr, r.stderr
    assert "secret-jwt-value" not in r.stderr + r.stdout


def test_profile_role_arn_with_source_profile_assumes_the_role_at_sts(env, binary, tmp_path):
    source = ("AKIAKBSOURCEPROFILE1", uuid.uuid4().hex)
    sts = MotoSts(env, tmp_path, source=source)  # moto checks the AssumeRole signature against this key
    try:
        creds = tmp_path / "credentials"
        creds.write_text(f"[base]\naws_access_key_id = {source[0]}\naws_secret_access_key = {source[1]}\n")
        config = tmp_path / "config"
        config.write_text("[profile backup]\nrole_arn = arn:aws:iam::123456789012:role/kafka-backup\n"
                          "source_profile = base\n")
        proc_env = clean_env(tmp_path, AWS_PROFILE="backup", AWS_SHARED_CREDENTIALS_FILE=str(creds),
                             AWS_CONFIG_FILE=str(config), AWS_ENDPOINT_URL_STS=sts.endpoint)
        backup_and_validate(binary, env, tmp_path, proc_env, "profile")
        assert sts.requests() and set(sts.requests()) == {"200"}, sts.log.read_text()[-2000:]

        # A wrong secret in the source profile: moto refuses the signature, the run exits 3.
        creds.write_text(f"[base]\naws_access_key_id = {source[0]}\naws_secret_access_key = wrong-{source[1]}\n")
        cfg = write_config(tmp_path, env, "unused-topic", "rolefail", f"cred-{uuid.uuid4().hex[:8]}")
        r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                           text=True, timeout=60, env=proc_env)
        assert r.returncode == 3, r.stderr[-3000:]
        assert "profile 'backup' failed" not in r.stderr
        assert "STS AssumeRole for role arn:aws:iam::123456789012:role/kafka-backup" in r.stderr, r.stderr
        assert "SignatureDoesNotMatch" in r.stderr, r.stderr
        assert source[1] not in r.stderr + r.stdout and env["s3"]["secret_key"] not in r.stderr + r.stdout
    finally:
        sts.close()


SEED_EXAMPLE = """\
mode: backup
backup_id: "secure-production-backup"

source:
  bootstrap_servers:
    - {bootstrap}
  security:
    security_protocol: SASL_SSL
    sasl_mechanism: SCRAM-SHA-512
    sasl_username: backup
    sasl_password: ${{KAFKA_PASSWORD}}
    ssl_ca_location: {ca}
    ssl_certificate_location: {cert}
    ssl_key_location: {key}
  topics:
    include:
      - "{topic}"
    exclude:
      - "__consumer_offsets"

storage:
  backend: s3
  bucket: {bucket}
  region: {region}
  prefix: {prefix}
  # Uses IAM role - no static credentials

backup:
  compression: zstd
  compression_level: 3
  include_offset_headers: true
"""


def run_seed_example(env, binary, tmp_path, proc_env: dict, source: str) -> None:
    """The seed page's "Complete Secure Configuration Example" with hosts, ports and paths adapted
    (the S3 endpoint comes from AWS_ENDPOINT_URL_S3, the region is the S3 server's, and one topic
    of this test stands for "*": the shared broker holds other tests' topics)."""
    topic = new_topic(env)
    prefix = f"seed-{source}-{uuid.uuid4().hex[:8]}"
    tls = env["tls"]
    cfg = tmp_path / f"secure-backup-{source}.yaml"
    cfg.write_text(SEED_EXAMPLE.format(bootstrap=env["kafka"]["listeners"]["SASL_SSL"], ca=tls["ca"],
                                       cert=tls["client_cert"], key=tls["client_key"], topic=topic,
                                       bucket=env["s3"]["bucket"], region=env["s3"]["region"], prefix=prefix))
    assert "access_key" not in cfg.read_text() and "secret" not in cfg.read_text()
    proc_env = {**proc_env, "KAFKA_PASSWORD": env["users"]["backup"], "AWS_ENDPOINT_URL_S3": env["s3"]["endpoint"]}
    assert not any(k in proc_env for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"))
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                       timeout=180, env=proc_env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"s3: using credentials from {source}" in r.stderr, r.stderr[-3000:]
    out = r.stdout + r.stderr
    assert env["s3"]["secret_key"] not in out and env["users"]["backup"] not in out
    s3 = env["s3"]
    url = f"s3://{s3['bucket']}/{prefix}?region={s3['region']}"
    v = subprocess.run([str(binary), "validate", "--path", url, "--backup-id", "secure-production-backup", "--deep"],
                       capture_output=True, text=True, timeout=120, env=proc_env)
    assert v.returncode == 0, v.stdout + v.stderr


def test_seed_secure_example_through_imdsv2(env, binary, tmp_path):
    mock = ec2_metadata_mock()
    assert mock, "ec2-metadata-mock is not installed: run scripts/install-deps.sh"
    s3 = env["s3"]
    port = free_port()
    conf = tmp_path / "aemm.json"
    conf.write_text(json.dumps({"metadata": {
        "paths": {"iam-security-credentials": "/latest/meta-data/iam/security-credentials/kb-backup-role"},
        "values": {"iam-security-credentials-role": "kb-backup-role",
                   "iam-security-credentials": {"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z",
                                                "Type": "AWS-HMAC", "AccessKeyId": s3["access_key"],
                                                "SecretAccessKey": s3["secret_key"], "Token": "imds-session-token",
                                                "Expiration": "2099-01-01T00:00:00Z"}}}}))
    log = tmp_path / "aemm.log"
    with log.open("w") as out:
        p = subprocess.Popen([mock, "--hostname", "127.0.0.1", "--port", str(port), "--config-file", str(conf),
                              "--imdsv2"], stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_port(port, p, log, "ec2-metadata-mock")
            proc_env = clean_env(tmp_path)
            del proc_env["AWS_EC2_METADATA_DISABLED"]
            proc_env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = f"http://127.0.0.1:{port}"
            run_seed_example(env, binary, tmp_path, proc_env, "imds")
        finally:
            p.terminate()
            p.wait(30)


def test_seed_secure_example_through_web_identity(env, binary, tmp_path, moto):
    run_seed_example(env, binary, tmp_path, web_identity_env(tmp_path, moto.endpoint), "web_identity")
    assert moto.requests(), moto.log.read_text()[-2000:]


def test_seed_secure_example_through_container_credentials(env, binary, tmp_path):
    ep = ContainerEndpoint(env, "pod-identity-token")
    try:
        token_file = tmp_path / "pod-identity-token"
        token_file.write_text("pod-identity-token\n")
        proc_env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{ep.port}/v1/credentials",
                             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))
        run_seed_example(env, binary, tmp_path, proc_env, "container")
    finally:
        ep.close()
    assert ep.requests


def test_expiring_web_identity_credentials_are_refreshed_during_a_continuous_backup(env, binary, tmp_path):
    """STS sessions of 20 s: the chain renews them halfway, so a 35 s continuous backup fetches at
    least three times and no upload fails."""
    from confluent_kafka import Producer

    sts = MotoSts(env, tmp_path, duration=20)
    try:
        topic = new_topic(env, records=10)
        prefix = f"cred-refresh-{uuid.uuid4().hex[:8]}"
        cfg = write_config(tmp_path, env, topic, "refresh", prefix)
        data = json.loads(cfg.read_text())
        data["backup"] = {"compression": "none", "continuous": True, "segment_max_interval_ms": 500,
                          "poll_interval_ms": 100}
        cfg.write_text(json.dumps(data))
        err_path = tmp_path / "backup.err"
        summary_path = tmp_path / "summary.json"
        with err_path.open("w") as err:
            p = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress", "--summary-file",
                                  str(summary_path)], stdout=subprocess.DEVNULL, stderr=err,
                                 env=web_identity_env(tmp_path, sts.endpoint))
            try:
                pr = Producer({"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]})
                produced = 10
                deadline = time.monotonic() + 35
                while time.monotonic() < deadline:
                    assert p.poll() is None, err_path.read_text()[-3000:]
                    pr.produce(topic, key=f"k{produced}".encode(), value=f"v{produced}".encode())
                    produced += 1
                    pr.poll(0)
                    time.sleep(0.2)
                assert pr.flush(60) == 0
                refreshed = lambda: err_path.read_text().count("refreshed temporary credentials from web_identity")
                stop_at = time.monotonic() + 20
                while refreshed() < 2 and time.monotonic() < stop_at:
                    time.sleep(0.2)
            finally:
                p.send_signal(signal.SIGTERM)
                rc = p.wait(60)
        text = err_path.read_text()
        assert rc == 0, text[-3000:]
        assert text.count("refreshed temporary credentials from web_identity") >= 2, text[-3000:]
        assert len(sts.requests()) >= 3 and set(sts.requests()) == {"200"}, sts.log.read_text()[-2000:]
        for bad in (" warn ", " error ", "403", "expired"):
            assert bad not in text, text[-3000:]
        summary = json.loads(summary_path.read_text())
        assert summary["outcome"] == "stopped" and summary["errors"] == [], summary
        assert summary["records"] == produced, (summary, produced)
        s3 = env["s3"]
        url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}&path_style=true"
        v = subprocess.run([str(binary), "validate", "--path", url, "--backup-id", "refresh", "--deep"],
                           capture_output=True, text=True, timeout=120, env=web_identity_env(tmp_path, sts.endpoint))
        assert v.returncode == 0, v.stdout + v.stderr
    finally:
        sts.close()
