"""What a backup run says and how it exits when it cannot do everything it was asked (issues #11
item 10, #12 items 1, 2, 3): a memory budget no fetch fits in, a run that fails, a one-shot backup
stopped by SIGTERM before its end, and consumer groups the principal may not read. Against the
harness's real broker ($KB_TEST_ENV); ACLs are set with confluent-kafka's AdminClient as the
harness's super user, and the data is produced and checked with confluent-kafka and dump_segment."""
from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid

import pytest

from test_backup import end_offsets, new_topic, plaintext, run_backup, stored, write_config


def _acl(resource_type, name, user, operation, permission):
    from confluent_kafka.admin import AclBinding, ResourcePatternType
    return AclBinding(resource_type, name, ResourcePatternType.LITERAL, f"User:{user}", "*", operation, permission)


def add_acl(env, binding) -> None:
    """Adds one ACL and waits (bounded) until the broker's authorizer reports it."""
    from confluent_kafka.admin import AclBindingFilter, AdminClient
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    for f in admin.create_acls([binding]).values():
        f.result(30)
    flt = AclBindingFilter(binding.restype, binding.name, binding.resource_pattern_type, binding.principal,
                           binding.host, binding.operation, binding.permission_type)
    deadline = time.time() + 30
    while time.time() < deadline:
        if admin.describe_acls(flt).result(30):
            return
        time.sleep(0.1)
    raise AssertionError(f"the broker does not report the ACL {binding}")


def remove_acl(env, binding) -> None:
    from confluent_kafka.admin import AclBindingFilter, AdminClient
    admin = AdminClient({"bootstrap.servers": plaintext(env)})
    flt = AclBindingFilter(binding.restype, binding.name, binding.resource_pattern_type, binding.principal,
                           binding.host, binding.operation, binding.permission_type)
    for f in admin.delete_acls([flt]).values():
        f.result(30)


def sasl_backup_user(env) -> dict:
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256", "sasl_username": "backup",
            "sasl_password": "${KB_PW}"}


def produce(env, topic, partitions, per_partition, size=200):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": plaintext(env), "linger.ms": 20, "batch.num.messages": 50})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, key=f"k{i}".encode(), value=(f"{part}-{i}-" + "x" * size).encode(), partition=part)
            if i % 500 == 0:
                p.poll(0)
    assert p.flush(60) == 0


def commit(env, group, topic, offset):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": plaintext(env), "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


# ---- #11.10: a budget one fetch does not fit in ------------------------------------------------

