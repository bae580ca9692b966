"""SASL/OAUTHBEARER end to end (KIP-255, KIP-768 client credentials, KIP-368 re-authentication):
a broker of our own (the shared harness stays as it is) with an OAUTHBEARER SASL_PLAINTEXT
listener that validates tokens the way a production broker does (cluster.oauthbearer_listener_properties:
OAuthBearerValidatorCallbackHandler + BrokerJwtValidator against the JWKS of mock-oauth2-server, a real
OAuth2/OIDC server, Maven Central no.nav.security:mock-oauth2-server, installed by scripts/install-deps.sh;
expected audience and issuer). Tokens live 20 s and the listener's sessions 6 s, so a continuous backup
of half a minute re-authenticates several times and fetches new tokens.

The broker's side is proven, not assumed: a token signed by a key the issuer never published, one for
another audience and one already expired are each refused (exit 3, a message naming the cause and the
fix, no token text in any output). Kafka 4.1's default validator (DefaultJwtValidator) checks no
signature when the callback handler builds it; the harness names BrokerJwtValidator, see cluster.py."""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
import cluster  # noqa: E402

MOCK_OAUTH2_VERSION = "2.1.10"
TOKEN_SECONDS = 20
REAUTH_MS = 6000
CLIENT_SECRET = f"kb-oauth-secret-{uuid.uuid4().hex}"
WRONG_AUDIENCE_SCOPE = "kafka-wrong-audience"
EXPIRED_SCOPE = "kafka-expired"
EXPIRED_AT = 1_700_000_000  # 2023-11-14: long past


def mock_oauth2_lib() -> Path:
    cache = Path(os.environ.get("KB_CACHE", str(Path.home() / ".cache/kafka-backup")))
    return cache / f"mock-oauth2-server-{MOCK_OAUTH2_VERSION}" / "lib"


