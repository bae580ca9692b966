"""What an operator sees when security is wrong, through the built binary ($KB_BINARY) against the
harness's real broker ($KB_TEST_ENV): each documented failure (wrong CA, wrong SCRAM password,
no ACL, wrong listener) exits 3 with the phrase docs/security.md's troubleshooting section quotes,
in text and in `--log-format json` (there the phrase is the `msg` of a level "error" record); every
phrase and every pasted first line of that section comes out of a real run; and the per-connection
warnings (SASL_PLAINTEXT password, ssl_endpoint_identification: false) are printed once per run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/ is on sys.path (its conftest.py)
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parents[2]
SECURITY_MD = REPO / "docs" / "security.md"
README_MD = REPO / "README.md"
DOCS = [SECURITY_MD, README_MD]


@pytest.fixture(scope="module")
def env() -> dict:
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    return harness_env.load(path)


@pytest.fixture(scope="module")
def binary() -> str:
    path = os.environ.get("KB_BINARY")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("KB_BINARY must name the built kafka-backup binary", pytrace=False)
    return path


def new_topic(env, partitions: int, records: int) -> str:
    name = f"kb-msg-{uuid.uuid4().hex[:10]}"
    bootstrap = env["kafka"]["listeners"]["PLAINTEXT"]  # ANONYMOUS is a super user in the harness
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the futures resolve
    for f in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        f.result(timeout=60)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(records):
        p.produce(name, value=f"v{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0
    return name


def run_backup(binary, env, tmp: Path, listener: str, security: dict, topic: str, password: str = "",
               log_format: str | None = None) -> subprocess.CompletedProcess:
    backup_id = f"msg-{uuid.uuid4().hex[:8]}"
    cfg = {"mode": "backup", "backup_id": backup_id,
           "source": {"bootstrap_servers": [env["kafka"]["listeners"][listener]], "topics": {"include": [topic]},
                      "security": security},
           "storage": {"backend": "filesystem", "path": str(tmp / "store")}}
    path = tmp / f"{backup_id}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    args = [binary, "backup", "--config", str(path), "--no-progress"]
    if log_format:
        args += ["--log-format", log_format]
    e = dict(os.environ, KB_PW=password)
    r = subprocess.run(args, capture_output=True, text=True, timeout=180, env=e)
    if password:
        assert password not in r.stdout + r.stderr, "a password reached the output"
    return r


# ---- the documented failures -----------------------------------------------------------------------

def sasl_ssl(env, user: str) -> dict:
    return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": user,
            "sasl_password": "${KB_PW}", "ssl_ca_location": env["tls"]["ca"]}


# name -> (listener, security, password, the phrase the troubleshooting section quotes)
def failure_cases(env) -> dict:
    return {
        "wrong_ca": ("SSL", {"security_protocol": "SSL", "ssl_ca_location": env["tls"]["other_ca"]}, "",
                     "SSL handshake failed"),
        "wrong_scram_password": ("SASL_SSL", sasl_ssl(env, "backup"), "not-the-password-3x",
                                 "SASL authentication failed"),
        "no_acl": ("SASL_SSL", sasl_ssl(env, "noacl"), env["users"]["noacl"], "Not authorized to access topic"),
        "plaintext_client_on_sasl_port": ("SASL_PLAINTEXT", {"security_protocol": "PLAINTEXT"}, "",
                                          "the port is a SASL_PLAINTEXT listener"),
    }


@pytest.fixture(scope="module")
def failures(env, binary, tmp_path_factory) -> dict:
    """Each failure case run once per log format: {(case, format): CompletedProcess}."""
    topic = new_topic(env, 1, 5)
    out = {}
    for name, (listener, security, password, _) in failure_cases(env).items():
        for fmt in ("text", "json"):
            out[(name, fmt)] = run_backup(binary, env, tmp_path_factory.mktemp(name), listener, security, topic,
                                          password, fmt)
    return out


def error_lines_text(r) -> list[str]:
    return [line[len("error: "):] for line in r.stderr.splitlines() if line.startswith("error: ")]


def error_msgs_json(r) -> list[str]:
    msgs = []
    for line in r.stderr.splitlines():
        record = json.loads(line)  # every stderr line is a JSON record in json format
        if record["level"] == "error":
            msgs.append(record["msg"])
    return msgs


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("case", ["wrong_ca", "wrong_scram_password", "no_acl", "plaintext_client_on_sasl_port"])
def test_documented_failure_exits_3_with_the_documented_phrase(env, failures, case, fmt):
    r = failures[(case, fmt)]
    phrase = failure_cases(env)[case][3]
    assert r.returncode == 3, r.stderr
    errors = error_lines_text(r) if fmt == "text" else error_msgs_json(r)
    assert errors, r.stderr
    assert phrase in errors[0], errors
    if fmt == "json":
        assert not any(line.startswith("error: ") for line in r.stderr.splitlines()), r.stderr


def test_wrong_listener_hint_names_what_to_set(failures):
    first = error_lines_text(failures[("plaintext_client_on_sasl_port", "text")])[0]
    assert "requires SASL authentication on this port" in first, first
    assert "set security_protocol: SASL_PLAINTEXT with sasl_mechanism, sasl_username and sasl_password" in first, first
    assert "End of file" not in first, first


def troubleshooting_section(path: Path) -> str:
    text = path.read_text()
    start = text.index("## Troubleshooting")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def documented_phrases(path: Path) -> list[str]:
    """The backticked phrases of the first column of the troubleshooting table."""
    phrases = []
    for row in troubleshooting_section(path).splitlines():
        cells = row.split("|")
        if len(cells) > 2 and "`" in cells[1]:
            phrases += re.findall(r"`([^`]+)`", cells[1])
    return phrases


def normalise(line: str) -> str:
    """Hosts, ports and quoted names vary between runs and the documentation's examples."""
    line = re.sub(r"broker [\w.\-\[\]:]+:\d+", "broker HOST:PORT", line)
    line = re.sub(r"User:[\w\-]+", "User:NAME", line)
    return re.sub(r"'[^']*'", "'NAME'", line)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_troubleshooting_phrase_comes_out_of_a_real_run(failures, doc):
    phrases = documented_phrases(doc)
    assert len(phrases) >= 4, phrases
    seen = [e for (case, fmt), r in failures.items() if fmt == "text" for e in error_lines_text(r)]
    for phrase in phrases:
        assert any(phrase in e for e in seen), f"{phrase!r} is in {doc.name} but no run printed it: {seen}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_pasted_first_line_matches_a_real_one(failures, doc):
    blocks = re.findall(r"^```text\n(.*?)^```", troubleshooting_section(doc), flags=re.S | re.M)
    pasted = [line for block in blocks for line in block.splitlines() if line.startswith("error: ")]
    assert len(pasted) >= 4, pasted
    real = {normalise("error: " + error_lines_text(r)[0]) for (case, fmt), r in failures.items()
            if fmt == "text" and error_lines_text(r)}
    for line in pasted:
        assert normalise(line) in real, f"{doc.name} shows {line!r}; the real first lines are {sorted(real)}"


# ---- warnings once per run ---------------------------------------------------------------------------

def test_sasl_plaintext_password_warning_once_per_run(env, binary, tmp_path):
    topic = new_topic(env, 6, 60)
    sec = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "backup",
           "sasl_password": "${KB_PW}"}
    r = run_backup(binary, env, tmp_path, "SASL_PLAINTEXT", sec, topic, env["users"]["backup"])
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "over SASL_PLAINTEXT" in line]
    assert len(warnings) == 1, r.stderr
    assert "use SASL_SSL" in warnings[0]


def test_ssl_endpoint_identification_warning_once_per_run(env, binary, tmp_path):
    topic = new_topic(env, 6, 60)
    sec = {"security_protocol": "SSL", "ssl_ca_location": env["tls"]["ca"], "ssl_endpoint_identification": False}
    r = run_backup(binary, env, tmp_path, "SSL", sec, topic)
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if "ssl_endpoint_identification is false" in line]
    assert len(warnings) == 1, r.stderr
