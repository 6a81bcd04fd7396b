"""The consumer group APIs by hand (non-flexible versions), on raw_kafka's connection:
exact control over what each member sends and to which broker, for the protocol tests.
Every call returns plain tuples/dicts of the decoded response."""
from __future__ import annotations

import struct

from raw_kafka import Conn, Reader, array, nbytes, string

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86


def subscription(topics) -> bytes:
    """ConsumerProtocolSubscription v0: version, topics, user data."""
    return struct.pack(">h", 0) + array(string(t) for t in topics) + nbytes(None)


def assignment(topic: str, partitions) -> bytes:
    """ConsumerProtocolAssignment v0."""
    return struct.pack(">h", 0) + array([string(topic) + array(struct.pack(">i", p) for p in partitions)]) \
        + nbytes(None)


def find_coordinator(conn: Conn, version: int, key: str, key_type: int = 0):
    body = string(key) + (struct.pack(">b", key_type) if version >= 1 else b"")
    r = Reader(conn.call(10, version, body))
    if version >= 1:
        r.take(">i")
    err = r.take(">h")
    msg = r.string() if version >= 1 else None
    node, host, port = r.take(">i"), r.string(), r.take(">i")
    return err, msg, node, host, port


def join(conn: Conn, group: str, member_id: str = "", topics=("t",), *, session_ms=10000,
         rebalance_ms=30000, instance: str | None = None, protocol_type="consumer",
         protocols=None):
    """JoinGroup v5; returns dict(error, generation, protocol, leader, member_id, members)."""
    protocols = protocols or [("range", subscription(topics))]
    body = (string(group) + struct.pack(">ii", session_ms, rebalance_ms) + string(member_id)
            + string(instance) + string(protocol_type)
            + array(string(n) + nbytes(m) for n, m in protocols))
    return _join_response(conn.call(11, 5, body))


def join_send(conn: Conn, group: str, member_id: str, topics=("t",), **kw) -> int:
    """Sends a JoinGroup v5 without waiting (it may park); read with join_receive."""
    protocols = [("range", subscription(topics))]
    body = (string(group) + struct.pack(">ii", kw.get("session_ms", 10000), kw.get("rebalance_ms", 30000))
            + string(member_id) + string(kw.get("instance")) + string("consumer")
            + array(string(n) + nbytes(m) for n, m in protocols))
    return conn.send(11, 5, body)


def join_receive(conn: Conn):
    _corr, data = conn.receive()
    return _join_response(data)


def _join_response(data: bytes):
    r = Reader(data)
    r.take(">i")
    out = dict(error=r.take(">h"), generation=r.take(">i"), protocol=r.string(), leader=r.string(),
               member_id=r.string())
    n = r.take(">i")
    out["members"] = [(r.string(), r.string(), r.nbytes()) for _ in range(max(n, 0))]
    return out


def sync(conn: Conn, group: str, generation: int, member_id: str, assignments=(),
         instance: str | None = None):
    """SyncGroup v3; returns (error, assignment bytes)."""
    body = (string(group) + struct.pack(">i", generation) + string(member_id) + string(instance)
            + array(string(m) + nbytes(a) for m, a in assignments))
    r = Reader(conn.call(14, 3, body))
    r.take(">i")
    return r.take(">h"), r.nbytes()


def sync_send(conn: Conn, group: str, generation: int, member_id: str) -> int:
    body = string(group) + struct.pack(">i", generation) + string(member_id) + string(None) + array([])
    return conn.send(14, 3, body)


def sync_receive(conn: Conn):
    _corr, data = conn.receive()
    r = Reader(data)
    r.take(">i")
    return r.take(">h"), r.nbytes()


def heartbeat(conn: Conn, group: str, generation: int, member_id: str, instance: str | None = None) -> int:
    body = string(group) + struct.pack(">i", generation) + string(member_id) + string(instance)
    r = Reader(conn.call(12, 3, body))
    r.take(">i")
    return r.take(">h")


def leave(conn: Conn, group: str, members):
    """LeaveGroup v3: members = [(member_id, instance)]; returns (error, [(member, instance, error)])."""
    body = string(group) + array(string(m) + string(i) for m, i in members)
    r = Reader(conn.call(13, 3, body))
    r.take(">i")
    err = r.take(">h")
    n = r.take(">i")
    return err, [(r.string(), r.string(), r.take(">h")) for _ in range(n)]


def commit(conn: Conn, group: str, offsets, generation: int = -1, member_id: str = "",
           instance: str | None = None):
    """OffsetCommit v7: offsets = [(topic, partition, offset, leader_epoch, metadata)];
    returns {(topic, partition): error}."""
    by_topic: dict[str, list] = {}
    for t, p, o, e, m in offsets:
        by_topic.setdefault(t, []).append(struct.pack(">iqi", p, o, e) + string(m))
    body = (string(group) + struct.pack(">i", generation) + string(member_id) + string(instance)
            + array(string(t) + array(ps) for t, ps in by_topic.items()))
    r = Reader(conn.call(8, 7, body))
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, err = r.take(">ih")
            out[(t, p)] = err
    return out


def fetch_offsets(conn: Conn, group: str, topics=None):
    """OffsetFetch v5: topics = {topic: [partitions]} or None (all); returns
    (error, {(topic, partition): (offset, leader_epoch, metadata, error)})."""
    if topics is None:
        body = string(group) + struct.pack(">i", -1)
    else:
        body = string(group) + array(string(t) + array(struct.pack(">i", p) for p in ps)
                                     for t, ps in topics.items())
    r = Reader(conn.call(9, 5, body))
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, off, epoch = r.take(">iqi")
            meta = r.string()
            out[(t, p)] = (off, epoch, meta, r.take(">h"))
    return r.take(">h"), out


def describe(conn: Conn, group: str):
    """DescribeGroups v4 for one group."""
    r = Reader(conn.call(15, 4, array([string(group)]) + b"\x00"))
    r.take(">i")
    assert r.take(">i") == 1
    g = dict(error=r.take(">h"), group=r.string(), state=r.string(), protocol_type=r.string(),
             protocol=r.string())
    n = r.take(">i")
    g["members"] = [dict(member_id=r.string(), instance=r.string(), client_id=r.string(),
                         client_host=r.string(), metadata=r.nbytes(), assignment=r.nbytes())
                    for _ in range(n)]
    g["authorized_operations"] = r.take(">i")
    return g


def list_groups(conn: Conn):
    """ListGroups v2: {group: protocol_type}."""
    r = Reader(conn.call(16, 2, b""))
    r.take(">i")
    assert r.take(">h") == 0
    return {r.string(): r.string() for _ in range(r.take(">i"))}


def delete_groups(conn: Conn, groups):
    r = Reader(conn.call(42, 1, array(string(g) for g in groups)))
    r.take(">i")
    return {r.string(): r.take(">h") for _ in range(r.take(">i"))}


def offset_delete(conn: Conn, group: str, topics):
    """OffsetDelete v0: topics = {topic: [partitions]}; returns (error, {(t, p): error})."""
    body = string(group) + array(string(t) + array(struct.pack(">i", p) for p in ps)
                                 for t, ps in topics.items())
    r = Reader(conn.call(47, 0, body))
    err = r.take(">h")
    r.take(">i")
    out = {}
    for _ in range(r.take(">i")):
        t = r.string()
        for _ in range(r.take(">i")):
            p, e = r.take(">ih")
            out[(t, p)] = e
    return err, out
