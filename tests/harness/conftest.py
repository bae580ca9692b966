"""Fixtures shared by the harness self-tests: the env.json written by cluster.py `up`, and
independent clients (kcat, confluent-kafka, curl, openssl) configured for each listener."""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent
CLUSTER_PY = HARNESS / "cluster.py"


def load_env(var: str) -> dict:
    path = os.environ.get(var)
    if not path:
        pytest.fail(f"${var} is not set: start the harness (tests/harness/cluster.py up) and export "
                    f"{var}=<run-dir>/env.json", pytrace=False)
    p = Path(path)
    if not p.is_file():
        pytest.fail(f"${var} names {p}, which does not exist", pytrace=False)
    return Env(json.loads(p.read_text()))


class Env(dict):
    """env.json contents; its repr (shown by pytest in tracebacks) leaves out the secrets."""

    def __repr__(self) -> str:
        return f"<env.json profile={self.get('profile')} run_dir={self.get('run_dir')}>"


@pytest.fixture(scope="session")
def env() -> dict:
    e = load_env("KB_TEST_ENV")
    if e["profile"] != "single":
        pytest.fail(f"KB_TEST_ENV is a {e['profile']} profile; these tests need `up --profile single`")
    return e


@pytest.fixture(scope="session")
def env3() -> dict:
    e = load_env("KB_TEST_ENV_CLUSTER3")
    if e["profile"] != "cluster3":
        pytest.fail(f"KB_TEST_ENV_CLUSTER3 is a {e['profile']} profile; need `up --profile cluster3`")
    return e


def client_security(env: dict, listener: str, mechanism: str | None = None, user: str | None = None,
                    password: str | None = None, key: str = "client_key") -> dict:
    """librdkafka properties (shared by kcat -X and confluent-kafka) for one listener."""
    tls = env.get("tls", {})
    props: dict[str, str] = {}
    if listener == "PLAINTEXT":
        props["security.protocol"] = "PLAINTEXT"
    elif listener == "SSL":
        props.update({"security.protocol": "SSL", "ssl.ca.location": tls["ca"]})
    elif listener == "MTLS":
        props.update({"security.protocol": "SSL", "ssl.ca.location": tls["ca"],
                      "ssl.certificate.location": tls["client_cert"], "ssl.key.location": tls[key]})
        if key == "client_key_encrypted":
            props["ssl.key.password"] = tls["client_key_password"]
    else:
        props.update({"security.protocol": listener, "sasl.mechanisms": mechanism or "PLAIN",
                      "sasl.username": user or "admin",
                      "sasl.password": password if password is not None else env["users"][user or "admin"]})
        if listener == "SASL_SSL":
            props["ssl.ca.location"] = tls["ca"]
    props["bootstrap.servers"] = env["kafka"]["listeners"][listener]
    return props


class Result:
    """Exit code and output of a client run; its repr leaves out the command line (secrets)."""

    def __init__(self, p: subprocess.CompletedProcess, secrets: list[str]):
        self.returncode = p.returncode
        self.stdout = _mask(p.stdout, secrets)
        self.stderr = _mask(p.stderr, secrets)

    def __repr__(self) -> str:
        return f"Result(rc={self.returncode}, stderr={self.stderr[-600:]!r})"


def _mask(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


class Kcat:
    def __init__(self, lib_dir: Path | None):
        self.lib_dir = lib_dir

    def __call__(self, props: dict, *args: str, input_text: str | None = None,
                 timeout: float = 60) -> Result:
        cmd = ["kcat", "-b", props["bootstrap.servers"]]
        for k, v in props.items():
            if k != "bootstrap.servers":
                cmd += ["-X", f"{k}={v}"]
        cmd += list(args)
        e = dict(os.environ)
        if self.lib_dir is not None:
            e["LD_LIBRARY_PATH"] = str(self.lib_dir)
        p = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=timeout,
                           env=e, stdin=None if input_text is not None else subprocess.DEVNULL)
        return Result(p, [props.get("sasl.password", ""), props.get("ssl.key.password", "")])


@pytest.fixture(scope="session")
def kcat(modern_librdkafka) -> Kcat:
    return Kcat(modern_librdkafka)


def new_topic(bootstrap: str, partitions: int = 1, replication: int = 1, prefix: str = "kbh") -> str:
    """Create a uniquely named topic over the (super-user) PLAINTEXT listener."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, partitions, replication)], operation_timeout=30).values():
        f.result(timeout=60)
    return name


def secret_free(text: str, env: dict) -> str:
    """Text for assertion messages with the run's secrets masked."""
    for s in list(env.get("users", {}).values()) + [env.get("tls", {}).get("client_key_password", ""),
                                                     (env.get("s3") or {}).get("secret_key", "")]:
        if s:
            text = text.replace(s, "***")
    return text
