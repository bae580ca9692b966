#!/usr/bin/env python3
"""Real-component test harness: Apache Kafka (KRaft, from Maven jars) and versitygw (S3).

Subcommands (Python 3.11 stdlib only):
  up     [--profile single|cluster3] [--no-s3] [--azurite [--azurite-extent-mib N]] [--gcs]
                                                 start everything, write RUN/env.json + env.sh
                                                 (--azurite: also Azure Blob, tests/harness/azurite.py;
                                                  --gcs: also fake-gcs-server, tests/harness/gcs_server.py)
  down                                           stop the recorded processes (TERM, 10 s, KILL)
  kill   --node N [--signal KILL|TERM]           stop one Kafka node
  start  --node N                                restart a killed node, wait until it is in metadata
  status                                         print each recorded process alive/dead
All take --run-dir DIR (default <repo>/build/harness).  Tools come from the cache that
scripts/install-deps.sh fills ($KB_CACHE, default ~/.cache/kafka-backup).
Passwords and keys are random per run and are written only to files under the run dir.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import azurite  # tests/harness/azurite.py, beside this file

REPO = Path(__file__).resolve().parents[2]
KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))
KAFKA_VERSION = os.environ.get("KAFKA_VERSION", "4.1.1")
# base64url of 16 bytes; a constant is fine because every run formats fresh directories.
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qg"
USERS = ("admin", "backup", "restore", "noacl")
SCRAM_MECHS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
BROKER_START_TIMEOUT = 120.0
S3_START_TIMEOUT = 30.0
STOP_GRACE = 10.0
STARTED_LINE = "Kafka Server started"

LOG4J2_BROKER = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = info
"""
LOG4J2_TOOLS = """status = warn
appender.console.type = Console
appender.console.name = STDERR
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.console.ref = STDERR
"""


class HarnessError(Exception):
    """A failure with a message meant for the user (never contains a secret)."""


def log(msg: str) -> None:
    print(f"cluster.py: {msg}", flush=True)


# --------------------------------------------------------------------------- small helpers
def run(cmd: list[str], *, cwd: Path | None = None, timeout: float = 120, check: bool = True,
        input_text: str | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       input=input_text, stdin=None if input_text is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise HarnessError(f"command failed (rc={p.returncode}): {shlex.join(cmd[:6])} ...\n"
                           f"{p.stderr.strip()[-2000:]}")
    return p


def free_ports(n: int) -> list[int]:
    """Bind n sockets to 127.0.0.1:0 at once (so the ports are distinct), then release them."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def tail(path: Path, lines: int = 40) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data[-lines:])


def pid_alive(pid: int | None, marker: str | None = None) -> bool:
    """True if pid runs and (when marker is given) its command line contains marker.
    The marker guards against signalling a recycled pid that is not ours."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if marker is not None:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if marker not in cmdline:
                return False
        return True
    except (OSError, IndexError):
        return False


def spawn(cmd: list[str], log_path: Path, env: dict | None = None) -> int:
    """Start a process in its own session so it outlives this script; return its pid."""
    with open(log_path, "ab") as out:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True, env=env, close_fds=True)
    return p.pid


def stop_pids(procs: list[tuple[str, int, str]], sig: int = signal.SIGTERM,
              grace: float = STOP_GRACE) -> None:
    """procs: (name, pid, marker). Send sig, wait up to grace s, then SIGKILL the rest."""
    live = [(n, p, m) for n, p, m in procs if pid_alive(p, m)]
    for name, pid, _ in live:
        try:
            os.kill(pid, sig)
            log(f"sent {signal.Signals(sig).name} to {name} (pid {pid})")
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while live and time.monotonic() < deadline:
        live = [(n, p, m) for n, p, m in live if pid_alive(p, m)]
        if live:
            time.sleep(0.2)
    for name, pid, _ in live:
        log(f"{name} (pid {pid}) still alive after {grace:.0f} s: SIGKILL")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while live and time.monotonic() < deadline:
        live = [(n, p, m) for n, p, m in live if pid_alive(p, m)]
        if live:
            time.sleep(0.1)


# --------------------------------------------------------------------------- PKI
def openssl(*args: str, cwd: Path, input_text: str | None = None) -> None:
    run(["openssl", *args], cwd=cwd, input_text=input_text)


