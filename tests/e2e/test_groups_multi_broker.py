"""One consumer group coordinated by several brokers on one SQLite file (issue 4 on the
shared engine of issue 5): the group's state lives in storage, so members talking to
different brokers form one group, a parked JoinGroup/SyncGroup on one broker sees what
another broker stored, silent members expire with no traffic at all, and a broker's
death costs its clients only a reconnect."""
from __future__ import annotations

import os
import sqlite3
import struct
import time

import pytest

import group_util as G
import group_wire as W
from conftest import Broker
from raw_kafka import Conn

PARTITIONS = 6

# These brokers share their own SQLite file whatever HAKO_E2E_ENGINE says: once per
# `make e2e` is enough (the default engine's run).
pytestmark = pytest.mark.skipif(os.environ.get("HAKO_E2E_ENGINE", "memory") != "memory",
                                reason="pins its own shared SQLite storage: runs with the default engine")


@pytest.fixture
def cluster(tmp_path):
    url = f"sqlite://{tmp_path / 'shared.db'}"
    brokers = []

    def start(n):
        for i in range(n):
            b = Broker(tmp_path, f"node{i + 1}", storage=url, partitions=PARTITIONS,
                       extra_args=("--node-id", str(i + 1), "--lease-ms", "2000",
                                   "--group-initial-rebalance-delay-ms", "0"))
            brokers.append(b.start())
        return brokers

    yield start
    problems = [p for p in (b.stop() for b in brokers if b.alive()) if p]
    assert not problems, problems


def _stored_members(db_path, group):
    """(version, member ids) of the group's blob, read from the SQLite file directly."""
    con = sqlite3.connect(db_path)
    try:
        row = con.execute("SELECT data, version FROM consumer_group WHERE group_id = ?", (group,)).fetchone()
    finally:
        con.close()
    data, version = row
    p = 0

    def take(fmt):
        nonlocal p
        v = struct.unpack_from(fmt, data, p)
        p += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal p
        n = take(">h")
        s = data[p:p + max(n, 0)].decode() if n >= 0 else None
        p += max(n, 0)
        return s

    assert take(">B") == 1, "group blob format"
    take(">b"), take(">i"), string(), string(), string()  # state, generation, type, name, leader
    take(">q"), take(">q"), take(">B"), take(">i"), take(">i"), take(">q"), take(">i")
    members = []
    for _ in range(take(">i")):
        members.append(string())
        string(), string(), string()  # instance, client id, host
        take(">i"), take(">i")
        for _ in range(take(">i")):
            string()
            p += 4 + struct.unpack_from(">i", data, p)[0]
        p += 4 + struct.unpack_from(">i", data, p)[0]  # assignment
        take(">q"), take(">B")
    return version, members


def test_members_on_different_brokers_form_one_group(cluster, tmp_path, topic_name):
    b1, b2 = cluster(2)
    topic, group = topic_name(), f"g-{topic_name()}"
    G.create_topic(b1.bootstrap, topic, 2)
    c1, c2 = Conn(b1.bootstrap), Conn(b2.bootstrap)
    try:
        m1 = W.join(c1, group, W.join(c1, group, topics=[topic])["member_id"], topics=[topic],
                    session_ms=6000)["member_id"]
        assert W.sync(c1, group, 1, m1, [(m1, W.assignment(topic, [0, 1]))])[0] == 0
        # the second member joins through broker 2 and parks there ...
        m2 = W.join(c2, group, topics=[topic], session_ms=6000)["member_id"]
        W.join_send(c2, group, m2, topics=[topic], session_ms=6000)
        time.sleep(0.3)
        # ... broker 1 sees the rebalance it started, and completes it when member 1 rejoins
        assert W.heartbeat(c1, group, 1, m1) == W.REBALANCE_IN_PROGRESS
        t0 = time.monotonic()
        j1 = W.join(c1, group, m1, topics=[topic], session_ms=6000)
        j2 = W.join_receive(c2)  # broker 2 learns it by re-reading storage
        waited = time.monotonic() - t0
        assert (j1["error"], j2["error"], j1["generation"], j2["generation"]) == (0, 0, 2, 2)
        assert waited < 2, f"the member parked on broker 2 waited {waited:.2f} s"
        W.sync_send(c2, group, 2, m2)
        time.sleep(0.2)
        W.sync(c1, group, 2, m1, [(m1, W.assignment(topic, [0])), (m2, W.assignment(topic, [1]))])
        assert W.sync_receive(c2) == (0, W.assignment(topic, [1]))
        assert W.commit(c2, group, [(topic, 1, 9, 0, "via b2")], 2, m2) == {(topic, 1): 0}
        assert W.fetch_offsets(c1, group, {topic: [1]})[1][(topic, 1)] == (9, 0, "via b2", 0)

        # Member 2 falls silent. Nothing at all talks to the group, yet the brokers' sweeps
        # expire it from storage once its session has run out.
        version, members = _stored_members(tmp_path / "shared.db", group)
        assert sorted(members) == sorted([m1, m2])
        c1.close()
        c2.close()
        deadline = time.monotonic() + 15
        while True:
            v, members = _stored_members(tmp_path / "shared.db", group)
            if not members:
                break
            assert time.monotonic() < deadline, f"members still stored: {members}"
            time.sleep(0.25)
        assert v > version
        d = W.describe(Conn(b2.bootstrap), group)
        assert (d["state"], d["members"]) == ("Empty", [])
    finally:
        c1.close()
        c2.close()


def test_clients_spread_over_brokers_and_a_broker_dies(cluster, tmp_path, topic_name):
    b1, b2, b3 = cluster(3)
    topic, group, n = topic_name(), f"g-{topic_name()}", 12_000
    G.create_topic(b1.bootstrap, topic, PARTITIONS)
    # Each member bootstraps from another broker, so they coordinate through different ones.
    members = [G.Worker("confluent", b.bootstrap, topic, group, tmp_path / f"m{i}.jsonl",
                        session_ms=6000, delay_ms=1)
               for i, b in enumerate((b1, b2, b3))]
    try:
        G.wait_for(lambda: G.balanced(members, PARTITIONS), 60, "three members over three brokers",
                   members, b1)
        G.produce_counted(b1.bootstrap, topic, n, PARTITIONS)
        G.wait_for(lambda: len(G.consumed(members)) >= n // 4, 60, "consumption under way", members, b1)
        b2.proc.kill()  # the coordinator of at least one member, without warning
        b2.proc.wait()
        b2.stop()  # deliberately dead: no longer a broker that must survive the test
        G.wait_for(lambda: len(G.consumed(members)) >= n, 120, f"all {n} records", members, b1)
        for w in members:
            assert w.stop() == 0, w.tail()
        got = G.consumed(members)
        assert set(got) == {(i % PARTITIONS, i // PARTITIONS) for i in range(n)}
        dups = sum(c - 1 for c in got.values())
        assert dups <= 3000, f"{dups} duplicates"
        assert G.committed(b1.bootstrap, group, topic, PARTITIONS) == [n // PARTITIONS] * PARTITIONS
    finally:
        for w in members:
            if w.alive():
                w.proc.kill()
