"""Broker rules checked byte for byte with a hand-rolled client (raw_kafka.py): topic
configs that change behaviour (max.message.bytes, message.timestamp.type), CRC checks,
fetch limits, offsets outside the log, acks=0 and ListOffsets by record timestamp."""
from __future__ import annotations

import time

import group_util as G
import raw_kafka as K

MESSAGE_TOO_LARGE, CORRUPT_MESSAGE, OFFSET_OUT_OF_RANGE = 10, 2, 1


def _create(bootstrap, topic, configs=None, partitions=1):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, partitions, 1, config=configs or {})]).values():
        f.result()


def test_max_message_bytes_is_enforced(broker, topic_name):
    topic = topic_name()
    _create(broker.bootstrap, topic, {"max.message.bytes": "1000"})
    c = K.Conn(broker.bootstrap)
    try:
        now = int(time.time() * 1000)
        small = K.record_batch([(b"k", b"x" * 100, now)], now)
        big = K.record_batch([(b"k", b"x" * 2000, now)], now)
        assert K.produce_v7(c, topic, 0, big)[0] == MESSAGE_TOO_LARGE
        assert K.produce_v7(c, topic, 0, small)[:2] == (0, 0)
    finally:
        c.close()


def test_bad_crc_is_corrupt_message_and_nothing_is_written(broker, topic_name):
    topic = topic_name()
    _create(broker.bootstrap, topic)
    c = K.Conn(broker.bootstrap)
    try:
        now = int(time.time() * 1000)
        batch = bytearray(K.record_batch([(b"k", b"v", now)], now))
        batch[-1] ^= 0xFF  # damage the last value byte: the CRC no longer matches
        assert K.produce_v7(c, topic, 0, bytes(batch))[0] == CORRUPT_MESSAGE
        assert K.fetch_v4(c, topic, 0, 0, 1 << 20)[1] == 0  # high watermark still 0
    finally:
        c.close()


def test_log_append_time_topic(broker, topic_name):
    topic = topic_name()
    _create(broker.bootstrap, topic, {"message.timestamp.type": "LogAppendTime"})
    c = K.Conn(broker.bootstrap)
    try:
        before = int(time.time() * 1000)
        err, base, append_time = K.produce_v7(c, topic, 0, K.record_batch([(b"k", b"v", 1000)], 1000))
        after = int(time.time() * 1000)
        assert err == 0 and base == 0
        assert before <= append_time <= after, (before, append_time, after)
    finally:
        c.close()
    from confluent_kafka import TopicPartition, TIMESTAMP_LOG_APPEND_TIME
    import e2e_util as U
    consumer = U.confluent_consumer(broker.bootstrap)
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        m = None
        deadline = time.monotonic() + 10
        while m is None and time.monotonic() < deadline:
            m = consumer.poll(0.5)
        assert m is not None and not m.error()
        assert m.timestamp() == (TIMESTAMP_LOG_APPEND_TIME, append_time)
    finally:
        consumer.close()


def test_fetch_limits_and_out_of_range(broker, topic_name):
    topic = topic_name()
    _create(broker.bootstrap, topic)
    c = K.Conn(broker.bootstrap)
    try:
        now = int(time.time() * 1000)
        for i in range(10):
            assert K.produce_v7(c, topic, 0, K.record_batch([(b"k", b"v" * 500, now)], now))[0] == 0
        # partition_max_bytes smaller than one batch: exactly the first batch (KIP-74)
        err, hw, recs = K.fetch_v4(c, topic, 0, 0, 10)
        assert (err, hw, K.count_batches(recs)) == (0, 10, 1)
        # a budget of ~3 batches gives 3, from the requested offset
        one = len(recs)
        err, hw, recs = K.fetch_v4(c, topic, 0, 4, 3 * one)
        assert K.count_batches(recs) == 3
        # response-level max_bytes caps the whole response the same way
        err, hw, recs = K.fetch_v4(c, topic, 0, 0, 1 << 20, max_bytes=2 * one)
        assert K.count_batches(recs) == 2
        # at the high watermark: nothing, no error; beyond it: OFFSET_OUT_OF_RANGE
        assert K.fetch_v4(c, topic, 0, 10, 1 << 20)[0] == 0
        assert K.fetch_v4(c, topic, 0, 11, 1 << 20)[0] == OFFSET_OUT_OF_RANGE
    finally:
        c.close()


