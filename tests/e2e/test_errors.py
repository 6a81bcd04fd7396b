"""Error paths: unknown topics with auto-create off, and garbage on the wire."""

from __future__ import annotations

import random
import socket
import struct
import time

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient

import e2e_util as U


# --------------------------------------------------------------------------------------
# Unknown topic, auto-create off


def test_metadata_unknown_topic_not_created(broker_no_autocreate):
    bs = broker_no_autocreate.bootstrap
    topic = "does-not-exist-md"
    a = AdminClient({"bootstrap.servers": bs})
    md = a.list_topics(topic=topic, timeout=10)
    assert topic in md.topics, "Metadata response must list the requested topic with an error"
    err = md.topics[topic].error
    assert err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err
    assert topic not in a.list_topics(timeout=10).topics, "topic was created although auto-create is off"


def test_librdkafka_produce_unknown_topic_fails(broker_no_autocreate):
    bs = broker_no_autocreate.bootstrap
    topic = "does-not-exist-produce"
    errors = []
    p = Producer(U.confluent_producer_conf(bs, "none", **{"topic.metadata.propagation.max.ms": 1000,
                                                          "message.timeout.ms": 5000}))
    p.produce(topic, value=b"v", key=b"k", on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(15) == 0
    assert len(errors) == 1 and errors[0] is not None, "produce to an unknown topic must fail"
    assert errors[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC), errors[0]
    a = AdminClient({"bootstrap.servers": bs})
    assert topic not in a.list_topics(timeout=10).topics


def _kafka_python_client(bs):
    from kafka.client_async import KafkaClient
    cli = KafkaClient(bootstrap_servers=bs, api_version_auto_timeout_ms=10000, request_timeout_ms=15000)
    deadline = time.monotonic() + 10
    while not cli.cluster.brokers():
        assert time.monotonic() < deadline, "kafka-python: no Metadata within 10 s"
        cli.poll(timeout_ms=100)
    node = next(iter(cli.cluster.brokers())).nodeId
    while not cli.ready(node):
        assert time.monotonic() < deadline, "kafka-python: broker connection not ready within 10 s"
        cli.poll(timeout_ms=100)
    return cli, node


def _send(cli, node, req, timeout_ms=15000):
    fut = cli.send(node, req)
    cli.poll(future=fut, timeout_ms=timeout_ms)
    assert fut.is_done, f"no response to {type(req).__name__} within {timeout_ms} ms"
    if fut.failed():
        raise fut.exception
    return fut.value


def test_raw_produce_unknown_topic_error_code(broker_no_autocreate):
    """A raw Produce request (kafka-python's protocol classes) for a topic that does not
    exist gets UNKNOWN_TOPIC_OR_PARTITION (3) for that partition."""
    from kafka.protocol.produce import ProduceRequest
    from kafka.record.memory_records import MemoryRecordsBuilder

    cli, node = _kafka_python_client(broker_no_autocreate.bootstrap)
    try:
        lo, hi = cli.get_api_versions()[0]
        version = min(7, hi, len(ProduceRequest) - 1)
        if version < 3:
            pytest.fail(f"broker advertises Produce {lo}..{hi}: no v3+ (RecordBatch v2) to test with")
        b = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
        b.append(timestamp=U.BASE_TS, key=b"k", value=b"v", headers=[])
        b.close()
        req = ProduceRequest[version](transactional_id=None, required_acks=-1, timeout=10000,
                                      topics=[("does-not-exist-raw", [(0, b.buffer())])])
        resp = _send(cli, node, req)
        (topic_resp,) = resp.topics
        assert topic_resp[0] == "does-not-exist-raw"
        (part_resp,) = topic_resp[1]
        assert part_resp[0] == 0
        assert part_resp[1] == 3, f"Produce v{version} error_code {part_resp[1]}, expected UNKNOWN_TOPIC_OR_PARTITION (3)"
    finally:
        cli.close()


# --------------------------------------------------------------------------------------
# Garbage on the wire


def _frame(api_key: int, version: int, corr: int, body: bytes = b"", client_id: bytes = b"e2e") -> bytes:
    hdr = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    payload = hdr + body
    return struct.pack(">i", len(payload)) + payload


GARBAGE = {
    "http-request": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "negative-size": b"\xff\xff\xff\xff" + b"\x00" * 16,
    "huge-size": b"\x7f\xff\xff\xff" + b"\x00" * 16,
    "zero-size": b"\x00\x00\x00\x00",
    "short-header": b"\x00\x00\x00\x03\x00\x12\x00",
    "unknown-api-key": _frame(0x7ABC, 0, 1),
    # Metadata v1 with a topics array claiming 2^31-1 entries and 3 bytes of data.
    "metadata-bad-count": _frame(3, 1, 1, b"\x7f\xff\xff\xff\x00\x01a"),
    # Produce v3 whose body is cut off in the middle.
    "produce-truncated": _frame(0, 3, 1, b"\xff\xff\x00\x01\x00\x00\x27\x10\x00\x00\x00\x01\x00\x05to"),
    "random-bytes": struct.pack(">i", 4092) + random.Random(99).randbytes(4092),
}


def _expect_closed(sock: socket.socket, what: str, timeout: float = 5.0):
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return
    except (ConnectionResetError, BrokenPipeError):
        return
    except socket.timeout:
        pass
    pytest.fail(f"{what}: broker kept the connection open for {timeout} s after garbage")


def _roundtrip(bs: str, topic: str, n: int = 20):
    recs = [U.Rec(i, i % U.PARTITIONS, b"k%d" % i, b"v%d" % i, (("h", b"%d" % i),), U.BASE_TS + i) for i in range(n)]
    U.confluent_produce(bs, topic, recs, "none", expect_offsets=U.expected_offsets(recs))
    for p, exp_p in U.by_partition(recs).items():
        got = U.confluent_consume(bs, topic, p, 0, len(exp_p))
        U.verify_partition(f"{topic} p{p}", exp_p, got, 0)


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_closes_connection(broker, kind, topic_name):
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    try:
        try:
            s.sendall(GARBAGE[kind])
        except (ConnectionResetError, BrokenPipeError):
            pass  # already closed on us: fine
        _expect_closed(s, kind)
    finally:
        s.close()
    broker.check_alive(f"after receiving {kind} garbage")
    _roundtrip(broker.bootstrap, topic_name())


def test_stalled_partial_frame_does_not_block_others(broker, topic_name):
    """A connection that sends half a frame and stalls must not block other clients."""
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    try:
        s.sendall(struct.pack(">i", 100) + b"\x00\x12\x00\x00")
        t0 = time.monotonic()
        _roundtrip(broker.bootstrap, topic_name())
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version_auto_timeout_ms=10000)
        md = p.send(topic_name("kp"), value=b"x", partition=0).get(timeout=15)
        p.close(timeout=5)
        assert md.offset == 0
        assert time.monotonic() - t0 < 30
    finally:
        s.close()


def test_apiversions_unsupported_version(broker):
    """ApiVersions with a version the broker does not know gets a v0-format reply with
    UNSUPPORTED_VERSION (35) and the ApiVersions range (KIP-511), not a dropped connection."""
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=5)
    try:
        s.sendall(_frame(18, 127, 42))
        f = s.makefile("rb")
        (size,) = struct.unpack(">i", f.read(4))
        body = f.read(size)
        corr, err = struct.unpack(">ih", body[:6])
        assert corr == 42
        assert err == 35, f"error_code {err}, expected UNSUPPORTED_VERSION (35)"
        (n,) = struct.unpack(">i", body[6:10])
        entries = [struct.unpack(">hhh", body[10 + 6 * i:16 + 6 * i]) for i in range(n)]
        assert any(k == 18 for k, _lo, _hi in entries), f"no ApiVersions entry in {entries}"
    finally:
        s.close()
