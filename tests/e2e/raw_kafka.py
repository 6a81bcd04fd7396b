"""A minimal hand-rolled Kafka client for the tests that need exact control over bytes:
record batches built here (with our own CRC-32C), non-flexible request versions only.
Independent of the broker's C++ codec, so it checks the broker against the spec, not
against itself."""
from __future__ import annotations

import socket
import struct


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)  # zig-zag
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _vbytes(b):
    return _varint(-1) if b is None else _varint(len(b)) + b


def record_batch(records, base_timestamp: int, producer_id=-1, producer_epoch=-1,
                 base_sequence=-1, attributes=0) -> bytes:
    """records: list of (key, value, timestamp_ms); offsets 0..n-1."""
    body = bytearray()
    for i, (k, v, ts) in enumerate(records):
        rec = b"\x00" + _varint(ts - base_timestamp) + _varint(i) + _vbytes(k) + _vbytes(v) + _varint(0)
        body += _varint(len(rec)) + rec
    max_ts = max(ts for _, _, ts in records)
    after_crc = struct.pack(">hiqqqhii", attributes, len(records) - 1, base_timestamp, max_ts,
                            producer_id, producer_epoch, base_sequence, len(records)) + bytes(body)
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", -1, 2, crc) + after_crc  # leader epoch, magic, crc
    return struct.pack(">qi", 0, len(tail)) + tail


def string(s: str | None) -> bytes:
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def nbytes(b: bytes | None) -> bytes:
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def array(items) -> bytes:
    items = list(items)
    return struct.pack(">i", len(items)) + b"".join(items)


class Conn:
    def __init__(self, bootstrap: str):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=15)
        self.correlation = 0

    def close(self):
        self.sock.close()

    def send(self, api_key: int, version: int, body: bytes) -> int:
        self.correlation += 1
        header = struct.pack(">hhi", api_key, version, self.correlation) + string("raw-test")
        frame = header + body
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        return self.correlation

    def receive(self) -> tuple[int, bytes]:
        size = struct.unpack(">i", self._exact(4))[0]
        data = self._exact(size)
        return struct.unpack(">i", data[:4])[0], data[4:]

    def call(self, api_key: int, version: int, body: bytes) -> bytes:
        corr = self.send(api_key, version, body)
        got, data = self.receive()
        assert got == corr, f"correlation {got} != {corr}"
        return data

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return bytes(buf)


class Reader:
    def __init__(self, data: bytes):
        self.d, self.p = data, 0

    def take(self, fmt: str):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.d[self.p:self.p + n].decode()
        self.p += n
        return s

    def nbytes(self):
        n = self.take(">i")
        if n < 0:
            return None
        b = self.d[self.p:self.p + n]
        self.p += n
        return b


def produce_v7(conn: Conn, topic: str, partition: int, batch: bytes, acks: int = -1):
    """Returns (error_code, base_offset, log_append_time) or None for acks=0."""
    body = string(None) + struct.pack(">hi", acks, 10000) + array(
        [string(topic) + array([struct.pack(">i", partition) + nbytes(batch)])])
    if acks == 0:
        conn.send(0, 7, body)
        return None
    r = Reader(conn.call(0, 7, body))
    r.take(">i")  # topics
    r.string()
    r.take(">i")  # partitions
    _idx, err, base, append_time, _start = r.take(">ihqqq")
    return err, base, append_time


def fetch_v4(conn: Conn, topic: str, partition: int, offset: int, partition_max_bytes: int,
             max_bytes: int = 50 << 20, max_wait_ms: int = 0):
    """Returns (error_code, high_watermark, records bytes)."""
    body = struct.pack(">iiiib", -1, max_wait_ms, 0, max_bytes, 0) + array(
        [string(topic) + array([struct.pack(">iqi", partition, offset, partition_max_bytes)])])
    r = Reader(conn.call(1, 4, body))
    r.take(">i")  # throttle
    r.take(">i")  # topics
    r.string()
    r.take(">i")  # partitions
    _idx, err, hw, _lso = r.take(">ihqq")
    n_aborted = r.take(">i")
    for _ in range(max(n_aborted, 0)):
        r.take(">qq")
    return err, hw, r.nbytes() or b""


def list_offsets(conn: Conn, version: int, topic: str, partition: int, timestamp: int):
    """v1..v3 (v2+ adds isolation level); returns (error_code, timestamp, offset)."""
    body = struct.pack(">i", -1) + (b"\x00" if version >= 2 else b"") + array(
        [string(topic) + array([struct.pack(">iq", partition, timestamp)])])
    r = Reader(conn.call(2, version, body))
    if version >= 2:
        r.take(">i")
    r.take(">i")
    r.string()
    r.take(">i")
    _idx, err, ts, off = r.take(">ihqq")
    return err, ts, off


def count_batches(records: bytes) -> int:
    n, p = 0, 0
    while p + 12 <= len(records):
        length = struct.unpack_from(">i", records, p + 8)[0]
        if p + 12 + length > len(records):
            break
        n += 1
        p += 12 + length
    return n
