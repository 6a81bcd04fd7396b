"""kafkajs 2.2.4 (npm, pinned in tests/e2e/js/package.json) against a real hako broker.

kafkajs only builds in gzip (snappy/lz4/zstd need codec plugins), cannot encode null
header values, and has no public consumer without a consumer group: the data is read
back with kafkajs's own Fetch v11 request/decoder (its internal cluster/broker objects)
and cross-checked with confluent-kafka.
"""

from __future__ import annotations

import e2e_util as U


def test_produce_and_fetch(broker, topic_name, node, tmp_path):
    topic = topic_name()
    dump = tmp_path / "kafkajs-dataset.jsonl"
    proc = node("kafkajs_produce_fetch", ["--brokers", broker.bootstrap, "--topic", topic, "--seed", "404",
                                          "--n", U.N_RECORDS, "--base-ts", U.BASE_TS, "--partitions", U.PARTITIONS, "--dump", dump])
    assert U.node_result(proc)["records"] == U.N_RECORDS

    # Cross-check every byte kafkajs wrote with librdkafka.
    recs = U.load_dump(dump)
    c = U.confluent_consumer(broker.bootstrap)
    try:
        U.check_watermarks(broker.bootstrap, topic, recs, consumer=c)
        U.verify_topic("confluent-kafka reading kafkajs data", recs,
                       lambda p, s, n: U.confluent_consume(broker.bootstrap, topic, p, s, n, consumer=c))
    finally:
        c.close()


def test_admin(broker, topic_name, node):
    node("kafkajs_admin", ["--brokers", broker.bootstrap, "--topic", topic_name()])


def test_group_consume(broker, topic_name, node):
    node("kafkajs_group_consume", ["--brokers", broker.bootstrap, "--topic", topic_name(), "--seed", "405",
                                   "--n", U.N_RECORDS, "--base-ts", U.BASE_TS, "--partitions", U.PARTITIONS])
