"""Object-store faults at chosen requests: the harness's S3 server (versitygw), Azurite and
fake-gcs-server behind tests/reliability/http_fault_proxy.py, which answers one chosen request
(by method, path, body and match number) with 500, 503 SlowDown + Retry-After, a single 403, a
truncated body, a flipped byte or a stall. Each run either rides the fault out (a retry, logged at
warn with the attempt) and the result is exact, or fails with the documented exit code and a
message naming the store's error, and a re-run without the fault is exact. "Exact": `validate
--deep` on the store (directly, not through the proxy) and a restore into a new topic read back
record by record with confluent-kafka. A flipped byte on a restore GET must never reach Kafka.
Every run of the tool is bounded (RUN_BOUND).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_fault_proxy import FaultProxy, Rule  # noqa: E402
import topic_check  # noqa: E402

PARTITIONS = 2
RECORDS = 400           # per partition, ~110 bytes each: one segment per partition
RUN_BOUND = 60          # s: any run of the tool past this is a hang
SEG = r"/0/\d{20}-\d{20}\.kbs"          # partition 0's segment, in a path
SEG_GCS = r"%2F0%2F\d{20}-\d{20}\.kbs"   # ... URL-encoded (GCS object names)


def record(name: str, outcome: str) -> None:
    line = f"{name}: {outcome}"
    print(f"reliability scenario {line}", flush=True)
    if os.environ.get("KB_RELIABILITY_COUNTS"):
        with open(os.environ["KB_RELIABILITY_COUNTS"], "a") as f:
            f.write(line + "\n")


def expected(p: int) -> list[tuple[bytes, bytes]]:
    return [(f"k{p}-{i}".encode(), (f"v{p}-{i}-" + "y" * 100).encode()) for i in range(RECORDS)]


@pytest.fixture(scope="module")
def bootstrap(env) -> str:
    return env["kafka"]["listeners"]["PLAINTEXT"]


@pytest.fixture(scope="module")
def topic(bootstrap) -> str:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbstore-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, PARTITIONS, 1)]).values():
        f.result(timeout=60)
    pr = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for p in range(PARTITIONS):
        for k, v in expected(p):
            pr.produce(name, key=k, value=v, partition=p)
    assert pr.flush(60) == 0
    return name


def consume_all(bootstrap: str, topic: str, partitions: int = PARTITIONS) -> dict[int, list[tuple[bytes, bytes]]]:
    return topic_check.consume_all(bootstrap, topic, partitions)


def topic_exists(bootstrap: str, topic: str) -> bool:
    from confluent_kafka.admin import AdminClient
    return topic in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics


class Store:
    """One backend behind a fault proxy: the config the tool gets (through the proxy), and the URL
    + environment `validate` gets (direct)."""

    def __init__(self, kind: str, env: dict, prefix: str):
        self.kind = kind
        if kind == "s3":
            s3 = env["s3"]
            self.proxy = FaultProxy(s3["endpoint"], "s3").start()
            self.secrets = [s3["secret_key"]]
            self.cfg = {"backend": "s3", "bucket": s3["bucket"], "endpoint": self.proxy.endpoint,
                        "region": s3["region"], "path_style": True, "prefix": prefix,
                        "access_key": s3["access_key"], "secret_key": s3["secret_key"]}
            self.tool_env = dict(os.environ)
            self.url = f"s3://{s3['bucket']}/{prefix}?endpoint={s3['endpoint']}&region={s3['region']}"
            self.url_env = {**os.environ, "AWS_ACCESS_KEY_ID": s3["access_key"],
                            "AWS_SECRET_ACCESS_KEY": s3["secret_key"]}
        elif kind == "azure":
            az = env["azure"]
            self.proxy = FaultProxy(az["endpoint"], "azure").start()
            self.secrets = [az["account_key"]]
            self.cfg = {"backend": "azure", "account_name": az["account"], "container_name": az["container"],
                        "endpoint": self.proxy.endpoint, "prefix": prefix, "account_key": az["account_key"]}
            self.tool_env = dict(os.environ)
            self.url = f"azure://{az['account']}/{az['container']}/{prefix}?endpoint={az['endpoint']}"
            self.url_env = {**os.environ, "AZURE_STORAGE_KEY": az["account_key"]}
        else:
            g = env["gcs"]
            self.proxy = FaultProxy(g["endpoint"], "gcs").start()
            self.secrets = []
            self.cfg = {"backend": "gcs", "bucket": g["bucket"], "prefix": prefix}
            # Google's emulator convention: no credentials, requests to this host (the proxy).
            self.tool_env = {**os.environ, "STORAGE_EMULATOR_HOST": self.proxy.endpoint.removeprefix("http://")}
            self.url = f"gs://{g['bucket']}/{prefix}"
            self.url_env = {**os.environ, "STORAGE_EMULATOR_HOST": g["emulator_host"]}
        # Short back-offs and a bounded budget: a fault ridden out costs seconds, not minutes.
        self.cfg.update({"retry_budget_ms": 30000, "stall_timeout_ms": 2000})


@pytest.fixture
def store(request, env):
    kind = request.param
    if not env.get(kind):
        pytest.fail(f"the store-fault tests need the harness's {kind} server ($KB_TEST_ENV)", pytrace=False)
    s = Store(kind, env, f"kbstore/{uuid.uuid4().hex[:10]}/")
    yield s
    s.proxy.stop()


def run(binary: Path, command: str, args: list[str], env: dict) -> subprocess.CompletedProcess:
    p = subprocess.Popen([str(binary), "--no-progress", *os.environ.get("KB_REL_EXTRA", "").split(), command, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, env=env)
    try:
        out, err = p.communicate(timeout=RUN_BOUND)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=30)
        pytest.fail(f"{command} hung: still running after {RUN_BOUND} s; its log ends:\n{err[-3000:]}")
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def write_cfg(tmp: Path, cfg: dict) -> Path:
    path = tmp / f"{cfg['mode']}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(json.dumps(cfg))
    return path


def backup(binary, tmp, bootstrap, topic, s: Store, bid: str) -> subprocess.CompletedProcess:
    cfg = {"mode": "backup", "backup_id": bid,
           "source": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
           "storage": s.cfg, "backup": {"compression": "none", "stop_at_current_offsets": True}}
    return run(binary, "backup", ["--config", str(write_cfg(tmp, cfg))], s.tool_env)


def restore(binary, tmp, bootstrap, topic, target, s: Store, bid: str) -> subprocess.CompletedProcess:
    cfg = {"mode": "restore", "backup_id": bid,
           "target": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
           "storage": s.cfg, "restore": {"topic_mapping": {topic: target}, "create_topics": True}}
    return run(binary, "restore", ["--config", str(write_cfg(tmp, cfg))], s.tool_env)


def validate_deep(binary, s: Store, bid: str) -> None:
    v = run(binary, "validate", ["--path", s.url, "--backup-id", bid, "--deep"], s.url_env)
    assert v.returncode == 0, f"validate --deep: exit {v.returncode}\n{v.stdout[-1500:]}\n{v.stderr[-1500:]}"


def assert_exact(bootstrap: str, target: str) -> None:
    got = consume_all(bootstrap, target)
    for p in range(PARTITIONS):
        assert got[p] == expected(p), f"{target}[{p}]: {len(got[p])} records, not the {RECORDS} produced (or they differ)"


def assert_clean(r: subprocess.CompletedProcess, s: Store) -> None:
    for secret in s.secrets:
        assert secret not in r.stderr and secret not in r.stdout, "a secret reached the output"


def retried_warning(r: subprocess.CompletedProcess, s: Store) -> re.Match:
    m = re.search(r"warn .*failed on attempt (\d+) \((.*)\); retrying in ([\d.]+) s", r.stderr)
    assert m, f"{s.kind}: the fault was ridden out without a warn naming the attempt:\n{r.stderr[-2000:]}"
    return m


def error_line(r: subprocess.CompletedProcess) -> str:
    """The failed run's error lines (for the log and docs/reliability.md)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error") or " error " in ln]
    return " | ".join(lines[-4:]) if lines else r.stderr.strip()[-600:]