def make_pki(pki: Path, key_password: str) -> dict:
    """Throwaway CA, broker cert (SAN localhost/127.0.0.1), client cert CN=backup in three key
    encodings, an expired client cert and an unrelated second CA."""
    pki.mkdir(parents=True)
    ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
            "-subj", "/CN=kb-test-ca", "-keyout", "ca.key", "-out", "ca.crt", *ca_ext, cwd=pki)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
            "-subj", "/CN=kb-other-ca", "-keyout", "other-ca.key", "-out", "other-ca.crt", *ca_ext, cwd=pki)

    def leaf(name: str, cn: str, ext: str) -> None:
        (pki / f"{name}.ext").write_text(ext + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", f"/CN={cn}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=pki)
        openssl("x509", "-req", "-sha256", "-days", "30", "-in", f"{name}.csr", "-CA", "ca.crt",
                "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.crt",
                "-extfile", f"{name}.ext", cwd=pki)

    leaf("broker", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
         "extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment")
    client_ext = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment"
    leaf("client", "backup", client_ext)
    # Kafka's PEM keystore: unencrypted PKCS#8 key + chain in one file.
    (pki / "broker.pem").write_text((pki / "broker.key").read_text() + (pki / "broker.crt").read_text()
                                    + (pki / "ca.crt").read_text())
    # The client key also as encrypted PKCS#8 and as PKCS#1 ("BEGIN RSA PRIVATE KEY").
    pw_file = pki / "client-key.password"
    write_private(pw_file, key_password + "\n")
    openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "client.key", "-out", "client-encrypted.key",
            "-passout", f"file:{pw_file}", cwd=pki)
    openssl("rsa", "-in", "client.key", "-traditional", "-out", "client-pkcs1.key", cwd=pki)

    # Expired client cert (CN=backup): openssl ca with a validity window in the past.
    ca_dir = pki / "ca-db"
    ca_dir.mkdir()
    (ca_dir / "index.txt").write_text("")
    (ca_dir / "serial").write_text("1000\n")
    (ca_dir / "ca.cnf").write_text(f"""[ ca ]
default_ca = kb
[ kb ]
dir = {ca_dir}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
certificate = {pki}/ca.crt
private_key = {pki}/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
x509_extensions = leaf
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
keyUsage = critical,digitalSignature,keyEncipherment
""")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/CN=backup",
            "-keyout", "expired.key", "-out", "expired.csr", cwd=pki)
    openssl("ca", "-batch", "-config", str(ca_dir / "ca.cnf"), "-in", "expired.csr", "-out", "expired.crt",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext", cwd=pki)
    # Check the claims instead of trusting them.
    if run(["openssl", "x509", "-in", "expired.crt", "-noout", "-checkend", "0"], cwd=pki,
           check=False).returncode == 0:
        raise HarnessError("expired.crt is not expired")
    run(["openssl", "verify", "-CAfile", "ca.crt", "broker.crt", "client.crt"], cwd=pki)
    if run(["openssl", "verify", "-CAfile", "other-ca.crt", "broker.crt"], cwd=pki, check=False).returncode == 0:
        raise HarnessError("other-ca.crt unexpectedly verifies the broker certificate")
    if "BEGIN RSA PRIVATE KEY" not in (pki / "client-pkcs1.key").read_text():
        raise HarnessError("client-pkcs1.key is not PKCS#1")
    if "BEGIN ENCRYPTED PRIVATE KEY" not in (pki / "client-encrypted.key").read_text():
        raise HarnessError("client-encrypted.key is not encrypted PKCS#8")
    for name in ("ca.key", "other-ca.key", "broker.key", "broker.pem", "client.key", "client-pkcs1.key",
                 "client-encrypted.key", "expired.key"):
        os.chmod(pki / name, 0o600)
    return {
        "ca": str(pki / "ca.crt"),
        "other_ca": str(pki / "other-ca.crt"),
        "client_cert": str(pki / "client.crt"),
        "client_key": str(pki / "client.key"),
        "client_key_pkcs1": str(pki / "client-pkcs1.key"),
        "client_key_encrypted": str(pki / "client-encrypted.key"),
        "client_key_password": key_password,
        "expired_cert": str(pki / "expired.crt"),
        "expired_key": str(pki / "expired.key"),
        "broker_cert": str(pki / "broker.crt"),
    }


# --------------------------------------------------------------------------- Kafka
def kafka_lib() -> Path:
    lib = KB_CACHE / f"kafka-{KAFKA_VERSION}" / "lib"
    if not (lib.parent / ".complete").exists():
        raise HarnessError(f"Kafka {KAFKA_VERSION} jars not found in {lib}: run scripts/install-deps.sh "
                           "(or set KB_CACHE / KAFKA_VERSION)")
    return lib


def java_tools_prefix(run_dir: Path, lib: Path) -> list[str]:
    return ["java", "-cp", f"{lib}/*", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={run_dir / 'log4j2-tools.properties'}"]


def broker_cmd(run_dir: Path, lib: Path, node_dir: Path) -> list[str]:
    return ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={node_dir / 'logs'}",
            f"-Dlog4j2.configurationFile={run_dir / 'log4j2-broker.properties'}",
            "-cp", f"{lib}/*", "kafka.Kafka", str(node_dir / "server.properties")]


COMMON_PROPS = """process.roles=broker,controller
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
num.partitions=1
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=33554432
"""


# Replication settings of a one-broker cluster (also used by kerberos.py's broker).
SINGLE_NODE_REPLICATION = """default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
"""


def single_properties(node_dir: Path, ports: dict, pki: Path, pw: dict) -> str:
    lst = ",".join(f"{name}://127.0.0.1:{ports[name]}" for name in
                   ("PLAINTEXT", "SSL", "MTLS", "SASL_PLAINTEXT", "SASL_SSL", "CONTROLLER"))
    plain_users = " ".join(f'user_{u}="{pw[u]}"' for u in USERS)
    jaas = []
    for lname in ("sasl_plaintext", "sasl_ssl"):
        jaas.append(f"listener.name.{lname}.plain.sasl.jaas.config="
                    f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};")
        for mech in SCRAM_MECHS:
            jaas.append(f"listener.name.{lname}.{mech.lower()}.sasl.jaas.config="
                        "org.apache.kafka.common.security.scram.ScramLoginModule required;")
    jaas_text = "\n".join(jaas)
    return COMMON_PROPS + f"""node.id=1
controller.quorum.voters=1@127.0.0.1:{ports['CONTROLLER']}
listeners={lst}
advertised.listeners={lst}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
ssl.keystore.type=PEM
ssl.keystore.location={pki / 'broker.pem'}
ssl.truststore.type=PEM
ssl.truststore.location={pki / 'ca.crt'}
listener.name.mtls.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([^,]+).*$/$1/,DEFAULT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
{jaas_text}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS;User:admin
allow.everyone.if.no.acl.found=false
log.dirs={node_dir / 'data'}
{SINGLE_NODE_REPLICATION}"""


# Kafka's real OAUTHBEARER validation (KIP-768) for one SASL listener: signature against the
# issuer's JWKS, audience, issuer, exp/iat. Kafka 4.1's default sasl.oauthbearer.jwt.validator.class
# (DefaultJwtValidator) is built by OAuthBearerValidatorCallbackHandler without a key resolver and
# then delegates to ClientJwtValidator, which checks NO signature (a token signed by any key was
# accepted); BrokerJwtValidator is named explicitly so it builds its resolver from the JWKS URL.
OAUTHBEARER_VALIDATOR_HANDLER = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
OAUTHBEARER_BROKER_VALIDATOR = "org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator"
# The JVM system property Kafka 4 reads for the URLs it may fetch (KIP-1098; kafka-clients
# BrokerSecurityConfigs.ALLOWED_SASL_OAUTHBEARER_URLS_CONFIG, checked by ConfigurationUtils).
OAUTHBEARER_ALLOWED_URLS_PROPERTY = "org.apache.kafka.sasl.oauthbearer.allowed.urls"


def oauthbearer_listener_properties(listener: str, jwks_url: str, issuer: str, audience: str,
                                    reauth_ms: int | None = None) -> str:
    """server.properties lines for an OAUTHBEARER listener validating JWTs against `jwks_url`."""
    pre = f"listener.name.{listener.lower()}.oauthbearer."
    lines = [f"{pre}sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;",
             f"{pre}sasl.server.callback.handler.class={OAUTHBEARER_VALIDATOR_HANDLER}",
             f"{pre}sasl.oauthbearer.jwt.validator.class={OAUTHBEARER_BROKER_VALIDATOR}",
             f"sasl.oauthbearer.jwt.validator.class={OAUTHBEARER_BROKER_VALIDATOR}",
             f"sasl.oauthbearer.jwks.endpoint.url={jwks_url}",
             f"sasl.oauthbearer.expected.audience={audience}",
             f"sasl.oauthbearer.expected.issuer={issuer}",
             # The default 30 s would let a token that expired a moment ago through.
             "sasl.oauthbearer.clock.skew.seconds=5"]
    if reauth_ms is not None:
        lines.append(f"{pre}connections.max.reauth.ms={reauth_ms}")
    return "\n".join(lines) + "\n"


def oauthbearer_jvm_flag(urls: list[str]) -> str:
    """The broker JVM flag allowing it to fetch `urls` (the JWKS; Kafka 4 refuses others)."""
    return f"-D{OAUTHBEARER_ALLOWED_URLS_PROPERTY}={','.join(urls)}"


def cluster3_properties(node_id: int, node_dir: Path, ports: dict[int, dict]) -> str:
    voters = ",".join(f"{n}@127.0.0.1:{ports[n]['CONTROLLER']}" for n in (1, 2, 3))
    p = ports[node_id]
    lst = f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},CONTROLLER://127.0.0.1:{p['CONTROLLER']}"
    return COMMON_PROPS + f"""node.id={node_id}
controller.quorum.voters={voters}
listeners={lst}
advertised.listeners={lst}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={node_dir / 'data'}
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
replica.lag.time.max.ms=10000
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
"""


