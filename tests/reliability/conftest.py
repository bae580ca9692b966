"""Fixtures of the reliability suite: a toxiproxy server, and a broker of our own whose TOXI
listener is advertised at a toxiproxy port, so that every connection the tool makes to it (the
bootstrap and the ones metadata names) goes through the proxy; the checks use its direct
PLAINTEXT listener, which no toxic touches."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
import cluster  # noqa: E402  (tests/harness/cluster.py: broker command line, ports, waits)

KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


class Toxiproxy:
    """The toxiproxy HTTP API on 127.0.0.1."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read().decode()
        return json.loads(text) if text.strip() else None

    def proxy(self, name: str, listen_port: int, upstream: str) -> None:
        self.call("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{listen_port}",
                                       "upstream": upstream, "enabled": True})

    def toxic(self, proxy: str, name: str, type_: str, stream: str = "downstream", **attributes) -> None:
        self.call("POST", f"/proxies/{proxy}/toxics",
                  {"name": name, "type": type_, "stream": stream, "toxicity": 1.0, "attributes": attributes})

    def enable(self, proxy: str, enabled: bool) -> None:
        self.call("POST", f"/proxies/{proxy}", {"enabled": enabled})

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed."""
        self.call("POST", "/reset")


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


@pytest.fixture(scope="session")
def toxiproxy(tmp_path_factory):
    exe = KB_CACHE / "bin" / "toxiproxy-server"
    if not exe.is_file():
        pytest.fail(f"{exe} missing: run scripts/install-deps.sh --tools-only", pytrace=False)
    port = cluster.free_ports(1)[0]
    logf = tmp_path_factory.mktemp("toxiproxy") / "toxiproxy.log"
    with open(logf, "wb") as out:
        p = subprocess.Popen([str(exe), "-host", "127.0.0.1", "-port", str(port)], stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    t = Toxiproxy(port)
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(t.url + "/version", timeout=2).read()
            break
        except OSError:
            if p.poll() is not None or time.monotonic() > deadline:
                _stop(p)
                pytest.fail(f"toxiproxy-server did not start: {logf.read_text()[-1000:]}", pytrace=False)
            time.sleep(0.1)
    yield t
    _stop(p)


@pytest.fixture(scope="session")
def toxi_broker(toxiproxy, tmp_path_factory) -> dict:
    """A one-node KRaft broker: PLAINTEXT (direct, for checks) and TOXI (advertised at a proxy
    port, the tool's way in). Returns {"direct", "proxied", "proxy"}."""
    run_dir = tmp_path_factory.mktemp("toxi-broker")
    lib = cluster.kafka_lib()
    (run_dir / "log4j2-broker.properties").write_text(cluster.LOG4J2_BROKER)
    (run_dir / "log4j2-tools.properties").write_text(cluster.LOG4J2_TOOLS)
    tools = cluster.java_tools_prefix(run_dir, lib)
    p_plain, p_real, p_ctl, p_proxy = cluster.free_ports(4)
    node = run_dir / "node1"
    (node / "logs").mkdir(parents=True)
    (node / "server.properties").write_text(cluster.COMMON_PROPS + f"""node.id=1
controller.quorum.voters=1@127.0.0.1:{p_ctl}
listeners=PLAINTEXT://127.0.0.1:{p_plain},TOXI://127.0.0.1:{p_real},CONTROLLER://127.0.0.1:{p_ctl}
advertised.listeners=PLAINTEXT://127.0.0.1:{p_plain},TOXI://127.0.0.1:{p_proxy}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,TOXI:PLAINTEXT
log.dirs={node / 'data'}
{cluster.SINGLE_NODE_REPLICATION}""")
    cluster.format_node(tools, node, [])
    cmd = cluster.broker_cmd(run_dir, lib, node)
    with open(node / "stdout.log", "wb") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        info = {"node_id": 1, "pid": p.pid, "log": str(node / "logs" / "server.log"),
                "stdout": str(node / "stdout.log")}
        cluster.wait_started(info, 0, time.monotonic() + cluster.BROKER_START_TIMEOUT)
        direct = f"127.0.0.1:{p_plain}"
        cluster.wait_metadata(direct, {1}, time.monotonic() + 60)
        toxiproxy.proxy("kafka", p_proxy, f"127.0.0.1:{p_real}")
        yield {"direct": direct, "proxied": f"127.0.0.1:{p_proxy}", "proxy": "kafka"}
    finally:
        _stop(p)
        shutil.rmtree(node / "data", ignore_errors=True)


@pytest.fixture(scope="session")
def s3_env(env) -> dict:
    if not env.get("s3"):
        pytest.fail("the reliability tests need the harness's S3 server", pytrace=False)
    return env["s3"]


@pytest.fixture(scope="session")
def toxi_s3(toxiproxy, s3_env) -> str:
    """The harness S3 server behind the toxiproxy proxy "s3"; returns its endpoint URL."""
    port = cluster.free_ports(1)[0]
    toxiproxy.proxy("s3", port, s3_env["endpoint"].removeprefix("http://"))
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _clean_toxics(request):
    """No toxic outlives its test."""
    yield
    if "toxiproxy" in request.fixturenames:
        request.getfixturevalue("toxiproxy").reset()
