"""kcat 1.7.1 (librdkafka 2.0.2) driven as a subprocess against a real hako broker.

Producing: `kcat -P -K <keydelim> -D <msgdelim>` with multi-byte delimiters that never
occur in the (random, binary) keys and values, so the input is binary-safe. Per call
kcat can only set one partition, one codec and one set of headers (-H) for every
message, and only CreateTime = now; -Z turns empty keys/values into NULL.

Consuming: `kcat -C -f` with a format that prints the key and value lengths (%K, %S;
-1 = NULL) before the raw bytes, so the output is parsed binary-safely.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import time

import pytest

import e2e_util as U

KDELIM = b"\x1f\xfe~KEY~\xfd\x1e"
MDELIM = b"\x1e\xfc~MSG~\xfb\x1f\n"
KDELIM_ARG = r"\x1f\xfe~KEY~\xfd\x1e"
MDELIM_ARG = r"\x1e\xfc~MSG~\xfb\x1f\n"
assert KDELIM_ARG.encode().decode("unicode_escape").encode("latin-1") == KDELIM
assert MDELIM_ARG.encode().decode("unicode_escape").encode("latin-1") == MDELIM

# One kcat invocation per chunk: (codec, partition, -Z?, headers given with -H).
# (Partitions 0..2 must exist: auto-created topics have --default-partitions >= 3.)
CHUNKS = [
    ("none", 0, False, ()),
    ("gzip", 1, False, (("h1", b"v1"),)),
    ("snappy", 2, True, (("dup", b"a"), ("dup", b"b"), ("empty", b""))),
    ("lz4", 0, False, (("nullv", None),)),
    ("zstd", 1, True, (("x", b"1"), ("nullv", None), ("x", b"2"))),
]

# Binary-safe consume format: ASCII fields, \x01, key bytes, value bytes, \x02.
FMT = r"%p %o %T %K %S %h\x01%k%s\x02"

KCAT_TIMEOUT = 90


def _kcat(args, input=None, timeout=KCAT_TIMEOUT) -> subprocess.CompletedProcess:
    cmd = ["kcat", *args]
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} timed out after {timeout} s; stderr:\n"
                    f"{(e.stderr or b'').decode(errors='replace')[-3000:]}")
    if p.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {p.returncode}; stderr:\n{p.stderr.decode(errors='replace')[-3000:]}")
    return p


def _header_arg(k: str, v) -> str:
    return k if v is None else f"{k}={v.decode()}"


def build_dataset(n: int = U.N_RECORDS) -> list[U.Rec]:
    base = U.make_dataset(seed=303, n=n, partitions=1, timestamps=False, null_header_values=False,
                          avoid=(KDELIM, MDELIM))
    out = []
    for (codec, part, nullflag, headers), chunk in zip(CHUNKS, U.split(base, len(CHUNKS))):
        for r in chunk:
            key, value = r.key, r.value
            if nullflag:
                # With -Z an empty key/value is sent as NULL: no empty-but-present ones.
                key = None if key == b"" else key
                value = None if value == b"" else value
            else:
                value = b"" if value is None else value
                if key is None and value == b"":
                    value = b"v"  # an empty message would be skipped by kcat
            out.append(dataclasses.replace(r, partition=part, key=key, value=value, headers=headers))
    return out


def _encode(r: U.Rec, nullflag: bool) -> bytes:
    if r.key is None and not nullflag:
        return r.value  # no key delimiter: NULL key, whole message is the value
    return (r.key or b"") + KDELIM + (r.value or b"")


def kcat_produce(bootstrap, topic, recs, codec, partition, nullflag, headers):
    args = ["-P", "-b", bootstrap, "-t", topic, "-p", str(partition), "-z", codec,
            "-K", KDELIM_ARG, "-D", MDELIM_ARG,
            "-X", f"message.max.bytes={U.MAX_MESSAGE_BYTES}", "-X", "message.timeout.ms=30000", "-q"]
    if nullflag:
        args.append("-Z")
    for k, v in headers:
        args += ["-H", _header_arg(k, v)]
    data = b"".join(_encode(r, nullflag) + MDELIM for r in recs)
    t0 = int(time.time() * 1000)
    _kcat(args, input=data)
    return t0, int(time.time() * 1000)


def _parse_headers(h: str) -> list:
    if not h:
        return []
    out = []
    for item in h.split(","):
        k, _, v = item.partition("=")
        out.append((k, None if v == "NULL" else v.encode()))
    return out


def kcat_consume(bootstrap, topic, partition, start, count) -> list[U.Got]:
    if count == 0:
        return []
    p = _kcat(["-C", "-b", bootstrap, "-t", topic, "-p", str(partition), "-o", str(start),
               "-c", str(count), "-e", "-f", FMT, "-X", "fetch.wait.max.ms=100", "-q"])
    buf, pos, out = p.stdout, 0, []
    while pos < len(buf):
        sep = buf.index(b"\x01", pos)
        fields = buf[pos:sep].decode("utf-8").split(" ", 5)
        part, off, ts, klen, vlen, hdrs = fields
        pos = sep + 1
        klen, vlen = int(klen), int(vlen)
        key = None if klen < 0 else buf[pos:pos + klen]
        pos += max(klen, 0)
        value = None if vlen < 0 else buf[pos:pos + vlen]
        pos += max(vlen, 0)
        assert buf[pos:pos + 1] == b"\x02", f"kcat output framing broken at byte {pos}"
        pos += 1
        out.append(U.Got(int(part), int(off), key, value, _parse_headers(hdrs), int(ts)))
    return out


def test_produce_consume_every_codec(broker, topic_name):
    topic = topic_name()
    recs = build_dataset()
    windows = {}
    for (codec, part, nullflag, headers), chunk in zip(CHUNKS, U.split(recs, len(CHUNKS))):
        windows[codec] = kcat_produce(broker.bootstrap, topic, chunk, codec, part, nullflag, headers)
    t_lo = min(w[0] for w in windows.values()) - 1000
    t_hi = max(w[1] for w in windows.values()) + 1000

    # Metadata as kcat sees it.
    md = json.loads(_kcat(["-L", "-J", "-b", broker.bootstrap, "-t", topic]).stdout)
    (tmd,) = [t for t in md["topics"] if t["topic"] == topic]
    assert sorted(p["partition"] for p in tmd["partitions"]) == list(range(U.PARTITIONS)), tmd

    U.check_watermarks(broker.bootstrap, topic, recs)
    U.verify_topic("kcat", recs, lambda p, s, n: kcat_consume(broker.bootstrap, topic, p, s, n),
                   ts_range=(t_lo, t_hi))

    # Timestamp type, via the JSON envelope.
    out = _kcat(["-C", "-J", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "0", "-c", "3",
                 "-e", "-q"]).stdout.decode("utf-8", "replace")
    types = re.findall(r'"tstype":\s*"(\w+)"', out)
    assert types == ["create"] * 3, out[:500]


def test_offset_query_and_tail(broker, topic_name):
    """kcat -o -N (relative from end: ListOffsets latest) and -Q (offset by timestamp)."""
    topic = topic_name()
    recs = [U.Rec(i, 0, b"k%d" % i, b"value-%d" % i, (), None) for i in range(50)]
    t0, _ = kcat_produce(broker.bootstrap, topic, recs, "none", 0, False, ())
    p = _kcat(["-C", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "-5", "-e", "-f", r"%o:%s\n", "-q"])
    assert p.stdout.decode().splitlines() == [f"{45 + i}:value-{45 + i}" for i in range(5)]
    # Every record was written after t0, so the first offset with timestamp >= t0 - 1 s is 0.
    p = _kcat(["-Q", "-b", broker.bootstrap, "-t", f"{topic}:0:{t0 - 1000}"])
    assert re.search(rf"{re.escape(topic)} \[0\] offset 0\b", p.stdout.decode()), p.stdout.decode()
