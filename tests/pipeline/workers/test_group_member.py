"""Scale-out group membership against the harness's real broker ($KB_TEST_ENV).

Each worker is a `kb_group_probe` process (tests/pipeline/workers/kb_group_probe.cpp: our group member and
driver, one JSON line per event). Three join one group with protocol type `kafka-backup`; every partition is
assigned to exactly one of them; one killed with SIGKILL loses its partitions to the others within the session
timeout; a fourth joining takes a share. The group is checked independently: Kafka's own GroupsCommand
(kafka-groups.sh) lists it as a Classic group of protocol `kafka-backup`, and a DescribeGroups request encoded
here by hand (not by our protocol code) names exactly the members the probes report. A static worker
(KIP-345) restarted within its session gets its partitions back without a rebalance.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

SESSION_MS = 6000
REBALANCE_MS = 10000
PARTITIONS = 12


@pytest.fixture(scope="module")
def env() -> dict:
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def probe() -> Path:
    explicit = os.environ.get("KB_GROUP_PROBE")
    if explicit:
        p = Path(explicit)
    else:
        binary = os.environ.get("KB_BINARY")
        assert binary, "set KB_BINARY (<build>/cli/kafka-backup) or KB_GROUP_PROBE"
        p = Path(binary).parent.parent / "tests" / "pipeline" / "workers" / "kb_group_probe"
    assert p.is_file(), f"kb_group_probe not found at {p} (ninja -C <build> tests/pipeline/workers/kb_group_probe)"
    return p


def bootstrap(env: dict) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


class Worker:
    """One probe process; its JSON events are collected by a reader thread."""

    def __init__(self, probe: Path, env: dict, group: str, topic: str, instance_id: str | None = None):
        self.events: list[dict] = []
        self.lock = threading.Lock()
        args = [str(probe), "--bootstrap", bootstrap(env), "--group", group, "--topic", topic,
                "--session-ms", str(SESSION_MS), "--rebalance-ms", str(REBALANCE_MS), "--heartbeat-ms", "500"]
        if instance_id:
            args += ["--instance-id", instance_id]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                with self.lock:
                    self.events.append(json.loads(line))

    def last(self) -> dict | None:
        with self.lock:
            return self.events[-1] if self.events else None

    def member_id(self) -> str | None:
        with self.lock:
            ids = [e["member"] for e in self.events if e["event"] == "assigned"]
        return ids[-1] if ids else None

    def errors(self) -> list[str]:
        with self.lock:
            return [e["message"] for e in self.events if e["event"] == "error"]

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)


def settled(workers: list[Worker]) -> tuple[int, dict[str, list[tuple[str, int]]]] | None:
    """The generation every live worker holds an assignment of, and member -> partitions; None while a
    rebalance is under way (a worker revoked, joining, or on another generation)."""
    gens, out = set(), {}
    for w in workers:
        last = w.last()
        if last is None or last["event"] != "assigned":
            return None
        gens.add(last["generation"])
        out[last["member"]] = [tuple(p) for p in last["partitions"]]
    return (gens.pop(), out) if len(gens) == 1 else None


def wait_settled(workers: list[Worker], topic: str, timeout: float, what: str):
    """Polls until the live workers agree on one generation whose assignment covers every partition
    exactly once (bounded in time)."""
    want = sorted((topic, p) for p in range(PARTITIONS))
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for w in workers:
            assert not w.errors(), f"a worker failed: {w.errors()}"
            assert w.proc.poll() is None, f"a worker exited: {w.proc.returncode}, {w.proc.stderr.read()[-2000:]}"
        last = settled(workers)
        if last is not None:
            owned = sorted(p for parts in last[1].values() for p in parts)
            if owned == want and len(last[1]) == len(workers):
                return last
        time.sleep(0.1)
    pytest.fail(f"{what}: no settled exact assignment within {timeout} s (last: {last})")


def describe_group_raw(env: dict, group: str) -> dict:
    """DescribeGroups v0 encoded by hand to the group's coordinator (FindCoordinator v0 first), so the
    check does not go through our protocol code."""
    def call(host: str, port: int, api_key: int, body: bytes) -> bytes:
        client = b"kb-test"
        header = struct.pack(">hhih", api_key, 0, 7, len(client)) + client
        frame = header + body
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(struct.pack(">i", len(frame)) + frame)
            size = struct.unpack(">i", recv_exact(s, 4))[0]
            data = recv_exact(s, size)
        assert struct.unpack(">i", data[:4])[0] == 7
        return data[4:]

    def recv_exact(s: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            assert chunk, "the broker closed the connection"
            buf += chunk
        return buf

    def string(b: bytes) -> bytes:
        return struct.pack(">h", len(b)) + b

    class Reader:
        def __init__(self, data: bytes):
            self.data, self.pos = data, 0

        def take(self, fmt: str):
            v = struct.unpack_from(fmt, self.data, self.pos)
            self.pos += struct.calcsize(fmt)
            return v[0]

        def str(self) -> str:
            n = self.take(">h")
            v = self.data[self.pos:self.pos + n].decode()
            self.pos += n
            return v

        def bytes(self) -> bytes:
            n = self.take(">i")
            v = self.data[self.pos:self.pos + max(n, 0)]
            self.pos += max(n, 0)
            return v

    answer, last_error = None, None
    for server in bootstrap(env).split(","):  # the first broker that answers (one may be down)
        host, port = server.rsplit(":", 1)
        try:
            answer = call(host, int(port), 10, string(group.encode()))
            break
        except OSError as e:
            last_error = e
    assert answer is not None, f"no broker answered: {last_error}"
    r = Reader(answer)
    assert r.take(">h") == 0, "FindCoordinator failed"
    r.take(">i")
    chost, cport = r.str(), r.take(">i")
    r = Reader(call(chost, cport, 15, struct.pack(">i", 1) + string(group.encode())))
    assert r.take(">i") == 1
    out = {"error_code": r.take(">h"), "group_id": r.str(), "state": r.str(), "protocol_type": r.str(),
           "protocol": r.str(), "members": []}
    for _ in range(r.take(">i")):
        out["members"].append({"member_id": r.str(), "client_id": r.str(), "client_host": r.str(),
                               "metadata": r.bytes(), "assignment": r.bytes()})
    return out


def groups_command_list(env: dict) -> str:
    cmd = env["kafka"]["java_tools"] + ["org.apache.kafka.tools.GroupsCommand", "--bootstrap-server",
                                        bootstrap(env), "--list"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def create_topic(env: dict, name: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap(env)})
    for f in admin.create_topics([NewTopic(name, PARTITIONS, 1)]).values():
        f.result(timeout=30)


def test_workers_share_partitions_move_them_on_kill_and_take_a_share_on_join(env, probe):
    topic = f"kb-group-{uuid.uuid4().hex[:10]}"
    group = f"kb-test-{uuid.uuid4()}"
    create_topic(env, topic)
    workers: list[Worker] = []
    try:
        workers = [Worker(probe, env, group, topic) for _ in range(3)]
        gen, owners = wait_settled(workers, topic, 60, "three workers joining")
        assert all(owners.values()), f"every worker gets a share: {owners}"

        # Independent views of the group: Kafka's tool and a hand-encoded DescribeGroups.
        listing = [line.split() for line in groups_command_list(env).splitlines()]
        assert [group, "Classic", "kafka-backup"] in listing, listing
        described = describe_group_raw(env, group)
        assert described["error_code"] == 0
        assert described["state"] == "Stable"
        assert described["protocol_type"] == "kafka-backup"
        assert described["protocol"] == "kb-bytes-v1"
        assert sorted(m["member_id"] for m in described["members"]) == sorted(owners)
        assert all(m["client_id"] == "kb-group-probe" for m in described["members"])

        # kill -9: no LeaveGroup; the coordinator notices only when the session times out.
        victim = workers.pop(0)
        victim_parts = owners[victim.member_id()]
        killed_at = time.monotonic()
        victim.proc.kill()
        victim.proc.wait(timeout=10)
        gen2, owners2 = wait_settled(workers, topic, SESSION_MS / 1000 + 20, "after the kill")
        moved_after = time.monotonic() - killed_at
        assert gen2 > gen
        assert victim.member_id() not in owners2
        for p in victim_parts:
            assert any(p in parts for parts in owners2.values()), f"{p} of the killed worker has no owner"
        # Session timeout plus the rebalance round (the survivors rejoin at their next heartbeat).
        assert moved_after < SESSION_MS / 1000 + 5, f"partitions moved only after {moved_after:.1f} s"
        # …and not before it: a killed worker sends nothing, so only the session expiry can move them.
        assert moved_after > SESSION_MS / 1000 - 1.5, f"partitions moved after {moved_after:.1f} s"

        # A fourth worker takes a share.
        newcomer = Worker(probe, env, group, topic)
        workers.append(newcomer)
        gen3, owners3 = wait_settled(workers, topic, 60, "after a worker joined")
        assert gen3 > gen2
        assert owners3[newcomer.member_id()], f"the new worker got nothing: {owners3}"
        described = describe_group_raw(env, group)
        assert sorted(m["member_id"] for m in described["members"]) == sorted(owners3)

        # SIGTERM: each leaves with LeaveGroup and exits 0; the group ends empty.
        for w in workers:
            w.stop()
        for w in workers:
            assert w.proc.wait(timeout=30) == 0, w.proc.stderr.read()[-2000:]
            assert w.last()["event"] == "left", w.events[-3:]
        described = describe_group_raw(env, group)
        assert described["state"] == "Empty", described
        assert described["members"] == []
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(timeout=10)


def test_a_static_worker_restarted_within_the_session_gets_its_partitions_back_without_a_rebalance(env, probe):
    """KIP-345: a worker with an instance id that is killed and restarted before its session times out
    rejoins with the same assignment in the same generation; the other worker sees no revoke."""
    topic = f"kb-group-{uuid.uuid4().hex[:10]}"
    group = f"kb-test-{uuid.uuid4()}"
    create_topic(env, topic)
    workers: list[Worker] = []
    try:
        workers = [Worker(probe, env, group, topic, f"w{i}") for i in range(2)]
        gen, owners = wait_settled(workers, topic, 60, "two static workers joining")
        victim = workers.pop(1)
        victim_parts = owners[victim.member_id()]
        seen_before = len(workers[0].events)
        victim.proc.kill()
        victim.proc.wait(timeout=10)
        workers.append(Worker(probe, env, group, topic, "w1"))
        gen2, owners2 = wait_settled(workers, topic, SESSION_MS / 1000 - 1, "the static worker restarting")
        assert gen2 == gen, "no rebalance for a static member that came back in time"
        restarted = workers[1]
        assert restarted.member_id() != victim.member_id() and restarted.member_id().startswith("w1-")
        assert owners2[restarted.member_id()] == victim_parts
        assert workers[0].events[seen_before:] == [], "the other worker saw a rebalance"
        described = describe_group_raw(env, group)
        assert described["state"] == "Stable"
        assert sorted(m["member_id"] for m in described["members"]) == sorted(owners2)
        for w in workers:
            w.stop()
        for w in workers:
            assert w.proc.wait(timeout=30) == 0, w.proc.stderr.read()[-2000:]
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(timeout=10)