def metadata_brokers(bootstrap: str, timeout_ms: int = 5000) -> list[int] | None:
    """Broker ids in a metadata response, asked with kcat (PLAINTEXT); None if no answer."""
    try:
        p = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-m", str(max(1, timeout_ms // 1000))],
                           capture_output=True, text=True, timeout=timeout_ms / 1000 + 10,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        return None
    try:
        return sorted(b["id"] for b in json.loads(p.stdout).get("brokers", []))
    except (ValueError, KeyError, TypeError):
        return None


def wait_started(node: dict, offset: int, deadline: float) -> None:
    """Wait for the broker's 'Kafka Server started' line written after byte offset."""
    log_path = Path(node["log"])
    while time.monotonic() < deadline:
        if log_path.exists():
            with open(log_path, "rb") as f:
                f.seek(offset)
                if STARTED_LINE.encode() in f.read():
                    return
        if not pid_alive(node["pid"]):
            raise HarnessError(f"Kafka node {node['node_id']} exited during start-up; last lines of "
                               f"{log_path}:\n{tail(log_path)}\n--- stdout:\n{tail(Path(node['stdout']), 20)}")
        time.sleep(0.25)
    raise HarnessError(f"Kafka node {node['node_id']} not started within {BROKER_START_TIMEOUT:.0f} s; "
                       f"last lines of {log_path}:\n{tail(log_path)}\n--- stdout:\n{tail(Path(node['stdout']), 20)}")


