"""Scale-out group membership on the three-broker harness ($KB_TEST_ENV_CLUSTER3): the broker that
coordinates the group is killed (SIGKILL) while three `kb_group_probe` workers hold a stable assignment.
The workers find the new coordinator (NOT_COORDINATOR / lost connection → FindCoordinator) and stay one
group: still every partition owned by exactly one worker, none failed, and the new coordinator (another
broker) describes the group Stable with exactly those members."""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import test_group_member as tg

pytestmark = pytest.mark.cluster3

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def env3() -> dict:
    path = os.environ.get("KB_TEST_ENV_CLUSTER3")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV_CLUSTER3 must name a cluster3 harness env.json", pytrace=False)
    return json.loads(Path(path).read_text())


def coordinator_node(env: dict, group: str) -> int:
    """FindCoordinator v0 encoded by hand (not by our protocol code): the coordinator's node id."""
    body = struct.pack(">h", len(group)) + group.encode()
    frame = struct.pack(">hhih", 10, 0, 9, 7) + b"kb-test" + body
    data, last_error = None, None
    for server in tg.bootstrap(env).split(","):  # the first broker that answers (one may be down)
        host, port = server.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(struct.pack(">i", len(frame)) + frame)
                size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
                data = s.recv(size, socket.MSG_WAITALL)
            break
        except OSError as e:
            last_error = e
    assert data is not None, f"no broker answered: {last_error}"
    error_code, node = struct.unpack_from(">hi", data, 4)
    assert error_code == 0, f"FindCoordinator: error {error_code}"
    return node


def test_coordinator_killed_the_group_moves_to_the_new_one(env3):
    probe = Path(os.environ["KB_BINARY"]).parent.parent / "tests" / "pipeline" / "workers" / "kb_group_probe"
    assert probe.is_file(), probe
    topic = f"kb-group3-{uuid.uuid4().hex[:10]}"
    group = f"kb-test-{uuid.uuid4()}"
    tg.create_topic(env3, topic)
    workers: list[tg.Worker] = []
    victim = None
    try:
        workers = [tg.Worker(probe, env3, group, topic) for _ in range(3)]
        gen, owners = tg.wait_settled(workers, topic, 60, "three workers joining")
        victim = coordinator_node(env3, group)
        k = subprocess.run([sys.executable, str(REPO / "tests/harness/cluster.py"), "--run-dir", env3["run_dir"], "kill",
                            "--node", str(victim), "--signal", "KILL"], capture_output=True, text=True, timeout=60)
        assert k.returncode == 0, k.stderr
        # Polled (bounded): another broker coordinates the group, which is Stable with the same three workers.
        deadline = time.monotonic() + 90
        last = None
        while time.monotonic() < deadline:
            try:
                node = coordinator_node(env3, group)
                last = (node, tg.describe_group_raw(env3, group))
            except (AssertionError, OSError) as e:  # the new coordinator is still loading the group
                last = repr(e)
                time.sleep(0.2)
                continue
            if node != victim and last[1]["state"] == "Stable" and len(last[1]["members"]) == 3:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the group did not settle on a new coordinator within 90 s (last: {last})")
        gen2, owners2 = tg.wait_settled(workers, topic, 60, "after the coordinator was killed")
        assert sorted(m["member_id"] for m in last[1]["members"]) == sorted(owners2)
        assert gen2 >= gen
        for w in workers:
            assert not w.errors(), w.errors()
            w.stop()
        for w in workers:
            assert w.proc.wait(timeout=30) == 0, w.proc.stderr.read()[-2000:]
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(timeout=10)
        if victim is not None:
            subprocess.run([sys.executable, str(REPO / "tests/harness/cluster.py"), "--run-dir", env3["run_dir"], "start",
                            "--node", str(victim)], capture_output=True, text=True, timeout=240)
