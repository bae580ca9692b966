"""The restore's run summary (--summary-file) against the harness's real broker: it names the
restore and counts what was restored, source partitions included. Data is produced and checked
with confluent-kafka."""
from __future__ import annotations

import json

import pytest

from restore_helpers import (create_topic, make_backup, name, produce, read_partition, restore_config, run_restore,
                          _env)


@pytest.fixture(scope="module")
def env() -> dict:
    return _env()


def test_summary_counts_restored_records_and_source_partitions(env, tmp_path):
    src = name("summary")
    create_topic(env, src, 3)
    produce(env, src, [{"key": f"k{i}".encode(), "value": f"v{i}".encode(), "partition": i % 3} for i in range(90)])
    store = make_backup(env, tmp_path, "b", [src])
    dst = src + "-r"
    cfg = restore_config(env, tmp_path, store, "b", [src], {"topic_mapping": {src: dst}})
    summary = tmp_path / "summary.json"
    p = run_restore(env, cfg, "restore", "--summary-file", str(summary))
    assert p.returncode == 0, p.stderr
    assert sum(len(read_partition(env, dst, part)) for part in range(3)) == 90
    s = json.loads(summary.read_text())
    assert s["command"] == "restore"
    assert s["outcome"] == "succeeded"
    assert s["restore_id"].startswith("r-")
    assert s["records"] == 90
    assert s["bytes"] > 0
    assert s["partitions"] == 3, s
