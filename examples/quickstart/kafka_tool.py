"""The quickstart's independent Kafka client (confluent-kafka, i.e. librdkafka — not our code):
produces the sample data, consumes a group part of the way, and checks a restore record by record.

  kafka_tool.py produce BOOTSTRAP          topics qs-orders (3 partitions) and qs-payments (2)
  kafka_tool.py consume-group BOOTSTRAP    group qs-billing reads part of qs-orders and commits
  kafka_tool.py verify BOOTSTRAP SRC=DST... [--window START END] [--group G]

verify exits 1 when any partition differs (count, order, key, value, headers or timestamp) or
when the group's translated offset does not point at the record it pointed at in the source."""
from __future__ import annotations

import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TOPICS = {"qs-orders": 3, "qs-payments": 2}
ORDERS = 3000
PAYMENTS = 1500
GROUP = "qs-billing"
GROUP_READS = {0: 250, 1: 500, 2: None}  # records per partition; None: all
BASE_TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z; record i gets BASE_TS + i seconds
DEADLINE_S = 60  # every wait below is bounded by this


def create_topics(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, n, 1) for t, n in TOPICS.items()])
    for topic, fut in futures.items():
        try:
            fut.result(30)
        except KafkaException as e:
            if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
        print(f"  created {topic} ({TOPICS[topic]} partitions)")


def produce(bootstrap: str) -> None:
    create_topics(bootstrap)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                  "compression.type": "lz4", "linger.ms": 5})
    for i in range(ORDERS):
        p.produce("qs-orders", key=f"customer-{i % 97}".encode(), value=f'{{"order":{i},"amount":{i % 500}}}'.encode(),
                  headers=[("source", b"quickstart"), ("seq", str(i).encode())], timestamp=BASE_TS + i * 1000)
        p.poll(0)
    for i in range(PAYMENTS):
        key = None if i % 10 == 0 else f"account-{i % 31}".encode()  # some null keys
        value = None if i % 50 == 49 else f"payment-{i}".encode()    # some tombstones
        p.produce("qs-payments", key=key, value=value, headers=[("currency", b"EUR"), ("currency", b"USD")],
                  timestamp=BASE_TS + i * 1000)
        p.poll(0)
    left = p.flush(DEADLINE_S)
    if left:
        sys.exit(f"kafka_tool: {left} records not acknowledged after {DEADLINE_S} s")
    print(f"  produced {ORDERS} records to qs-orders (keys, 2 headers each, lz4) and {PAYMENTS} to qs-payments "
          "(null keys, tombstones, repeated header keys)")


def consume_group(bootstrap: str) -> None:
    """qs-billing reads GROUP_READS[p] records of each partition p of qs-orders (None: all of it)
    and commits the position after the last one read."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    commits = []
    try:
        for part, want in GROUP_READS.items():
            lo, hi = c.get_watermark_offsets(TopicPartition("qs-orders", part), timeout=20)
            want = hi - lo if want is None else min(want, hi - lo)
            c.assign([TopicPartition("qs-orders", part, lo)])
            read, next_offset = 0, lo
            deadline = time.monotonic() + DEADLINE_S
            while read < want and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    sys.exit(f"kafka_tool: consumer error {m.error()}")
                read, next_offset = read + 1, m.offset() + 1
            if read < want:
                sys.exit(f"kafka_tool: group {GROUP} read only {read} of qs-orders[{part}] in {DEADLINE_S} s")
            commits.append(TopicPartition("qs-orders", part, next_offset))
            c.unassign()
        c.commit(offsets=commits, asynchronous=False)
    finally:
        c.close()  # the group must have no members when the restore commits its offsets
    offsets = ", ".join(f"p{tp.partition}={tp.offset}" for tp in commits)
    print(f"  group {GROUP} read part of qs-orders (all of partition 2) and committed {offsets}")


def read_partitions(bootstrap: str, topic: str) -> dict[int, list[tuple]]:
    """Every record of every partition: (offset, key, value, headers, timestamp)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic, timeout=20).topics[topic]
    if md.error:
        sys.exit(f"kafka_tool: topic {topic}: {md.error}")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "qs-verify-reader", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    out: dict[int, list[tuple]] = {}
    try:
        for part in sorted(md.partitions):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=20)
            recs: list[tuple] = []
            if hi > lo:
                c.assign([TopicPartition(topic, part, lo)])
                deadline = time.monotonic() + DEADLINE_S
                while time.monotonic() < deadline:
                    m = c.poll(0.5)
                    if m is None:
                        continue
                    if m.error():
                        sys.exit(f"kafka_tool: reading {topic}/{part}: {m.error()}")
                    recs.append((m.offset(), m.key(), m.value(), tuple(m.headers() or ()), m.timestamp()[1]))
                    if m.offset() >= hi - 1:
                        break
                c.unassign()
            out[part] = recs
    finally:
        c.close()
    return out


