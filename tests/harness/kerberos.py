#!/usr/bin/env python3
"""Kerberos test harness: an MIT KDC (Debian krb5-kdc) and one KRaft Kafka broker whose
SASL_PLAINTEXT and SASL_SSL listeners offer GSSAPI, for the GSSAPI tests (tests/net/gssapi_it_test.cpp).

Subcommands (Python 3.11 stdlib only; reuses cluster.py's helpers without changing it):
  up      start KDC + broker, write RUN/env.json (profile "kerberos")
  down    stop the recorded processes (TERM, 10 s, KILL)
  status  print each recorded process alive/dead
All take --run-dir DIR (default <repo>/build-gss/kerberos).

Realm KB.TEST with its own krb5.conf and kdc.conf in the run dir (KRB5_CONFIG,
KRB5_KDC_PROFILE), KDC on a loopback port (UDP and TCP). Principals: kafka/localhost (broker,
keytab kafka.keytab), client (keytab client.keytab), noticket (exists, no keytab). The broker
listens on 127.0.0.1 and advertises `localhost`, so clients ask for kafka/localhost@KB.TEST.
The KDC master password is random per run and never written anywhere but the stash file.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster  # noqa: E402  (helpers: spawn, stop_pids, pid_alive, free_ports, ...)
from cluster import HarnessError  # noqa: E402

REALM = "KB.TEST"
SERVICE = "kafka"
SERVICE_HOST = "localhost"
KDC_START_TIMEOUT = 20.0
# KIP-368 session lifetime on the SASL_SSL listener only, so a test sees GSSAPI re-authentication.
REAUTH_MS = 3000
CLUSTER_ID = cluster.CLUSTER_ID

KRB5_CONF = """[libdefaults]
    default_realm = {realm}
    dns_lookup_realm = false
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    ticket_lifetime = 10h
    forwardable = false
    default_ccache_name = FILE:{run}/krb5cc_default
    default_client_keytab_name = FILE:{run}/no-default-client.keytab

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
    }}

[domain_realm]
    localhost = {realm}
"""

def log(msg: str) -> None:
    print(f"kerberos.py: {msg}", flush=True)


KDC_CONF = """[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {kdc}/principal
        key_stash_file = {kdc}/stash
        acl_file = {kdc}/kadm5.acl
        max_life = 10h
        max_renewable_life = 0
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        default_principal_flags = -preauth
    }}

[logging]
    kdc = FILE:{kdc}/kdc.log
    default = FILE:{kdc}/kdc.log
"""


def kdc_env(run_dir: Path) -> dict:
    e = dict(os.environ)
    e["KRB5_CONFIG"] = str(run_dir / "krb5.conf")
    e["KRB5_KDC_PROFILE"] = str(run_dir / "kdc" / "kdc.conf")
    e.pop("KRB5CCNAME", None)
    e.pop("KRB5_CLIENT_KTNAME", None)
    return e


def tool(name: str) -> str:
    for d in ("/usr/sbin", "/usr/bin", "/sbin"):
        p = Path(d) / name
        if p.exists():
            return str(p)
    found = shutil.which(name)
    if not found:
        raise HarnessError(f"{name} not found: install the Debian packages krb5-kdc and krb5-user "
                           "(scripts/install-deps.sh)")
    return found


def kadmin_q(run_dir: Path, query: str) -> str:
    p = subprocess.run([tool("kadmin.local"), "-r", REALM, "-q", query], capture_output=True, text=True,
                       env=kdc_env(run_dir), timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0 or "error" in p.stderr.lower():
        raise HarnessError(f"kadmin.local -q '{query}' failed:\n{p.stderr.strip()[-1000:]}")
    return p.stdout


def wait_kdc(run_dir: Path, pid: int, deadline: float) -> None:
    """Ready when kinit from the client keytab into a throw-away cache succeeds."""
    env = kdc_env(run_dir)
    env["KRB5CCNAME"] = f"FILE:{run_dir / 'kdc' / 'probe.cc'}"
    last = ""
    while time.monotonic() < deadline:
        if not cluster.pid_alive(pid):
            raise HarnessError(f"krb5kdc exited during start-up:\n{cluster.tail(run_dir / 'kdc' / 'kdc.log')}\n"
                               f"--- stdout:\n{cluster.tail(run_dir / 'kdc' / 'stdout.log')}")
        p = subprocess.run([tool("kinit"), "-k", "-t", str(run_dir / "client.keytab"), f"client@{REALM}"],
                           capture_output=True, text=True, env=env, timeout=15, stdin=subprocess.DEVNULL)
        if p.returncode == 0:
            (run_dir / "kdc" / "probe.cc").unlink(missing_ok=True)
            return
        last = p.stderr.strip()
        time.sleep(0.2)
    raise HarnessError(f"KDC not answering within {KDC_START_TIMEOUT:.0f} s: {last}")


def broker_properties(node_dir: Path, ports: dict, keytab: Path, pki: Path) -> str:
    lst = (f"PLAINTEXT://127.0.0.1:{ports['PLAINTEXT']},SASL_PLAINTEXT://127.0.0.1:{ports['SASL_PLAINTEXT']},"
           f"SASL_SSL://127.0.0.1:{ports['SASL_SSL']},CONTROLLER://127.0.0.1:{ports['CONTROLLER']}")
    adv = (f"PLAINTEXT://127.0.0.1:{ports['PLAINTEXT']},"
           f"SASL_PLAINTEXT://{SERVICE_HOST}:{ports['SASL_PLAINTEXT']},SASL_SSL://{SERVICE_HOST}:{ports['SASL_SSL']}")
    jaas = ("com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true storeKey=true "
            f'keyTab="{keytab}" principal="{SERVICE}/{SERVICE_HOST}@{REALM}";')
    return cluster.COMMON_PROPS + f"""node.id=1
