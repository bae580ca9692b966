"""Fixtures shared by every pytest file under tests/ (the harness's own live in tests/harness)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import harness_env

# Tests talk only to loopback: a credential chain must never fall through to a cloud metadata address
# (169.254.169.254) or a cloud login host. Tests of those sources set their own loopback endpoints.
for _name, _value in {"AWS_EC2_METADATA_DISABLED": "true",
                      "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
                      "AZURE_IMDS_ENDPOINT": "http://127.0.0.1:9",
                      "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9",
                      "GCE_METADATA_HOST": "127.0.0.1:9"}.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(scope="session")
def env() -> dict:
    """The single-broker harness ($KB_TEST_ENV, written by tests/harness/cluster.py up)."""
    path = os.environ.get("KB_TEST_ENV")
    if not path or not Path(path).is_file():
        pytest.fail("$KB_TEST_ENV must name the harness env.json (tests/harness/cluster.py up)", pytrace=False)
    e = harness_env.load(path)
    if e["profile"] != "single":
        pytest.fail("these tests need the single-node harness profile")
    return e


@pytest.fixture(scope="session")
def binary() -> Path:
    """The built kafka-backup ($KB_BINARY)."""
    p = os.environ.get("KB_BINARY")
    assert p and Path(p).is_file(), "KB_BINARY must name the built kafka-backup binary"
    return Path(p)


@pytest.fixture(scope="session")
def dump_tool(binary) -> Path:
    """tests/pipeline/backup/dump_segment beside the binary's build tree ($KB_DUMP_SEGMENT overrides)."""
    p = Path(os.environ.get("KB_DUMP_SEGMENT", binary.parent.parent / "tests/pipeline/backup/dump_segment"))
    assert p.is_file(), f"dump_segment test tool not found at {p} (ninja tests/pipeline/backup/dump_segment)"
    return p


@pytest.fixture(scope="session")
def modern_librdkafka(tmp_path_factory) -> Path:
    """A directory holding librdkafka.so.1 -> the librdkafka bundled in the confluent-kafka wheel.

    Debian 12's kcat links librdkafka 2.0.2, whose SCRAM client-final-message repeats the client
    nonce; Kafka 4.x compares nonces strictly and refuses it (fixed in librdkafka 2.6.1,
    confluentinc/librdkafka#4895). kcat run with LD_LIBRARY_PATH set to this directory uses the
    wheel's current librdkafka instead (same soname, same ABI)."""
    import confluent_kafka

    libs = sorted((Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob("librdkafka-*.so.1"))
    if not libs:
        pytest.fail("confluent-kafka wheel has no bundled librdkafka (confluent_kafka.libs/librdkafka-*.so.1)")
    d = tmp_path_factory.mktemp("librdkafka")
    (d / "librdkafka.so.1").symlink_to(libs[0])
    return d


@pytest.fixture(scope="session")
def rdkafka_dir(modern_librdkafka) -> Path:
    """The same directory under the name the engine tests use."""
    return modern_librdkafka
