"""The group APIs on the wire (group_wire.py, non-flexible versions), where the clients
cannot be made to show them: every error code Kafka answers, the two-step join, parked
JoinGroup/SyncGroup, static member fencing, commits' metadata and leader epoch, and the
admin APIs' answers."""
from __future__ import annotations

import time

import pytest

import group_util as G
import group_wire as W
from conftest import _module_brokers
from raw_kafka import Conn


@pytest.fixture(scope="module")
def _proto_brokers(request, tmp_path_factory):
    yield from _module_brokers(request, tmp_path_factory, "groups-proto", partitions=2,
                               extra_args=("--group-initial-rebalance-delay-ms", "0"))


@pytest.fixture
def broker(_proto_brokers):
    return _proto_brokers.get()


@pytest.fixture
def conns(broker):
    opened = []

    def conn():
        c = Conn(broker.bootstrap)
        opened.append(c)
        return c

    yield conn
    for c in opened:
        c.close()


def test_find_coordinator(broker, conns):
    c = conns()
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    for version in (0, 1, 2):
        err, _msg, _node, host, p = W.find_coordinator(c, version, "any-group")
        assert (err, host, p) == (0, "127.0.0.1", port), version
    assert W.find_coordinator(c, 1, "my-txn", key_type=1)[0] == 0
    assert W.find_coordinator(c, 1, "", key_type=1)[0] == W.INVALID_REQUEST
    assert W.find_coordinator(c, 2, "g", key_type=7)[0] == W.INVALID_REQUEST


def test_rebalance_protocol(broker, conns, topic_name):
    topic, group = topic_name(), f"g-{topic_name()}"
    G.create_topic(broker.bootstrap, topic, 2)
    a, b = conns(), conns()

    assert W.join(a, group, session_ms=1000)["error"] == W.INVALID_SESSION_TIMEOUT
    assert W.join(a, group, "ghost")["error"] == W.UNKNOWN_MEMBER_ID
    first = W.join(a, group, topics=[topic])
    assert first["error"] == W.MEMBER_ID_REQUIRED and first["member_id"]
    ja = W.join(a, group, first["member_id"], topics=[topic])
    ma = ja["member_id"]
    assert (ja["error"], ja["generation"], ja["leader"], ja["protocol"]) == (0, 1, ma, "range")
    assert [m[0] for m in ja["members"]] == [ma]
    assert W.sync(a, group, 2, ma)[0] == W.ILLEGAL_GENERATION
    assert W.sync(a, group, 1, "ghost")[0] == W.UNKNOWN_MEMBER_ID
    err, got = W.sync(a, group, 1, ma, [(ma, W.assignment(topic, [0, 1]))])
    assert (err, got) == (0, W.assignment(topic, [0, 1]))
    assert W.heartbeat(a, group, 1, ma) == 0
    assert W.heartbeat(a, group, 0, ma) == W.ILLEGAL_GENERATION
    assert W.heartbeat(a, group, 1, "ghost") == W.UNKNOWN_MEMBER_ID
    other = W.join(b, group, topics=[topic], protocol_type="connect")
    assert other["error"] == W.INCONSISTENT_GROUP_PROTOCOL
    other = W.join(b, group, topics=[topic], protocols=[("sticky", W.subscription([topic]))])
    assert other["error"] == W.INCONSISTENT_GROUP_PROTOCOL

    # A second member: its JoinGroup parks until the first one rejoins.
    mb = W.join(b, group, topics=[topic])["member_id"]
    W.join_send(b, group, mb, topics=[topic])
    time.sleep(0.2)
    assert W.heartbeat(a, group, 1, ma) == W.REBALANCE_IN_PROGRESS
    # members of the current generation may still commit while the others rejoin
    assert W.commit(a, group, [(topic, 0, 5, 0, "")], 1, ma) == {(topic, 0): 0}
    ja = W.join(a, group, ma, topics=[topic])
    jb = W.join_receive(b)
    assert ja["generation"] == jb["generation"] == 2
    assert ja["leader"] == jb["leader"] == ma
    assert sorted(m[0] for m in ja["members"]) == sorted([ma, mb]) and jb["members"] == []
    assert W.commit(a, group, [(topic, 0, 6, 0, "")], 1, ma) == {(topic, 0): W.ILLEGAL_GENERATION}
    assert W.commit(a, group, [(topic, 0, 6, 0, "")], 2, ma) == {(topic, 0): W.REBALANCE_IN_PROGRESS}
    # the follower's SyncGroup parks until the leader's assignment is in
    W.sync_send(b, group, 2, mb)
    time.sleep(0.2)
    W.sync(a, group, 2, ma, [(ma, W.assignment(topic, [0])), (mb, W.assignment(topic, [1]))])
    assert W.sync_receive(b) == (0, W.assignment(topic, [1]))
    assert W.commit(a, group, [(topic, 0, 6, 0, "")], 2, ma) == {(topic, 0): 0}
    assert W.commit(b, group, [(topic, 1, 4, 0, "")], -1, "") == {(topic, 1): W.UNKNOWN_MEMBER_ID}

    d = W.describe(a, group)
    assert (d["error"], d["state"], d["protocol_type"], d["protocol"]) == (0, "Stable", "consumer", "range")
    assert {m["member_id"]: m["assignment"] for m in d["members"]} == \
        {ma: W.assignment(topic, [0]), mb: W.assignment(topic, [1])}
    assert all(m["client_id"] == "raw-test" and m["client_host"] == "/127.0.0.1" for m in d["members"])
    assert W.list_groups(a)[group] == "consumer"
    assert W.delete_groups(a, [group, f"{group}-nope"]) == {group: W.NON_EMPTY_GROUP,
                                                             f"{group}-nope": W.GROUP_ID_NOT_FOUND}
    # OffsetDelete: not while a member subscribes to the topic
    assert W.offset_delete(a, group, {topic: [0]}) == (0, {(topic, 0): W.GROUP_SUBSCRIBED_TO_TOPIC})

    err, members = W.leave(a, group, [(ma, None), (mb, None), ("ghost", None)])
    assert (err, [m[2] for m in members]) == (0, [0, 0, W.UNKNOWN_MEMBER_ID])
    d = W.describe(a, group)
    assert (d["state"], d["members"], d["protocol"]) == ("Empty", [], "")
    assert W.heartbeat(a, group, 2, ma) == W.UNKNOWN_MEMBER_ID
    assert W.offset_delete(a, group, {topic: [0]}) == (0, {(topic, 0): 0})
    assert W.fetch_offsets(a, group, {topic: [0]})[1][(topic, 0)][0] == -1
    assert W.delete_groups(a, [group]) == {group: 0}
    assert group not in W.list_groups(a)
    assert W.describe(a, group)["state"] == "Dead"
    assert W.offset_delete(a, group, {topic: [0]})[0] == W.GROUP_ID_NOT_FOUND