# -- backup ------------------------------------------------------------------------------------
# (id, backend, rule, what the message of a failed run must name, the exit code it must have)
BACKUP_CASES = [
    ("segment-put-500", "s3", Rule("status", "PUT", SEG + "$", status=500, code="InternalError"), "InternalError", 1),
    ("segment-put-500x3", "s3", Rule("status", "PUT", SEG + "$", times=3), "InternalError", 1),
    ("checkpoint-put-slowdown", "s3", Rule("slowdown", "PUT", r"/0/checkpoint\.json$", retry_after=2), "SlowDown", 1),
    ("segment-put-403", "s3", Rule("status", "PUT", SEG + "$", status=403, code="AccessDenied"), "AccessDenied", 3),
    ("listing-503", "s3", Rule("status", "GET", r"list-type=2", status=503, code="ServiceUnavailable"),
     "ServiceUnavailable", 1),
    ("segment-put-stall", "s3", Rule("stall", "PUT", SEG + "$", seconds=4), "stall", 1),
    ("segment-put-corrupted", "s3", Rule("flip_request", "PUT", SEG + "$"), "", 1),
    ("segment-put-500", "azure", Rule("status", "PUT", SEG + "$", status=500, code="InternalError"), "InternalError", 1),
    ("checkpoint-put-slowdown", "azure", Rule("slowdown", "PUT", r"/0/checkpoint\.json$", retry_after=2),
     "ServerBusy", 1),
    ("segment-upload-503", "gcs", Rule("status", "POST", r"uploadType=", body=SEG_GCS.replace("%2F", "/"),
                                       status=503, code="backendError"), "backendError", 1),
    ("segment-upload-corrupted", "gcs", Rule("flip_request", "POST", r"uploadType=",
                                             body=SEG_GCS.replace("%2F", "/")), "", 1),
]


