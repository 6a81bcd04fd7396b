"""Retention (retention.ms, retention.bytes), compaction (cleanup.policy=compact) and
DeleteRecords, enforced by the broker's periodic maintenance task, seen by real clients.
Runs on whichever engine HAKO_E2E_ENGINE selects."""
from __future__ import annotations

import time

import pytest

import e2e_util as U
from conftest import Broker


@pytest.fixture(scope="module")
def mbroker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("retention"), "maint", partitions=1,
               extra_args=("--maintenance-interval-ms", "200")).start()
    yield b
    problem = b.stop()
    assert problem is None, problem


def _admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


def _create(bootstrap, topic, configs):
    from confluent_kafka.admin import NewTopic
    admin = _admin(bootstrap)  # must outlive its futures
    for f in admin.create_topics([NewTopic(topic, 1, 1, config=configs)]).values():
        f.result()


def _produce(bootstrap, topic, items):
    """items: (key, value, timestamp_ms) in order; returns their offsets."""
    from confluent_kafka import Producer
    offsets = []
    p = Producer(U.confluent_producer_conf(bootstrap, "none", **{"linger.ms": 0}))
    for k, v, ts in items:
        p.produce(topic, key=k, value=v, partition=0, timestamp=ts,
                  on_delivery=lambda err, m: offsets.append(m.offset()) if err is None else None)
        p.flush(10)  # one batch per record, so retention can drop them one by one
    return offsets


def _watermarks(bootstrap, topic):
    return U.confluent_watermarks(bootstrap, topic, 0)


def _read_all(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    lo, hi = _watermarks(bootstrap, topic)
    c = U.confluent_consumer(bootstrap)
    out = []
    try:
        c.assign([TopicPartition(topic, 0, lo)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                if out and out[-1][0] >= hi - 1:
                    break
                if not out and lo == hi:
                    break
                continue
            if m.error():
                continue
            out.append((m.offset(), m.key(), m.value()))
            if m.offset() >= hi - 1:
                break
    finally:
        c.close()
    return out


def _wait_for(what, cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_retention_ms_drops_old_batches(mbroker):
    now = int(time.time() * 1000)
    _create(mbroker.bootstrap, "ret-ms", {"retention.ms": "60000"})
    old = [(b"k%d" % i, b"old", now - 3_600_000) for i in range(3)]
    new = [(b"n%d" % i, b"new", now) for i in range(2)]
    _produce(mbroker.bootstrap, "ret-ms", old + new)
    _wait_for("log start to pass the old records",
              lambda: _watermarks(mbroker.bootstrap, "ret-ms") == (3, 5))
    assert [v for _, _, v in _read_all(mbroker.bootstrap, "ret-ms")] == [b"new", b"new"]


def test_retention_bytes_keeps_newest(mbroker):
    now = int(time.time() * 1000)
    _create(mbroker.bootstrap, "ret-bytes", {"retention.bytes": "300"})
    _produce(mbroker.bootstrap, "ret-bytes", [(b"k", b"x" * 100, now) for _ in range(6)])
    # wait for the trim to settle: a maintenance pass may run while the records still
    # arrive (several objects on s3) and trim in two steps
    def settled():
        lo, hi = _watermarks(mbroker.bootstrap, "ret-bytes")
        return lo > 0 and hi == 6 and hi - lo <= 2
    _wait_for("retention.bytes to trim", settled)
    lo, hi = _watermarks(mbroker.bootstrap, "ret-bytes")
    assert hi == 6 and 1 <= hi - lo <= 2, (lo, hi)


def test_compaction_keeps_latest_per_key(mbroker):
    now = int(time.time() * 1000)
    _create(mbroker.bootstrap, "compacted", {"cleanup.policy": "compact", "delete.retention.ms": "0"})
    items = [(b"a", b"a1", now - 5000), (b"b", b"b1", now - 5000), (b"a", b"a2", now - 4000),
             (b"c", b"c1", now - 4000), (b"c", None, now - 3000), (b"b", b"b2", now - 2000)]
    _produce(mbroker.bootstrap, "compacted", items)

    def compacted():
        return [(o, k, v) for o, k, v in _read_all(mbroker.bootstrap, "compacted")]
    _wait_for("compaction", lambda: len(compacted()) == 2)
    # the newest value of each key survives at its original offset; c's tombstone is gone
    assert compacted() == [(2, b"a", b"a2"), (5, b"b", b"b2")]
    assert _watermarks(mbroker.bootstrap, "compacted")[1] == 6  # high watermark unchanged


def _delete_records_v1(bootstrap, topic, partition, offset):
    """DeleteRecords v1 by hand (confluent-kafka 1.7 and kafka-python 2.0.2 lack it);
    returns (low_watermark, error_code)."""
    import socket
    import struct
    host, port = bootstrap.split(":")
    name = topic.encode()
    body = (struct.pack(">i", 1) + struct.pack(">h", len(name)) + name + struct.pack(">i", 1)
            + struct.pack(">iq", partition, offset) + struct.pack(">i", 10000))
    header = struct.pack(">hhi", 21, 1, 7) + struct.pack(">h", 4) + b"test"
    frame = header + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        resp = s.recv(size, socket.MSG_WAITALL)
    # correlation id, throttle, topics count, name, partitions count, partition, low, error
    pos = 4 + 4 + 4
    (n,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + n + 4
    _part, low, err = struct.unpack_from(">iqh", resp, pos)
    return low, err


def test_delete_records(mbroker):
    now = int(time.time() * 1000)
    _create(mbroker.bootstrap, "trim", {})
    _produce(mbroker.bootstrap, "trim", [(b"k", b"%d" % i, now) for i in range(5)])
    assert _delete_records_v1(mbroker.bootstrap, "trim", 0, 3) == (3, 0)
    assert _watermarks(mbroker.bootstrap, "trim") == (3, 5)
    assert [v for _, _, v in _read_all(mbroker.bootstrap, "trim")] == [b"3", b"4"]
    # beyond the high watermark: OFFSET_OUT_OF_RANGE, nothing moves
    assert _delete_records_v1(mbroker.bootstrap, "trim", 0, 99)[1] == 1
    assert _watermarks(mbroker.bootstrap, "trim") == (3, 5)