def committed(bootstrap: str, group: str, topic: str, partitions) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, p) for p in partitions], timeout=20)}
    finally:
        c.close()


def verify(bootstrap: str, pairs: list[tuple[str, str]], window: tuple[int, int] | None, group: str | None) -> int:
    bad = 0
    for src, dst in pairs:
        s, d = read_partitions(bootstrap, src), read_partitions(bootstrap, dst)
        if sorted(s) != sorted(d):
            print(f"  MISMATCH {src} has partitions {sorted(s)}, {dst} has {sorted(d)}")
            bad += 1
            continue
        total_want = total_got = 0
        for part in sorted(s):
            want = [r[1:] for r in s[part] if window is None or window[0] <= r[4] <= window[1]]
            got = [r[1:] for r in d[part]]
            same = want == got
            bad += not same
            total_want, total_got = total_want + len(want), total_got + len(got)
            print(f"  {src}[{part}] {len(want):5d} records{' in window' if window else ''}  ->  {dst}[{part}] "
                  f"{len(got):5d} records   {'identical (key, value, headers, timestamp)' if same else 'MISMATCH'}")
        print(f"  {src}: {total_want} records{' in window' if window else ''}, {dst}: {total_got} records   "
              f"{'OK' if total_want == total_got else 'MISMATCH'}")
        bad += total_want != total_got
        if group and src == "qs-orders":
            bad += verify_group(bootstrap, group, src, dst, s, d)
    return bad


def verify_group(bootstrap: str, group: str, src: str, dst: str, s: dict, d: dict) -> int:
    """The translated offset must point at the record the source offset pointed at (or at the end)."""
    bad = 0
    cs, cd = committed(bootstrap, group, src, sorted(s)), committed(bootstrap, group, dst, sorted(d))
    for part in sorted(s):
        so, do = cs[part], cd[part]
        src_at = next((r[1:3] for r in s[part] if r[0] == so), None)
        dst_at = next((r[1:3] for r in d[part] if r[0] == do), None)
        if so < 0:  # nothing committed in the source: nothing to translate
            ok, what = do < 0, "no offset"
        elif src_at is None:  # the group had read the whole partition: the end of the target
            ok = do == (d[part][-1][0] + 1 if d[part] else 0)
            what = "end of partition"
        else:
            ok = dst_at == src_at
            what = f"key {src_at[0].decode()}"
        bad += not ok
        print(f"  group {group}: {src}[{part}] offset {so}  ->  {dst}[{part}] offset {do}   "
              f"{'same record (' + what + ')' if ok else 'MISMATCH'}")
    return bad


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, bootstrap, rest = argv[0], argv[1], argv[2:]
    if cmd == "produce":
        produce(bootstrap)
        return 0
    if cmd == "consume-group":
        consume_group(bootstrap)
        return 0
    if cmd == "verify":
        window, group, pairs = None, None, []
        while rest:
            a = rest.pop(0)
            if a == "--window":
                window = (int(rest.pop(0)), int(rest.pop(0)))
            elif a == "--group":
                group = rest.pop(0)
            else:
                src, _, dst = a.partition("=")
                pairs.append((src, dst))
        bad = verify(bootstrap, pairs, window, group)
        print(f"  {'all checks passed' if not bad else f'{bad} check(s) FAILED'}")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
