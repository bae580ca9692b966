"""The container image (deploy/image/build.sh): built twice → one digest; loaded into a real Docker
Engine (Debian's docker.io, started without bridge or NAT by deploy/image/dockerd.sh); run with
`--read-only --user 65532:65532 --network host` for a backup of a topic (produced with
confluent-kafka) to the harness's S3 server and a restore into a new topic, read back record by
record with confluent-kafka.

Environment: KB_TEST_ENV (single-broker harness env.json). Optional: KB_IMAGE_DIR (an image
already built by build.sh --out DIR: the test builds once more and compares), KB_IMAGE_BUILD_DIR
(the release build directory build.sh uses), KB_IMAGE_BINARY (build.sh --binary: skip the release
build, development only), KB_DOCKER_HOST (a running engine; otherwise the test starts its own)."""
from __future__ import annotations

import calendar
import json
import os
import subprocess
import tarfile
import gzip
import time
import uuid
from pathlib import Path

import pytest

import harness_env  # tests/ is on sys.path (its conftest.py)

import confluent_kafka as ck
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "deploy" / "image" / "build.sh"
DOCKERD = REPO / "deploy" / "image" / "dockerd.sh"
DOCKER = "/usr/bin/docker"
UID = 65532

pytestmark = pytest.mark.image


# ---- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def env() -> dict:
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    e = harness_env.load(path)
    if e.get("profile") != "single" or not e.get("s3"):
        pytest.fail("these tests need the single-node harness profile with its S3 server", pytrace=False)
    return e


def build_image(out: Path) -> dict:
    cmd = ["bash", str(BUILD), "--out", str(out)]
    if os.environ.get("KB_IMAGE_BUILD_DIR"):
        cmd += ["--build-dir", os.environ["KB_IMAGE_BUILD_DIR"]]
    if os.environ.get("KB_IMAGE_BINARY"):
        cmd += ["--binary", os.environ["KB_IMAGE_BINARY"]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "digest sha256:" in p.stdout
    return json.loads((out / "image.json").read_text())


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[dict, dict]:
    """Two builds of the same commit: the prebuilt one (KB_IMAGE_DIR) or a fresh one, and another."""
    pre = os.environ.get("KB_IMAGE_DIR")
    first = json.loads((Path(pre) / "image.json").read_text()) if pre else \
        build_image(tmp_path_factory.mktemp("image-a"))
    second = build_image(tmp_path_factory.mktemp("image-b"))
    return first, second


@pytest.fixture(scope="module")
def image(images) -> dict:
    return images[0]


@pytest.fixture(scope="module")
def docker_host(tmp_path_factory) -> str:
    given = os.environ.get("KB_DOCKER_HOST")
    if given:
        yield given
        return
    run = tmp_path_factory.mktemp("dockerd")
    p = subprocess.run(["bash", str(DOCKERD), "start", str(run)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    try:
        yield p.stdout.strip()
    finally:
        subprocess.run(["bash", str(DOCKERD), "stop", str(run)], capture_output=True, text=True, timeout=120)


def docker(host: str, *args: str, timeout: float = 300, extra_env: dict | None = None, check: bool = True):
    e = {**os.environ, "DOCKER_HOST": host, **(extra_env or {})}
    p = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, env=e)
    if check:
        assert p.returncode == 0, f"docker {args[0]}: {p.stderr[-2000:]}"
    return p


@pytest.fixture(scope="module")
def loaded(image, docker_host) -> str:
    docker(docker_host, "load", "-i", image["docker_archive"])
    return image["tag"]


# ---- Kafka helpers (confluent-kafka) ------------------------------------------------------------

def plain(env: dict) -> dict:
    return {"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"]}


def create_topic(env: dict, topic: str, partitions: int) -> None:
    admin = AdminClient(plain(env))
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    deadline = time.time() + 30
    while time.time() < deadline:
        t = admin.list_topics(topic, timeout=10).topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.2)
    pytest.fail(f"topic {topic} has no leaders after 30 s")