def test_max_buffer_below_one_fetch_is_a_config_error(env, binary, tmp_path):
    cfg = write_config(tmp_path, env, ["any-topic"], "tiny", backup={"max_buffer_bytes": 524288})
    for cmd in ("backup", "config"):
        r = subprocess.run([str(binary), cmd, "--config", str(cfg), "--no-progress"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2, (cmd, r.stderr)
        assert "backup.max_buffer_bytes: 524288 is below the minimum of 1048576 bytes" in r.stderr, r.stderr
    # With small fetches a small budget is enough: the minimum follows fetch_max_bytes.
    ok = write_config(tmp_path, env, ["any-topic"], "tiny", backup={"max_buffer_bytes": 262144,
                                                                    "fetch_max_bytes": 131072})
    r = subprocess.run([str(binary), "config", "--config", str(ok)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# ---- #12.1: a failing run does not claim it has been stopping for the machine's uptime ---------

def test_failing_run_does_not_report_still_stopping(env, binary, tmp_path):
    from confluent_kafka.admin import AclOperation, AclPermissionType, ResourceType
    t = new_topic(env)
    produce(env, t, 1, 200)
    # The backup user may Describe the topic (metadata, ListOffsets) but not Read it: the fetch fails.
    deny = _acl(ResourceType.TOPIC, t, "backup", AclOperation.READ, AclPermissionType.DENY)
    add_acl(env, deny)
    try:
        cfg = write_config(tmp_path, env, [t], "fails", security=sasl_backup_user(env), listener="SASL_PLAINTEXT")
        r = run_backup(binary, cfg, extra_env={"KB_PW": env["users"]["backup"]})
    finally:
        remove_acl(env, deny)
    assert r.returncode == 3, r.stderr
    assert f"Not authorized to access topic '{t}'" in r.stderr, r.stderr
    assert "still stopping" not in r.stderr, r.stderr


# ---- #12.2: a one-shot backup stopped before its end is not a success --------------------------

@pytest.mark.parametrize("snapshot", [False, True], ids=["one-shot", "snapshot"])
def test_interrupted_one_shot_exits_1_and_a_rerun_completes_exactly(env, binary, dump_tool, tmp_path, snapshot):
    parts = 40
    t = new_topic(env, partitions=parts)
    produce(env, t, parts, 600)
    ends = end_offsets(env, t, parts)
    # One partition at a time, in small segments: the run takes long enough to be stopped midway.
    cfg = write_config(tmp_path, env, [t], "cut", backup={"max_concurrent_partitions": 1, "segment_max_bytes": 32768,
                                                          "fetch_max_bytes": 65536, "max_buffer_bytes": 1048576,
                                                          "stop_at_current_offsets": snapshot})
    proc = subprocess.Popen([str(binary), "backup", "--config", str(cfg), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        topic_dir = tmp_path / "store/cut/topics" / t
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None and not list(topic_dir.glob("*/checkpoint.json")):
            time.sleep(0.01)
        assert proc.poll() is None, "the backup ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert "interrupted: " in err and f" of {parts} partitions complete; re-run to continue" in err, err
    done = int(err.split("interrupted: ")[1].split(" of ")[0])
    assert done < parts, err
    assert "backup 'cut' interrupted (committed what was fetched)" in err, err

    r = run_backup(binary, cfg, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "backup 'cut' complete" in r.stderr, r.stderr
    for p in range(parts):
        rows = [x for x in stored(dump_tool, str(tmp_path / "store"), "cut", t, p) if "hex" in x]
        offsets = [o for b in rows for o in range(b["first"], b["last"] + 1)]
        assert offsets == list(range(ends[p])), f"partition {p}: stored offsets differ from the source"


# ---- #12.3: groups the principal may not read are reported, not dropped ------------------------

def test_group_without_acl_is_warned_and_recorded(env, binary, tmp_path):
    from confluent_kafka.admin import AclOperation, AclPermissionType, ResourceType
    t = new_topic(env)
    produce(env, t, 1, 100)
    hidden, readable = f"kbb-hidden-{uuid.uuid4().hex[:8]}", f"kbb-seen-{uuid.uuid4().hex[:8]}"
    commit(env, hidden, t, 40)
    commit(env, readable, t, 60)
    # The backup user keeps Describe on the cluster (so ListGroups shows every group) but loses
    # Describe on one group: FindCoordinator/OffsetFetch answer GROUP_AUTHORIZATION_FAILED.
    deny = _acl(ResourceType.GROUP, hidden, "backup", AclOperation.DESCRIBE, AclPermissionType.DENY)
    add_acl(env, deny)
    try:
        cfg = write_config(tmp_path, env, [t], "groups", security=sasl_backup_user(env), listener="SASL_PLAINTEXT",
                           backup={"consumer_group_snapshot": True})
        r = run_backup(binary, cfg, extra_env={"KB_PW": env["users"]["backup"]})
    finally:
        remove_acl(env, deny)
    assert r.returncode == 0, r.stderr
    assert env["users"]["backup"] not in r.stderr + r.stdout
    assert f"Not authorized to access group '{hidden}'" in r.stderr, r.stderr
    assert (f"kafka-acls.sh --bootstrap-server {env['kafka']['listeners']['SASL_PLAINTEXT']} --command-config "
            f"admin.properties --add --allow-principal User:backup --operation Describe --group '{hidden}'") in r.stderr
    assert r.stderr.count("Not authorized to access group") == 1, "warned more than once:\n" + r.stderr
    manifest = json.loads((tmp_path / "store/groups/backup.json").read_text())
    missing = {g["group"]: g["reason"] for g in manifest.get("groups_not_captured", [])}
    assert hidden in missing and "GROUP_AUTHORIZATION_FAILED" in missing[hidden], manifest
    assert readable not in missing
    snaps = sorted((tmp_path / "store/groups/groups").glob("*.json"))
    assert snaps, "no consumer-group snapshot written"
    last = json.loads(snaps[-1].read_text())
    assert readable in last["groups"] and hidden not in last["groups"], last

    d = subprocess.run([str(binary), "describe", "--path", str(tmp_path / "store"), "--backup-id", "groups"],
                       capture_output=True, text=True, timeout=60)
    assert d.returncode == 0, d.stderr
    assert f"group missing   {hidden}: offsets not captured" in d.stdout, d.stdout
    dj = subprocess.run([str(binary), "describe", "--path", str(tmp_path / "store"), "--backup-id", "groups",
                         "--format", "json"], capture_output=True, text=True, timeout=60)
    assert dj.returncode == 0, dj.stderr
    assert hidden in [g["group"] for g in json.loads(dj.stdout)["groups_not_captured"]]