@pytest.mark.parametrize("case,store,rule,names,code",
                         [pytest.param(c, b, r, n, x, id=f"{b}-{c}") for c, b, r, n, x in BACKUP_CASES],
                         indirect=["store"])
def test_backup_store_fault(case, store, rule, names, code, binary, bootstrap, topic, tmp_path):
    bid = f"sf-{case}"
    store.proxy.set_rules(rule)
    t0 = time.monotonic()
    r = backup(binary, tmp_path, bootstrap, topic, store, bid)
    took = time.monotonic() - t0
    assert rule.fired, f"{case}: the fault never fired; requests: {store.proxy.log}"
    assert_clean(r, store)
    store.proxy.set_rules()
    if r.returncode == 0:
        m = retried_warning(r, store)
        if rule.action == "slowdown":
            # Retry-After: 2 asks for longer than the first back-off (~0.2 s): honoured.
            assert float(m.group(3)) >= rule.retry_after, f"Retry-After {rule.retry_after} s not honoured: {m.group(0)}"
            assert took >= rule.retry_after
        outcome = "ridden out"
    else:
        assert r.returncode == code, f"{case}: exit {r.returncode}, want 0 or {code}:\n{r.stderr[-2000:]}"
        assert names in r.stderr, f"{case}: the message does not name {names!r}:\n{r.stderr[-2000:]}"
        r2 = backup(binary, tmp_path, bootstrap, topic, store, bid)
        assert r2.returncode == 0, f"{case}: the re-run failed:\n{r2.stderr[-2000:]}"
        outcome = f"exit {r.returncode} + rerun"
        print(f"{case}: {error_line(r)}")
    validate_deep(binary, store, bid)
    target = f"{topic}-{store.kind}-{case}"
    rr = restore(binary, tmp_path, bootstrap, topic, target, store, bid)
    assert rr.returncode == 0, rr.stderr[-2000:]
    assert_exact(bootstrap, target)
    record(f"backup {store.kind} {case}", f"{outcome}, exact")


# -- restore -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backups(env, binary, bootstrap, topic, tmp_path_factory) -> dict:
    """One clean backup per backend, made without faults; the restore cases read it."""
    out = {}
    tmp = tmp_path_factory.mktemp("store-backups")
    for kind in ("s3", "azure", "gcs"):
        s = Store(kind, env, f"kbstore/{uuid.uuid4().hex[:10]}/")
        r = backup(binary, tmp, bootstrap, topic, s, "sf-restore")
        s.proxy.stop()
        assert r.returncode == 0, r.stderr[-2000:]
        out[kind] = s.cfg["prefix"]
    return out


