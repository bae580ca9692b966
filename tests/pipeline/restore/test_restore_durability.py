"""Restore state and the offset report survive a power loss (issue #11 item 6): every file a
restore puts in place is written to a temp file that is fsynced, renamed over the final name,
and then its directory is fsynced. Checked with strace (-y names each fd's file) on real restores
against the harness broker; data produced with confluent-kafka."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from restore_helpers import _env, binary, create_topic, make_backup, name, produce, read_partition, restore_config


@pytest.fixture(scope="module")
def env() -> dict:
    return _env()


# `1234  fsync(5</dir/file>) = 0`, `1234  rename("/a", "/b") = 0`, `1234  renameat2(AT_FDCWD</x>, "/a", ...`;
# with -f a call another thread interrupts is split into `... <unfinished ...>` and `<... resumed>`.
_CALL = re.compile(r"^(\d+)\s+(fsync|fdatasync|rename|renameat|renameat2)\((.*)$")
_FD_PATH = re.compile(r"^\d+<(.*)>")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def syscalls(log: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(tid, call, paths) in the order strace saw the calls begin: the fd's file for fsync, the
    (from, to) names for a rename."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        m = _CALL.match(line)
        if not m:
            continue
        tid, call, rest = m.groups()
        if call in ("fsync", "fdatasync"):
            p = _FD_PATH.match(rest)
            if p:
                out.append((tid, "fsync", (p.group(1),)))
        else:
            names = _QUOTED.findall(rest)
            if len(names) >= 2:
                out.append((tid, "rename", (names[0], names[1])))
    return out


def undurable_renames(calls, under: Path) -> tuple[list[str], list[str]]:
    """(final names renamed into place under `under`, problems): each such rename must follow an
    fsync of its temp file and be followed by an fsync of its directory on the same thread, before
    that thread renames anything else."""
    placed, problems = [], []
    for i, (tid, call, args) in enumerate(calls):
        if call != "rename" or not args[1].startswith(str(under)):
            continue
        src, dst = args
        placed.append(dst)
        earlier = [a[0] for t, c, a in calls[:i] if t == tid and c == "fsync"]
        if src not in earlier:
            problems.append(f"{dst}: its temp file {src} was not fsynced before the rename")
        after = []
        for t, c, a in calls[i + 1:]:
            if t != tid:
                continue
            if c == "rename":
                break
            after.append(a[0])
        if os.path.dirname(dst) not in after:
            problems.append(f"{dst}: its directory was not fsynced after the rename")
    return placed, problems


def traced_restore(env: dict, cfg: Path, log: Path) -> subprocess.CompletedProcess:
    e = {**os.environ, "KB_TEST_RESTORE_PASSWORD": env["users"]["restore"]}
    cmd = ["strace", "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", str(log),
           binary(), "--no-progress", "restore", "--config", str(cfg)]
    p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=300)
    assert env["users"]["restore"] not in p.stdout + p.stderr + log.read_text(errors="replace")
    return p


@pytest.mark.parametrize("where", ["checkpoint_state", "state_dir", "store"])
def test_restore_state_and_offset_report_are_fsynced_and_renamed_into_place(env, tmp_path, where):
    if shutil.which("strace") is None:
        pytest.fail("strace is needed (apt-get install strace; scripts/install-deps.sh installs it)", pytrace=False)
    src = name("durable")
    create_topic(env, src, 2)
    produce(env, src, [{"key": f"k{i}".encode(), "value": f"v{i}".encode(), "partition": i % 2} for i in range(60)])
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    local = tmp_path / "local"
    report = local / "report" / "offsets.json"
    opts = {"topic_mapping": {src: dst}, "create_topics": True, "offset_report": str(report)}
    if where == "checkpoint_state":
        opts["checkpoint_state"] = str(local / "state" / "restore.json")
    elif where == "state_dir":
        opts["state_dir"] = str(local / "states")
    for d in (report.parent, local / "state", local / "states"):
        d.mkdir(parents=True, exist_ok=True)  # durability is the point here, not creating folders
    cfg = restore_config(env, tmp_path, store, "b", [src], opts)
    log = tmp_path / "strace.log"
    r = traced_restore(env, cfg, log)
    assert r.returncode == 0, r.stderr
    assert len(read_partition(env, dst, 0)) + len(read_partition(env, dst, 1)) == 60

    calls = syscalls(log)
    assert any(c == "rename" for _, c, _ in calls), "strace saw no rename at all"
    placed, problems = undurable_renames(calls, tmp_path)
    assert not problems, "\n".join(problems)
    assert str(report) in placed, f"the offset report was not renamed into place: {placed}"
    state_root = {"checkpoint_state": local / "state", "state_dir": local / "states", "store": store / "b" / "restores"}
    states = [p for p in placed if p.startswith(str(state_root[where])) and p.endswith(".json")]
    assert states, f"no restore state renamed into place under {state_root[where]}: {placed}"
