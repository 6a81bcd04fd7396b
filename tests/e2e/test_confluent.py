"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against a real hako broker."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic)

import e2e_util as U

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def test_produce_consume_every_codec(broker, topic_name):
    """One producer per codec, each producing a contiguous fifth of the dataset to one
    auto-created topic; then read every partition from 0 and from the middle."""
    topic = topic_name()
    recs = U.make_dataset(seed=101)
    exp = U.expected_offsets(recs)
    for codec, chunk in zip(CODECS, U.split(recs, len(CODECS))):
        U.confluent_produce(broker.bootstrap, topic, chunk, codec, expect_offsets=exp)

    c = U.confluent_consumer(broker.bootstrap)
    try:
        U.check_watermarks(broker.bootstrap, topic, recs, consumer=c)
        U.verify_topic("confluent-kafka", recs,
                       lambda p, s, n: U.confluent_consume(broker.bootstrap, topic, p, s, n, consumer=c))

        # All partitions in one assignment (multi-partition Fetch requests).
        c.assign([TopicPartition(topic, p, 0) for p in range(U.PARTITIONS)])
        got = {p: [] for p in range(U.PARTITIONS)}
        deadline = time.monotonic() + 60
        total = 0
        while total < len(recs):
            assert time.monotonic() < deadline, f"multi-partition consume got {total}/{len(recs)}"
            for m in c.consume(num_messages=1000, timeout=0.2):
                assert not m.error(), m.error()
                got[m.partition()].append(U.Got(m.partition(), m.offset(), m.key(), m.value(),
                                                U.confluent_headers(m), m.timestamp()[1], U.TS_CREATE))
                total += 1
        for p, exp_p in U.by_partition(recs).items():
            U.verify_partition(f"confluent-kafka multi-assign p{p}", exp_p, got[p], 0)
    finally:
        c.close()


def test_fetch_at_log_end_waits_for_new_records(broker, topic_name):
    """A consumer positioned at the high watermark gets no error (no OFFSET_OUT_OF_RANGE)
    and receives records produced afterwards (Fetch long-poll at the log end)."""
    topic = topic_name()
    first = U.make_dataset(seed=7, n=30, n_large=0, partitions=1)
    U.confluent_produce(broker.bootstrap, topic, first, "none", expect_offsets=U.expected_offsets(first))
    c = U.confluent_consumer(broker.bootstrap, **{"auto.offset.reset": "error"})
    try:
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False) == (0, 30)
        c.assign([TopicPartition(topic, 0, 30)])
        for m in c.consume(num_messages=10, timeout=1.0):
            pytest.fail(f"unexpected message or error at the log end: {m.error() or m.offset()}")
        more = [U.Rec(100 + i, 0, b"k%d" % i, b"late-%d" % i, (), U.BASE_TS + i) for i in range(5)]
        U.confluent_produce(broker.bootstrap, topic, more, "lz4")
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 5 and time.monotonic() < deadline:
            for m in c.consume(num_messages=10, timeout=0.2):
                assert not m.error(), m.error()
                got.append((m.offset(), m.value()))
        assert got == [(30 + i, b"late-%d" % i) for i in range(5)]
    finally:
        c.close()


def _admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def _describe(admin, topic) -> dict:
    fs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)], request_timeout=15)
    (fut,) = fs.values()
    return fut.result(timeout=20)


def _src(entry) -> int:
    s = entry.source
    return s.value if isinstance(s, ConfigSource) else int(s)


def _all_topics(admin) -> set:
    return set(admin.list_topics(timeout=10).topics)


def test_admin(broker, topic_name):
    a = _admin(broker.bootstrap)
    topic = topic_name()

    # CreateTopics with a config.
    fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1,
                                   config={"retention.ms": "3600000", "cleanup.policy": "delete"})],
                         operation_timeout=10, request_timeout=15)
    fs[topic].result(timeout=20)

    # Creating it again: TOPIC_ALREADY_EXISTS.
    fs = a.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)], request_timeout=15)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, ei.value

    # Metadata.
    md = a.list_topics(timeout=10)
    assert topic in md.topics
    tm = md.topics[topic]
    assert tm.error is None, tm.error
    assert sorted(tm.partitions) == [0, 1]
    for pm in tm.partitions.values():
        assert pm.leader in md.brokers, f"partition {pm.id} leader {pm.leader} not a listed broker"
        assert pm.replicas == [pm.leader] and pm.isrs == [pm.leader]
    assert md.controller_id in md.brokers, "Metadata controller_id must be a listed broker"

    # DescribeConfigs: our value plus defaults.
    cfg = _describe(a, topic)
    assert cfg["retention.ms"].value == "3600000"
    assert _src(cfg["retention.ms"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg["cleanup.policy"].value == "delete"
    assert cfg["max.message.bytes"].value == str(U.MAX_MESSAGE_BYTES)
    assert _src(cfg["max.message.bytes"]) in (ConfigSource.DEFAULT_CONFIG.value,
                                               ConfigSource.STATIC_BROKER_CONFIG.value)

    # AlterConfigs (v0, non-incremental): the given set replaces all topic overrides,
    # so cleanup.policy falls back to its default.
    fs = a.alter_configs([ConfigResource(ConfigResource.Type.TOPIC, topic,
                                         set_config={"retention.ms": "7200000",
                                                     "max.message.bytes": "2000000"})],
                         request_timeout=15)
    for f in fs.values():
        f.result(timeout=20)
    cfg = _describe(a, topic)
    assert cfg["retention.ms"].value == "7200000"
    assert cfg["max.message.bytes"].value == "2000000"
    assert _src(cfg["max.message.bytes"]) == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert cfg["cleanup.policy"].value == "delete"
    assert _src(cfg["cleanup.policy"]) != ConfigSource.DYNAMIC_TOPIC_CONFIG.value, \
        "AlterConfigs must replace the whole set of topic overrides"

    # CreatePartitions 2 -> 4, then use the new partition.
    fs = a.create_partitions([NewPartitions(topic, 4)], operation_timeout=10, request_timeout=15)
    fs[topic].result(timeout=20)
    deadline = time.monotonic() + 10
    while len(a.list_topics(timeout=10).topics[topic].partitions) != 4:
        assert time.monotonic() < deadline, "CreatePartitions: metadata never showed 4 partitions"
        time.sleep(0.1)
    rec = U.Rec(0, 3, b"key", b"in new partition", (("h", b"v"),), U.BASE_TS)
    U.confluent_produce(broker.bootstrap, topic, [rec], "none", expect_offsets={0: 0})
    got = U.confluent_consume(broker.bootstrap, topic, 3, 0, 1)
    U.verify_partition("new partition", [rec], got)

    # Shrinking is an error (INVALID_PARTITIONS).
    fs = a.create_partitions([NewPartitions(topic, 2)], request_timeout=15)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.INVALID_PARTITIONS, ei.value

    # DeleteTopics: gone from Metadata and from DescribeConfigs.
    fs = a.delete_topics([topic], operation_timeout=10, request_timeout=15)
    fs[topic].result(timeout=20)
    deadline = time.monotonic() + 10
    while topic in _all_topics(a):
        assert time.monotonic() < deadline, "deleted topic still listed in Metadata after 10 s"
        time.sleep(0.1)
    with pytest.raises(KafkaException) as ei:
        _describe(a, topic)
    assert ei.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, ei.value

    # Deleting it again: UNKNOWN_TOPIC_OR_PARTITION.
    fs = a.delete_topics([topic], request_timeout=15)
    with pytest.raises(KafkaException) as ei:
        fs[topic].result(timeout=20)
    assert ei.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, ei.value