# Partition 0's segment is read three times by a restore: twice while planning (its footer and
# index), then its records: match 3 is the ranged GET of the data.
RESTORE_CASES = [
    # (id, backend, rule, what a failed run names, its exit code, the only outcome allowed or None)
    ("data-get-500", "s3", Rule("status", "GET", SEG + "$", nth=3, status=500), "InternalError", 1, None),
    ("data-get-slowdown", "s3", Rule("slowdown", "GET", SEG + "$", nth=3, retry_after=1), "SlowDown", 1, None),
    ("data-get-truncated", "s3", Rule("truncate", "GET", SEG + "$", nth=3), "", 1, None),
    # One byte damaged on the way: the frame is read again and is intact: ridden out.
    ("data-get-flipped", "s3", Rule("flip", "GET", SEG + "$", nth=3), "", 4, 0),
    # Damaged on every read (as damage at rest would be): exit 4, nothing damaged reaches Kafka.
    ("data-get-flipped-always", "s3", Rule("flip", "GET", SEG + "$", nth=3, times=50), "frame 0 checksum mismatch",
     4, 4),
    ("index-get-flipped", "s3", Rule("flip", "GET", SEG + "$", nth=1), "", 4, None),
    ("data-get-stall", "s3", Rule("stall", "GET", SEG + "$", nth=3, seconds=4), "", 1, None),
    ("listing-slowdown", "s3", Rule("slowdown", "GET", r"list-type=2", retry_after=1), "SlowDown", 1, None),
    ("data-get-403", "s3", Rule("status", "GET", SEG + "$", nth=3, status=403, code="AccessDenied"),
     "AccessDenied", 3, 3),
    ("state-put-500", "s3", Rule("status", "PUT", r"/state\.json$", status=500), "InternalError", 1, None),
    # Whole-object GETs are checked against the CRC32C S3 keeps, and read again on a mismatch.
    ("manifest-get-flipped", "s3", Rule("flip", "GET", r"/backup\.json$"), "", 4, 0),
    ("topic-get-flipped", "s3", Rule("flip", "GET", r"/topic\.json$"), "", 4, 0),
    ("checkpoint-get-flipped", "s3", Rule("flip", "GET", r"/0/checkpoint\.json$"), "", 4, 0),
    ("checkpoint-get-flipped-always", "s3", Rule("flip", "GET", r"/0/checkpoint\.json$", times=50),
     "does not match the CRC32C the store keeps", 4, 4),
    ("checkpoint-get-truncated", "s3", Rule("truncate", "GET", r"/0/checkpoint\.json$"), "", 1, None),
    ("data-get-truncated", "azure", Rule("truncate", "GET", SEG + "$", nth=3), "", 1, None),
    ("data-get-flipped", "azure", Rule("flip", "GET", SEG + "$", nth=3), "", 4, 0),
    ("checkpoint-get-flipped", "azure", Rule("flip", "GET", r"/0/checkpoint\.json$"), "", 4, 0),
    ("data-get-flipped", "gcs", Rule("flip", "GET", SEG_GCS, nth=3), "", 4, 0),
    ("checkpoint-get-flipped", "gcs", Rule("flip", "GET", r"%2F0%2Fcheckpoint\.json"), "", 4, 0),
    ("data-get-500", "gcs", Rule("status", "GET", SEG_GCS, nth=3, status=500, code="backendError"),
     "backendError", 1, None),
]


@pytest.mark.parametrize("case,store,rule,names,code,only",
                         [pytest.param(c, b, r, n, x, o, id=f"{b}-{c}") for c, b, r, n, x, o in RESTORE_CASES],
                         indirect=["store"])