def wait_http(url: str, pid: int, log: Path, what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        assert cluster.pid_alive(pid), f"{what} exited: {cluster.tail(log)}"
        time.sleep(0.3)
    pytest.fail(f"{what} did not answer {url} within 90 s: {cluster.tail(log)}")


@pytest.fixture(scope="module")
def oauth(tmp_path_factory):
    """mock-oauth2-server plus one KRaft broker with PLAINTEXT and an OAUTHBEARER SASL_PLAINTEXT listener."""
    lib = mock_oauth2_lib()
    assert (lib.parent / ".complete").exists(), f"{lib} missing: run scripts/install-deps.sh (mock-oauth2-server)"
    run = tmp_path_factory.mktemp("oauth")
    started: list[tuple[str, int, str]] = []
    p_oauth, p_plain, p_sasl, p_ctrl = cluster.free_ports(4)
    issuer = f"http://127.0.0.1:{p_oauth}/kafka"
    # The scope a client asks for picks the claims: the wrong-audience and expired cases are real
    # tokens of the same issuer, signed with its published key.
    config = {"interactiveLogin": False, "tokenCallbacks": [{
        "issuerId": "kafka", "tokenExpiry": TOKEN_SECONDS,
        "requestMappings": [
            {"requestParam": "scope", "match": WRONG_AUDIENCE_SCOPE,
             "claims": {"sub": "kb-backup-client", "aud": ["some-other-service"], "scope": "kafka"}},
            {"requestParam": "scope", "match": EXPIRED_SCOPE,
             "claims": {"sub": "kb-backup-client", "aud": ["kafka-broker"], "scope": "kafka",
                        "iat": EXPIRED_AT - 3600, "nbf": EXPIRED_AT - 3600, "exp": EXPIRED_AT}},
            {"requestParam": "grant_type", "match": "client_credentials",
             "claims": {"sub": "kb-backup-client", "aud": ["kafka-broker"], "scope": "kafka"}}]}]}
    env = {**os.environ, "SERVER_HOSTNAME": "127.0.0.1", "SERVER_PORT": str(p_oauth), "JSON_CONFIG": json.dumps(config)}
    try:
        pid = cluster.spawn(["java", "-Xmx192m", "-XX:+UseSerialGC", "-cp", f"{lib}/*",
                             "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"], run / "oauth.log", env=env)
        # The marker is checked against the pid's command line before stop_pids signals it.
        started.append(("mock-oauth2-server", pid, "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"))
        wait_http(f"{issuer}/.well-known/openid-configuration", pid, run / "oauth.log", "mock-oauth2-server")

        kafka_lib = cluster.kafka_lib()
        (run / "log4j2-broker.properties").write_text(cluster.LOG4J2_BROKER)
        (run / "log4j2-tools.properties").write_text(cluster.LOG4J2_TOOLS)
        node = run / "node1"
        (node / "logs").mkdir(parents=True)
        (node / "server.properties").write_text(cluster.COMMON_PROPS + f"""node.id=1
controller.quorum.voters=1@127.0.0.1:{p_ctrl}
listeners=PLAINTEXT://127.0.0.1:{p_plain},SASL_PLAINTEXT://127.0.0.1:{p_sasl},CONTROLLER://127.0.0.1:{p_ctrl}
advertised.listeners=PLAINTEXT://127.0.0.1:{p_plain},SASL_PLAINTEXT://127.0.0.1:{p_sasl}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=OAUTHBEARER
{cluster.oauthbearer_listener_properties("sasl_plaintext", f"{issuer}/jwks", issuer, "kafka-broker", REAUTH_MS)}log.dirs={node / 'data'}
{cluster.SINGLE_NODE_REPLICATION}""")
        tools = cluster.java_tools_prefix(run, kafka_lib)
        cluster.run([*tools, "kafka.tools.StorageTool", "format", "-c", str(node / "server.properties"),
                     "-t", cluster.CLUSTER_ID], timeout=120)
        cmd = cluster.broker_cmd(run, kafka_lib, node)
        # Kafka 4 fetches only URLs it is told to trust (the broker needs only the JWKS).
        cmd.insert(1, cluster.oauthbearer_jvm_flag([f"{issuer}/jwks"]))
        bpid = cluster.spawn(cmd, node / "stdout.log")
        started.append(("kafka oauth broker", bpid, str(run)))
        broker = {"node_id": 1, "pid": bpid, "log": str(node / "logs" / "server.log")}
        cluster.wait_started(broker, 0, time.monotonic() + cluster.BROKER_START_TIMEOUT)
        cluster.wait_metadata(f"127.0.0.1:{p_plain}", {1}, time.monotonic() + 60)
        yield {"issuer": issuer, "token_url": f"{issuer}/token", "plaintext": f"127.0.0.1:{p_plain}",
               "sasl": f"127.0.0.1:{p_sasl}", "run": run, "broker_log": node / "logs" / "server.log"}
    finally:
        cluster.stop_pids(started, grace=10)


def new_topic(bootstrap: str, records: int = 20) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kboauth-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    pr = Producer({"bootstrap.servers": bootstrap})
    for i in range(records):
        pr.produce(name, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert pr.flush(60) == 0
    return name


def write_config(tmp_path: Path, oauth, topic: str, security: dict, backup: dict | None = None) -> Path:
    cfg = {"mode": "backup", "backup_id": "oauth",
           "source": {"bootstrap_servers": [oauth["sasl"]], "topics": {"include": [topic]},
                      "security": {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "OAUTHBEARER", **security}},
           "storage": {"backend": "filesystem", "path": str(tmp_path / "store")},
           "backup": {"compression": "none", **(backup or {})}}
    path = tmp_path / f"oauth-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def client_credentials(oauth) -> dict:
    return {"sasl_oauthbearer_token_endpoint_url": oauth["token_url"],
            "sasl_oauthbearer_client_id": "kb-backup-client",
            "sasl_oauthbearer_client_secret": "${OAUTH_CLIENT_SECRET}", "sasl_oauthbearer_scope": "kafka"}


def run_env() -> dict:
    return {**os.environ, "OAUTH_CLIENT_SECRET": CLIENT_SECRET}


def test_client_credentials_backup_reauthenticates_and_refreshes_the_token(oauth, binary, tmp_path):
    from confluent_kafka import Producer

    topic = new_topic(oauth["plaintext"])
    cfg = write_config(tmp_path, oauth, topic, client_credentials(oauth),
                       {"continuous": True, "segment_max_interval_ms": 500, "poll_interval_ms": 100})
    err_path, summary = tmp_path / "backup.err", tmp_path / "summary.json"
    with err_path.open("w") as err:
        p = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress", "--log-level", "debug",
                              "--summary-file", str(summary)], stdout=subprocess.DEVNULL, stderr=err, env=run_env())
        try:
            pr = Producer({"bootstrap.servers": oauth["plaintext"]})
            produced = 20
            deadline = time.monotonic() + TOKEN_SECONDS * 1.5
            while time.monotonic() < deadline:
                assert p.poll() is None, err_path.read_text()[-3000:]
                pr.produce(topic, key=f"k{produced}".encode(), value=f"v{produced}".encode())
                produced += 1
                pr.poll(0)
                time.sleep(0.2)
            assert pr.flush(60) == 0
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(60)
    text = err_path.read_text()
    assert rc == 0, text[-3000:]
    assert text.count(f"OAUTHBEARER token from token endpoint {oauth['token_url']}") >= 2, text[-3000:]
    assert "re-authenticating to broker" in text, text[-3000:]
    assert CLIENT_SECRET not in text
    s = json.loads(summary.read_text())
    assert s["errors"] == [] and s["records"] == produced, (s, produced)


