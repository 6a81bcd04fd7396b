"""Several hako brokers on one SQLite file behave as one cluster (issue 5).

- Metadata lists every live broker and spreads partition leadership over them; a broker
  that stops renewing its lease (kill -9) drops out after the lease.
- A producer on broker A and a consumer on broker B see the same log.
- kill -9 of broker A during a produce load: every acknowledged record is still there,
  no offset is ever assigned twice, and the producer carries on through broker B.
"""
from __future__ import annotations

import signal
import threading
import time

import pytest

import e2e_util as U
from conftest import Broker

LEASE_MS = 2000


def _cluster(tmp_path, n):
    url = f"sqlite://{tmp_path / 'shared.db'}"
    brokers = []
    for i in range(n):
        b = Broker(tmp_path, f"node{i + 1}", storage=url, partitions=6,
                   extra_args=("--node-id", str(i + 1), "--lease-ms", str(LEASE_MS)))
        brokers.append(b.start())
    return brokers


def _metadata(bootstrap, topic=None):
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic=topic, timeout=10)
    return md


def _stop(brokers):
    problems = [p for p in (b.stop() for b in brokers if b.proc) if p]
    return problems


def test_shared_log_and_leadership(tmp_path):
    a, b, c = _cluster(tmp_path, 3)
    try:
        md = _metadata(a.bootstrap, "spread")
        assert sorted(md.brokers) == [1, 2, 3], md.brokers
        leaders = {p.leader for p in md.topics["spread"].partitions.values()}
        assert len(leaders) >= 2, f"leadership not spread over brokers: {leaders}"

        recs = U.make_dataset(seed=51, n=2000, partitions=6, n_large=0)
        U.confluent_produce(a.bootstrap, "shared", recs, "lz4",
                            expect_offsets=U.expected_offsets(recs))
        # consumers bootstrapped on B and on C read A's records, byte for byte
        for broker in (b, c):
            U.verify_topic(f"read through {broker.name}", recs,
                           lambda p, s, n, bs=broker.bootstrap: U.confluent_consume(bs, "shared", p, s, n),
                           partitions=6)

        # a broker that disappears without releasing its lease leaves Metadata
        c.proc.send_signal(signal.SIGKILL)
        c.proc.wait()
        c.stop()  # forget it: its death is the point of this test
        deadline = time.monotonic() + LEASE_MS / 1000 * 4
        while sorted(_metadata(a.bootstrap).brokers) != [1, 2]:
            assert time.monotonic() < deadline, "killed broker still listed after its lease"
            time.sleep(0.2)
    finally:
        problems = _stop([a, b])
    assert not problems, problems


def test_kill_broker_during_produce(tmp_path):
    a, b = _cluster(tmp_path, 2)
    topic = "failover"
    n = 6000
    acked: dict[int, tuple[int, int]] = {}
    errors: list[str] = []
    from confluent_kafka import Producer

    p = Producer(U.confluent_producer_conf(f"{a.bootstrap},{b.bootstrap}", "none",
                                           **{"message.timeout.ms": 60000, "retries": 1000000,
                                              "retry.backoff.ms": 100, "linger.ms": 2,
                                              "topic.metadata.refresh.interval.ms": 500}))

    def cb(idx):
        def done(err, msg):
            if err is None:
                acked[idx] = (msg.partition(), msg.offset())
            else:
                errors.append(str(err))
        return done

    killed = threading.Event()
    try:
        for i in range(n):
            if i == n // 3:
                a.proc.send_signal(signal.SIGKILL)  # mid-load, without warning
                a.proc.wait()
                a.stop()
                killed.set()
            while True:
                try:
                    p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 6,
                              on_delivery=cb(i))
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
            if i % 500 == 0:
                time.sleep(0.05)
        left = p.flush(60)
        assert left == 0, f"{left} records never acknowledged; errors {errors[:5]}"
        assert killed.is_set()
        assert len(acked) >= n - len(errors)

        # Read everything back through B: every acknowledged record is at the offset the
        # broker acknowledged, and no offset holds two records.
        by_offset: dict[tuple[int, int], bytes] = {}
        from confluent_kafka import Consumer, TopicPartition
        c = U.confluent_consumer(b.bootstrap)
        try:
            for part in range(6):
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)
                c.assign([TopicPartition(topic, part, lo)])
                seen = 0
                deadline = time.monotonic() + 20
                while seen < hi - lo:
                    assert time.monotonic() < deadline, f"partition {part}: read {seen} of {hi - lo}"
                    m = c.poll(1)
                    if m is None or m.error():
                        continue
                    key = (part, m.offset())
                    assert key not in by_offset, f"offset {key} delivered twice"
                    by_offset[key] = m.value()
                    seen += 1
                # offsets are dense
                offs = sorted(o for (pp, o) in by_offset if pp == part)
                assert offs == list(range(lo, hi)), f"partition {part}: offsets not dense"
        finally:
            c.close()
        lost = [i for i, where in acked.items() if by_offset.get(where) != b"v%d" % i]
        assert not lost, f"{len(lost)} acknowledged records missing or moved, e.g. {lost[:5]}"
    finally:
        problems = _stop([b])
        a.stop()
    assert not problems, problems


def test_acknowledged_records_survive_kill_and_restart(tmp_path):
    """acks=all on SQLite (synchronous=FULL): kill -9 the only broker right after the
    acknowledgements, restart it on the same file, and every record is there."""
    (a,) = _cluster(tmp_path, 1)
    recs = U.make_dataset(seed=52, n=3000, partitions=6, n_large=0)
    U.confluent_produce(a.bootstrap, "durable", recs, "gzip",
                        expect_offsets=U.expected_offsets(recs), acks="all")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    a.stop()
    (again,) = _cluster(tmp_path, 1)  # same shared.db
    try:
        U.verify_topic("after kill -9 and restart", recs,
                       lambda p, s, n: U.confluent_consume(again.bootstrap, "durable", p, s, n),
                       partitions=6)
    finally:
        problems = _stop([again])
    assert not problems, problems