def read_all(env: dict, topic: str, partitions: int) -> list[tuple]:
    c = Consumer({**plain(env), "group.id": f"img-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    out = []
    try:
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if hi <= lo:
                continue
            c.assign([TopicPartition(topic, p, lo)])
            deadline = time.time() + 60
            while time.time() < deadline:
                m = c.poll(1.0)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == ck.KafkaError._PARTITION_EOF:
                        break
                    raise AssertionError(str(m.error()))
                out.append((p, m.offset(), m.key(), m.value(), tuple(m.headers() or []), m.timestamp()[1]))
                if m.offset() >= hi - 1:
                    break
    finally:
        c.close()
    return out


# ---- the container's configuration --------------------------------------------------------------

def config_dir(tmp: Path, env: dict) -> Path:
    """A directory for a read-only mount at /config: the CA certificate, configs written later.
    World-readable: the container runs as uid 65532."""
    d = tmp / f"config-{uuid.uuid4().hex[:6]}"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    (d / "ca.crt").write_bytes(Path(env["tls"]["ca"]).read_bytes())
    (d / "ca.crt").chmod(0o644)
    return d


def kafka_section(env: dict, user: str, topics: list[str]) -> dict:
    # SASL_SSL + SCRAM as the seed shows: password from the environment, CA from the mount.
    return {"bootstrap_servers": [env["kafka"]["listeners"]["SASL_SSL"]],
            "security": {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                         "sasl_username": user, "sasl_password": "${KB_PASSWORD}",
                         "ssl_ca_location": "/config/ca.crt"},
            "topics": {"include": topics}}


def s3_storage(env: dict, prefix: str) -> dict:
    s3 = env["s3"]  # no keys here: the container takes them from AWS_* in its environment
    return {"backend": "s3", "bucket": s3["bucket"], "endpoint": s3["endpoint"], "region": s3["region"],
            "path_style": True, "prefix": prefix}


def write_config(d: Path, name: str, cfg: dict) -> str:
    (d / name).write_text(json.dumps(cfg))  # JSON is YAML
    (d / name).chmod(0o644)
    return f"/config/{name}"


def secrets(env: dict, user: str) -> dict:
    return {"KB_PASSWORD": env["users"][user], "AWS_ACCESS_KEY_ID": env["s3"]["access_key"],
            "AWS_SECRET_ACCESS_KEY": env["s3"]["secret_key"]}


def run_args(d: Path) -> list[str]:
    # `-e NAME` without a value: docker takes it from its own environment, so no secret is on a
    # command line. Read-only root, the non-root user, host network (no bridge exists here).
    return ["run", "--read-only", "--user", f"{UID}:{UID}", "--network", "host",
            "-e", "KB_PASSWORD", "-e", "AWS_ACCESS_KEY_ID", "-e", "AWS_SECRET_ACCESS_KEY",
            "-v", f"{d}:/config:ro"]


def assert_no_secret(text: str, sec: dict) -> None:
    for k, v in sec.items():
        assert v not in text, f"the value of {k} appeared in the container's output"


# ---- tests ----------------------------------------------------------------------------------------

def test_two_builds_give_the_same_digest(images):
    a, b = images
    assert a["digest"].startswith("sha256:") and len(a["digest"]) == 71
    assert (a["digest"], a["image_id"]) == (b["digest"], b["image_id"])
    assert a["revision"] == b["revision"]


def test_image_config_and_files(image):
    """Entry point, user, labels, no history; the layer: root-owned files (the home directory is
    the user's), /tmp sticky, no set-id bits, every time the commit time, only what the binary needs."""
    blobs = Path(image["oci_layout"]) / "blobs" / "sha256"
    index = json.loads((Path(image["oci_layout"]) / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
    c = config["config"]
    assert c["Entrypoint"] == ["/usr/local/bin/kafka-backup"]
    assert c["User"] == f"{UID}:{UID}"
    labels = c["Labels"]
    for k in ("version", "revision", "source", "title", "licenses"):
        assert labels.get(f"org.opencontainers.image.{k}"), k
    assert labels["org.opencontainers.image.revision"] == image["revision"]
    assert not config.get("history")
    assert config["created"] == image["created"]
    epoch = calendar.timegm(time.strptime(image["created"], "%Y-%m-%dT%H:%M:%SZ"))
    assert len(manifest["layers"]) == 1
    with gzip.open(blobs / manifest["layers"][0]["digest"].split(":")[1]) as g, tarfile.open(fileobj=g) as t:
        members = t.getmembers()
    pairs = [(m.name.lstrip("./").rstrip("/"), m) for m in members]
    pairs = [(n, m) for n, m in pairs if n]  # the root directory's own entry
    names = [n for n, _ in pairs]
    assert names == sorted(names, key=lambda n: n.split("/")), "the layer's tar is not sorted by path"
    by = dict(pairs)
    for n, m in by.items():
        assert m.mtime == epoch, f"{n} has mtime {m.mtime}, not the commit time {epoch}"
        assert not m.mode & 0o6000, f"{n} is set-id"
        owner = (UID, UID) if n == "home/nonroot" else (0, 0)
        assert (m.uid, m.gid) == owner, f"{n} is owned by {m.uid}:{m.gid}"
    assert by["tmp"].isdir() and by["tmp"].mode & 0o7777 == 0o1777
    assert by["usr/local/bin/kafka-backup"].isfile() and by["usr/local/bin/kafka-backup"].mode & 0o777 == 0o755
    assert by["etc/ssl/certs/ca-certificates.crt"].size > 100_000
    assert "usr/share/zoneinfo/Europe/London" in by
    assert "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" in by and "usr/lib64/ld-linux-x86-64.so.2" in by
    assert f"nonroot:x:{UID}:{UID}:" in _member_text(image, "etc/passwd")
    # Nothing but the binary is executable from PATH: no shell, no package manager.
    assert not any(n.startswith(("bin/", "usr/bin/", "usr/sbin/")) for n in names)


def _member_text(image: dict, name: str) -> str:
    blobs = Path(image["oci_layout"]) / "blobs" / "sha256"
    index = json.loads((Path(image["oci_layout"]) / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
    with gzip.open(blobs / manifest["layers"][0]["digest"].split(":")[1]) as g, tarfile.open(fileobj=g) as t:
        for m in t.getmembers():
            if m.name.lstrip("./") == name:
                return t.extractfile(m).read().decode()
    raise AssertionError(f"{name} not in the layer")


def test_version_runs_in_docker(loaded, docker_host, image):
    p = docker(docker_host, "run", "--rm", "--read-only", "--network", "host", loaded, "--version")
    version = image["tag"].split(":", 1)[1]
    assert p.stdout.strip() == f"kafka-backup {version}"
    inspect = json.loads(docker(docker_host, "image", "inspect", loaded).stdout)[0]
    assert inspect["Id"] == image["image_id"]
    assert inspect["Config"]["User"] == f"{UID}:{UID}"


def test_backup_and_restore_read_only_non_root(env, loaded, docker_host, tmp_path):
    src, dst = f"img-src-{uuid.uuid4().hex[:8]}", f"img-dst-{uuid.uuid4().hex[:8]}"
    create_topic(env, src, 2)
    base_ts = int(time.time() * 1000) - 600_000
    p = Producer({**plain(env), "linger.ms": 20})
    for i in range(300):
        p.produce(src, key=f"k{i}".encode(), value=(f"v{i}-" + uuid.uuid4().hex).encode(), partition=i % 2,
                  timestamp=base_ts + i, headers=[("h", f"{i}".encode())])
    assert p.flush(30) == 0
    source = read_all(env, src, 2)
    assert len(source) == 300

    d = config_dir(tmp_path, env)
    prefix = f"img-{uuid.uuid4().hex[:8]}"
    backup_cfg = write_config(d, "backup.yaml", {
        "mode": "backup", "backup_id": "img", "source": kafka_section(env, "backup", [src]),
        "storage": s3_storage(env, prefix), "backup": {"compression": "zstd", "stop_at_current_offsets": True}})
    sec = secrets(env, "backup")
    r = docker(docker_host, *run_args(d), "--rm", loaded, "--no-progress", "backup", "--config", backup_cfg,
               extra_env=sec, check=False, timeout=300)
    assert_no_secret(r.stdout + r.stderr, sec)
    assert r.returncode == 0, r.stderr[-3000:]

    restore_cfg = write_config(d, "restore.yaml", {
        "mode": "restore", "backup_id": "img", "target": kafka_section(env, "restore", [src]),
        "storage": s3_storage(env, prefix), "restore": {"topic_mapping": {src: dst}, "create_topics": True}})
    sec = secrets(env, "restore")
    r = docker(docker_host, *run_args(d), "--rm", loaded, "--no-progress", "restore", "--config", restore_cfg,
               extra_env=sec, check=False, timeout=300)
    assert_no_secret(r.stdout + r.stderr, sec)
    assert r.returncode == 0, r.stderr[-3000:]

    restored = read_all(env, dst, 2)
    # Record by record: partition, offset, key, value, headers, timestamp.
    assert restored == source


def test_container_process_runs_as_65532(env, loaded, docker_host, tmp_path):
    """A continuous backup keeps the process alive: its uid/gid as the host's /proc shows them,
    then SIGTERM (docker stop) ends it cleanly."""
    src = f"img-uid-{uuid.uuid4().hex[:8]}"
    create_topic(env, src, 1)
    d = config_dir(tmp_path, env)
    cfg = write_config(d, "continuous.yaml", {
        "mode": "backup", "backup_id": "uid", "source": kafka_section(env, "backup", [src]),
        "storage": s3_storage(env, f"img-{uuid.uuid4().hex[:8]}"), "backup": {"continuous": True}})
    sec = secrets(env, "backup")
    name = f"kb-img-{uuid.uuid4().hex[:8]}"
    docker(docker_host, *run_args(d), "-d", "--name", name, loaded, "--no-progress", "backup",
           "--config", cfg, extra_env=sec)
    try:
        status = ""
        deadline = time.time() + 60
        while time.time() < deadline:
            st = json.loads(docker(docker_host, "inspect", name).stdout)[0]["State"]
            assert st["Status"] in ("created", "running"), f"container ended: {st}"
            if st["Pid"]:
                status = Path(f"/proc/{st['Pid']}/status").read_text()
                break
            time.sleep(0.2)
        assert status, "the container never got a process"
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split() == [str(UID)] * 4
        assert fields["Gid"].split() == [str(UID)] * 4
        assert fields["Name"].strip() == "kafka-backup"
        assert fields["CapEff"].strip() == "0" * 16, "a non-root process should hold no capabilities"
        docker(docker_host, "stop", "--time", "30", name, timeout=60)
        st = json.loads(docker(docker_host, "inspect", name).stdout)[0]["State"]
        logs = docker(docker_host, "logs", name)
        assert_no_secret(logs.stdout + logs.stderr, sec)
        assert st["ExitCode"] == 0, f"exit {st['ExitCode']} after SIGTERM: {logs.stderr[-2000:]}"
    finally:
        docker(docker_host, "rm", "-f", name, check=False)