def fetch_token(oauth, scope: str = "kafka") -> str:
    url = oauth["token_url"]
    req = urllib.request.Request(url, data=f"grant_type=client_credentials&scope={scope}".encode(), method="POST",
                                 headers={"Authorization": "Basic " + base64.b64encode(b"kb-backup-client:x").decode(),
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["access_token"]


def test_token_file_backs_up(oauth, binary, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(fetch_token(oauth) + "\n")
    topic = new_topic(oauth["plaintext"])
    cfg = write_config(tmp_path, oauth, topic, {"sasl_oauthbearer_token_file": str(token_file)})
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"OAUTHBEARER token from token file {token_file}" in r.stderr


def test_token_endpoint_refusing_or_missing_secret(oauth, binary, tmp_path):
    cc = client_credentials(oauth)
    del cc["sasl_oauthbearer_client_secret"]
    cfg = write_config(tmp_path, oauth, "unused-topic", cc)
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2, r.stderr
    assert "sasl_oauthbearer_client_secret" in r.stderr
    cc = {**client_credentials(oauth), "sasl_oauthbearer_token_endpoint_url": f"http://127.0.0.1:{cluster.free_ports(1)[0]}/t"}
    cfg = write_config(tmp_path, oauth, "unused-topic", cc)
    r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                       timeout=120, env=run_env())
    assert r.returncode == 3, r.stderr[-3000:]
    assert "token endpoint http://127.0.0.1:" in r.stderr, r.stderr
    assert CLIENT_SECRET not in r.stderr + r.stdout


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_part(token: str, i: int) -> dict:
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def forge(valid: str, tmp_path: Path) -> str:
    """The valid token's header (the issuer's kid) and claims, signed RS256 by a fresh key the JWKS lacks."""
    key = tmp_path / "forger.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
                   check=True, capture_output=True, timeout=60)
    head, body = valid.split(".")[:2]
    signed = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=f"{head}.{body}".encode(),
                            check=True, capture_output=True, timeout=60).stdout
    return f"{head}.{body}.{b64url(signed)}"


def back_up_with_token(oauth, binary, tmp_path: Path, token: str, topic: str) -> subprocess.CompletedProcess:
    token_file = tmp_path / f"token-{uuid.uuid4().hex[:6]}"
    token_file.write_text(token + "\n")
    cfg = write_config(tmp_path, oauth, topic, {"sasl_oauthbearer_token_file": str(token_file)})
    return subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress", "--log-level", "debug"],
                          capture_output=True, text=True, timeout=120)


def assert_no_token_text(token: str, r: subprocess.CompletedProcess) -> None:
    out = r.stdout + r.stderr
    for i, part in enumerate(token.split(".")):
        assert part[:24] not in out, f"part {i} of the token appears in the output"


def test_broker_accepts_a_valid_token_of_the_issuer(oauth, binary, tmp_path):
    # The control for the refusals below: the same path with a genuine token backs up.
    token = fetch_token(oauth)
    assert jwt_part(token, 1)["aud"] in ("kafka-broker", ["kafka-broker"])
    topic = new_topic(oauth["plaintext"], records=5)
    r = back_up_with_token(oauth, binary, tmp_path, token, topic)
    assert r.returncode == 0, r.stderr[-3000:]
    assert_no_token_text(token, r)


@pytest.mark.parametrize("case", ["forged-signature", "wrong-audience", "expired"])
def test_broker_refuses_an_invalid_token(oauth, binary, tmp_path, case):
    """The broker validates: each token is refused by the broker (exit 3), never by our own client."""
    if case == "forged-signature":
        token = forge(fetch_token(oauth), tmp_path)
    elif case == "wrong-audience":
        token = fetch_token(oauth, WRONG_AUDIENCE_SCOPE)
        assert jwt_part(token, 1)["aud"] in ("some-other-service", ["some-other-service"])
    else:
        token = fetch_token(oauth, EXPIRED_SCOPE)
        assert jwt_part(token, 1)["exp"] == EXPIRED_AT
    topic = new_topic(oauth["plaintext"], records=5)
    broker_log = Path(oauth["broker_log"])
    seen = broker_log.stat().st_size
    r = back_up_with_token(oauth, binary, tmp_path, token, topic)
    assert r.returncode == 3, r.stderr[-3000:]
    assert "SASL authentication failed: mechanism OAUTHBEARER" in r.stderr, r.stderr[-3000:]
    assert "the broker refused the token (invalid_token)" in r.stderr, r.stderr[-3000:]
    assert "sasl.oauthbearer" in r.stderr, r.stderr[-3000:]
    assert_no_token_text(token, r)
    # The refusal is the broker's JWT validation, and it says why (the cause per case).
    with broker_log.open("rb") as f:
        f.seek(seen)
        new_lines = f.read().decode(errors="replace")
    why = {"forged-signature": "rejected due to invalid signature", "wrong-audience": "Audience (aud) claim",
           "expired": "no longer valid"}[case]
    assert why in new_lines, new_lines[-3000:]