def wait_metadata(bootstrap: str, want: set[int], deadline: float, present: bool = True) -> list[int]:
    last: list[int] | None = None
    while time.monotonic() < deadline:
        last = metadata_brokers(bootstrap)
        if last is not None and (want <= set(last) if present else not (want & set(last))):
            return last
        time.sleep(0.5)
    raise HarnessError(f"metadata from {bootstrap} lists brokers {last}, wanted {sorted(want)} "
                       f"{'present' if present else 'absent'}")


def format_node(tools: list[str], node_dir: Path, scram_args: list[str]) -> None:
    run([*tools, "kafka.tools.StorageTool", "format", "-c", str(node_dir / "server.properties"),
         "-t", CLUSTER_ID, *scram_args], timeout=120)


def add_acls(tools: list[str], bootstrap: str) -> None:
    """The least-privilege ACLs of docs/security.md, one AclCommand JVM per binding set, in parallel.
    restore gets Read on topics as well as on groups: OffsetCommit checks Read on both."""
    acl = [*tools, "org.apache.kafka.tools.AclCommand", "--bootstrap-server", bootstrap, "--add", "--force"]
    jobs = [
        ["--allow-principal", "User:backup", "--operation", "Read", "--operation", "Describe",
         "--topic", "*", "--group", "*"],
        ["--allow-principal", "User:backup", "--operation", "Describe", "--cluster"],
        ["--allow-principal", "User:restore", "--operation", "Write", "--operation", "Create",
         "--operation", "Describe", "--operation", "Read", "--topic", "*"],
        ["--allow-principal", "User:restore", "--operation", "Read", "--group", "*"],
    ]
    procs = [subprocess.Popen(acl + j, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for j in jobs]
    errors = []
    for j, p in zip(jobs, procs):
        try:
            _, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            err = "timed out"
        if p.returncode != 0:
            errors.append(f"AclCommand {' '.join(j)} failed: {err.strip()[-1000:]}")
    if errors:
        raise HarnessError("\n".join(errors))


def write_command_configs(run_dir: Path, pw: dict, ca: str) -> dict:
    """Java client properties (--command-config) per user: SASL_SSL with SCRAM-SHA-512."""
    d = run_dir / "clients"
    d.mkdir()
    out = {}
    for u in USERS:
        path = d / f"{u}-sasl_ssl-scram512.properties"
        write_private(path, "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                      "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                      f'username="{u}" password="{pw[u]}";\n'
                      f"ssl.truststore.type=PEM\nssl.truststore.location={ca}\n")
        out[u] = str(path)
    return out


# --------------------------------------------------------------------------- S3 (versitygw)
def sigv4_headers(method: str, url: str, region: str, access: str, secret: str,
                  payload_hash: str = "UNSIGNED-PAYLOAD") -> dict:
    """AWS Signature Version 4 headers for a request without query string."""
    u = urllib.parse.urlsplit(url)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": u.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.quote(u.path or "/"), "",
                           *[f"{k}:{headers[k]}" for k in sorted(headers)], "", signed, payload_hash])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={sig}"
    del headers["host"]
    return headers