def _fetch_partitions(c, topic, partitions, max_bytes, partition_max=1 << 20):
    """Fetch v4 of several partitions from offset 0: [(partition, error, hw, batches)]."""
    import struct
    body = struct.pack(">iiiib", -1, 0, 0, max_bytes, 0) + K.array(
        [K.string(topic) + K.array([struct.pack(">iqi", p, 0, partition_max)
                                    for p in partitions])])
    r = K.Reader(c.call(1, 4, body))
    r.take(">i")
    out = []
    for _ in range(r.take(">i")):
        r.string()
        for _ in range(r.take(">i")):
            idx, err, hw, _lso = r.take(">ihqq")
            for _ in range(max(r.take(">i"), 0)):
                r.take(">qq")
            out.append((idx, err, hw, K.count_batches(r.nbytes() or b"")))
    return out


def test_fetch_budget_spans_partitions_in_request_order(broker, topic_name):
    """The response's max_bytes is shared by the partitions in request order (they are read
    from storage at once, then assembled): the first non-empty partition may exceed it
    (KIP-74), later ones get the whole batches that fit, and every partition still reports
    its high watermark."""
    topic = topic_name()
    G.create_topic(broker.bootstrap, topic, 3)
    c = K.Conn(broker.bootstrap)
    try:
        now = int(time.time() * 1000)
        for p in range(3):
            for _ in range(4):
                assert K.produce_v7(c, topic, p, K.record_batch([(b"k", b"v" * 500, now)], now))[0] == 0
        one = len(K.fetch_v4(c, topic, 0, 0, 10)[2])  # one batch, as stored
        assert _fetch_partitions(c, topic, [0, 1, 2], 1 << 20) == [
            (0, 0, 4, 4), (1, 0, 4, 4), (2, 0, 4, 4)]
        # 6 batches' worth: 4 from partition 0, 2 from partition 1, none from 2
        assert _fetch_partitions(c, topic, [0, 1, 2], 6 * one) == [
            (0, 0, 4, 4), (1, 0, 4, 2), (2, 0, 4, 0)]
        # the order is the request's: partition 2 first
        assert _fetch_partitions(c, topic, [2, 0, 1], 5 * one) == [
            (2, 0, 4, 4), (0, 0, 4, 1), (1, 0, 4, 0)]
        # smaller than one batch: the first partition's first batch only
        assert _fetch_partitions(c, topic, [0, 1, 2], 10) == [
            (0, 0, 4, 1), (1, 0, 4, 0), (2, 0, 4, 0)]
    finally:
        c.close()


def test_acks_zero_gets_no_response(broker, topic_name):
    topic = topic_name()
    _create(broker.bootstrap, topic)
    c = K.Conn(broker.bootstrap)
    try:
        now = int(time.time() * 1000)
        K.produce_v7(c, topic, 0, K.record_batch([(b"k", b"v", now)], now), acks=0)
        # the next response on this connection must answer the next request
        corr = c.send(3, 1, K.array([K.string(topic)]))
        got, _ = c.receive()
        assert got == corr
        assert K.fetch_v4(c, topic, 0, 0, 1 << 20)[1] == 1  # and the record was written
    finally:
        c.close()


def test_list_offsets_by_record_timestamp(broker, topic_name):
    topic = topic_name()
    _create(broker.bootstrap, topic)
    c = K.Conn(broker.bootstrap)
    try:
        # one batch whose records carry different timestamps: lookups must use them
        recs = [(b"a", b"1", 1_000_000), (b"b", b"2", 3_000_000), (b"c", b"3", 2_000_000)]
        assert K.produce_v7(c, topic, 0, K.record_batch(recs, 1_000_000))[0] == 0
        assert K.list_offsets(c, 1, topic, 0, 1_500_000)[2] == 1
        assert K.list_offsets(c, 1, topic, 0, 2_500_000)[2] == 1
        assert K.list_offsets(c, 1, topic, 0, 3_000_001)[2] == -1
        assert K.list_offsets(c, 1, topic, 0, -2)[2] == 0  # earliest
        assert K.list_offsets(c, 2, topic, 0, -1)[2] == 3  # latest
    finally:
        c.close()
