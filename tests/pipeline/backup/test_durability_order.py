"""The order of a backup's durability work on the filesystem, read from the system calls it makes.

Segments and checkpoints of many partitions are made durable in groups (storage/filesystem_group):
each group's segments are fsynced, renamed into place and their folders fsynced, and only then are
the checkpoints naming them written. A kill -9 cannot show a missing fsync (the page cache survives
it), so this test traces the real backup with strace and checks, for every checkpoint that appears,
that whatever it could name was already durable: every segment renamed into its folder had its data
fsynced before the rename and the folder fsynced after it, and the folder's own entry (mkdir) was
fsynced in the parent, all before the checkpoint's rename. And when the backup exits, every
checkpoint is durable too. Data comes from confluent-kafka; nothing is timed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 48
RECORDS_PER_PARTITION = 60
LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)")


def parse_trace(text: str) -> list[tuple[str, list[str], int]]:
    """(syscall, string arguments, return value) in completion order; unfinished calls are joined."""
    pending: dict[str, str] = {}
    events = []
    for raw in text.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        pid, rest = m.groups()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        resumed = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
        if resumed:
            rest = pending.pop(pid, resumed.group(1) + "(") + resumed.group(2)
        c = CALL.match(rest)
        if not c:
            continue
        name, args, ret = c.group(1), c.group(2), int(c.group(3))
        # Paths: quoted strings, and fd paths strace -y prints as 7</path>.
        paths = re.findall(r'"((?:[^"\\]|\\.)*)"', args) + re.findall(r"\d+<([^>]*)>", args)
        events.append((name, paths, ret))
    return events


def check_order(events, root: Path) -> int:
    """Asserts the durability order; returns the number of checkpoint renames checked."""
    fsynced: dict[str, int] = {}      # path -> index of its latest completed fsync
    made: dict[str, int] = {}         # folder -> index of its mkdir
    renamed_into: dict[str, list[tuple[int, str]]] = {}  # folder -> (index, final name) of segments
    temp_synced_before_rename: list[str] = []
    checked = 0
    root_s = str(root)
    for i, (name, paths, ret) in enumerate(events):
        if ret < 0:
            continue
        if name in ("fsync", "fdatasync") and paths:
            fsynced[paths[0]] = i
        elif name in ("mkdir", "mkdirat") and paths:
            made[paths[-1]] = i
        elif name in ("rename", "renameat", "renameat2") and len(paths) >= 2:
            temp, final = paths[0], paths[-1]
            if not final.startswith(root_s):
                continue
            # Every file is fsynced (as its temp name) before it gets its final name.
            assert fsynced.get(temp, -1) >= 0, f"{final} renamed into place before its data was fsynced"
            temp_synced_before_rename.append(final)
            folder = os.path.dirname(final)
            if final.endswith(".kbs"):
                renamed_into.setdefault(folder, []).append((i, final))
            elif final.endswith("checkpoint.json"):
                checked += 1
                synced = fsynced.get(folder, -1)
                for at, seg in renamed_into.get(folder, []):
                    assert synced > at, (f"checkpoint renamed in {folder} before the folder was fsynced after "
                                         f"{os.path.basename(seg)} appeared in it")
                if folder in made:
                    parent = os.path.dirname(folder)
                    assert fsynced.get(parent, -1) > made[folder], (
                        f"checkpoint renamed in {folder} before its parent {parent} was fsynced after the mkdir")
    # At exit every file that got its name is durable: its folder was fsynced after the rename.
    last_rename: dict[str, int] = {}
    for i, (name, paths, ret) in enumerate(events):
        if ret >= 0 and name.startswith("rename") and len(paths) >= 2 and paths[-1].startswith(root_s):
            last_rename[os.path.dirname(paths[-1])] = i
    for folder, at in last_rename.items():
        assert fsynced.get(folder, -1) > at, f"{folder} not fsynced after its last rename when the backup exited"
    return checked


def test_checkpoints_only_ever_name_durable_segments(env, binary, tmp_path):
    assert shutil.which("strace"), "strace is needed (scripts/install-deps.sh installs it)"
    bs = env["kafka"]["listeners"]["PLAINTEXT"]
    topic = f"kbdur-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=60)
    try:
        p = Producer({"bootstrap.servers": bs, "linger.ms": 20, "acks": "all"})

        def produce(tag: str) -> None:
            for i in range(PARTITIONS * RECORDS_PER_PARTITION):
                p.produce(topic, (f"{tag}{i:08d}-" + "v" * 1000).encode(), key=f"k{i}".encode(),
                          partition=i % PARTITIONS)
                if i % 500 == 0:
                    p.poll(0)
            assert p.flush(60) == 0

        root = tmp_path / "store"
        cfg = tmp_path / "dur.yaml"
        cfg.write_text(json.dumps({
            "mode": "backup", "backup_id": "dur",
            "source": {"bootstrap_servers": [bs], "topics": {"include": [topic]}},
            "storage": {"backend": "filesystem", "path": str(root)},
            "backup": {"compression": "none", "stop_at_current_offsets": True, "segment_max_bytes": 16384},
        }))
        # Two runs: the first creates every partition's folder, the second adds segments to existing
        # folders and replaces their checkpoints.
        for run in ("first", "second"):
            produce(run)
            trace = tmp_path / f"trace-{run}.txt"
            r = subprocess.run(["strace", "-f", "-y", "-qq", "-o", str(trace), "-e",
                                "trace=fsync,fdatasync,rename,renameat,renameat2,mkdir,mkdirat",
                                str(binary), "backup", "--config", str(cfg), "--no-progress"],
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, r.stderr[-3000:]
            checked = check_order(parse_trace(trace.read_text()), root.resolve())
            assert checked >= PARTITIONS, f"{run} run: {checked} checkpoint renames traced"
        segs = list(root.rglob("*.kbs"))
        assert len(segs) >= 2 * PARTITIONS
        ckpts = list(root.rglob("checkpoint.json"))
        assert len(ckpts) == PARTITIONS
        for c in ckpts:
            cp = json.loads(c.read_text())
            assert cp["next_offset"] == 2 * RECORDS_PER_PARTITION
            assert any(str(s).endswith(cp["last_segment"]) for s in segs), f"{c} names {cp['last_segment']}"
        v = subprocess.run([str(binary), "validate", "--path", str(root), "--backup-id", "dur", "--deep"],
                           capture_output=True, text=True, timeout=300)
        assert v.returncode == 0, v.stdout + v.stderr
    finally:
        admin.delete_topics([topic])


def test_kill_9_at_each_grouped_fsync_never_leaves_a_checkpoint_without_its_segment(env, binary, tmp_path):
    """strace delivers SIGKILL as the backup enters its Nth fsync (per thread), for several N: the
    process dies with segment files written but their group not yet synced, or between a group's
    segment sync and its checkpoints. After every kill each checkpoint names a segment that is
    stored, and a final run completes the set (validate --deep, every offset once)."""
    assert shutil.which("strace"), "strace is needed (scripts/install-deps.sh installs it)"
    bs = env["kafka"]["listeners"]["PLAINTEXT"]
    topic = f"kbdurk-{uuid.uuid4().hex[:10]}"
    parts = 24
    per_part = 40
    admin = AdminClient({"bootstrap.servers": bs})
    admin.create_topics([NewTopic(topic, parts, 1)])[topic].result(timeout=60)
    try:
        p = Producer({"bootstrap.servers": bs, "linger.ms": 20, "acks": "all"})
        for i in range(parts * per_part):
            p.produce(topic, (f"{i:08d}-" + "w" * 800).encode(), partition=i % parts)
        assert p.flush(60) == 0
        root = tmp_path / "store"
        cfg = tmp_path / "durk.yaml"
        cfg.write_text(json.dumps({
            "mode": "backup", "backup_id": "durk",
            "source": {"bootstrap_servers": [bs], "topics": {"include": [topic]}},
            "storage": {"backend": "filesystem", "path": str(root)},
            "backup": {"compression": "none", "stop_at_current_offsets": True, "segment_max_bytes": 8192},
        }))
        killed = 0
        for n in (1, 2, 3, 4, 6, 9, 14, 22, 35):
            r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync",
                                "-e", f"inject=fsync:signal=KILL:when={n}",
                                str(binary), "backup", "--config", str(cfg), "--no-progress"],
                               capture_output=True, text=True, timeout=300)
            killed += r.returncode != 0
            segs = {s.name for s in root.rglob("*.kbs")}
            for c in root.rglob("checkpoint.json"):
                last = json.loads(c.read_text())["last_segment"]
                assert last.rsplit("/", 1)[-1] in segs, f"after a kill at fsync {n}: {c} names {last}, not stored"
        assert killed >= 5, f"only {killed} of 9 runs were killed"
        r = subprocess.run([str(binary), "backup", "--config", str(cfg), "--no-progress"], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        ckpts = list(root.rglob("checkpoint.json"))
        assert len(ckpts) == parts
        for c in ckpts:
            assert json.loads(c.read_text())["next_offset"] == per_part
        assert not list(root.rglob("*.kb-tmp.*")), "temp files left after the completing run"
        v = subprocess.run([str(binary), "validate", "--path", str(root), "--backup-id", "durk", "--deep"],
                           capture_output=True, text=True, timeout=300)
        assert v.returncode == 0, v.stdout + v.stderr
    finally:
        admin.delete_topics([topic])