def start_s3(run_dir: Path, port: int, started: list) -> dict:
    binary = KB_CACHE / "bin" / "versitygw"
    if not binary.exists():
        raise HarnessError(f"{binary} not found: run scripts/install-deps.sh")
    s3_dir = run_dir / "s3"
    (s3_dir / "data").mkdir(parents=True)
    access, secret, region = "kb" + secrets.token_hex(8), secrets.token_urlsafe(30), "us-east-1"
    env = dict(os.environ, ROOT_ACCESS_KEY=access, ROOT_SECRET_KEY=secret)
    log_path = s3_dir / "versitygw.log"
    pid = spawn([str(binary), "--region", region, "--port", f"127.0.0.1:{port}", "--health", "/health",
                 "posix", str(s3_dir / "data")], log_path, env=env)
    started.append(("versitygw", pid, str(run_dir)))
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + S3_START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(endpoint + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if not pid_alive(pid) or time.monotonic() > deadline:
            raise HarnessError(f"versitygw not healthy on {endpoint} within {S3_START_TIMEOUT:.0f} s; "
                               f"last lines of {log_path} (its stdout and stderr):\n{tail(log_path)}")
        time.sleep(0.2)
    url = endpoint + "/kb-test"
    req = urllib.request.Request(url, method="PUT", headers=sigv4_headers("PUT", url, region, access, secret))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    if status != 200:
        raise HarnessError(f"CreateBucket kb-test on {endpoint} returned HTTP {status}; "
                           f"log {log_path}:\n{tail(log_path)}")
    log(f"versitygw ready on {endpoint} (pid {pid}), bucket kb-test created")
    return {"endpoint": endpoint, "region": region, "bucket": "kb-test", "access_key": access,
            "secret_key": secret, "pid": pid, "log": str(log_path)}


# --------------------------------------------------------------------------- env files
def flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}_{k}", v, out)
    elif isinstance(value, list):
        if all(isinstance(x, str) for x in value):
            out[prefix] = shlex.join(value)
        else:
            for i, x in enumerate(value):
                key = x.get("node_id", i) if isinstance(x, dict) else i
                flatten(f"{prefix}_{key}", x, out)
    elif value is not None:
        out[prefix] = str(value)


def write_env(run_dir: Path, env: dict) -> None:
    write_private(run_dir / "env.json", json.dumps(env, indent=2) + "\n")
    flat: dict[str, str] = {"KB_TEST_ENV": str(run_dir / "env.json")}
    for k, v in env.items():
        flatten("KB_" + k, v, flat)
    lines = ["# Generated by tests/harness/cluster.py; same content as env.json. Contains test secrets."]
    lines += [f"export {k.upper().replace('-', '_')}={shlex.quote(v)}" for k, v in flat.items()]
    write_private(run_dir / "env.sh", "\n".join(lines) + "\n")


