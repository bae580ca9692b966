"""Restore verifies a backup before writing (issue #11 items 1-3, DESIGN.md §5 invariant 7):
missing, swapped or misplaced segments refuse the restore with exit 4 and nothing produced
(dry-run too); restore.allow_gaps restores around holes and names each; a corrupt frame stops
the restore with an exact account of what was written. Real broker and S3 server (harness);
data produced and checked with confluent-kafka; S3 objects damaged with curl's own SigV4."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from restore_helpers import (binary, content, create_topic, name, plain, read_partition, restore_config, run_restore,
                          topic_exists)
from confluent_kafka import Producer


class _Env(dict):
    """The harness env; its repr hides the users' passwords from tracebacks."""

    def __repr__(self) -> str:
        return "<harness env.json>"


@pytest.fixture(scope="module")
def env() -> dict:
    from restore_helpers import _env
    return _Env(_env())


# ---- helpers -------------------------------------------------------------------------------------

def produce_numbered(env: dict, topic: str, n: int, partitions: int) -> None:
    """n records, round-robin over partitions, in batches of at most 50 (so segments split)."""
    p = Producer({**plain(env), "linger.ms": 5, "batch.num.messages": 50, "compression.type": "none"})
    for i in range(n):
        p.produce(topic, key=f"k{i}".encode(), value=f"value-{i}-".encode() + b"v" * 120, partition=i % partitions)
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(30) == 0


def storage_section(s3: dict | None, store: Path, prefix: str) -> dict:
    if s3 is None:
        return {"backend": "filesystem", "path": str(store)}
    return {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
            "path_style": True, "prefix": prefix}


