"""Two writers on one partition for a moment (issue #17 item 2, DESIGN.md §5 invariant 5): a zombie
worker uploads a segment whose offsets another segment of the same partition holds too.

The overlap is made the way it arises, from real `kafka-backup backup` runs of the harness broker:
a second backup of the same topic, cut into segments at other places, stands in for the zombie,
and one of its segments is copied into the first backup id (the lease that keeps two processes
out of one backup id is thus bypassed by the test alone, not by any production path). Then:
`validate --deep` accepts it, and a restore reads each offset once, record by record equal to the
source (checked with confluent-kafka). A "zombie" copy holding other bytes for the same offsets
(the topic recreated and refilled, same batching and timestamps, other values) is corruption:
`validate --deep` exits 4 naming both segments and the offsets; where even the batches differ,
plain `validate` and `restore` refuse too (exit 4, nothing produced)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from restore_helpers import (_env, binary, content, create_topic, name, plain, read_partition, restore_config, run_restore,
                          topic_exists)


@pytest.fixture(scope="module")
def env() -> dict:
    return _env()  # its repr leaves out the users' passwords


BATCHES = 24


def produce_batches(env: dict, topic: str, partition: int, per_batch: int, tag: str, base_ts: int) -> None:
    """BATCHES * 20 records into one partition, one flush per `per_batch` records, so each flush
    is one batch (linger is long, so nothing leaves before it); explicit timestamps."""
    p = Producer({**plain(env), "linger.ms": 5000, "batch.num.messages": 1000, "enable.idempotence": False,
                  "compression.type": "none"})
    for i in range(BATCHES * 20):
        p.produce(topic, key=f"k{i % 13}".encode(), value=f"{tag}-{i:05d}-{'v' * 60}".encode(), partition=partition,
                  timestamp=base_ts + i)
        if (i + 1) % per_batch == 0:
            assert p.flush(30) == 0
    assert p.flush(30) == 0


def backup(env: dict, tmp: Path, store: Path, backup_id: str, topic: str, segment_max_bytes: int) -> None:
    cfg = tmp / f"backup-{backup_id}.yaml"
    cfg.write_text(json.dumps({
        "mode": "backup", "backup_id": backup_id,
        "source": {"bootstrap_servers": [plain(env)["bootstrap.servers"]], "topics": {"include": [topic]}},
        "storage": {"backend": "filesystem", "path": str(store)},
        "backup": {"stop_at_current_offsets": True, "segment_max_bytes": segment_max_bytes, "compression": "zstd"}}))
    p = subprocess.run([binary(), "--no-progress", "backup", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stderr[-3000:]


def segments(store: Path, backup_id: str, topic: str, partition: int) -> dict[str, tuple[int, int]]:
    out = {}
    for f in sorted((store / backup_id / "topics" / topic / str(partition)).glob("*.kbs")):
        first, last = f.stem.split("-")
        out[f.name] = (int(first), int(last))
    return out


def zombie_segment(store: Path, topic: str, partition: int, main_id: str, zombie_id: str) -> tuple[str, str]:
    """A segment of the zombie's backup that no segment of the main backup matches by name, and the
    main backup's segment it overlaps first: (zombie name, main name)."""
    main = segments(store, main_id, topic, partition)
    zombie = segments(store, zombie_id, topic, partition)
    assert len(main) >= 3 and len(zombie) >= 3, (main, zombie)
    for zname, (zf, zl) in zombie.items():
        if zname in main:
            continue
        for mname, (mf, ml) in main.items():
            if mf <= zl and zf <= ml:
                return zname, mname
    pytest.fail(f"the two backups cut every segment at the same offsets: {sorted(main)}")


def copy_segment(store: Path, topic: str, partition: int, from_id: str, to_id: str, seg: str) -> str:
    src = store / from_id / "topics" / topic / str(partition) / seg
    dst = store / to_id / "topics" / topic / str(partition) / seg
    assert not dst.exists()
    shutil.copyfile(src, dst)
    return f"{to_id}/topics/{topic}/{partition}/{seg}"


def validate(store: Path, backup_id: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary(), "validate", "--path", f"file://{store}", "--backup-id", backup_id, *extra],
                          capture_output=True, text=True, timeout=180)


