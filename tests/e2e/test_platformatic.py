"""@platformatic/kafka 1.x (npm, pinned in tests/e2e/js/package.json) against a real
hako broker. It speaks only flexible/modern versions (ApiVersions v3+, Metadata v9+ with
topic ids, Fetch v12+, CreateTopics v7, DeleteTopics v6).

Its MessagesStream consumer needs a consumer group; Consumer.fetch() (one Fetch request)
does not, so the data is read back with that and cross-checked with confluent-kafka.
"""

from __future__ import annotations

import e2e_util as U


def test_produce_and_fetch(broker, topic_name, node, tmp_path):
    topic = topic_name()
    dump = tmp_path / "platformatic-dataset.jsonl"
    proc = node("platformatic_produce_fetch", ["--brokers", broker.bootstrap, "--topic", topic, "--seed", "505",
                                               "--n", U.N_RECORDS, "--base-ts", U.BASE_TS, "--partitions", U.PARTITIONS, "--dump", dump])
    res = U.node_result(proc)
    assert res["records"] == U.N_RECORDS
    assert {"none", "gzip", "snappy", "lz4"} <= set(res["codecs"]), res
    if res["skippedCodecs"]:
        print(f"platformatic: codecs not available on this Node: {res['skippedCodecs']}")

    recs = U.load_dump(dump)
    c = U.confluent_consumer(broker.bootstrap)
    try:
        U.check_watermarks(broker.bootstrap, topic, recs, consumer=c)
        U.verify_topic("confluent-kafka reading platformatic data", recs,
                       lambda p, s, n: U.confluent_consume(broker.bootstrap, topic, p, s, n, consumer=c))
    finally:
        c.close()


def test_admin(broker, topic_name, node):
    node("platformatic_admin", ["--brokers", broker.bootstrap, "--topic", topic_name()])


def test_group_consume(broker, topic_name, node):
    node("platformatic_group_consume", ["--brokers", broker.bootstrap, "--topic", topic_name(), "--seed", "506",
                                        "--n", U.N_RECORDS, "--base-ts", U.BASE_TS, "--partitions", U.PARTITIONS])
