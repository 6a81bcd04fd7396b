"""Shared helpers for the hako end-to-end tests.

Everything here is plain Python 3 standard library plus the client libraries that
Debian packages for /usr/bin/python3 (python3-confluent-kafka, python3-kafka).

The dataset spec (mirrored by tests/e2e/js/dataset.mjs):
  * N records, each with an explicit partition (so offsets are predictable: within
    a partition records get offsets 0..n-1 in index order, as long as the producer
    sends them in order, which every test does by producing sequentially),
  * keys: mostly random bytes (1..64), some empty (b""), some None,
  * values: mostly random 1..200 bytes, some empty, some None (tombstones), and a few
    (default 5) large values of 900,000..1,000,000 random bytes spread evenly over
    the dataset,
  * 0..3 headers per record with keys from a small set (so duplicates happen),
    values random 0..32 bytes or None,
  * an explicit CreateTime timestamp per record (base - random(0..1h): not monotonic).
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

E2E_DIR = Path(__file__).resolve().parent
REPO_DIR = E2E_DIR.parent.parent
JS_DIR = E2E_DIR / "js"

# Kafka's default max.message.bytes (and the broker's): the largest record batch.
MAX_MESSAGE_BYTES = 1048588
LARGE_MIN = 900_000
LARGE_MAX = 1_000_000

# Header keys: ASCII plus one non-ASCII key to check UTF-8 passes through untouched.
HEADER_KEYS = ("trace-id", "h1", "h2", "dup", "content-type", "ünïcode-ключ")

# Partitions of auto-created topics (the broker is started with --default-partitions).
PARTITIONS = int(os.environ.get("HAKO_E2E_PARTITIONS", "3"))

# Number of records per client test (override for quick local runs).
N_RECORDS = int(os.environ.get("HAKO_E2E_RECORDS", "10000"))

# Fixed record timestamps need a base close to now, or a broker enforcing the
# default retention.ms (7 days) could legitimately drop them.
BASE_TS = (int(time.time() * 1000) // 1000) * 1000

TS_CREATE = "create"
TS_APPEND = "append"


@dataclass(frozen=True)
class Rec:
    index: int
    partition: int
    key: Optional[bytes]
    value: Optional[bytes]
    headers: tuple  # ((str, Optional[bytes]), ...)
    timestamp: Optional[int]


@dataclass
class Got:
    """One consumed record, normalised across clients."""
    partition: int
    offset: int
    key: Optional[bytes]
    value: Optional[bytes]
    headers: list  # [(str, Optional[bytes])]
    timestamp: Optional[int]
    ts_type: Optional[str] = None  # TS_CREATE / TS_APPEND / None (unknown)


def _blob(rng: random.Random, n: int, avoid: Sequence[bytes]) -> bytes:
    while True:
        b = rng.randbytes(n)
        if not any(a in b for a in avoid):
            return b


def make_dataset(seed: int, n: int = N_RECORDS, partitions: int = PARTITIONS, *,
                 n_large: int = 5, base_ts: int = BASE_TS,
                 null_keys: bool = True, null_values: bool = True,
                 null_header_values: bool = True, allow_both_null: bool = True,
                 header_keys: Sequence[str] = HEADER_KEYS,
                 timestamps: bool = True,
                 avoid: Sequence[bytes] = ()) -> list[Rec]:
    """Deterministic dataset; see the module docstring for the spec."""
    rng = random.Random(seed)
    large_at = {int((k + 0.5) * n / n_large) for k in range(n_large)} if n_large else set()
    recs = []
    for i in range(n):
        part = rng.randrange(partitions)
        r = rng.random()
        if null_keys and r < 0.07:
            key = None
        elif r < 0.10:
            key = b""
        else:
            key = _blob(rng, rng.randint(1, 64), avoid)
        if i in large_at:
            value = _blob(rng, rng.randint(LARGE_MIN, LARGE_MAX), avoid)
        else:
            r = rng.random()
            if null_values and r < 0.04 and (allow_both_null or key is not None):
                value = None
            elif r < 0.09:
                value = b""
            else:
                value = _blob(rng, rng.randint(1, 200), avoid)
        headers = []
        for _ in range(rng.randrange(4)):
            hk = rng.choice(header_keys)
            if null_header_values and rng.random() < 0.15:
                hv = None
            else:
                hv = _blob(rng, rng.randint(0, 32), avoid)
            headers.append((hk, hv))
        ts = base_ts - rng.randrange(3_600_000) if timestamps else None
        recs.append(Rec(i, part, key, value, tuple(headers), ts))
    return recs


def by_partition(recs: Iterable[Rec], partitions: int = PARTITIONS) -> dict[int, list[Rec]]:
    """Records per partition in production order (= expected offset order)."""
    out: dict[int, list[Rec]] = {p: [] for p in range(partitions)}
    for r in recs:
        out.setdefault(r.partition, []).append(r)
    return out


def expected_offsets(recs: Iterable[Rec]) -> dict[int, int]:
    """index -> expected offset, assuming an empty topic and in-order production."""
    nxt: dict[int, int] = {}
    out = {}
    for r in recs:
        o = nxt.get(r.partition, 0)
        out[r.index] = o
        nxt[r.partition] = o + 1
    return out


def split(recs: Sequence[Rec], k: int) -> list[list[Rec]]:
    """Split into k contiguous chunks (one per compression codec)."""
    n = len(recs)
    return [list(recs[i * n // k:(i + 1) * n // k]) for i in range(k)]


# --------------------------------------------------------------------------------------
# Verification


def _descr(b: Optional[bytes]) -> str:
    if b is None:
        return "None"
    if len(b) <= 24:
        return repr(b)
    return f"<{len(b)} bytes {b[:12]!r}...>"


def _diff_bytes(what: str, exp: Optional[bytes], got: Optional[bytes]) -> Optional[str]:
    if exp == got:
        return None
    if exp is None or got is None:
        return f"{what}: expected {_descr(exp)}, got {_descr(got)}"
    if len(exp) != len(got):
        return f"{what}: expected {len(exp)} bytes, got {len(got)} bytes ({_descr(exp)} vs {_descr(got)})"
    first = next(i for i in range(len(exp)) if exp[i] != got[i])
    return f"{what}: {len(exp)} bytes differ first at byte {first} ({_descr(exp)} vs {_descr(got)})"


def verify_partition(label: str, expected: Sequence[Rec], got: Sequence[Got], start: int = 0, *,
                     check_ts: bool = True, ts_range: Optional[tuple[int, int]] = None,
                     check_ts_type: bool = True, max_problems: int = 15) -> None:
    """Check got == expected[start:] record by record: offset, key, value, headers
    (order and null values), timestamp and timestamp type (CreateTime)."""
    problems = []
    want = len(expected) - start
    if len(got) != want:
        problems.append(f"record count: expected {want} (offsets {start}..{len(expected) - 1}), got {len(got)}")
    for i, g in enumerate(got):
        if len(problems) >= max_problems:
            problems.append("... (more problems not shown)")
            break
        exp_off = start + i
        where = f"{label} offset {exp_off}"
        if g.offset != exp_off:
            problems.append(f"{where}: got offset {g.offset} (offsets must be dense from {start})")
            if not 0 <= g.offset < len(expected):
                continue
            exp_off = g.offset
        if exp_off >= len(expected):
            problems.append(f"{where}: unexpected extra record")
            continue
        e = expected[exp_off]
        where = f"{label} offset {exp_off} (dataset index {e.index})"
        for d in (_diff_bytes("key", e.key, g.key), _diff_bytes("value", e.value, g.value)):
            if d:
                problems.append(f"{where}: {d}")
        exp_h = [(k, v) for k, v in e.headers]
        got_h = [(k, None if v is None else bytes(v)) for k, v in (g.headers or [])]
        if exp_h != got_h:
            problems.append(f"{where}: headers expected {[(k, _descr(v)) for k, v in exp_h]}, "
                            f"got {[(k, _descr(v)) for k, v in got_h]}")
        if check_ts:
            if e.timestamp is not None:
                if g.timestamp != e.timestamp:
                    problems.append(f"{where}: timestamp expected {e.timestamp}, got {g.timestamp}")
            elif ts_range is not None and not (ts_range[0] <= (g.timestamp or 0) <= ts_range[1]):
                problems.append(f"{where}: timestamp {g.timestamp} outside produce window {ts_range}")
        if check_ts_type and g.ts_type is not None and g.ts_type != TS_CREATE:
            problems.append(f"{where}: timestamp type {g.ts_type}, expected CreateTime")
    assert not problems, f"{label}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)


def verify_topic(label: str, recs: Sequence[Rec], consume, partitions: int = PARTITIONS, **kw) -> None:
    """consume(partition, start, count) -> list[Got]; reads every partition from 0 and
    from the middle and verifies both."""
    parts = by_partition(recs, partitions)
    for p, exp in parts.items():
        got = consume(p, 0, len(exp))
        verify_partition(f"{label} p{p} from 0", exp, got, 0, **kw)
        mid = len(exp) // 2
        got = consume(p, mid, len(exp) - mid)
        verify_partition(f"{label} p{p} from {mid}", exp, got, mid, **kw)


# --------------------------------------------------------------------------------------
# confluent-kafka (librdkafka) helpers


def confluent_producer_conf(bootstrap: str, codec: str = "none", **extra) -> dict:
    conf = {
        "bootstrap.servers": bootstrap,
        "compression.type": codec,
        "message.max.bytes": MAX_MESSAGE_BYTES,
        "acks": "all",
        "linger.ms": 5,
        "enable.idempotence": False,
        "message.timeout.ms": 30000,
        "socket.timeout.ms": 10000,
        "queue.buffering.max.kbytes": 64 * 1024,
    }
    conf.update(extra)
    return conf


def confluent_produce(bootstrap: str, topic: str, recs: Sequence[Rec], codec: str = "none",
                      expect_offsets: Optional[dict[int, int]] = None, **extra) -> dict[int, tuple[int, int]]:
    """Produce recs in order with one Producer; returns index -> (partition, offset) from
    the delivery reports and checks them against expect_offsets."""
    from confluent_kafka import Producer

    delivered: dict[int, tuple[int, int]] = {}
    errors: list[str] = []

    def on_delivery(idx):
        def cb(err, msg):
            if err is not None:
                errors.append(f"record {idx}: {err}")
            else:
                delivered[idx] = (msg.partition(), msg.offset())
        return cb

    p = Producer(confluent_producer_conf(bootstrap, codec, **extra))
    for r in recs:
        kwargs = dict(value=r.value, key=r.key, partition=r.partition,
                      headers=list(r.headers), on_delivery=on_delivery(r.index))
        if r.timestamp is not None:
            kwargs["timestamp"] = r.timestamp
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(30)
    assert left == 0, f"confluent-kafka ({codec}): {left} messages not delivered within 30 s; errors: {errors[:5]}"
    assert not errors, f"confluent-kafka ({codec}): delivery errors: {errors[:10]}"
    assert len(delivered) == len(recs)
    if expect_offsets is not None:
        bad = [(r.index, delivered[r.index], (r.partition, expect_offsets[r.index]))
               for r in recs if delivered[r.index] != (r.partition, expect_offsets[r.index])]
        assert not bad, (f"confluent-kafka ({codec}): produce response offsets differ from expected "
                         f"(index, got (partition, offset), expected): {bad[:10]}")
    return delivered


_py_incref = None


def confluent_headers(msg) -> list:
    """msg.headers(), working around a confluent-kafka 1.7.0 bug: converting a header with
    a NULL value to Python drops a reference to None without taking one, so consuming
    thousands of them would drive None's refcount to zero and abort the interpreter at
    exit ("Fatal Python error: none_dealloc"). Give back one reference per None value."""
    global _py_incref
    hdrs = msg.headers() or []
    nulls = sum(1 for _k, v in hdrs if v is None)
    if nulls:
        if _py_incref is None:
            import ctypes
            _py_incref = ctypes.pythonapi.Py_IncRef
            _py_incref.argtypes = [ctypes.py_object]
            _py_incref.restype = None
        for _ in range(nulls):
            _py_incref(None)
    return hdrs


def confluent_consumer(bootstrap: str, **extra):
    from confluent_kafka import Consumer
    conf = {
        "bootstrap.servers": bootstrap,
        # librdkafka's Consumer insists on a group.id; it is never used for group
        # management here (assign() only, no commits): consumer groups are not required.
        "group.id": "hako-e2e-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 10000,
        "check.crcs": True,
        "topic.metadata.refresh.interval.ms": 5000,
    }
    conf.update(extra)
    return Consumer(conf)


def confluent_consume(bootstrap: str, topic: str, partition: int, start: int, count: int,
                      timeout: float = 30.0, consumer=None) -> list[Got]:
    from confluent_kafka import TopicPartition, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, KafkaError

    own = consumer is None
    c = consumer or confluent_consumer(bootstrap)
    out: list[Got] = []
    try:
        c.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout
        while len(out) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"confluent-kafka: consumed only {len(out)}/{count} records of "
                                     f"{topic}[{partition}] from offset {start} within {timeout} s")
            for m in c.consume(num_messages=min(1000, count - len(out)), timeout=0.2):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"confluent-kafka consume error on {topic}[{partition}]: {m.error()}")
                tstype, ts = m.timestamp()
                out.append(Got(m.partition(), m.offset(), m.key(), m.value(), confluent_headers(m), ts,
                               {TIMESTAMP_CREATE_TIME: TS_CREATE, TIMESTAMP_LOG_APPEND_TIME: TS_APPEND}.get(tstype)))
        c.unassign()
    finally:
        if own:
            c.close()
    return out


def confluent_read_dense(bootstrap: str, topic: str, partition: int):
    """Every record of the partition from log start to high watermark, asserting that the
    offsets are dense. Returns (records, high watermark)."""
    from confluent_kafka import TopicPartition
    c = confluent_consumer(bootstrap)
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=20)
        got = confluent_consume(bootstrap, topic, partition, lo, hi - lo, consumer=c)
    finally:
        c.close()
    offs = [g.offset for g in got]
    assert offs == list(range(lo, hi)), f"{topic}[{partition}]: offsets not dense: {offs[:20]}..."
    return got, hi


def confluent_watermarks(bootstrap: str, topic: str, partition: int, consumer=None) -> tuple[int, int]:
    from confluent_kafka import TopicPartition
    own = consumer is None
    c = consumer or confluent_consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    finally:
        if own:
            c.close()


def check_watermarks(bootstrap: str, topic: str, recs: Sequence[Rec], partitions: int = PARTITIONS, consumer=None):
    for p, exp in by_partition(recs, partitions).items():
        lo, hi = confluent_watermarks(bootstrap, topic, p, consumer)
        assert (lo, hi) == (0, len(exp)), (f"{topic}[{p}]: ListOffsets earliest/latest = ({lo}, {hi}), "
                                           f"expected (0, {len(exp)})")


# --------------------------------------------------------------------------------------
# node helpers


def node_modules_ready() -> bool:
    return (JS_DIR / "node_modules" / "kafkajs").is_dir() and \
        (JS_DIR / "node_modules" / "@platformatic" / "kafka").is_dir()


def run_node(script: str, args: Sequence[str] = (), env: Optional[dict] = None,
             timeout: float = 240.0) -> subprocess.CompletedProcess:
    """Run `node tests/e2e/js/<script>.mjs args...`; fails the test (with the
    script's output) unless it exits 0."""
    import pytest

    if not node_modules_ready():
        pytest.fail(f"{JS_DIR}/node_modules is missing: run scripts/setup_e2e.sh")
    path = JS_DIR / f"{script}.mjs"
    cmd = ["node", str(path), *map(str, args)]
    full_env = dict(os.environ)
    full_env.setdefault("KAFKAJS_NO_PARTITIONER_WARNING", "1")
    if env:
        full_env.update(env)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=JS_DIR, env=full_env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} timed out after {timeout} s\n--- stdout ---\n"
                    f"{_tail(e.stdout)}\n--- stderr ---\n{_tail(e.stderr)}")
    took = time.monotonic() - t0
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode} after {took:.1f} s\n"
                    f"--- stdout ---\n{_tail(proc.stdout)}\n--- stderr ---\n{_tail(proc.stderr)}")
    # Show the script's own report in pytest's captured output (-rA / on failure).
    print(f"[{script} took {took:.1f} s]\n{_tail(proc.stdout, 40)}\n{_tail(proc.stderr, 40)}")
    return proc


def _tail(text, lines: int = 80) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def node_result(proc: subprocess.CompletedProcess) -> dict:
    """The scripts print one JSON object as the last stdout line starting with RESULT."""
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"node script printed no RESULT line:\n{_tail(proc.stdout)}")


def load_dump(path: Path) -> list[Rec]:
    """Records dumped by a node script (JSON lines, bytes as base64) in production order."""
    out = []
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)

            def b(x):
                return None if x is None else base64.b64decode(x)
            out.append(Rec(d["index"], d["partition"], b(d["key"]), b(d["value"]),
                           tuple((k, b(v)) for k, v in d["headers"]), d["timestamp"]))
    return out