def recreate(env: dict, topic: str, partitions: int) -> None:
    admin = AdminClient(plain(env))
    for f in admin.delete_topics([topic]).values():
        f.result(30)
    deadline = time.time() + 60
    while topic_exists(env, topic) and time.time() < deadline:
        time.sleep(0.2)
    assert not topic_exists(env, topic), f"{topic} still exists 60 s after its deletion"
    for attempt in range(150):  # the deletion may still be finishing: bounded retries
        try:
            create_topic(env, topic, partitions)
            return
        except Exception as e:  # TOPIC_ALREADY_EXISTS while the deletion completes
            if attempt == 149 or "exists" not in str(e).lower():
                raise
            time.sleep(0.2)


def test_zombie_overlap_validates_and_restores_each_offset_once(env, tmp_path):
    src = name("zombie")
    create_topic(env, src, 1)
    base_ts = int(time.time() * 1000) - 3_600_000
    produce_batches(env, src, 0, 20, "a", base_ts)
    store = tmp_path / "store"
    backup(env, tmp_path, store, "main", src, 6000)
    backup(env, tmp_path, store, "zombie", src, 3500)  # the same batches, cut elsewhere
    zseg, mseg = zombie_segment(store, src, 0, "main", "zombie")
    zkey = copy_segment(store, src, 0, "zombie", "main", zseg)

    v = validate(store, "main", "--deep")
    assert v.returncode == 0, v.stdout + v.stderr
    assert "OK" in v.stdout, v.stdout

    dst = src + "-restored"
    cfg = restore_config(env, tmp_path, store, "main", [src], {"topic_mapping": {src: dst}, "create_topics": True})
    r = run_restore(env, cfg)
    assert r.returncode == 0, r.stderr
    want = read_partition(env, src, 0)
    got = read_partition(env, dst, 0)
    assert len(want) == BATCHES * 20
    assert [m["offset"] for m in got] == [m["offset"] for m in want], "each offset once, none missing"
    assert content(got) == content(want)
    assert f"complete: {BATCHES * 20} records" in r.stdout, r.stdout
    # Byte-exact pass-through, each batch once: none re-encoded to cut the overlap out, the
    # second copy of a batch is no drop.
    assert f"batches passed {BATCHES}, re-encoded 0, dropped 0;" in r.stdout, r.stdout
    assert zkey and mseg


def test_overlap_with_other_bytes_for_the_same_offsets_is_corruption(env, tmp_path):
    src = name("zombie-bad")
    create_topic(env, src, 2)
    base_ts = int(time.time() * 1000) - 3_600_000
    for part in (0, 1):
        produce_batches(env, src, part, 20, "a", base_ts)
    store = tmp_path / "store"
    backup(env, tmp_path, store, "main", src, 6000)

    # Another incarnation of the topic: partition 0 with the same batching and timestamps but other
    # values (only the bytes differ), partition 1 batched differently (the batches differ).
    recreate(env, src, 2)
    produce_batches(env, src, 0, 20, "b", base_ts)
    produce_batches(env, src, 1, 15, "b", base_ts)
    backup(env, tmp_path, store, "other", src, 3500)
    z0, m0 = zombie_segment(store, src, 0, "main", "other")
    z1, m1 = zombie_segment(store, src, 1, "main", "other")

    # Partition 0 alone: indexes agree, only --deep reads the bytes.
    bytes_only = tmp_path / "bytes-only"
    shutil.copytree(store, bytes_only)
    k0 = copy_segment(bytes_only, src, 0, "other", "main", z0)
    v = validate(bytes_only, "main", "--deep")
    assert v.returncode == 4, v.stdout + v.stderr
    (line,) = [ln for ln in v.stdout.splitlines() if ln.startswith(f"problem: {k0}") or
               (ln.startswith("problem: ") and k0 in ln)]
    assert "are also held by" in line and "differs from byte" in line, line
    assert re.search(r"offsets \d+\.\.\d+", line), line
    assert "two writers stored different data" in line, line

    # Partition 1: other batch boundaries, found from the indexes alone; restore refuses.
    k1 = copy_segment(store, src, 1, "other", "main", z1)
    v = validate(store, "main")
    assert v.returncode == 4, v.stdout + v.stderr
    assert k1 in v.stdout and f"/{src}/1/" in v.stdout, v.stdout
    assert "are also held by" in v.stdout and "two writers stored different data" in v.stdout, v.stdout
    dst = src + "-restored"
    cfg = restore_config(env, tmp_path, store, "main", [src], {"topic_mapping": {src: dst}, "create_topics": True})
    r = run_restore(env, cfg)
    assert r.returncode == 4, r.stdout + r.stderr
    assert k1 in r.stderr and "two writers stored different data" in r.stderr, r.stderr
    assert not topic_exists(env, dst), "nothing is created when the backup is refused"
    assert m0 and m1