def test_restore_store_fault(case, store, rule, names, code, only, binary, bootstrap, topic, backups, tmp_path):
    # Read the module's clean backup of this backend through this test's proxy.
    store.cfg["prefix"] = backups[store.kind]
    target = f"{topic}-r-{store.kind}-{case}-{uuid.uuid4().hex[:4]}"
    store.proxy.set_rules(rule)
    r = restore(binary, tmp_path, bootstrap, topic, target, store, "sf-restore")
    assert rule.fired, f"{case}: the fault never fired; requests: {store.proxy.log}"
    assert_clean(r, store)
    store.proxy.set_rules()
    if only is not None:
        assert r.returncode == only, f"{case}: exit {r.returncode}, want {only}:\n{r.stderr[-2000:]}"
    if r.returncode == 0 and rule.action == "flip":
        assert re.search(r"damaged on the way from the store|does not match the (CRC32C|Content-MD5) the store keeps "
                         r".* reading it again", r.stderr, re.I), r.stderr[-2000:]
        outcome = "ridden out (read again)"
    elif r.returncode == 0:
        retried_warning(r, store)
        outcome = "ridden out"
    else:
        assert r.returncode == code, f"{case}: exit {r.returncode}, want 0 or {code}:\n{r.stderr[-2000:]}"
        assert names in r.stderr, f"{case}: the message does not name {names!r}:\n{r.stderr[-2000:]}"
        if r.returncode != 4:
            # Not damaged data: no advice to replace a segment that is intact.
            assert "intact copy" not in r.stderr, f"{case}: damage advice after a store error:\n{r.stderr[-2000:]}"
        # Whatever reached Kafka before the stop is a correct prefix: no damaged record got through.
        if topic_exists(bootstrap, target):
            got = consume_all(bootstrap, target)
            for p in range(PARTITIONS):
                assert got[p] == expected(p)[: len(got[p])], f"{case}: {target}[{p}] holds records that differ"
        r2 = restore(binary, tmp_path, bootstrap, topic, target, store, "sf-restore")
        assert r2.returncode == 0, f"{case}: the re-run failed:\n{r2.stderr[-2000:]}"
        outcome = f"exit {r.returncode} + rerun"
        print(f"{case}: {error_line(r)}")
    assert_exact(bootstrap, target)
    record(f"restore {store.kind} {case}", f"{outcome}, exact")


# -- multipart ---------------------------------------------------------------------------------
BIG_RECORDS = 90        # x 100 KiB of random bytes: one ~9 MiB segment, more than S3's 8 MiB part


@pytest.fixture(scope="module")
def big_topic(bootstrap) -> tuple[str, list[bytes]]:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbstore-big-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    values = [os.urandom(100 * 1024) for _ in range(BIG_RECORDS)]
    pr = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 1_000_000})
    for v in values:
        pr.produce(name, value=v, partition=0)
    assert pr.flush(60) == 0
    return name, values


@pytest.mark.parametrize("case,store,rule", [
    pytest.param("part-put-500", "s3", Rule("status", "PUT", r"partNumber=2&uploadId=", status=500), id="s3-part-put-500"),
    pytest.param("part-put-corrupted", "s3", Rule("flip_request", "PUT", r"partNumber=1&uploadId="),
                 id="s3-part-put-corrupted"),
    pytest.param("complete-503", "s3", Rule("slowdown", "POST", r"uploadId=", retry_after=1), id="s3-complete-slowdown"),
], indirect=["store"])
def test_multipart_upload_fault(case, store, rule, binary, bootstrap, big_topic, tmp_path):
    topic, values = big_topic
    bid = f"sf-{case}"
    store.proxy.set_rules(rule)
    cfg = {"mode": "backup", "backup_id": bid,
           "source": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
           "storage": store.cfg, "backup": {"compression": "none", "stop_at_current_offsets": True,
                                            "segment_max_bytes": 64 << 20}}
    path = write_cfg(tmp_path, cfg)
    r = run(binary, "backup", ["--config", str(path)], store.tool_env)
    assert rule.fired, f"{case}: the fault never fired (no multipart upload?); requests: {store.proxy.log}"
    assert_clean(r, store)
    store.proxy.set_rules()
    if r.returncode == 0:
        retried_warning(r, store)
        outcome = "ridden out"
    else:
        assert r.returncode == 1, f"{case}: exit {r.returncode}, want 0 or 1:\n{r.stderr[-2000:]}"
        print(f"{case}: {error_line(r)}")
        r2 = run(binary, "backup", ["--config", str(path)], store.tool_env)
        assert r2.returncode == 0, f"{case}: the re-run failed:\n{r2.stderr[-2000:]}"
        outcome = "exit 1 + rerun"
    validate_deep(binary, store, bid)
    target = f"{topic}-{case}"
    rcfg = {"mode": "restore", "backup_id": bid,
            "target": {"bootstrap_servers": [bootstrap], "topics": {"include": [topic]}},
            "storage": store.cfg, "restore": {"topic_mapping": {topic: target}, "create_topics": True}}
    rr = run(binary, "restore", ["--config", str(write_cfg(tmp_path, rcfg))], store.tool_env)
    assert rr.returncode == 0, rr.stderr[-2000:]
    got = consume_all(bootstrap, target, partitions=1)[0]
    assert [v for _, v in got] == values, f"{target}: {len(got)} records, not the {BIG_RECORDS} produced (or they differ)"
    record(f"backup {store.kind} {case}", f"{outcome}, exact")


