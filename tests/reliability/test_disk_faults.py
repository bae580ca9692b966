"""Disk faults (issue #16) on the filesystem backend: a backup onto an 8 MB tmpfs that its data
does not fit (ENOSPC mid-segment), a restore whose state_dir is on a full tmpfs, and a read-only
remount in the middle of a backup. Each must end with exit 1 naming the path and the cause,
leave nothing that a re-run or `validate` trips over, and after space is freed (remount
larger / read-write) a re-run finishes exact — checked record by record with confluent-kafka.

Needs root (mount -t tmpfs); every mount is made in the test's tmp dir and unmounted after."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

RUN_BOUND = 120
RECORDS = 1400          # x 8 KiB of random bytes (incompressible) = ~11 MB, more than the 8 MB tmpfs


def record(name: str, outcome: str) -> None:
    line = f"{name}: {outcome}"
    print(f"reliability scenario {line}", flush=True)
    if os.environ.get("KB_RELIABILITY_COUNTS"):
        with open(os.environ["KB_RELIABILITY_COUNTS"], "a") as f:
            f.write(line + "\n")


class Tmpfs:
    """A size-limited tmpfs at `path`, unmounted on exit."""

    def __init__(self, path: Path, size: str):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            pytest.fail(f"cannot mount a tmpfs at {path} (the disk-fault tests need root): {p.stderr}", pytrace=False)

    def remount(self, opts: str) -> None:
        p = subprocess.run(["mount", "-o", f"remount,{opts}", str(self.path)], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)


def bootstrap(env: dict) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


@pytest.fixture(scope="module")
def big_topic(env) -> tuple[str, list[tuple[bytes, bytes]]]:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbdisk-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap(env)})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    data = [(f"k{i}".encode(), os.urandom(8192)) for i in range(RECORDS)]
    p = Producer({"bootstrap.servers": bootstrap(env), "linger.ms": 20, "message.max.bytes": 2_000_000})
    for k, v in data:
        p.produce(name, key=k, value=v)
        p.poll(0)
    assert p.flush(60) == 0
    return name, data


def run(binary: Path, args: list[str], timeout: float = RUN_BOUND) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([str(binary), "--no-progress", *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{args[0]} hung: still running after {timeout:.0f} s; its log ends:\n{(e.stderr or '')[-3000:]}")


def backup_cfg(tmp: Path, env: dict, topic: str, store: Path, **backup) -> Path:
    cfg = tmp / f"backup-{uuid.uuid4().hex[:6]}.yaml"
    cfg.write_text(json.dumps({"mode": "backup", "backup_id": "disk",
                               "source": {"bootstrap_servers": [bootstrap(env)], "topics": {"include": [topic]}},
                               "storage": {"backend": "filesystem", "path": str(store)},
                               "backup": {"compression": "none", "stop_at_current_offsets": True,
                                          "segment_max_bytes": 1_048_576, **backup}}))
    return cfg


def restore_and_check(binary: Path, tmp: Path, env: dict, topic: str, store: Path,
                      data: list[tuple[bytes, bytes]], **restore) -> subprocess.CompletedProcess:
    target = f"{topic}-r{uuid.uuid4().hex[:4]}"
    cfg = tmp / f"restore-{uuid.uuid4().hex[:6]}.yaml"
    cfg.write_text(json.dumps({"mode": "restore", "backup_id": "disk",
                               "target": {"bootstrap_servers": [bootstrap(env)], "topics": {"include": [topic]}},
                               "storage": {"backend": "filesystem", "path": str(store)},
                               "restore": {"topic_mapping": {topic: target}, "create_topics": True, **restore}}))
    r = run(binary, ["restore", "--config", str(cfg)])
    if r.returncode == 0:
        assert read_all(env, target, len(data)) == data, "restored records differ (lost, duplicated or changed)"
    return r, cfg, target


def read_all(env: dict, topic: str, want: int) -> list[tuple[bytes, bytes]]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap(env), "group.id": f"kbdisk-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, "fetch.message.max.bytes": 2_000_000})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        c.assign([TopicPartition(topic, 0, lo)])
        got = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (not got or len(got) < hi - lo):
            m = c.poll(1.0)
            if m is not None and not m.error():
                got.append((m.key(), m.value()))
        return got
    finally:
        c.close()


def no_temp_files(root: Path) -> list[str]:
    """Files a reader could take for data although they are half-written leftovers."""
    return [str(p) for p in root.rglob("*") if p.is_file() and (".tmp" in p.name or p.name.startswith("."))]


def test_backup_onto_a_full_disk_fails_clearly_and_resumes_exact(env, binary, tmp_path, big_topic):
    topic, data = big_topic
    with Tmpfs(tmp_path / "small", "8m") as fs:
        store = fs.path / "store"
        cfg = backup_cfg(tmp_path, env, topic, store)
        b = run(binary, ["backup", "--config", str(cfg)])
        assert b.returncode == 1, f"exit {b.returncode}: {b.stderr[-2000:]}"
        assert "No space left on device" in b.stderr, b.stderr[-2000:]
        assert str(store) in b.stderr, f"the error does not name the path: {b.stderr[-2000:]}"
        # What is there is consistent: validate finds no broken segment.
        v = run(binary, ["validate", "--path", str(store), "--backup-id", "disk", "--deep"])
        assert v.returncode == 0, v.stdout + v.stderr
        assert not no_temp_files(store), no_temp_files(store)
        # Space freed: the re-run completes, and the set restores exactly.
        fs.remount("size=64m")
        b2 = run(binary, ["backup", "--config", str(cfg)])
        assert b2.returncode == 0, b2.stderr[-2000:]
        v = run(binary, ["validate", "--path", str(store), "--backup-id", "disk", "--deep"])
        assert v.returncode == 0, v.stdout + v.stderr
        r, _, _ = restore_and_check(binary, tmp_path, env, topic, store, data)
        assert r.returncode == 0, r.stderr[-2000:]
    record("disk full (ENOSPC) backup fs", "exit 1 naming the path, re-run exact")


def test_restore_state_dir_on_a_full_disk_fails_clearly_and_resumes_exact(env, binary, tmp_path, big_topic):
    topic, data = big_topic
    store = tmp_path / "store"
    b = run(binary, ["backup", "--config", str(backup_cfg(tmp_path, env, topic, store))])
    assert b.returncode == 0, b.stderr[-2000:]
    with Tmpfs(tmp_path / "state", "1m") as fs:
        filler = fs.path / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k", "count=64"], capture_output=True, timeout=30)
        state = fs.path / "state"
        r, cfg, target = restore_and_check(binary, tmp_path, env, topic, store, data, state_dir=str(state))
        assert r.returncode == 1, f"exit {r.returncode}: {r.stderr[-2000:]}"
        assert "No space left on device" in r.stderr, r.stderr[-2000:]
        assert str(state) in r.stderr, f"the error does not name the path: {r.stderr[-2000:]}"
        filler.unlink()
        # The same restore (same config, same target) resumes and ends exact.
        r2 = run(binary, ["restore", "--config", str(cfg)])
        assert r2.returncode == 0, r2.stderr[-2000:]
        assert read_all(env, target, len(data)) == data, "restored records differ after the resume"
    record("disk full (ENOSPC) restore state_dir", "exit 1 naming the path, re-run exact")


def test_read_only_remount_mid_backup_fails_clearly_and_resumes_exact(env, binary, tmp_path, big_topic):
    topic, data = big_topic
    with Tmpfs(tmp_path / "ro", "64m") as fs:
        store = fs.path / "store"
        cfg = backup_cfg(tmp_path, env, topic, store)
        p = subprocess.Popen([str(binary), "--no-progress", "backup", "--config", str(cfg)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        # Remount read-only as soon as the first segment is stored.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None and not list(store.rglob("*.kbs")):
            time.sleep(0.01)
        # Linux refuses a read-only remount while a file is open for writing (EBUSY): retry until
        # it lands between two segment files, bounded by the run.
        began = False
        while time.monotonic() < deadline and p.poll() is None:
            if subprocess.run(["mount", "-o", "remount,ro", str(fs.path)], capture_output=True,
                              timeout=30).returncode == 0:
                began = True
                break
            time.sleep(0.005)
        try:
            out, err = p.communicate(timeout=RUN_BOUND)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate(timeout=30)
            pytest.fail(f"backup hung after the read-only remount: {err[-3000:]}")
        if began and p.returncode != 0:
            assert p.returncode == 1, f"exit {p.returncode}: {err[-2000:]}"
            assert "Read-only file system" in err, err[-2000:]
            assert str(store) in err, err[-2000:]
            outcome = "exit 1 naming the path, re-run exact"
        else:
            assert p.returncode == 0, err[-2000:]
            outcome = "finished before the remount, exact"
        if began:
            fs.remount("rw")
        b2 = run(binary, ["backup", "--config", str(cfg)])
        assert b2.returncode == 0, b2.stderr[-2000:]
        v = run(binary, ["validate", "--path", str(store), "--backup-id", "disk", "--deep"])
        assert v.returncode == 0, v.stdout + v.stderr
        r, _, _ = restore_and_check(binary, tmp_path, env, topic, store, data)
        assert r.returncode == 0, r.stderr[-2000:]
    record("read-only remount mid-backup fs", outcome)
