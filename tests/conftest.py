"""Fixtures shared by every pytest file under tests/ (the harness's own live in tests/harness)."""
from __future__ import annotations

from pathlib import Path

import pytest


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
