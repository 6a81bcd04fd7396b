"""Consumer group administration through each client's own admin API (issue 4).

- confluent-kafka 1.7.0: AdminClient.list_groups (librdkafka's ListGroups + DescribeGroups),
  offsets altered with a commit outside group management, read back with committed().
- kafka-python 2.0.2: KafkaAdminClient list/describe/delete consumer groups and
  list_consumer_group_offsets; a commit with metadata made without group management.
- kafkajs 2.2.4 and @platformatic/kafka: js/*_group_admin.mjs (listGroups, describeGroups,
  fetch/set/reset/alter/delete group offsets, deleteGroups, removing a member).
"""
from __future__ import annotations

import pytest

import group_util as G
from conftest import _module_brokers


@pytest.fixture(scope="module")
def _admin_brokers(request, tmp_path_factory):
    # Groups of one member here: no point in waiting for more (kafkajs's setOffsets joins
    # the group with a temporary member twice).
    yield from _module_brokers(request, tmp_path_factory, "groups-admin",
                               extra_args=("--group-initial-rebalance-delay-ms", "0"))


@pytest.fixture
def broker(_admin_brokers):
    return _admin_brokers.get()


@pytest.fixture
def member(broker, tmp_path):
    """Starts one group member (a group_worker.py process) and stops it at the end."""
    started = []

    def start(client, topic, group):
        w = G.Worker(client, broker.bootstrap, topic, group, tmp_path / f"{client}-admin.jsonl",
                     session_ms=10000)
        started.append(w)
        G.wait_for(lambda: w.assignment(), 60, "the member's assignment", [w], broker)
        return w

    yield start
    for w in started:
        if w.alive():
            w.proc.kill()
            w.proc.wait()


def test_confluent_list_groups_and_offsets(broker, topic_name, member):
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    topic, group = topic_name(), f"g-{topic_name()}"
    G.create_topic(broker.bootstrap, topic, 2)
    G.produce_counted(broker.bootstrap, topic, 20, 2)
    w = member("confluent", topic, group)
    G.wait_for(lambda: len(G.consumed([w])) >= 20, 30, "records consumed", [w], broker)

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    (g,) = admin.list_groups(group, timeout=15)
    assert (g.id, g.state, g.protocol_type, g.protocol) == (group, "Stable", "consumer", "range")
    assert len(g.members) == 1
    m = g.members[0]
    assert m.client_id == "hako-e2e-group-worker" and m.client_host == "/127.0.0.1"
    assert m.metadata and m.assignment, "a Stable group shows member metadata and assignment"
    assert group in {x.id for x in admin.list_groups(timeout=15)}

    assert w.stop() == 0, w.tail()
    (g,) = admin.list_groups(group, timeout=15)
    assert (g.state, g.members) == ("Empty", [])
    assert G.committed(broker.bootstrap, group, topic, 2) == [10, 10]

    # Offsets set from outside the group (generation -1): accepted while it is empty.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 3), TopicPartition(topic, 1, 7)], asynchronous=False)
    finally:
        c.close()
    assert G.committed(broker.bootstrap, group, topic, 2) == [3, 7]


def test_kafka_python_admin(broker, topic_name, member):
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.errors import GroupIdNotFoundError, NoError, NonEmptyGroupError
    from kafka.structs import OffsetAndMetadata

    topic, group = topic_name(), f"g-{topic_name()}"
    G.create_topic(broker.bootstrap, topic, 2)
    G.produce_counted(broker.bootstrap, topic, 20, 2)
    w = member("kafka-python", topic, group)
    G.wait_for(lambda: len(G.consumed([w])) >= 20, 30, "records consumed", [w], broker)

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="hako-e2e-kafka-python-admin")
    try:
        assert (group, "consumer") in admin.list_consumer_groups()
        (d,) = admin.describe_consumer_groups([group])
        assert (d.group, d.state, d.protocol_type, d.protocol) == (group, "Stable", "consumer", "range")
        assert len(d.members) == 1
        assert d.members[0].member_metadata.subscription == [topic]
        assert sorted(d.members[0].member_assignment.assignment[0][1]) == [0, 1]
        offsets = admin.list_consumer_group_offsets(group)
        assert {tp.partition: om.offset for tp, om in offsets.items()} == {0: 10, 1: 10}
        ((gid, err),) = admin.delete_consumer_groups([group])
        assert (gid, err) == (group, NonEmptyGroupError)

        assert w.stop() == 0, w.tail()
        (d,) = admin.describe_consumer_groups([group])
        assert (d.state, d.members) == ("Empty", [])

        # A commit without group management keeps its metadata string exactly.
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False)
        try:
            c.assign([TopicPartition(topic, 0)])
            c.commit({TopicPartition(topic, 0): OffsetAndMetadata(4, "checkpoint ü 1")})
        finally:
            c.close()
        offsets = admin.list_consumer_group_offsets(group)
        assert offsets[TopicPartition(topic, 0)] == OffsetAndMetadata(4, "checkpoint ü 1")
        assert offsets[TopicPartition(topic, 1)].offset == 10

        results = dict(admin.delete_consumer_groups([group, f"{group}-nope"]))
        assert results == {group: NoError,
                           f"{group}-nope": GroupIdNotFoundError}
        assert group not in {g for g, _ in admin.list_consumer_groups()}
        assert admin.list_consumer_group_offsets(group) == {}
    finally:
        admin.close()


def test_kafkajs_admin(broker, topic_name, node):
    node("kafkajs_group_admin", ["--brokers", broker.bootstrap, "--topic", topic_name(),
                                 "--group", f"g-{topic_name()}"])


def test_platformatic_admin(broker, topic_name, node):
    node("platformatic_group_admin", ["--brokers", broker.bootstrap, "--topic", topic_name(),
                                      "--group", f"g-{topic_name()}"])