def load_env(run_dir: Path) -> dict:
    p = run_dir / "env.json"
    if not p.exists():
        raise HarnessError(f"{p} not found: nothing is up in {run_dir}")
    return json.loads(p.read_text())


def recorded_procs(env: dict) -> list[tuple[str, int, str]]:
    marker = env["run_dir"]
    procs = [(f"kafka node {b['node_id']}", b["pid"], marker) for b in env["kafka"]["brokers"] if b.get("pid")]
    if env.get("s3") and env["s3"].get("pid"):
        procs.append(("versitygw", env["s3"]["pid"], marker))
    if env.get("azure") and env["azure"].get("pid"):
        procs.append(("azurite", env["azure"]["pid"], env["azure"]["marker"]))
    if env.get("gcs") and env["gcs"].get("pid"):
        procs.append(("fake-gcs-server", env["gcs"]["pid"], env["gcs"].get("cmd_marker", "fake-gcs-server")))
    return procs


# --------------------------------------------------------------------------- commands
def cmd_up(args) -> None:
    t0 = time.monotonic()
    run_dir: Path = args.run_dir
    if (run_dir / "env.json").exists():
        old = load_env(run_dir)
        alive = [n for n, p, m in recorded_procs(old) if pid_alive(p, m)]
        if alive:
            raise HarnessError(f"{run_dir} is already up ({', '.join(alive)} alive): run `down` first")
    for tool in ("java", "openssl", "kcat"):
        if not shutil.which(tool):
            raise HarnessError(f"{tool} not found on PATH: run scripts/install-deps.sh")
    lib = kafka_lib()
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    os.chmod(run_dir, 0o700)
    (run_dir / "log4j2-broker.properties").write_text(LOG4J2_BROKER)
    (run_dir / "log4j2-tools.properties").write_text(LOG4J2_TOOLS)
    tools = java_tools_prefix(run_dir, lib)
    env: dict = {"profile": args.profile, "run_dir": str(run_dir)}
    started: list[tuple[str, int, str]] = []
    try:
        if args.profile == "single":
            names = ["PLAINTEXT", "SSL", "MTLS", "SASL_PLAINTEXT", "SASL_SSL", "CONTROLLER"]
            all_ports = free_ports(len(names) + 1)
            ports = dict(zip(names, all_ports))
            s3_port = all_ports[-1]
            pw = {u: secrets.token_urlsafe(18) for u in USERS}
            tls = make_pki(run_dir / "pki", secrets.token_urlsafe(15))
            log(f"PKI written to {run_dir / 'pki'} ({time.monotonic() - t0:.1f} s)")
            node_dir = run_dir / "node1"
            (node_dir / "logs").mkdir(parents=True)
            (node_dir / "server.properties").write_text(single_properties(node_dir, ports, run_dir / "pki", pw))
            os.chmod(node_dir / "server.properties", 0o600)
            scram = [a for u in USERS for m in SCRAM_MECHS
                     for a in ("--add-scram", f"{m}=[name={u},password={pw[u]}]")]
            node_dirs = {1: node_dir}
            listeners = {n: f"127.0.0.1:{ports[n]}" for n in names if n != "CONTROLLER"}
            node_listeners = {1: listeners}
            env["users"] = pw
            env["tls"] = tls
        else:
            all_ports = free_ports(7)
            ports3 = {n: {"PLAINTEXT": all_ports[2 * (n - 1)], "CONTROLLER": all_ports[2 * (n - 1) + 1]}
                      for n in (1, 2, 3)}
            s3_port = all_ports[-1]
            node_dirs, node_listeners = {}, {}
            for n in (1, 2, 3):
                nd = run_dir / f"node{n}"
                (nd / "logs").mkdir(parents=True)
                (nd / "server.properties").write_text(cluster3_properties(n, nd, ports3))
                node_dirs[n] = nd
                node_listeners[n] = {"PLAINTEXT": f"127.0.0.1:{ports3[n]['PLAINTEXT']}"}
            listeners = {"PLAINTEXT": ",".join(node_listeners[n]["PLAINTEXT"] for n in (1, 2, 3))}
            scram = []

        # Format all nodes (same arguments; in parallel for cluster3).
        t1 = time.monotonic()
        fmt = [subprocess.Popen([*tools, "kafka.tools.StorageTool", "format", "-c",
                                 str(nd / "server.properties"), "-t", CLUSTER_ID, *scram],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for nd in node_dirs.values()]
        for n, p in zip(node_dirs, fmt):
            try:
                out, err = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                raise HarnessError(f"StorageTool format of node {n} timed out")
            if p.returncode != 0:
                text = (out + err).strip()[-2000:]
                for secret in env.get("users", {}).values():
                    text = text.replace(secret, "***")
                raise HarnessError(f"StorageTool format of node {n} failed:\n{text}")
        log(f"formatted {len(node_dirs)} node(s) ({time.monotonic() - t1:.1f} s)")

        brokers = []
        for n, nd in node_dirs.items():
            cmd = broker_cmd(run_dir, lib, nd)
            pid = spawn(cmd, nd / "stdout.log")
            started.append((f"kafka node {n}", pid, str(run_dir)))
            brokers.append({"node_id": n, "pid": pid, "listeners": node_listeners[n],
                            "log": str(nd / "logs" / "server.log"), "stdout": str(nd / "stdout.log"),
                            "dir": str(nd), "cmd": cmd})
        s3 = None
        if not args.no_s3:
            s3 = start_s3(run_dir, s3_port, started)
        if args.azurite:
            try:
                env["azure"] = azurite.start_azurite(run_dir, None, started, args.azurite_extent_mib)
            except azurite.AzuriteError as e:
                raise HarnessError(str(e)) from None
            log(f"azurite ready on {env['azure']['endpoint']} (pid {env['azure']['pid']}), container "
                f"{env['azure']['container']} created")
        gcs = None
        if getattr(args, "gcs", False):
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import gcs_server  # tests/harness/gcs_server.py, beside this file

            try:
                gcs = gcs_server.start(run_dir)
            except gcs_server.GcsError as e:
                raise HarnessError(str(e)) from e
            started.append(("fake-gcs-server", gcs["pid"], gcs["cmd_marker"]))
            log(f"fake-gcs-server ready on {gcs['endpoint']} (pid {gcs['pid']}), bucket {gcs['bucket']}")
        # Record the pids at once so that `down` can clean up even if this script dies now.
        write_env(run_dir, {**env, "kafka": {"version": KAFKA_VERSION, "brokers": brokers}, "s3": s3,
                            **({"gcs": gcs} if gcs else {}), "starting": True})
        deadline = time.monotonic() + BROKER_START_TIMEOUT
        for b in brokers:
            wait_started(b, 0, deadline)
        plain = listeners["PLAINTEXT"]
        got = wait_metadata(plain, set(node_dirs), time.monotonic() + 60)
        log(f"Kafka up: brokers {got} in metadata via {plain} ({time.monotonic() - t1:.1f} s after format)")
        if args.profile == "single":
            t2 = time.monotonic()
            add_acls(tools, plain)
            log(f"ACLs for backup and restore added ({time.monotonic() - t2:.1f} s)")

        env["kafka"] = {"version": KAFKA_VERSION, "lib_dir": str(lib), "java_tools": tools,
                        "cluster_id": CLUSTER_ID, "listeners": listeners, "brokers": brokers}
        if args.profile == "single":
            env["kafka"]["command_configs"] = write_command_configs(run_dir, env["users"], env["tls"]["ca"])
        # Key order as documented: users/tls/s3 after kafka.
        env = {"profile": env["profile"], "run_dir": env["run_dir"], "kafka": env["kafka"],
               **{k: env[k] for k in ("users", "tls") if k in env}, "s3": s3,
               **({"azure": env["azure"]} if "azure" in env else {})}
        if gcs:
            env["gcs"] = gcs
        write_env(run_dir, env)
    except BaseException:
        if started:
            log("up failed: stopping what was started (logs kept in the run dir)")
            stop_pids(started, grace=5)
        raise
    log(f"up ({args.profile}) done in {time.monotonic() - t0:.1f} s; env: {run_dir / 'env.json'}, "
        f"shell: source {run_dir / 'env.sh'}")


def cmd_down(args) -> None:
    env = load_env(args.run_dir)
    procs = recorded_procs(env)
    stop_pids(procs)
    alive = [n for n, p, m in procs if pid_alive(p, m)]
    if alive:
        raise HarnessError(f"still alive after SIGKILL: {', '.join(alive)}")
    log(f"down: {len(procs)} recorded process(es) stopped; logs kept in {args.run_dir}")


def find_node(env: dict, node: int) -> dict:
    for b in env["kafka"]["brokers"]:
        if b["node_id"] == node:
            return b
    raise HarnessError(f"no node {node} in {env['run_dir']} (nodes: "
                       f"{[b['node_id'] for b in env['kafka']['brokers']]})")


def cmd_kill(args) -> None:
    env = load_env(args.run_dir)
    b = find_node(env, args.node)
    if not pid_alive(b["pid"], env["run_dir"]):
        raise HarnessError(f"kafka node {args.node} is not running")
    sig = signal.SIGKILL if args.signal == "KILL" else signal.SIGTERM
    t0 = time.monotonic()
    # TERM: controlled shutdown, allowed 30 s before KILL.
    stop_pids([(f"kafka node {args.node}", b["pid"], env["run_dir"])], sig=sig,
              grace=30.0 if sig == signal.SIGTERM else 5.0)
    log(f"kafka node {args.node} stopped with SIG{args.signal} ({time.monotonic() - t0:.1f} s)")


def cmd_start(args) -> None:
    env = load_env(args.run_dir)
    b = find_node(env, args.node)
    if pid_alive(b["pid"], env["run_dir"]):
        raise HarnessError(f"kafka node {args.node} is already running (pid {b['pid']})")
    t0 = time.monotonic()
    log_path = Path(b["log"])
    offset = log_path.stat().st_size if log_path.exists() else 0
    b["pid"] = spawn(b["cmd"], Path(b["stdout"]))
    write_env(args.run_dir, env)
    wait_started(b, offset, time.monotonic() + BROKER_START_TIMEOUT)
    wait_metadata(env["kafka"]["listeners"]["PLAINTEXT"], {args.node}, time.monotonic() + 60)
    log(f"kafka node {args.node} back in metadata (pid {b['pid']}, {time.monotonic() - t0:.1f} s)")


def cmd_status(args) -> int:
    env = load_env(args.run_dir)
    dead = 0
    for name, pid, marker in recorded_procs(env):
        alive = pid_alive(pid, marker)
        dead += not alive
        print(f"{name}: pid {pid} {'alive' if alive else 'dead'}")
    return 0 if dead == 0 else 3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", type=Path, default=REPO / "build" / "harness",
                    help="run directory (default: <repo>/build/harness)")
    sub = ap.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Kafka (+ S3) and write env.json")
    up.add_argument("--profile", choices=("single", "cluster3"), default="single")
    up.add_argument("--no-s3", action="store_true", help="do not start versitygw")
    up.add_argument("--azurite", action="store_true", help="also start Azurite (Azure Blob) and write env 'azure'")
    up.add_argument("--azurite-extent-mib", type=int, default=512,
                    help="Azurite's in-memory store limit in MiB (deleted blobs are freed by its GC every 10 min)")
    up.add_argument("--gcs", action="store_true", help="also start fake-gcs-server (GCS JSON API)")
    sub.add_parser("down", help="stop all recorded processes")
    k = sub.add_parser("kill", help="stop one Kafka node")
    k.add_argument("--node", type=int, required=True)
    k.add_argument("--signal", choices=("KILL", "TERM"), default="KILL")
    s = sub.add_parser("start", help="restart one Kafka node")
    s.add_argument("--node", type=int, required=True)
    sub.add_parser("status", help="print each recorded process alive/dead (exit 3 if any is dead)")
    # Accept --run-dir after the subcommand too.
    for p in (up, k, s, *[sub.choices[c] for c in ("down", "status")]):
        p.add_argument("--run-dir", type=Path, default=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.run_dir = args.run_dir.absolute()
    try:
        if args.command == "up":
            cmd_up(args)
        elif args.command == "down":
            cmd_down(args)
        elif args.command == "kill":
            cmd_kill(args)
        elif args.command == "start":
            cmd_start(args)
        elif args.command == "status":
            return cmd_status(args)
    except HarnessError as e:
        print(f"cluster.py {args.command}: ERROR: {e}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"cluster.py {args.command}: ERROR: timed out: {shlex.join(e.cmd[:6])} ...", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
