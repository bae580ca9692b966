"""Reads a topic back with confluent-kafka (an independent client) for the reliability suites' exactness checks."""
from __future__ import annotations

import time
import uuid


def consume_all(bootstrap: str, topic: str, partitions: int) -> dict[int, list[tuple[bytes, bytes]]]:
    """Every record of partitions 0..partitions-1 as (key, value), from the log start to the high watermark."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"kb-check-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False})
    try:
        out: dict[int, list] = {}
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            out[p] = []
            if hi <= lo:
                continue
            c.assign([TopicPartition(topic, p, lo)])
            deadline = time.monotonic() + 60  # bounded: a partition that never reaches hi ends the wait
            while time.monotonic() < deadline:
                m = c.poll(1.0)
                if m is None or m.error():
                    continue
                out[p].append((m.key(), m.value()))
                if m.offset() >= hi - 1:
                    break
        return out
    finally:
        c.close()