def test_static_member_fencing(broker, conns, topic_name):
    topic, group = topic_name(), f"g-{topic_name()}"
    G.create_topic(broker.bootstrap, topic, 2)
    a, a2 = conns(), conns()
    ja = W.join(a, group, topics=[topic], instance="node-a")
    assert ja["error"] == 0, "a static member needs no MEMBER_ID_REQUIRED round"
    old = ja["member_id"]
    assert W.sync(a, group, 1, old, [(old, W.assignment(topic, [0, 1]))], instance="node-a")[0] == 0

    # The same instance restarts: new member id, same generation and assignment, no rebalance.
    again = W.join(a2, group, topics=[topic], instance="node-a")
    new = again["member_id"]
    assert (again["error"], again["generation"]) == (0, 1) and new != old
    assert again["leader"] == old, "before v9 the restarted leader is told the old leader id"
    assert W.sync(a2, group, 1, new, instance="node-a") == (0, W.assignment(topic, [0, 1]))
    assert W.describe(a2, group)["state"] == "Stable"
    # the old incarnation is fenced everywhere
    assert W.heartbeat(a, group, 1, old, "node-a") == W.FENCED_INSTANCE_ID
    assert W.sync(a, group, 1, old, instance="node-a")[0] == W.FENCED_INSTANCE_ID
    assert W.join(a, group, old, topics=[topic], instance="node-a")["error"] == W.FENCED_INSTANCE_ID
    assert W.commit(a, group, [(topic, 0, 1, 0, "")], 1, old, "node-a") == {(topic, 0): W.FENCED_INSTANCE_ID}
    assert W.heartbeat(a2, group, 1, new, "node-a") == 0
    # an administrator removes it by instance id
    err, members = W.leave(a2, group, [("", "node-a"), ("", "node-z")])
    assert [m[2] for m in members] == [0, W.UNKNOWN_MEMBER_ID]
    assert W.describe(a2, group)["state"] == "Empty"


