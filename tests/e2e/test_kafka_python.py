"""kafka-python 2.0.2 (Debian python3-kafka) against a real hako broker.

kafka-python probes the broker with ApiVersions v0 + a pipelined Metadata v0, infers a
broker version from the advertised ranges and then hard-codes request versions
(Produce v7, Fetch v4, ListOffsets v1, Metadata v1, admin up to the broker max).
"""

from __future__ import annotations

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kcodec
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import (InvalidPartitionsError, TopicAlreadyExistsError,
                          UnknownTopicOrPartitionError, for_code)

import e2e_util as U

# codec -> (kafka-python name, availability check, Debian package providing the module)
CODECS = [
    ("none", None, lambda: True, None),
    ("gzip", "gzip", kcodec.has_gzip, None),
    ("snappy", "snappy", kcodec.has_snappy, "python3-snappy"),
    ("lz4", "lz4", kcodec.has_lz4, "python3-lz4"),
    ("zstd", "zstd", kcodec.has_zstd, "python3-zstandard"),
]

COMMON = dict(request_timeout_ms=30000, api_version_auto_timeout_ms=10000)


def _check_codecs():
    missing = [pkg for _, _, ok, pkg in CODECS if not ok()]
    assert not missing, (f"kafka-python codec modules missing: apt-get install {' '.join(missing)} "
                         f"(scripts/setup_e2e.sh does this)")


def kp_produce(bootstrap, topic, recs, codec, expect_offsets=None):
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, acks="all", linger_ms=5,
                      max_request_size=U.MAX_MESSAGE_BYTES, max_block_ms=30000, retries=0, **COMMON)
    try:
        futs = [(r, p.send(topic, value=r.value, key=r.key, headers=list(r.headers),
                           partition=r.partition, timestamp_ms=r.timestamp)) for r in recs]
        p.flush(timeout=30)
        bad = []
        for r, f in futs:
            md = f.get(timeout=30)
            if expect_offsets is not None and (md.partition, md.offset) != (r.partition, expect_offsets[r.index]):
                bad.append((r.index, (md.partition, md.offset), (r.partition, expect_offsets[r.index])))
        assert not bad, (f"kafka-python ({codec}): produce response offsets differ "
                         f"(index, got, expected): {bad[:10]}")
    finally:
        p.close(timeout=10)


def kp_consumer(bootstrap):
    # No group_id: no coordinator, no commits (consumer groups are not required).
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="none", fetch_max_wait_ms=100, check_crcs=True,
                         **COMMON)


def kp_consume(c, topic, partition, start, count, timeout=60.0):
    tp = TopicPartition(topic, partition)
    c.assign([tp])
    c.seek(tp, start)
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        assert time.monotonic() < deadline, (f"kafka-python: consumed {len(out)}/{count} records of "
                                             f"{topic}[{partition}] from {start} within {timeout} s")
        for _tp, recs in c.poll(timeout_ms=200, max_records=2000).items():
            for m in recs:
                out.append(U.Got(m.partition, m.offset, m.key, m.value, m.headers, m.timestamp,
                                 {0: U.TS_CREATE, 1: U.TS_APPEND}.get(m.timestamp_type)))
    return out


def test_produce_consume_every_codec(broker, topic_name):
    _check_codecs()
    topic = topic_name()
    # kafka-python cannot send null header values, nor a record with both key and value null.
    recs = U.make_dataset(seed=202, null_header_values=False, allow_both_null=False)
    exp = U.expected_offsets(recs)
    for (name, codec, _, _), chunk in zip(CODECS, U.split(recs, len(CODECS))):
        kp_produce(broker.bootstrap, topic, chunk, codec, expect_offsets=exp)

    c = kp_consumer(broker.bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in range(U.PARTITIONS)]
        assert c.partitions_for_topic(topic) == set(range(U.PARTITIONS))
        begin, end = c.beginning_offsets(parts), c.end_offsets(parts)
        for tp, exp_p in zip(parts, U.by_partition(recs).values()):
            assert (begin[tp], end[tp]) == (0, len(exp_p)), f"ListOffsets v1 for {tp}"
        U.verify_topic("kafka-python", recs, lambda p, s, n: kp_consume(c, topic, p, s, n))
    finally:
        c.close()


def test_reads_librdkafka_data_with_null_headers(broker, topic_name):
    """kafka-python reads records it cannot produce itself (null header values, null key
    and value together), written by librdkafka with every codec."""
    _check_codecs()
    topic = topic_name()
    recs = U.make_dataset(seed=203, n=2000, n_large=2)
    exp = U.expected_offsets(recs)
    for codec, chunk in zip(["none", "gzip", "snappy", "lz4", "zstd"], U.split(recs, 5)):
        U.confluent_produce(broker.bootstrap, topic, chunk, codec, expect_offsets=exp)
    c = kp_consumer(broker.bootstrap)
    try:
        U.verify_topic("kafka-python reading librdkafka data", recs,
                       lambda p, s, n: kp_consume(c, topic, p, s, n))
    finally:
        c.close()