def s3_env(s3: dict | None) -> dict:
    return {} if s3 is None else {"AWS_ACCESS_KEY_ID": s3["access_key"], "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}


def backup(env: dict, tmp: Path, topic: str, backup_id: str, s3: dict | None = None, prefix: str = "") -> Path:
    """A real `kafka-backup backup` snapshot with small segments (several per partition)."""
    store = tmp / "store"
    store.mkdir(exist_ok=True)
    cfg = tmp / f"backup-{backup_id}.yaml"
    cfg.write_text(json.dumps({
        "mode": "backup", "backup_id": backup_id,
        "source": {"bootstrap_servers": [env["kafka"]["listeners"]["PLAINTEXT"]], "topics": {"include": [topic]}},
        "storage": storage_section(s3, store, prefix),
        "backup": {"stop_at_current_offsets": True, "segment_max_bytes": 16384, "compression": "none"}}))
    p = subprocess.run([binary(), "--no-progress", "backup", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=180, env={**os.environ, **s3_env(s3)})
    assert p.returncode == 0, p.stderr
    return store


def with_s3_storage(cfg: Path, store: Path, s3: dict, prefix: str) -> None:
    text = cfg.read_text().replace(
        f"storage:\n  backend: filesystem\n  path: {store}\n",
        "storage:\n  backend: s3\n  bucket: " + s3["bucket"] + "\n  endpoint: " + s3["endpoint"] +
        "\n  region: " + s3["region"] + "\n  path_style: true\n  prefix: " + prefix + "\n")
    assert "backend: s3" in text
    cfg.write_text(text)


def restore(env: dict, cfg: Path, s3: dict | None, *extra: str):
    e = {**os.environ, **s3_env(s3), "KB_TEST_RESTORE_PASSWORD": env["users"]["restore"]}
    p = subprocess.run([binary(), "--no-progress", "restore", "--config", str(cfg), *extra], env=e,
                       capture_output=True, text=True, timeout=300)
    for secret in [env["users"]["restore"]] + ([s3["secret_key"]] if s3 else []):
        assert secret not in p.stdout + p.stderr, "a secret leaked into the output"
    return p


def s3_curl(s3: dict, method: str, path: str) -> bytes:
    """One signed request with curl's SigV4 (independent of our S3 client); credentials via stdin."""
    url = f"{s3['endpoint']}/{s3['bucket']}{path}"
    p = subprocess.run(["curl", "-sS", "--fail", "-K", "-", "-X", method, "--aws-sigv4",
                        f"aws:amz:{s3['region']}:s3", "-H", "x-amz-content-sha256: " + hashlib.sha256(b"").hexdigest(),
                        url],
                       input=f"user = \"{s3['access_key']}:{s3['secret_key']}\"\n".encode(), capture_output=True,
                       timeout=60)
    assert p.returncode == 0, f"curl {method} {path}: {p.stderr.decode(errors='replace')}"
    return p.stdout


def segment_keys(store: Path, backup_id: str, topic: str, partition: int, s3: dict | None = None,
                 prefix: str = "") -> list[str]:
    """Segment keys of one partition relative to the backup root, in offset order."""
    rel = f"{backup_id}/topics/{topic}/{partition}/"
    if s3 is None:
        keys = [rel + p.name for p in (store / rel).iterdir() if p.name.endswith(".kbs")]
    else:
        xml = s3_curl(s3, "GET", "?list-type=2&prefix=" + quote(f"{prefix}/{rel}", safe="")).decode()
        assert "<IsTruncated>false</IsTruncated>" in xml
        keys = [k[len(prefix) + 1:] for k in (part.split("</Key>")[0] for part in xml.split("<Key>")[1:])
                if k.endswith(".kbs")]
    return sorted(keys)


def offsets_of(key: str) -> tuple[int, int]:
    first, last = key.rsplit("/", 1)[1][:-4].split("-")
    return int(first), int(last)


def setup(env: dict, tmp: Path, prefix_name: str, partitions: int = 2, n: int = 2400, s3: dict | None = None):
    src = name(prefix_name)
    create_topic(env, src, partitions)
    produce_numbered(env, src, n, partitions)
    prefix = f"restore-integrity/{uuid.uuid4().hex[:8]}"
    store = backup(env, tmp, src, "b", s3, prefix)
    keys = segment_keys(store, "b", src, 0, s3, prefix)
    assert len(keys) >= 4, f"the backup should split partition 0 into several segments: {keys}"
    dst = src + "-r"
    return src, dst, store, keys, prefix


def assert_refused_and_nothing_written(env: dict, cfg: Path, dst: str, s3: dict | None, *phrases: str) -> None:
    for extra in (("--dry-run",), ()):
        r = restore(env, cfg, s3, *extra)
        assert r.returncode == 4, f"{extra}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        for phrase in phrases + ("Nothing was produced and no topic was created",):
            assert phrase in r.stderr, f"{extra}: {phrase!r} not in\n{r.stderr}"
    assert not topic_exists(env, dst), "the refused restore created its target topic"


# ---- item 1: the segment chain -----------------------------------------------------------------

@pytest.mark.parametrize("backend", ["filesystem", "s3"])
def test_deleted_middle_segment_refuses_with_exit_4_naming_the_hole(env, tmp_path, backend):
    s3 = env.get("s3") if backend == "s3" else None
    if backend == "s3" and not s3:
        pytest.fail("the harness runs without S3 (--no-s3); this test needs it", pytrace=False)
    src, dst, store, keys, prefix = setup(env, tmp_path, "hole-" + backend[:2], s3=s3)
    gone = keys[len(keys) // 2]
    first, last = offsets_of(gone)
    if s3:
        s3_curl(s3, "DELETE", f"/{prefix}/{gone}")
    else:
        (store / gone).unlink()
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    if s3:
        with_s3_storage(cfg, store, s3, prefix)
    assert_refused_and_nothing_written(env, cfg, dst, s3, f"topic '{src}' partition 0: offsets {first}..{last} are missing",
                                       "restore.allow_gaps: true")


def test_deleted_last_segment_named_by_the_checkpoint_refuses(env, tmp_path):
    src, dst, store, keys, _ = setup(env, tmp_path, "last")
    checkpoint = json.loads((store / f"b/topics/{src}/0/checkpoint.json").read_text())
    assert checkpoint["last_segment"] == keys[-1]
    (store / keys[-1]).unlink()
    first, last = offsets_of(keys[-1])
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    assert_refused_and_nothing_written(env, cfg, dst, None, f"topic '{src}' partition 0: offsets {first}..{last} are "
                                       f"missing", f"last_segment {keys[-1]} does not exist")


def test_swapped_segment_contents_refuse(env, tmp_path):
    src, dst, store, keys, _ = setup(env, tmp_path, "swap")
    a, b = store / keys[1], store / keys[2]
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    fa, la = offsets_of(keys[1])
    fb, lb = offsets_of(keys[2])
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    assert_refused_and_nothing_written(env, cfg, dst, None, f"segment {keys[1]}: name says offsets {fa}..{la}, its "
                                       f"index {fb}..{lb}", "contents were swapped")


def test_allow_gaps_restores_the_rest_and_the_summary_names_every_hole(env, tmp_path):
    src, dst, store, keys, _ = setup(env, tmp_path, "allow")
    holes = [offsets_of(keys[1]), offsets_of(keys[-2])]
    (store / keys[1]).unlink()
    (store / keys[-2]).unlink()
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}, "allow_gaps": True})
    dry = restore(env, cfg, None, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    r = restore(env, cfg, None)
    assert r.returncode == 0, r.stderr
    for first, last in holes:
        text = f"topic '{src}' partition 0: offsets {first}..{last} are missing"
        assert f"hole: {text}" in r.stdout, r.stdout
        assert text in r.stderr and "skipped (restore.allow_gaps: true)" in r.stderr, r.stderr  # the warn log
        assert f"Hole: {text}" in dry.stdout, dry.stdout
    assert "2 holes in the backup skipped (restore.allow_gaps)" in r.stdout, r.stdout
    source0 = read_partition(env, src, 0)
    kept = [m for m in source0 if not any(f <= m["offset"] <= l for f, l in holes)]
    assert len(kept) < len(source0)
    assert content(read_partition(env, dst, 0)) == content(kept)
    assert content(read_partition(env, dst, 1)) == content(read_partition(env, src, 1))


# ---- item 2: a segment of another partition ------------------------------------------------------

def test_segment_of_another_partition_copied_over_refuses_naming_both(env, tmp_path):
    src, dst, store, keys, _ = setup(env, tmp_path, "other")
    other = segment_keys(store, "b", src, 1)
    # Partition 1's segment under partition 0's name for the same offsets, as a careless copy would.
    (store / keys[1]).write_bytes((store / other[1]).read_bytes())
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    assert_refused_and_nothing_written(env, cfg, dst, None, f"segment {keys[1]} holds {src}-1, not {src}-0",
                                       f"move it back under b/topics/{src}/1/")


# ---- item 3: corruption found while restoring ----------------------------------------------------

def test_corrupt_frame_mid_restore_reports_exactly_what_was_written(env, tmp_path):
    src, dst, store, keys, _ = setup(env, tmp_path, "crc", partitions=1, n=2000)
    bad = keys[len(keys) // 2]
    first_bad, _ = offsets_of(bad)
    intact = (store / bad).read_bytes()
    data = bytearray(intact)
    data[120] ^= 0xFF  # inside frame 0: past the header (26 bytes + the topic name), far before the index
    (store / bad).write_bytes(bytes(data))
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    r = restore(env, cfg, None)
    assert r.returncode == 4, r.stdout + r.stderr
    assert f"segment {bad}: frame 0 checksum mismatch" in r.stderr, r.stderr
    assert "Written to the target before the restore stopped" in r.stderr, r.stderr
    m = re.search(rf"{re.escape(src)}\[0\] -> {re.escape(dst)}\[0\]: every record below source offset (\d+) "
                  rf"\((\d+) records\)", r.stderr)
    assert m, r.stderr
    below, count = int(m.group(1)), int(m.group(2))
    # Everything verified before the damaged frame went out, nothing from it or after it.
    assert below == first_bad, r.stderr
    assert "Re-running the same command resumes" in r.stderr
    # What the target holds is exactly what the report says.
    written = read_partition(env, dst, 0)
    assert len(written) == count
    assert content(written) == content([x for x in read_partition(env, src, 0) if x["offset"] < below])

    # As the message says: with the segment repaired, the same command resumes and completes,
    # every record exactly once.
    (store / bad).write_bytes(intact)
    again = restore(env, cfg, None)
    assert again.returncode == 0, again.stderr
    assert content(read_partition(env, dst, 0)) == content(read_partition(env, src, 0))
