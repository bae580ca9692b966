"""SASL AWS_MSK_IAM through the CLI against the harness's real Kafka broker. No broker outside AWS
implements AWS_MSK_IAM, so the payload itself is checked by unit vectors from AWS's own library
(tests/net/msk_iam_test.cpp); here: the mechanism reaches the broker's SaslHandshake (which refuses it,
exit 3, naming what the listener offers), and missing AWS credentials are a configuration error (exit 2)
listing the sources tried, with no secret in any output."""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

SECRET = f"kb-msk-secret-{uuid.uuid4().hex}"


def write_config(tmp: Path, env: dict) -> Path:
    cfg = tmp / "msk.yaml"
    cfg.write_text(f"""mode: backup
backup_id: msk-{uuid.uuid4().hex[:8]}
source:
  bootstrap_servers: ["{env['kafka']['listeners']['SASL_PLAINTEXT']}"]
  security:
    security_protocol: SASL_PLAINTEXT
    sasl_mechanism: AWS_MSK_IAM
    sasl_aws_region: us-east-1
  topics:
    include: ["msk-iam-{uuid.uuid4().hex}"]
storage:
  backend: filesystem
  path: {tmp / 'store'}
""")
    return cfg


def run(binary: Path, cfg: Path, tmp: Path, extra: dict) -> subprocess.CompletedProcess:
    # A clean environment: no AWS settings of the machine, no instance metadata lookups.
    e = {"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(tmp), "AWS_EC2_METADATA_DISABLED": "true", **extra}
    return subprocess.run([str(binary), "backup", "--config", str(cfg)], env=e, capture_output=True, text=True,
                          timeout=120)


def test_broker_without_the_mechanism_refuses_it(env, binary, tmp_path):
    cfg = write_config(tmp_path, env)
    r = run(binary, cfg, tmp_path, {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET,
                                     "AWS_SESSION_TOKEN": SECRET + "-token"})
    assert r.returncode == 3, r.stderr
    assert "mechanism AWS_MSK_IAM" in r.stderr and "does not enable AWS_MSK_IAM" in r.stderr, r.stderr
    assert "kafka AWS_MSK_IAM: using credentials from env (access key ****MPLE, " not in r.stderr  # no expiry: not temporary
    assert "kafka AWS_MSK_IAM: using credentials from env (access key ****MPLE)" in r.stderr, r.stderr
    assert SECRET not in r.stderr + r.stdout


def test_no_aws_credentials_is_a_configuration_error(env, binary, tmp_path):
    cfg = write_config(tmp_path, env)
    r = run(binary, cfg, tmp_path, {})
    assert r.returncode == 2, r.stderr
    assert "source.security: AWS_MSK_IAM: no AWS credentials" in r.stderr, r.stderr
    assert "env: AWS_ACCESS_KEY_ID is not set" in r.stderr and "imds:" in r.stderr, r.stderr
    assert "storage.access_key" not in r.stderr, r.stderr  # S3's keys do not sign Kafka logins
