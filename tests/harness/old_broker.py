#!/usr/bin/env python3
"""An older Apache Kafka broker for the compat suite: 3.9 (KRaft) or 2.8 (ZooKeeper), one node,
with a PLAINTEXT and a SASL_SSL (SCRAM-SHA-256/512) listener.

The jars come from Maven Central (tests/compat/pom.xml, fetched by scripts/install-deps.sh into
$KB_CACHE/kafka-<version>/lib). 2.8 runs in ZooKeeper mode (its KRaft mode was early access and
had no SCRAM): a ZooKeeper server from the same class path, SCRAM users created through
ZooKeeper before the broker starts, and `log.message.format.version=0.10.2` so that the broker
stores and serves legacy v1 message sets (magic 1) instead of v2 record batches.

  python3 tests/harness/old_broker.py up --version 3.9.1 --run-dir DIR   (writes DIR/env.json)
  python3 tests/harness/old_broker.py down --run-dir DIR
Passwords are random per run and written only to files under the run dir.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster  # noqa: E402  (free_ports, run, pid_alive, stop_pids, openssl, write_private)

KB_CACHE = cluster.KB_CACHE
VERSIONS = ("3.9.1", "2.8.2")
USERS = ("admin", "backup", "restore")
# 3.9 KRaft: "[KafkaRaftServer nodeId=1] Kafka Server started"; 2.8: "[KafkaServer id=1] started".
STARTED = re.compile(rb"Kafka Server started|\[KafkaServer id=\d+\] started")
START_TIMEOUT = 150.0

LOG4J1 = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
"""
LOG4J1_TOOLS = """log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


def lib_dir(version: str) -> Path:
    lib = KB_CACHE / f"kafka-{version}" / "lib"
    if not (lib.parent / ".complete").exists():
        raise cluster.HarnessError(f"Kafka {version} jars not found in {lib}: run "
                                   f"KAFKA_OLD_VERSIONS={version} scripts/install-deps.sh --tools-only")
    return lib


def java(run_dir: Path, lib: Path, heap: str = "-Xmx256m") -> list[str]:
    return ["java", "-cp", f"{lib}/*", heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j.configuration=file:{run_dir / 'log4j-tools.properties'}"]


def make_pki(pki: Path, key_password: str) -> dict:
    """A throwaway CA and a broker certificate for 127.0.0.1/localhost (PEM keystore: Kafka >= 2.7;
    2.8 insists on an encrypted key, and its loader knows no PBES2: PKCS#5 v1.5 PBE-SHA1-3DES)."""
    pki.mkdir(parents=True)
    cluster.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
                    "-subj", "/CN=kb-compat-ca", "-keyout", "ca.key", "-out", "ca.crt",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=pki)
    (pki / "broker.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                    "extendedKeyUsage=serverAuth\n"
                                    "keyUsage=critical,digitalSignature,keyEncipherment\n")
    cluster.openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/CN=localhost",
                    "-keyout", "broker.key", "-out", "broker.csr", cwd=pki)
    cluster.openssl("x509", "-req", "-sha256", "-days", "30", "-in", "broker.csr", "-CA", "ca.crt",
                    "-CAkey", "ca.key", "-CAcreateserial", "-out", "broker.crt", "-extfile", "broker.ext", cwd=pki)
    cluster.write_private(pki / "key.password", key_password + "\n")
    cluster.openssl("pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", "broker.key", "-out", "broker-enc.key",
                    "-passout", f"file:{pki / 'key.password'}", cwd=pki)
    cluster.write_private(pki / "broker.pem", (pki / "broker-enc.key").read_text() + (pki / "broker.crt").read_text()
                          + (pki / "ca.crt").read_text())
    for n in ("ca.key", "broker.key", "broker-enc.key"):
        os.chmod(pki / n, 0o600)
    return {"ca": str(pki / "ca.crt")}