def _admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, **COMMON)


def _check_errors(what, pairs):
    for name, code, *msg in pairs:
        assert code == 0, f"{what} {name}: {for_code(code).__name__} ({code}) {msg}"


def _configs(admin, topic) -> dict:
    """name -> (value, config_source or None, is_default or None)."""
    (resp,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    assert len(resp.resources) == 1
    err, msg, _rtype, rname, entries = resp.resources[0]
    if err:
        raise for_code(err)(msg)
    assert rname == topic
    out = {}
    for e in entries:
        if resp.API_VERSION == 0:  # (name, value, read_only, is_default, is_sensitive)
            out[e[0]] = (e[1], None, e[3])
        elif resp.API_VERSION == 1:
            # kafka-python 2.0.2 decodes v1's config_source as a Boolean: source unknown.
            out[e[0]] = (e[1], None, None)
        else:  # v2: (name, value, read_only, config_source, is_sensitive, synonyms)
            out[e[0]] = (e[1], e[3], e[3] == 5)
    return out


def test_admin(broker, topic_name):
    a = _admin(broker.bootstrap)
    topic = topic_name()
    try:
        resp = a.create_topics([NewTopic(topic, 2, 1, topic_configs={"retention.ms": "3600000",
                                                                     "cleanup.policy": "delete"})],
                               timeout_ms=10000)
        _check_errors("CreateTopics", resp.topic_errors)

        # kafka-python 2.0.2 raises the first topic error of a CreateTopics v1+ response
        with pytest.raises(TopicAlreadyExistsError):
            a.create_topics([NewTopic(topic, 2, 1)], timeout_ms=10000)

        (desc,) = a.describe_topics([topic])
        assert desc["error_code"] == 0 and desc["topic"] == topic, desc
        assert sorted(p["partition"] for p in desc["partitions"]) == [0, 1]

        cfg = _configs(a, topic)
        assert cfg["retention.ms"][0] == "3600000"
        assert cfg["retention.ms"][1] in (None, 1), "retention.ms source must be DYNAMIC_TOPIC_CONFIG"
        assert cfg["cleanup.policy"][0] == "delete"
        assert cfg["max.message.bytes"][0] == str(U.MAX_MESSAGE_BYTES)
        assert cfg["max.message.bytes"][1] in (None, 4, 5)

        # AlterConfigs replaces the whole set of overrides.
        resp = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                               configs={"retention.ms": "7200000",
                                                        "max.message.bytes": "2000000"})])
        _check_errors("AlterConfigs", [(r[3], r[0], r[1]) for r in resp.resources])
        cfg = _configs(a, topic)
        assert cfg["retention.ms"][0] == "7200000"
        assert cfg["max.message.bytes"][0] == "2000000"
        assert cfg["cleanup.policy"][0] == "delete"
        assert cfg["cleanup.policy"][1] != 1, "AlterConfigs must drop overrides not in the request"

        resp = a.create_partitions({topic: NewPartitions(4)}, timeout_ms=10000)
        _check_errors("CreatePartitions", resp.topic_errors)
        (desc,) = a.describe_topics([topic])
        assert sorted(p["partition"] for p in desc["partitions"]) == [0, 1, 2, 3]

        with pytest.raises(InvalidPartitionsError):  # raised by the client, as above
            a.create_partitions({topic: NewPartitions(3)}, timeout_ms=10000)

        # Produce to and read from the new partition.
        rec = U.Rec(0, 3, b"k", b"v", (("h", b"x"),), U.BASE_TS)
        kp_produce(broker.bootstrap, topic, [rec], None, expect_offsets={0: 0})
        c = kp_consumer(broker.bootstrap)
        try:
            U.verify_partition("kafka-python new partition", [rec], kp_consume(c, topic, 3, 0, 1))
        finally:
            c.close()

        resp = a.delete_topics([topic], timeout_ms=10000)
        _check_errors("DeleteTopics", resp.topic_error_codes)
        deadline = time.monotonic() + 10
        while topic in a.list_topics():
            assert time.monotonic() < deadline, "deleted topic still listed after 10 s"
            time.sleep(0.1)
        with pytest.raises(UnknownTopicOrPartitionError):
            _configs(a, topic)
        with pytest.raises(UnknownTopicOrPartitionError):  # raised by the client
            a.delete_topics([topic], timeout_ms=10000)
    finally:
        a.close()