# -- a checkpoint damaged on the way, still valid JSON -----------------------------------------
@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_backup_resume_with_a_checkpoint_changed_on_the_way(kind, env, binary, bootstrap, tmp_path):
    """checkpoint.json carries no checksum: a digit of `next_offset` changed in the answer (400 ->
    404) must not make a resumed backup skip offsets 400..403 silently."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"kbstore-ckpt-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(name, 1, 1)]).values():
        f.result(timeout=60)
    pr = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})

    def produce(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            pr.produce(name, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0)
        assert pr.flush(60) == 0

    s = Store(kind, env, f"kbstore/{uuid.uuid4().hex[:10]}/")
    try:
        produce(0, 400)
        r = backup(binary, tmp_path, bootstrap, name, s, "sf-ckpt")
        assert r.returncode == 0, r.stderr[-2000:]
        produce(400, 500)
        rule = Rule("rewrite", "GET", r"%2F0%2Fcheckpoint\.json" if kind == "gcs" else r"/0/checkpoint\.json$",
                    pattern=r'"next_offset":\s*400',
                    replacement='"next_offset":404')
        s.proxy.set_rules(rule)
        r = backup(binary, tmp_path, bootstrap, name, s, "sf-ckpt")
        assert rule.fired, f"the checkpoint was never read; requests: {s.proxy.log}"
        s.proxy.set_rules()
        print(f"checkpoint rewritten: exit {r.returncode}: {error_line(r) if r.returncode else ''}")
        v = run(binary, "validate", ["--path", s.url, "--backup-id", "sf-ckpt", "--deep"], s.url_env)
        target = f"{name}-r"
        cfg = {"mode": "restore", "backup_id": "sf-ckpt",
               "target": {"bootstrap_servers": [bootstrap], "topics": {"include": [name]}},
               "storage": s.cfg, "restore": {"topic_mapping": {name: target}, "create_topics": True,
                                             "allow_gaps": False}}
        rr = run(binary, "restore", ["--config", str(write_cfg(tmp_path, cfg))], s.tool_env)
        got = consume_all(bootstrap, target, partitions=1)[0] if rr.returncode == 0 else []
        print(f"validate exit {v.returncode}; restore exit {rr.returncode}, {len(got)} records")
        assert re.search("does not match the (crc32c|Content-MD5) the store keeps", r.stderr, re.I), r.stderr[-2000:]
        assert r.returncode != 0 or (v.returncode == 0 and len(got) == 500), \
            (f"a backup resumed from a changed checkpoint ended with exit 0 but the backup is not whole: "
             f"validate exit {v.returncode}: {v.stdout[-800:]} {v.stderr[-800:]}; restore exit {rr.returncode}, "
             f"{len(got)} of 500 records")
        record(f"backup {kind} resume-checkpoint-rewritten", "ridden out (read again), exact" if r.returncode == 0
               else f"exit {r.returncode}")
    finally:
        s.proxy.stop()