def _wait_started(log: Path, pid: int, what: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if log.exists() and STARTED.search(log.read_bytes()):
            return
        if not cluster.pid_alive(pid):
            raise cluster.HarnessError(f"{what} exited during start-up; last lines of {log}:\n{cluster.tail(log)}\n"
                                       f"--- stdout:\n{cluster.tail(log.parent.parent / 'stdout.log', 20)}")
        time.sleep(0.25)
    raise cluster.HarnessError(f"{what} not started within {START_TIMEOUT:.0f} s:\n{cluster.tail(log)}")


def _wait_port(port: int, deadline: float) -> None:
    import socket
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise cluster.HarnessError(f"nothing listens on 127.0.0.1:{port}")


def up(version: str, run_dir: Path) -> dict:
    """Starts the broker (and ZooKeeper for 2.x); writes and returns run_dir/env.json's content."""
    if version not in VERSIONS:
        raise cluster.HarnessError(f"unsupported old Kafka version {version}; one of {', '.join(VERSIONS)}")
    lib = lib_dir(version)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "log4j.properties").write_text(LOG4J1)
    (run_dir / "log4j-tools.properties").write_text(LOG4J1_TOOLS)
    tools = java(run_dir, lib)
    pw = {u: secrets.token_urlsafe(18) for u in USERS}
    key_password = secrets.token_urlsafe(18)
    pki = make_pki(run_dir / "pki", key_password)
    zk_mode = version.startswith("2.")
    p_plain, p_sasl, p_ctl = cluster.free_ports(3)
    node = run_dir / "node1"
    (node / "logs").mkdir(parents=True)
    procs: list[dict] = []
    env = {"version": version, "mode": "zookeeper" if zk_mode else "kraft", "run_dir": str(run_dir),
           "listeners": {"PLAINTEXT": f"127.0.0.1:{p_plain}", "SASL_SSL": f"127.0.0.1:{p_sasl}"},
           "ca": pki["ca"], "users_file": str(run_dir / "users.json"), "procs": procs}
    cluster.write_private(run_dir / "users.json", json.dumps(pw))
    jaas = "\n".join(f"listener.name.sasl_ssl.{m.lower()}.sasl.jaas.config="
                     "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                     for m in cluster.SCRAM_MECHS)
    props = f"""listeners=PLAINTEXT://127.0.0.1:{p_plain},SASL_SSL://127.0.0.1:{p_sasl}{'' if zk_mode else f',CONTROLLER://127.0.0.1:{p_ctl}'}
advertised.listeners=PLAINTEXT://127.0.0.1:{p_plain},SASL_SSL://127.0.0.1:{p_sasl}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
ssl.keystore.type=PEM
ssl.keystore.location={run_dir / 'pki' / 'broker.pem'}
ssl.key.password={key_password}
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
{jaas}
log.dirs={node / 'data'}
num.partitions=1
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=33554432
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
"""
    try:
        if zk_mode:
            p_zk = cluster.free_ports(1)[0]
            zk = run_dir / "zk"
            (zk / "logs").mkdir(parents=True)
            (zk / "zk.properties").write_text(f"dataDir={zk / 'data'}\nclientPort={p_zk}\n"
                                              "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n"
                                              "admin.enableServer=false\n4lw.commands.whitelist=*\n")
            pid = cluster.spawn(["java", "-cp", f"{lib}/*", "-Xmx128m", "-XX:+UseSerialGC",
                                 f"-Dkafka.logs.dir={zk / 'logs'}",
                                 f"-Dlog4j.configuration=file:{run_dir / 'log4j.properties'}",
                                 "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(zk / "zk.properties")],
                                zk / "stdout.log")
            procs.append({"name": "zookeeper", "pid": pid, "marker": str(zk / "zk.properties")})
            _wait_port(p_zk, time.monotonic() + 60)
            env["zookeeper"] = f"127.0.0.1:{p_zk}"
            # SCRAM users live in ZooKeeper; they must exist before the broker authenticates anyone.
            for u in USERS:
                cfg = ",".join(f"{m}=[iterations=4096,password={pw[u]}]" for m in cluster.SCRAM_MECHS)
                cluster.run([*tools, "kafka.admin.ConfigCommand", "--zookeeper", env["zookeeper"], "--alter",
                             "--add-config", cfg, "--entity-type", "users", "--entity-name", u], timeout=120)
            props += f"""broker.id=1
zookeeper.connect={env['zookeeper']}
zookeeper.connection.timeout.ms=30000
log.message.format.version=0.10.2
"""
        else:
            props += f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{p_ctl}
controller.listener.names=CONTROLLER
"""
        cluster.write_private(node / "server.properties", props)  # holds the key password
        if not zk_mode:
            scram = [a for u in USERS for m in cluster.SCRAM_MECHS
                     for a in ("--add-scram", f"{m}=[name={u},password={pw[u]}]")]
            cluster.run([*tools, "kafka.tools.StorageTool", "format", "-c", str(node / "server.properties"),
                         "-t", cluster.CLUSTER_ID, *scram], timeout=120)
        pid = cluster.spawn(["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                             "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
                             f"-Dkafka.logs.dir={node / 'logs'}",
                             f"-Dlog4j.configuration=file:{run_dir / 'log4j.properties'}",
                             "-cp", f"{lib}/*", "kafka.Kafka", str(node / "server.properties")],
                            node / "stdout.log")
        procs.append({"name": "kafka", "pid": pid, "marker": str(node / "server.properties")})
        _wait_started(node / "logs" / "server.log", pid, f"Kafka {version}", time.monotonic() + START_TIMEOUT)
        cluster.wait_metadata(env["listeners"]["PLAINTEXT"], {1}, time.monotonic() + 60)
    except BaseException:
        down_procs(procs)
        raise
    (run_dir / "env.json").write_text(json.dumps(env, indent=2))
    return env


def down_procs(procs: list[dict]) -> None:
    # The broker first, then ZooKeeper (a broker without its ZooKeeper waits long to stop).
    cluster.stop_pids([(p["name"], p["pid"], p["marker"]) for p in reversed(procs)][:1], signal.SIGTERM, 20)
    cluster.stop_pids([(p["name"], p["pid"], p["marker"]) for p in procs], signal.SIGTERM, 10)


def passwords(env: dict) -> dict:
    return json.loads(Path(env["users_file"]).read_text())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("up", "down"))
    ap.add_argument("--version", default="3.9.1", choices=VERSIONS)
    ap.add_argument("--run-dir", required=True, type=Path)
    a = ap.parse_args(argv)
    try:
        if a.command == "up":
            env = up(a.version, a.run_dir.resolve())
            print(f"old_broker.py: Kafka {a.version} up: {env['listeners']} (env: {a.run_dir / 'env.json'})")
        else:
            down_procs(json.loads((a.run_dir / "env.json").read_text())["procs"])
    except cluster.HarnessError as e:
        print(f"old_broker.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
