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


@pytest.mark.parametrize("section,expect", [
    ("source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\nstorage:\n  backend: azure\n  account_name: a\n"
     "  container_name: c\n", "storage.backend: azure is not supported yet"),
    ("source:\n  bootstrap_servers: [\"127.0.0.1:1\"]\n  security:\n    security_protocol: SASL_PLAINTEXT\n"
     "    sasl_mechanism: GSSAPI\nstorage:\n  path: /tmp/unused\n", "GSSAPI is not built into this binary"),
])
def test_settings_this_binary_cannot_honour_exit_2_before_connecting(tmp_path, section, expect):
    cfg = tmp_path / "backup.yaml"
    cfg.write_text("mode: backup\nbackup_id: nightly\n" + section)
    r = run(["backup", "--config", str(cfg)])
    assert r.returncode == 2, r.stderr
    assert expect in r.stderr
