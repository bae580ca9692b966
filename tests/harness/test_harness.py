"""Self-test of the single-node harness with independent clients (kcat, confluent-kafka, curl,
openssl): proves the listeners, users, ACLs, PKI and S3 signature checking are real.
Reads env.json from $KB_TEST_ENV (written by `cluster.py up --profile single`)."""
from __future__ import annotations

import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import client_security, new_topic

KAFKA_LISTENERS = ["PLAINTEXT", "SSL", "MTLS", "SASL_PLAINTEXT", "SASL_SSL"]
SASL_CASES = [(lst, mech) for lst in ("SASL_PLAINTEXT", "SASL_SSL")
              for mech in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")]


@pytest.fixture(scope="module")
def filled_topic(env) -> tuple[str, list[str]]:
    """A topic holding three records, written by the super user over PLAINTEXT."""
    topic = new_topic(env["kafka"]["listeners"]["PLAINTEXT"], partitions=1)
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": env["kafka"]["listeners"]["PLAINTEXT"], "acks": "all"})
    values = [f"seed-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)]
    for v in values:
        p.produce(topic, value=v.encode())
    assert p.flush(30) == 0
    return topic, values


def consume_all(kcat, props: dict, topic: str, count: int):
    return kcat(props, "-C", "-t", topic, "-o", "beginning", "-c", str(count), "-e", "-f", "%s\n", timeout=60)


# ------------------------------------------------------------------ env.json itself
def test_env_json_schema_and_files(env):
    path = Path(os.environ["KB_TEST_ENV"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    k = env["kafka"]
    assert k["version"] == "4.1.1"
    assert set(k["listeners"]) == set(KAFKA_LISTENERS)
    assert Path(k["lib_dir"], f"kafka_2.13-{k['version']}.jar").is_file()
    assert k["java_tools"][:2] == ["java", "-cp"]
    assert [b["node_id"] for b in k["brokers"]] == [1]
    assert set(env["users"]) == {"admin", "backup", "restore", "noacl"}
    assert len(set(env["users"].values())) == 4
    for key in ("ca", "other_ca", "client_cert", "client_key", "client_key_pkcs1", "client_key_encrypted",
                "expired_cert", "expired_key"):
        assert Path(env["tls"][key]).is_file(), key
    s3 = env["s3"]
    assert s3["bucket"] == "kb-test" and s3["region"] == "us-east-1"
    assert s3["endpoint"].startswith("http://127.0.0.1:")
    env_sh = path.with_name("env.sh").read_text()
    assert f"export KB_KAFKA_LISTENERS_SASL_SSL={k['listeners']['SASL_SSL']}" in env_sh


def test_status_reports_all_alive(env):
    p = subprocess.run(["python3", str(Path(__file__).with_name("cluster.py")), "--run-dir", env["run_dir"],
                        "status"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "kafka node 1: pid" in p.stdout and "versitygw: pid" in p.stdout
    assert "dead" not in p.stdout


# ------------------------------------------------------------------ kcat over every listener
@pytest.mark.parametrize("listener", ["PLAINTEXT", "SSL"])
def test_kcat_produce_consume_unauthenticated(env, kcat, listener):
    """PLAINTEXT and one-way SSL clients are ANONYMOUS, a super user (needed for inter-broker)."""
    props = client_security(env, listener)
    topic = new_topic(env["kafka"]["listeners"]["PLAINTEXT"])
    values = [f"{listener}-{i}" for i in range(3)]
    r = kcat(props, "-P", "-t", topic, input_text="\n".join(values) + "\n")
    assert r.returncode == 0, r
    r = consume_all(kcat, props, topic, 3)
    assert r.returncode == 0, r
    assert r.stdout.split() == values


@pytest.mark.parametrize("listener,mechanism", SASL_CASES, ids=[f"{lst}-{m}" for lst, m in SASL_CASES])
def test_kcat_sasl_produce_consume(env, kcat, listener, mechanism):
    props = client_security(env, listener, mechanism, "admin")
    topic = new_topic(env["kafka"]["listeners"]["PLAINTEXT"])
    values = [f"{listener}-{mechanism}-{i}" for i in range(3)]
    r = kcat(props, "-P", "-t", topic, input_text="\n".join(values) + "\n")
    assert r.returncode == 0, r
    r = consume_all(kcat, props, topic, 3)
    assert r.returncode == 0, r
    assert r.stdout.split() == values


@pytest.mark.parametrize("listener,mechanism", SASL_CASES, ids=[f"{lst}-{m}" for lst, m in SASL_CASES])
def test_kcat_wrong_password_refused(env, kcat, listener, mechanism):
    props = client_security(env, listener, mechanism, "backup", password="not-the-password")
    r = kcat(props, "-L", "-m", "5", timeout=30)
    assert r.returncode != 0, r
    assert "invalid credentials" in r.stderr or "Authentication failed" in r.stderr, r


# ------------------------------------------------------------------ mTLS
@pytest.mark.parametrize("key", ["client_key", "client_key_pkcs1", "client_key_encrypted"])
def test_kcat_mtls_maps_cert_to_backup_user(env, kcat, filled_topic, key):
    """CN=backup maps to User:backup: it may read (consume) but not write, unlike ANONYMOUS."""
    topic, values = filled_topic
    props = client_security(env, "MTLS", key=key)
    r = consume_all(kcat, props, topic, len(values))
    assert r.returncode == 0, r
    assert r.stdout.split() == values
    r = kcat(props, "-P", "-t", topic, input_text="should-not-land\n")
    assert "Topic authorization failed" in r.stderr, r


def test_mtls_refuses_client_without_certificate(env, kcat):
    props = {"bootstrap.servers": env["kafka"]["listeners"]["MTLS"], "security.protocol": "SSL",
             "ssl.ca.location": env["tls"]["ca"]}
    r = kcat(props, "-L", "-m", "5", timeout=30)
    assert r.returncode != 0, r
    assert "bad certificate" in r.stderr or "certificate required" in r.stderr, r


def test_mtls_refuses_expired_certificate(env, kcat):
    props = {"bootstrap.servers": env["kafka"]["listeners"]["MTLS"], "security.protocol": "SSL",
             "ssl.ca.location": env["tls"]["ca"], "ssl.certificate.location": env["tls"]["expired_cert"],
             "ssl.key.location": env["tls"]["expired_key"]}
    r = kcat(props, "-L", "-m", "5", timeout=30)
    assert r.returncode != 0, r
    assert "certificate" in r.stderr, r


def test_ssl_with_other_ca_fails_verification(env, kcat):
    props = {"bootstrap.servers": env["kafka"]["listeners"]["SSL"], "security.protocol": "SSL",
             "ssl.ca.location": env["tls"]["other_ca"]}
    r = kcat(props, "-L", "-m", "5", timeout=30)
    assert r.returncode != 0, r
    assert "certificate verify failed" in r.stderr, r


# ------------------------------------------------------------------ PKI files
def openssl(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30, input=input_text)


def test_pki_files_are_what_they_claim(env):
    tls = env["tls"]
    assert "BEGIN PRIVATE KEY" in Path(tls["client_key"]).read_text()
    assert "BEGIN RSA PRIVATE KEY" in Path(tls["client_key_pkcs1"]).read_text()
    assert "BEGIN ENCRYPTED PRIVATE KEY" in Path(tls["client_key_encrypted"]).read_text()
    cert_pub = openssl("x509", "-in", tls["client_cert"], "-noout", "-pubkey").stdout
    for key in ("client_key", "client_key_pkcs1"):
        assert openssl("pkey", "-in", tls[key], "-pubout").stdout == cert_pub, key
    dec = openssl("pkey", "-in", tls["client_key_encrypted"], "-passin", "stdin", "-pubout",
                  input_text=tls["client_key_password"] + "\n")
    assert dec.returncode == 0 and dec.stdout == cert_pub
    assert openssl("pkey", "-in", tls["client_key_encrypted"], "-passin", "pass:wrong").returncode != 0
    subj = openssl("x509", "-in", tls["client_cert"], "-noout", "-subject").stdout
    assert "CN = backup" in subj
    # -checkend 0 exits 1 when the certificate has already expired.
    assert openssl("x509", "-in", tls["expired_cert"], "-noout", "-checkend", "0").returncode == 1
    assert openssl("x509", "-in", tls["client_cert"], "-noout", "-checkend", "3600").returncode == 0
    assert openssl("verify", "-CAfile", tls["ca"], tls["client_cert"]).returncode == 0
    assert openssl("verify", "-CAfile", tls["other_ca"], tls["client_cert"]).returncode != 0


# ------------------------------------------------------------------ ACLs
def test_noacl_user_gets_topic_authorization_failed(env, kcat, filled_topic):
    topic, _ = filled_topic
    props = client_security(env, "SASL_PLAINTEXT", "SCRAM-SHA-256", "noacl")
    r = kcat(props, "-L", "-t", topic, "-m", "5")
    assert "Topic authorization failed" in r.stdout + r.stderr, r
    r = kcat(props, "-C", "-t", topic, "-o", "beginning", "-e", timeout=30)
    assert "Topic authorization failed" in r.stderr, r


def _consumer_error_codes(conf: dict, setup, want: int) -> set[int]:
    from confluent_kafka import Consumer

    c = Consumer(conf)
    codes: set[int] = set()
    try:
        setup(c)
        for _ in range(40):
            m = c.poll(0.5)
            if m is not None and m.error():
                codes.add(m.error().code())
                if want in codes:
                    break
    finally:
        c.close()
    return codes


def test_noacl_error_codes(env, filled_topic):
    """Metadata for the topic carries TOPIC_AUTHORIZATION_FAILED (29); a consumer joining a group
    gets GROUP_AUTHORIZATION_FAILED (30), since noacl has no ACL on groups either."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient

    topic, _ = filled_topic
    conf = client_security(env, "SASL_SSL", "SCRAM-SHA-512", "noacl")
    admin = AdminClient(conf)
    md = admin.list_topics(topic=topic, timeout=20)
    err = md.topics[topic].error
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED == 29
    conf.update({"group.id": f"g-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"})
    codes = _consumer_error_codes(conf, lambda c: c.subscribe([topic]), KafkaError.GROUP_AUTHORIZATION_FAILED)
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in codes


def test_restore_may_create_and_write_backup_may_not_write(env, kcat, filled_topic):
    from confluent_kafka.admin import AdminClient, NewTopic

    conf = client_security(env, "SASL_SSL", "SCRAM-SHA-512", "restore")
    name = f"kbh-restore-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(conf)
    for f in admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=30).values():
        f.result(timeout=60)
    r = kcat(conf, "-P", "-t", name, input_text="restored\n")
    assert r.returncode == 0, r
    topic, _ = filled_topic
    r = kcat(client_security(env, "SASL_SSL", "SCRAM-SHA-512", "backup"), "-P", "-t", topic,
             input_text="nope\n")
    assert "Topic authorization failed" in r.stderr, r
    bconf = client_security(env, "SASL_SSL", "SCRAM-SHA-512", "backup")
    badmin = AdminClient(bconf)
    with pytest.raises(Exception) as ei:
        for f in badmin.create_topics([NewTopic(name + "-b", 1, 1)], operation_timeout=30).values():
            f.result(timeout=60)
    assert "TOPIC_AUTHORIZATION_FAILED" in str(ei.value) or "authoriz" in str(ei.value).lower()


def _commit_offset(conf: dict, group: str, topic: str, offset: int):
    """Commits `offset` for partition 0 of `topic` in `group` with an admin client (FindCoordinator,
    then OffsetCommit, as a restore does); returns the broker's error, or None."""
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(conf)  # kept alive until the future resolves
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, offset)])]
    for fut in admin.alter_consumer_group_offsets(req, request_timeout=30).values():
        try:
            res = fut.result(timeout=60)
        except KafkaException as e:
            return e.args[0]
        errs = [tp.error for tp in res.topic_partitions if tp.error]
        if errs:
            return errs[0]
    return None


def _committed_offset(env, group: str, topic: str) -> int:
    """The group's committed offset for partition 0, read by the super user (-1001: none)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(client_security(env, "PLAINTEXT"))
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])]
    for fut in admin.list_consumer_group_offsets(req, request_timeout=30).values():
        return fut.result(timeout=60).topic_partitions[0].offset
    raise AssertionError("no answer for the group")


def test_restore_may_commit_group_offsets_noacl_may_not(env, filled_topic):
    """OffsetCommit needs Read on the group and Read on the topic: the restore user has both;
    the noacl user has neither and gets GROUP_AUTHORIZATION_FAILED, leaving the offset as it was."""
    from confluent_kafka import KafkaError

    topic, _ = filled_topic
    group = f"kbh-commit-{uuid.uuid4().hex[:8]}"
    err = _commit_offset(client_security(env, "SASL_SSL", "SCRAM-SHA-512", "restore"), group, topic, 2)
    assert err is None, err
    assert _committed_offset(env, group, topic) == 2
    err = _commit_offset(client_security(env, "SASL_SSL", "SCRAM-SHA-512", "noacl"), group, topic, 1)
    assert err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, err
    assert _committed_offset(env, group, topic) == 2


# ------------------------------------------------------------------ confluent-kafka
def test_confluent_kafka_sasl_ssl_scram512_admin_produces_backup_consumes(env):
    from confluent_kafka import Consumer, Producer

    topic = new_topic(env["kafka"]["listeners"]["PLAINTEXT"], partitions=2)
    pconf = client_security(env, "SASL_SSL", "SCRAM-SHA-512", "admin")
    pconf.update({"acks": "all", "enable.idempotence": True})
    p = Producer(pconf)
    sent = {f"k{i}": f"v{i}-{uuid.uuid4().hex[:6]}" for i in range(50)}
    for k, v in sent.items():
        p.produce(topic, key=k.encode(), value=v.encode())
    assert p.flush(30) == 0

    cconf = client_security(env, "SASL_SSL", "SCRAM-SHA-512", "backup")
    cconf.update({"group.id": f"kbh-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c = Consumer(cconf)
    got: dict[str, str] = {}
    try:
        c.subscribe([topic])
        for _ in range(120):
            m = c.poll(0.5)
            if m is None:
                if len(got) == len(sent):
                    break
                continue
            assert m.error() is None, m.error()
            got[m.key().decode()] = m.value().decode()
        c.commit(asynchronous=False)
    finally:
        c.close()
    assert got == sent


@pytest.mark.parametrize("user", [None, "backup"])
def test_java_tools_prefix_runs_topic_command(env, filled_topic, user):
    """java_tools + a class name runs Apache's CLI; command_configs[user] logs in over SASL_SSL."""
    topic, _ = filled_topic
    listener = "PLAINTEXT" if user is None else "SASL_SSL"
    cmd = env["kafka"]["java_tools"] + ["org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                                        env["kafka"]["listeners"][listener], "--list"]
    if user:
        cmd += ["--command-config", env["kafka"]["command_configs"][user]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-1000:]
    assert topic in p.stdout.split()


def test_java_tools_noacl_sees_no_topics(env, filled_topic):
    topic, _ = filled_topic
    cmd = env["kafka"]["java_tools"] + ["org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                                        env["kafka"]["listeners"]["SASL_SSL"], "--list",
                                        "--command-config", env["kafka"]["command_configs"]["noacl"]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-1000:]
    assert topic not in p.stdout.split()


# ------------------------------------------------------------------ S3 (versitygw)
def curl_s3(env, method: str, path: str, secret: str, data: str | None = None) -> tuple[int, str]:
    """curl's own SigV4 (--aws-sigv4); the credentials go in through stdin (-K -), not argv."""
    s3 = env["s3"]
    cfg = f'user = "{s3["access_key"]}:{secret}"\n'
    cmd = ["curl", "-sS", "-K", "-", "-o", "-", "-w", "\n%{http_code}", "--aws-sigv4",
           f"aws:amz:{s3['region']}:s3", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", method]
    if data is not None:
        cmd += ["--data-binary", data]
    cmd.append(s3["endpoint"] + path)
    p = subprocess.run(cmd, input=cfg, capture_output=True, text=True, timeout=30)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body


def test_s3_right_secret_works_wrong_secret_403(env):
    s3 = env["s3"]
    key = f"/{s3['bucket']}/selftest-{uuid.uuid4().hex[:8]}"
    code, body = curl_s3(env, "PUT", key, s3["secret_key"], data="hello-s3")
    assert code == 200, body
    code, body = curl_s3(env, "GET", key, s3["secret_key"])
    assert (code, body) == (200, "hello-s3")
    code, body = curl_s3(env, "GET", f"/{s3['bucket']}?list-type=2", s3["secret_key"])
    assert code == 200 and key.rsplit("/", 1)[1] in body
    code, body = curl_s3(env, "GET", key, s3["secret_key"] + "x")
    assert code == 403 and "SignatureDoesNotMatch" in body
    code, body = curl_s3(env, "PUT", key + "-wrong", "wrong-secret", data="x")
    assert code == 403
    code, _ = curl_s3(env, "GET", key + "-wrong", s3["secret_key"])
    assert code == 404


def test_s3_unsigned_request_refused(env):
    s3 = env["s3"]
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        f"{s3['endpoint']}/{s3['bucket']}?list-type=2"], capture_output=True, text=True, timeout=30)
    assert p.stdout in ("403", "401"), p.stdout


# ------------------------------------------------------------------ the harness's own failure paths
def test_s3_that_never_gets_healthy_is_reported_with_its_log(tmp_path, monkeypatch):
    """A versitygw that exits at once: `up` must say so with its log (the error path once named an
    undefined variable and raised NameError instead)."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import cluster
    fake = tmp_path / "cache" / "bin" / "versitygw"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'versitygw: cannot open the posix root' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(cluster, "KB_CACHE", tmp_path / "cache")
    started: list = []
    with pytest.raises(cluster.HarnessError) as e:
        cluster.start_s3(tmp_path / "run", cluster.free_ports(1)[0], started)
    assert "versitygw not healthy" in str(e.value)
    assert "cannot open the posix root" in str(e.value)