def test_committed_offsets_round_trip(broker, conns, topic_name):
    from confluent_kafka.admin import AdminClient

    topic, gone, group = topic_name(), topic_name("gone"), f"g-{topic_name()}"
    G.create_topic(broker.bootstrap, topic, 2)
    G.create_topic(broker.bootstrap, gone, 1)
    c = conns()
    meta = "checkpoint ü " + "x" * 200
    res = W.commit(c, group, [(topic, 0, 42, 17, meta), (topic, 1, 7, -1, None), (gone, 0, 3, 2, "g"),
                              (topic, 9, 1, 0, ""), ("no-such-topic", 0, 1, 0, ""),
                              (topic, 1, 8, 0, "y" * 4097)])
    assert res == {(topic, 0): 0, (topic, 1): W.OFFSET_METADATA_TOO_LARGE, (gone, 0): 0,
                   (topic, 9): W.UNKNOWN_TOPIC_OR_PARTITION,
                   ("no-such-topic", 0): W.UNKNOWN_TOPIC_OR_PARTITION}
    assert W.commit(c, group, [(topic, 1, 7, -1, None)]) == {(topic, 1): 0}
    err, got = W.fetch_offsets(c, group, {topic: [0, 1], "other": [0]})
    assert err == 0
    assert got == {(topic, 0): (42, 17, meta, 0), (topic, 1): (7, -1, "", 0),  # null metadata -> ""
                   ("other", 0): (-1, -1, "", 0)}
    err, everything = W.fetch_offsets(c, group)
    assert set(everything) == {(topic, 0), (topic, 1), (gone, 0)}
    assert everything[(gone, 0)] == (3, 2, "g", 0)
    # a group made by simple commits: Empty, no protocol, listed
    d = W.describe(c, group)
    assert (d["state"], d["protocol_type"], d["members"]) == ("Empty", "", [])
    assert W.list_groups(c)[group] == ""
    assert W.fetch_offsets(c, f"{group}-unknown", {topic: [0]})[1] == {(topic, 0): (-1, -1, "", 0)}

    # offsets of a deleted topic go with it
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.delete_topics([gone])[gone].result(15)
    assert set(W.fetch_offsets(c, group)[1]) == {(topic, 0), (topic, 1)}


def test_empty_group_id(broker, conns):
    c = conns()
    assert W.join(c, "")["error"] == W.INVALID_GROUP_ID
    assert W.heartbeat(c, "", 1, "m") == W.INVALID_GROUP_ID
    assert W.delete_groups(c, [""]) == {"": W.INVALID_GROUP_ID}


@pytest.fixture(scope="module")
def _retention_brokers(request, tmp_path_factory):
    yield from _module_brokers(request, tmp_path_factory, "groups-retention", partitions=2,
                               extra_args=("--group-initial-rebalance-delay-ms", "0",
                                           "--offsets-retention-ms", "1500",
                                           "--offsets-retention-check-interval-ms", "200"))


def test_offsets_retention(_retention_brokers, topic_name):
    broker = _retention_brokers.get()
    topic, unsubscribed = topic_name(), topic_name("unsubscribed")
    simple, managed = f"g-{topic_name()}", f"g-{topic_name()}"
    for t in (topic, unsubscribed):
        G.create_topic(broker.bootstrap, t, 2)
    c = Conn(broker.bootstrap)
    try:
        # Commits without group management expire one by one, then the group goes.
        assert W.commit(c, simple, [(topic, 0, 5, 0, "")]) == {(topic, 0): 0}
        # A group with a member keeps what it subscribes to, loses the rest.
        m = W.join(c, managed, W.join(c, managed, topics=[topic], session_ms=6000)["member_id"],
                   topics=[topic], session_ms=6000)["member_id"]
        assert W.sync(c, managed, 1, m, [(m, W.assignment(topic, [0, 1]))])[0] == 0
        assert W.commit(c, managed, [(topic, 0, 7, 0, ""), (unsubscribed, 0, 3, 0, "")], 1, m) == \
            {(topic, 0): 0, (unsubscribed, 0): 0}
        deadline = time.monotonic() + 10
        while True:
            assert W.heartbeat(c, managed, 1, m) == 0
            kept = W.fetch_offsets(c, managed)[1]
            if simple not in W.list_groups(c) and (unsubscribed, 0) not in kept:
                break
            assert time.monotonic() < deadline, f"not expired: {W.list_groups(c)}, {kept}"
            time.sleep(0.3)
        assert W.fetch_offsets(c, simple, {topic: [0]})[1][(topic, 0)][0] == -1
        assert kept == {(topic, 0): (7, 0, "", 0)}, "a Stable group keeps its subscribed topics' offsets"

        # Once the group is empty, the retention clock starts for all of them.
        W.leave(c, managed, [(m, None)])
        deadline = time.monotonic() + 10
        while managed in W.list_groups(c):
            assert time.monotonic() < deadline, "the empty group outlived offsets.retention"
            time.sleep(0.3)
        assert W.fetch_offsets(c, managed)[1] == {}
    finally:
        c.close()
