"""Drives the built `kafka-backup` binary ($KB_BINARY) as a user would: exit codes, redaction
of secrets in `config`, and configuration errors naming the variable, key and line."""

import json
import os
import pathlib
import subprocess

import pytest

DATA = pathlib.Path(os.environ.get("KB_CLI_TEST_DATA", pathlib.Path(__file__).parent / "data"))
SEED = DATA / "seed-secure-backup.yaml"
SEED_KEYS = DATA / "seed-secure-backup-static-keys.yaml"
MISSPELLED = DATA / "misspelled-compression.yaml"

# Distinctive values so a leak anywhere in the output is unmistakable.
SECRETS = {
    "KAFKA_PASSWORD": "kafka-pw-Zq8#v1",
    "SSL_KEY_PASSWORD": "key-pw-Lm3!x9",
    "AWS_ACCESS_KEY_ID": "AKIAKBTESTEXAMPLE77",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYKBTEST",
}
SECRET_VARS = list(SECRETS) + ["AWS_SESSION_TOKEN"]


def binary():
    path = os.environ.get("KB_BINARY")
    assert path, "KB_BINARY must name the built kafka-backup binary (meson test sets it)"
    assert os.access(path, os.X_OK), f"{path} is not executable"
    return path


def run(args, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    env.update(extra_env or {})
    return subprocess.run([binary(), *args], env=env, capture_output=True, text=True, timeout=30)


def assert_no_secret(result):
    for name, value in SECRETS.items():
        assert value not in result.stdout, f"{name}'s value leaked to stdout"
        assert value not in result.stderr, f"{name}'s value leaked to stderr"


def test_help_exits_0_and_lists_commands():
    r = run(["--help"])
    assert r.returncode == 0, r.stderr
    for cmd in ("backup", "restore", "list", "describe", "validate", "config"):
        assert cmd in r.stdout
    assert "--log-level" in r.stdout


def test_subcommand_help_exits_0():
    r = run(["describe", "--help"])
    assert r.returncode == 0, r.stderr
    assert "--backup-id" in r.stdout


def test_version_exits_0():
    r = run(["--version"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("kafka-backup ")


@pytest.mark.parametrize("args", [["--frobnicate"], ["backup", "--config", str(SEED), "--frobnicate"],
                                  ["frobnicate"], [], ["list"]])
def test_usage_errors_exit_2_with_usage(args):
    r = run(args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "usage:" in r.stderr.lower()


def test_seed_example_prints_with_secrets_redacted():
    r = run(["config", "--config", str(SEED)], SECRETS)
    assert r.returncode == 0, r.stderr
    assert 'sasl_password: "***"' in r.stdout
    assert "backup-service" in r.stdout
    assert "compression: zstd" in r.stdout
    assert "include_offset_headers" in r.stderr  # the warning that it is ignored
    assert_no_secret(r)


def test_seed_example_with_static_keys_redacts_every_secret():
    for fmt in ("yaml", "json"):
        r = run(["--log-level", "debug", "config", "--config", str(SEED_KEYS), "--format", fmt], SECRETS)
        assert r.returncode == 0, r.stderr
        assert_no_secret(r)
        if fmt == "json":
            doc = json.loads(r.stdout)
            sec = doc["source"]["security"]
            assert sec["sasl_password"] == "***"
            assert sec["ssl_key_password"] == "***"
            assert doc["storage"]["access_key"] == "***"
            assert doc["storage"]["secret_key"] == "***"
            assert doc["metrics"] == {"enabled": False, "bind_address": "127.0.0.1", "port": 9464,
                                      "path": "/metrics", "keep_alive_seconds": 0,
                                      "max_partition_labels": 100}
        else:
            for key in ("sasl_password", "ssl_key_password", "access_key", "secret_key"):
                assert f'{key}: "***"' in r.stdout, key


def test_unset_password_exits_2_naming_the_variable_and_line():
    r = run(["config", "--config", str(SEED)])
    assert r.returncode == 2, r.stdout
    assert "KAFKA_PASSWORD" in r.stderr
    assert "seed-secure-backup.yaml:13:" in r.stderr
    assert r.stdout == ""


def test_backup_with_unset_password_exits_2():
    r = run(["backup", "--config", str(SEED_KEYS)], {"SSL_KEY_PASSWORD": "x"})
    assert r.returncode == 2
    assert "KAFKA_PASSWORD" in r.stderr
    assert "AWS_ACCESS_KEY_ID" in r.stderr  # every unset variable is reported


def test_misspelled_key_exits_2_naming_key_line_and_suggestion():
    r = run(["config", "--config", str(MISSPELLED)])
    assert r.returncode == 2, r.stdout
    assert "backup.compresion" in r.stderr
    assert "misspelled-compression.yaml:9:3" in r.stderr
    assert "compression" in r.stderr.replace("compresion", "")


def test_backup_validates_then_checks_tls_files_before_connecting():
    r = run(["backup", "--config", str(SEED)], SECRETS)
    assert r.returncode == 2, r.stderr  # the seed's /certs files do not exist on this machine
    assert "/certs/ca.crt" in r.stderr
    assert "not implemented" not in r.stderr
    assert_no_secret(r)


def test_restore_of_a_missing_backup_names_it_and_the_fix(tmp_path):
    cfg = tmp_path / "restore.yaml"
    cfg.write_text("mode: restore\nbackup_id: nightly\ntarget:\n  bootstrap_servers: [\"127.0.0.1:1\"]\n"
                   f"storage:\n  backend: filesystem\n  path: {tmp_path}\n")
    r = run(["restore", "--config", str(cfg)])
    assert r.returncode == 1, r.stderr
    assert "backup 'nightly' not found" in r.stderr
    assert "kafka-backup list" in r.stderr
    assert "not implemented" not in r.stderr


def test_restore_without_a_target_section_exits_2(tmp_path):
    cfg = tmp_path / "restore.yaml"
    cfg.write_text(f"mode: restore\nbackup_id: nightly\nstorage:\n  backend: filesystem\n  path: {tmp_path}\n")
    r = run(["restore", "--config", str(cfg)])
    assert r.returncode == 2, r.stderr
    assert "target" in r.stderr


def error_lines(text):
    return [line for line in text.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("mode,section,expect", [
    ("backup", "source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  backend: azure\n  account_name: a\n"
     "  container_name: c\n", "storage.account_name 'a' is not a storage account name"),
    ("backup", "source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\n  security:\n    security_protocol: SASL_PLAINTEXT\n"
     "    sasl_mechanism: GSSAPI\nstorage:\n  path: /tmp/unused\n", "GSSAPI is not built into this binary"),
    ("backup", "source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  path: /tmp/unused\n"
     "backup:\n  start_offset:\n    specific: {orders: {0: 42}}\n", "specific offsets are not supported"),
    ("restore", "target:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  path: /tmp/unused\n"
     "restore:\n  purge_topics: true\n", "restore.purge_topics: true is not supported"),
    ("restore", "target:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  backend: gcs\n  bucket: Not_A_Bucket\n",
     "storage.bucket: is not a valid GCS bucket name"),
    # Issue #14 item 5: `config` accepted these, the commands refused them.
    ("backup", "source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  backend: s3\n  bucket: b\n"
     "  credentials: bogus\n", "storage.credentials"),
    ("restore", "target:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  backend: s3\n  bucket: b\n"
     "  credentials: IMDS\n", "storage.credentials"),
    ("backup", "source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\n  topics:\n    include: [orders, __consumer_offsets]\n"
     "storage:\n  path: /tmp/unused\n", "source.topics.include names the internal topic '__consumer_offsets'"),
    ("backup", "source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  path: /tmp/unused\n"
     "backup:\n  internal_topics: [__transaction_state]\n",
     "backup.internal_topics names the internal topic '__transaction_state'"),
])
def test_settings_this_binary_cannot_honour_exit_2_before_connecting(tmp_path, mode, section, expect):
    """`config` runs the command's own checks: it refuses exactly what `backup`/`restore` refuse."""
    cfg = tmp_path / f"{mode}.yaml"
    cfg.write_text(f"mode: {mode}\nbackup_id: nightly\n" + section)
    r = run([mode, "--config", str(cfg)])
    assert r.returncode == 2, r.stderr
    assert expect in r.stderr
    c = run(["config", "--config", str(cfg)])
    assert c.returncode == r.returncode, c.stdout + c.stderr
    assert c.stdout == ""
    assert error_lines(c.stderr) == error_lines(r.stderr), (c.stderr, r.stderr)


def run_measured(args, timeout=20, memory_limit=1 << 30):
    """Runs the binary with an address-space cap (so a runaway read cannot hurt the machine);
    returns (returncode, stderr, seconds, peak RSS in KiB) from wait4."""
    import resource
    import tempfile
    import threading
    import time

    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        p = subprocess.Popen([binary(), *args], stdout=subprocess.DEVNULL, stderr=err, env=env, preexec_fn=cap)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        seconds = time.monotonic() - start
        err.seek(0)
        return os.waitstatus_to_exitcode(status), err.read().decode(errors="replace"), seconds, usage.ru_maxrss


@pytest.mark.parametrize("command", ["config", "backup", "restore"])
def test_config_from_dev_zero_is_refused_at_once_with_little_memory(command):
    code, err, seconds, rss_kib = run_measured([command, "--config", "/dev/zero"])
    assert code == 2, err
    assert "config file /dev/zero is not a regular file" in err
    assert "--config" in err  # the fix
    assert seconds < 5, seconds
    # A forked child's peak RSS starts at this (pytest) process's own peak, which Linux carries across exec:
    # bound what the binary adds on top of it (reading /dev/zero until the cap would add up to 1 GiB).
    import resource
    inherited_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert rss_kib < inherited_kib + 64 * 1024, (rss_kib, inherited_kib)


def test_config_from_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    code, err, seconds, _ = run_measured(["config", "--config", str(fifo)], timeout=10)
    assert code == 2, err
    assert f"config file {fifo} is not a regular file" in err
    assert seconds < 5, seconds


def test_config_that_is_a_directory_says_so(tmp_path):
    r = run(["backup", "--config", str(tmp_path)])
    assert r.returncode == 2, r.stderr
    assert f"config file {tmp_path} is a directory" in r.stderr
    assert f"--config {tmp_path}/backup.yaml" in r.stderr
    assert "the configuration is empty" not in r.stderr


def test_config_larger_than_4_mib_is_refused(tmp_path):
    cfg = tmp_path / "huge.yaml"
    line = "# " + "x" * 1021 + "\n"
    cfg.write_text("mode: backup\n" + line * (4 * 1024 + 1))
    code, err, seconds, rss_kib = run_measured(["config", "--config", str(cfg)])
    assert code == 2, err
    assert f"config file {cfg} is larger than 4 MiB" in err
    assert seconds < 5, seconds


@pytest.mark.parametrize("name,why", [
    ("orders restored", "character 0x20 at position 7 is not allowed"),
    ("orders/eu", "character '/' at position 7 is not allowed"),
    ("..", "'.' and '..' are reserved"),
    ("t" * 250, "250 characters long, at most 249"),
])
def test_invalid_topic_mapping_target_exits_2_at_config_time(tmp_path, name, why):
    cfg = tmp_path / "restore.yaml"
    cfg.write_text("mode: restore\nbackup_id: nightly\ntarget:\n  bootstrap_servers: [\"127.0.0.1:1\"]\n"
                   f"storage:\n  path: {tmp_path}\nrestore:\n  topic_mapping:\n    orders: \"{name}\"\n")
    for command in ("config", "restore"):
        r = run([command, "--config", str(cfg)])
        assert r.returncode == 2, (command, r.stderr)
        assert "restore.topic_mapping.orders" in r.stderr, r.stderr
        assert "is not a valid Kafka topic name" in r.stderr, r.stderr
        assert why in r.stderr, r.stderr
        assert "backup 'nightly' not found" not in r.stderr  # refused before the store is read


@pytest.mark.parametrize("url", ["s3://AKIAEXAMPLE:url-s3cr3t@bucket/prod",
                                 "s3://bucket/prod?endpoint=http://u:url-s3cr3t@127.0.0.1:7070",
                                 "gs://user:url-s3cr3t@bucket/prod",
                                 "azure://backups:url-s3cr3t@acct.blob.core.windows.net/prod"])
def test_storage_url_with_a_password_exits_2_without_echoing_it(url):
    # Issue #13 item 3: storage URLs are read by Boost.URL; credentials never belong in them.
    r = run(["list", "--path", url])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "user:password@" in r.stderr
    assert "url-s3cr3t" not in r.stdout + r.stderr
