"""Requests pipelined on one connection: the broker runs consecutive Produce requests
concurrently (net/server.cc) but must keep Kafka's guarantees — responses in request
order, appends to a partition in request order (an idempotent producer's sequences would
be refused otherwise), and any other request sees every earlier request finished."""
from __future__ import annotations

import os
import struct
import subprocess
import time

import group_util as G
import raw_kafka as K
from conftest import Broker


def init_producer_id(conn: K.Conn) -> tuple[int, int]:
    r = K.Reader(conn.call(22, 0, K.string(None) + struct.pack(">i", 60000)))
    _throttle, err, pid, epoch = r.take(">ihqh")
    assert err == 0, f"InitProducerId error {err}"
    return pid, epoch


def produce_body(topic: str, partition: int, batch: bytes, acks: int = -1) -> bytes:
    return K.string(None) + struct.pack(">hi", acks, 10000) + K.array(
        [K.string(topic) + K.array([struct.pack(">i", partition) + K.nbytes(batch)])])


def parse_produce(data: bytes) -> tuple[int, int]:
    r = K.Reader(data)
    r.take(">i")
    r.string()
    r.take(">i")
    _idx, err, base, _ts, _start = r.take(">ihqqq")
    return err, base


def list_offsets_body(topic: str, partition: int) -> bytes:
    return struct.pack(">i", -1) + K.array(
        [K.string(topic) + K.array([struct.pack(">iq", partition, -1)])])


def test_pipelined_idempotent_produce_keeps_order(broker, topic_name):
    """60 idempotent Produce requests over 3 partitions sent without waiting, with a
    ListOffsets after every tenth: every answer in order, no sequence refused, offsets
    dense per partition in request order, each ListOffsets sees all earlier appends."""
    check_pipelined_order(broker, topic_name())


def test_max_inflight_bytes_zero_handles_one_request_at_a_time(tmp_path, topic_name):
    """--max-inflight-bytes 0 turns pipelining off; the same guarantees hold. A negative
    value is refused at start-up with a clear message."""
    b = Broker(tmp_path, "no-pipeline", extra_args=("--max-inflight-bytes", "0")).start()
    try:
        check_pipelined_order(b, topic_name())
    finally:
        b.stop()
    bad = subprocess.run([os.environ["HAKO_BIN"], "broker", "--max-inflight-bytes", "-1"],
                         capture_output=True, text=True, timeout=10)
    assert bad.returncode != 0
    assert "max-inflight-bytes" in bad.stderr + bad.stdout


def check_pipelined_order(broker, topic: str) -> None:
    parts = 3
    G.create_topic(broker.bootstrap, topic, parts)
    conn = K.Conn(broker.bootstrap)
    try:
        pid, epoch = init_producer_id(conn)
        seq = [0] * parts
        sent = []  # (correlation, kind, partition, records, expected offset)
        produced = [0] * parts
        now = int(time.time() * 1000)
        for i in range(60):
            p = i % parts
            n = 1 + i % 4
            recs = [(f"k{i}".encode(), f"req{i}-rec{j}".encode(), now) for j in range(n)]
            batch = K.record_batch(recs, now, producer_id=pid, producer_epoch=epoch,
                                   base_sequence=seq[p])
            seq[p] += n
            corr = conn.send(0, 7, produce_body(topic, p, batch))
            sent.append((corr, "produce", p, recs, produced[p]))
            produced[p] += n
            if i % 10 == 9:
                corr = conn.send(2, 1, list_offsets_body(topic, p))
                sent.append((corr, "list", p, None, produced[p]))
        for corr, kind, p, _recs, expect in sent:
            got, data = conn.receive()
            assert got == corr, f"answer {got} arrived where {corr} was due"
            if kind == "produce":
                assert parse_produce(data) == (0, expect), f"request {corr}"
            else:
                r = K.Reader(data)
                r.take(">i")
                r.string()
                r.take(">i")
                _idx, err, _ts, off = r.take(">ihqq")
                assert (err, off) == (0, expect), "ListOffsets ran before earlier produces"
        for p in range(parts):
            err, hw, records = K.fetch_v4(conn, topic, p, 0, 1 << 20)
            assert (err, hw) == (0, produced[p])
            want = [v for _c, k, q, recs, _e in sent if k == "produce" and q == p
                    for (_k, v, _t) in recs]
            assert values(records) == want
    finally:
        conn.close()


def test_pipelined_produce_then_close_loses_nothing_answered(broker, topic_name):
    """A client that sends many requests and closes after reading only some answers:
    every answered append is in the log, and the broker serves the next connection."""
    topic = topic_name()
    G.create_topic(broker.bootstrap, topic, 1)
    conn = K.Conn(broker.bootstrap)
    now = int(time.time() * 1000)
    corrs = []
    for i in range(30):
        batch = K.record_batch([(None, f"v{i}".encode(), now)], now)
        corrs.append(conn.send(0, 7, produce_body(topic, 0, batch)))
    answered = []
    for corr in corrs[:10]:
        got, data = conn.receive()
        assert got == corr
        answered.append(parse_produce(data))
    conn.close()
    assert [e for e, _ in answered] == [0] * 10
    c2 = K.Conn(broker.bootstrap)
    try:
        deadline = time.time() + 10
        while True:
            err, hw, records = K.fetch_v4(c2, topic, 0, 0, 1 << 20)
            if hw >= 10 or time.time() > deadline:
                break
            time.sleep(0.1)
        assert err == 0
        vals = values(records)
        assert vals[:10] == [f"v{i}".encode() for i in range(10)]
        assert vals == [f"v{i}".encode() for i in range(len(vals))]  # a prefix, in order
    finally:
        c2.close()


def values(records: bytes) -> list[bytes]:
    """Values of every record in a fetch response's record batches (uncompressed)."""
    out, p = [], 0
    while p + 61 <= len(records):
        length = struct.unpack_from(">i", records, p + 8)[0]
        end = p + 12 + length
        if end > len(records):
            break
        count = struct.unpack_from(">i", records, p + 57)[0]
        q = p + 61
        for _ in range(count):
            _len, q = varint(records, q)
            q += 1  # attributes
            _ts, q = varint(records, q)
            _od, q = varint(records, q)
            klen, q = varint(records, q)
            q += max(klen, 0)
            vlen, q = varint(records, q)
            out.append(records[q:q + vlen] if vlen >= 0 else None)
            q += max(vlen, 0)
            nh, q = varint(records, q)
            for _ in range(nh):
                hk, q = varint(records, q)
                q += hk
                hv, q = varint(records, q)
                q += max(hv, 0)
        p = end
    return out


def varint(b: bytes, p: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        c = b[p]
        p += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return (n >> 1) ^ -(n & 1), p