controller.quorum.voters=1@127.0.0.1:{ports['CONTROLLER']}
listeners={lst}
advertised.listeners={adv}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=GSSAPI
sasl.kerberos.service.name={SERVICE}
listener.name.sasl_plaintext.gssapi.sasl.jaas.config={jaas}
listener.name.sasl_ssl.gssapi.sasl.jaas.config={jaas}
listener.name.sasl_ssl.gssapi.connections.max.reauth.ms={REAUTH_MS}
ssl.keystore.type=PEM
ssl.keystore.location={pki / 'broker.pem'}
ssl.truststore.type=PEM
ssl.truststore.location={pki / 'ca.crt'}
log.dirs={node_dir / 'data'}
{cluster.SINGLE_NODE_REPLICATION}"""


def recorded_procs(env: dict) -> list[tuple[str, int, str]]:
    marker = env["run_dir"]
    procs = []
    if env.get("kdc", {}).get("pid"):
        procs.append(("krb5kdc", env["kdc"]["pid"], marker))
    procs += [(f"kafka node {b['node_id']}", b["pid"], marker) for b in env.get("kafka", {}).get("brokers", [])
              if b.get("pid")]
    return procs


def cmd_up(args) -> None:
    t0 = time.monotonic()
    run_dir: Path = args.run_dir.resolve()
    if (run_dir / "env.json").exists():
        old = cluster.load_env(run_dir)
        alive = [n for n, p, m in recorded_procs(old) if cluster.pid_alive(p, m)]
        if alive:
            raise HarnessError(f"{run_dir} is already up ({', '.join(alive)} alive): run `down` first")
    for name in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit"):
        tool(name)
    if not shutil.which("java"):
        raise HarnessError("java not found on PATH: run scripts/install-deps.sh")
    lib = cluster.kafka_lib()
    if run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "kdc").mkdir(parents=True)
    os.chmod(run_dir, 0o700)
    names = ["KDC", "PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "CONTROLLER"]
    ports = dict(zip(names, cluster.free_ports(len(names))))
    (run_dir / "krb5.conf").write_text(KRB5_CONF.format(realm=REALM, run=run_dir, port=ports["KDC"]))
    (run_dir / "kdc" / "kdc.conf").write_text(KDC_CONF.format(realm=REALM, kdc=run_dir / "kdc", port=ports["KDC"]))
    (run_dir / "kdc" / "kadm5.acl").write_text("")
    env_vars = kdc_env(run_dir)
    started: list[tuple[str, int, str]] = []
    env: dict = {"profile": "kerberos", "run_dir": str(run_dir)}
    try:
        # Database with a random master password (kept only in the stash file).
        p = subprocess.run([tool("kdb5_util"), "create", "-s", "-r", REALM, "-P", secrets.token_urlsafe(24)],
                           capture_output=True, text=True, env=env_vars, timeout=60, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise HarnessError(f"kdb5_util create failed:\n{p.stderr.strip()[-1500:]}")
        svc = f"{SERVICE}/{SERVICE_HOST}@{REALM}"
        for princ in (svc, f"client@{REALM}", f"noticket@{REALM}"):
            kadmin_q(run_dir, f"addprinc -randkey {princ}")
        kadmin_q(run_dir, f"ktadd -k {run_dir / 'kafka.keytab'} {svc}")
        kadmin_q(run_dir, f"ktadd -k {run_dir / 'client.keytab'} client@{REALM}")
        for kt in ("kafka.keytab", "client.keytab"):
            if not (run_dir / kt).exists():
                raise HarnessError(f"kadmin.local did not write {kt}")
            os.chmod(run_dir / kt, 0o600)
        log(f"KDC database and keytabs written ({time.monotonic() - t0:.1f} s)")

        kdc_cmd = [tool("krb5kdc"), "-n", "-r", REALM, "-P", str(run_dir / "kdc" / "krb5kdc.pid")]
        kdc_pid = cluster.spawn(kdc_cmd, run_dir / "kdc" / "stdout.log", env=env_vars)
        started.append(("krb5kdc", kdc_pid, str(run_dir)))
        env["kdc"] = {"pid": kdc_pid, "port": ports["KDC"], "log": str(run_dir / "kdc" / "kdc.log")}
        cluster.write_env(run_dir, {**env, "starting": True})
        wait_kdc(run_dir, kdc_pid, time.monotonic() + KDC_START_TIMEOUT)
        log(f"KDC up on 127.0.0.1:{ports['KDC']} ({time.monotonic() - t0:.1f} s)")

        (run_dir / "log4j2-broker.properties").write_text(cluster.LOG4J2_BROKER)
        (run_dir / "log4j2-tools.properties").write_text(cluster.LOG4J2_TOOLS)
        node_dir = run_dir / "node1"
        (node_dir / "logs").mkdir(parents=True)
        # The single profile's PKI (CA, broker certificate for localhost) for the SASL_SSL listener.
        tls = cluster.make_pki(run_dir / "pki", secrets.token_urlsafe(15))
        (node_dir / "server.properties").write_text(
            broker_properties(node_dir, ports, run_dir / "kafka.keytab", run_dir / "pki"))
        tools = cluster.java_tools_prefix(run_dir, lib)
        cluster.run([*tools, "kafka.tools.StorageTool", "format", "-c", str(node_dir / "server.properties"),
                     "-t", CLUSTER_ID], timeout=120)
        cmd = cluster.broker_cmd(run_dir, lib, node_dir)
        # The broker's Kerberos library reads this realm's krb5.conf, not /etc/krb5.conf.
        cmd.insert(1, f"-Djava.security.krb5.conf={run_dir / 'krb5.conf'}")
        pid = cluster.spawn(cmd, node_dir / "stdout.log", env=env_vars)
        started.append(("kafka node 1", pid, str(run_dir)))
        broker = {"node_id": 1, "pid": pid, "log": str(node_dir / "logs" / "server.log"),
                  "stdout": str(node_dir / "stdout.log"), "dir": str(node_dir), "cmd": cmd}
        listeners = {"PLAINTEXT": f"127.0.0.1:{ports['PLAINTEXT']}",
                     "SASL_PLAINTEXT": f"{SERVICE_HOST}:{ports['SASL_PLAINTEXT']}",
                     "SASL_SSL": f"{SERVICE_HOST}:{ports['SASL_SSL']}"}
        env["kafka"] = {"version": cluster.KAFKA_VERSION, "lib_dir": str(lib), "java_tools": tools,
                        "cluster_id": CLUSTER_ID, "listeners": listeners, "brokers": [broker]}
        cluster.write_env(run_dir, {**env, "starting": True})
        cluster.wait_started(broker, 0, time.monotonic() + cluster.BROKER_START_TIMEOUT)
        cluster.wait_metadata(listeners["PLAINTEXT"], {1}, time.monotonic() + 60)
        log(f"Kafka up with GSSAPI on {listeners['SASL_PLAINTEXT']} ({time.monotonic() - t0:.1f} s)")

        env["tls"] = {"ca": tls["ca"]}
        env["kerberos"] = {
            "realm": REALM, "krb5_config": str(run_dir / "krb5.conf"),
            "service_name": SERVICE, "service_principal": svc,
            "client_principal": f"client@{REALM}", "client_keytab": str(run_dir / "client.keytab"),
            "noticket_principal": f"noticket@{REALM}", "sasl_ssl_session_lifetime_ms": REAUTH_MS,
        }
        cluster.write_env(run_dir, env)
    except BaseException:
        if started:
            log("up failed: stopping what was started (logs kept in the run dir)")
            cluster.stop_pids(started, grace=5)
        raise
    log(f"up (kerberos) done in {time.monotonic() - t0:.1f} s; env: {run_dir / 'env.json'}")


def cmd_down(args) -> None:
    run_dir = args.run_dir.resolve()
    env = cluster.load_env(run_dir)
    procs = recorded_procs(env)
    cluster.stop_pids(procs)
    alive = [n for n, p, m in procs if cluster.pid_alive(p, m)]
    if alive:
        raise HarnessError(f"still alive after SIGKILL: {', '.join(alive)}")
    log(f"down: {len(procs)} recorded process(es) stopped; logs kept in {run_dir}")


def cmd_status(args) -> int:
    env = cluster.load_env(args.run_dir.resolve())
    dead = 0
    for name, pid, marker in recorded_procs(env):
        alive = cluster.pid_alive(pid, marker)
        dead += not alive
        print(f"{name}: pid {pid} {'alive' if alive else 'dead'}")
    return 1 if dead else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("up", "down", "status"))
    ap.add_argument("--run-dir", type=Path, default=cluster.REPO / "build-gss" / "kerberos")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.command == "up":
            cmd_up(args)
        elif args.command == "down":
            cmd_down(args)
        else:
            return cmd_status(args)
    except HarnessError as e:
        print(f"kerberos.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
