"""s3:// engine (issue 7), end to end against the moto_server of scripts/s3_start.sh.

- Three brokers on one bucket prefix, a producer on each writing every partition at once:
  the brokers race on the same partitions' watermarks, yet offsets are dense, nothing is
  duplicated and every acknowledged record is read back.
- One consumer group spread over the three brokers shares the partitions exactly once.
- Faults: through tests/tools/s3_chaos_proxy.py the S3 server answers 500/503 to a share of
  requests (some after applying them) or stalls; producers see no error (the broker
  retries, and a produce it cannot finish is refused with a retriable error), nothing
  acknowledged is lost, nothing is written twice. The proxy also checks every body's
  x-amz-checksum-crc32c, as S3 does.
Runs in the HAKO_E2E_ENGINE=s3 pass only (make e2e).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import pytest

import e2e_util as U
import group_util as G
from conftest import Broker, s3_url

pytestmark = pytest.mark.skipif(os.environ.get("HAKO_E2E_ENGINE") != "s3",
                                reason="s3 engine pass only (HAKO_E2E_ENGINE=s3)")


def _read_all(bootstrap, topic, partition):
    """Every record of the partition as {offset: value}; asserts density."""
    got, hi = U.confluent_read_dense(bootstrap, topic, partition)
    return {g.offset: g.value for g in got}, hi


def _produce_from_each(brokers, topic, partitions, n, tag="w", **conf):
    """A producer per broker (bootstrapped on it alone), each writing n records spread
    over every partition at once. Returns ({(partition, offset): value}, errors)."""
    from confluent_kafka import Producer
    acked: dict[tuple[int, int], bytes] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def produce(w, broker):
        p = Producer(U.confluent_producer_conf(broker.bootstrap, "lz4", **{"linger.ms": 2, **conf}))

        def cb(err, msg):
            with lock:
                if err is None:
                    acked[(msg.partition(), msg.offset())] = msg.value()
                else:
                    errors.append(str(err))
        for i in range(n):
            while True:
                try:
                    p.produce(topic, value=b"%s%d-%d" % (tag.encode(), w, i), partition=i % partitions,
                              on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        left = p.flush(120)
        if left:
            with lock:
                errors.append(f"{left} records never delivered")

    threads = [threading.Thread(target=produce, args=(w, b)) for w, b in enumerate(brokers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    return acked, errors


def _check_log(bootstrap_of, topic, partitions, acked, total):
    seen = set()
    for part in range(partitions):
        recs, hw = _read_all(bootstrap_of(part), topic, part)
        for off, v in recs.items():
            if (part, off) in acked:
                assert acked[(part, off)] == v, f"partition {part} offset {off}"
            assert v not in seen, f"{v!r} stored twice"
            seen.add(v)
    missing = [k for k, v in acked.items() if v not in seen]
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:3]}"
    assert len(acked) == total, f"{len(acked)} of {total} acknowledged"


@pytest.fixture
def three_brokers(tmp_path):
    url = s3_url("shared-" + uuid.uuid4().hex[:8])
    brokers = [Broker(tmp_path, f"s3n{i + 1}", storage=url, partitions=3,
                      extra_args=("--node-id", str(i + 1), "--group-initial-rebalance-delay-ms",
                                  "0")).start()
               for i in range(3)]
    yield brokers
    problems = [p for p in (b.stop() for b in brokers) if p]
    assert not problems, problems


def test_three_brokers_one_bucket(three_brokers):
    brokers = three_brokers
    topic = "shared"
    n = 1500
    G.create_topic(brokers[0].bootstrap, topic, 3)
    acked, errors = _produce_from_each(brokers, topic, 3, n)
    assert not errors, errors[:5]
    _check_log(lambda p: brokers[p].bootstrap, topic, 3, acked, 3 * n)
    for part in range(3):
        _recs, hw = _read_all(brokers[(part + 1) % 3].bootstrap, topic, part)
        assert hw == n, (part, hw)


def test_consumer_group_spread_over_brokers(three_brokers):
    """Three members, each bootstrapped on a different broker, share six partitions."""
    from confluent_kafka import Consumer
    brokers = three_brokers
    topic, group, n = "grouped", "g-" + uuid.uuid4().hex[:6], 1800
    G.create_topic(brokers[0].bootstrap, topic, 6)
    members = [Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": True,
                         "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
               for b in brokers]
    for m in members:
        m.subscribe([topic])
    got: list[list[bytes]] = [[] for _ in members]
    deadline = time.time() + 60
    try:  # wait until the partitions are spread before producing: no rebalance mid-read
        while time.time() < deadline:
            for m in members:
                m.poll(0.1)
            sizes = [len(m.assignment()) for m in members]
            if sizes == [2, 2, 2]:
                break
        assert [len(m.assignment()) for m in members] == [2, 2, 2]
        from confluent_kafka import Producer
        p = Producer(U.confluent_producer_conf(brokers[0].bootstrap, "none"))
        for i in range(n):
            p.produce(topic, value=b"g%d" % i, partition=i % 6)
        assert p.flush(60) == 0
        deadline = time.time() + 90
        while sum(map(len, got)) < n and time.time() < deadline:
            for i, m in enumerate(members):
                msg = m.poll(0.05)
                if msg is not None and not msg.error():
                    got[i].append(msg.value())
    finally:
        for m in members:
            m.close()
    everything = [v for g in got for v in g]
    assert sorted(everything) == sorted(b"g%d" % i for i in range(n))
    assert all(got), "every member (one per broker) got a share"


@pytest.fixture
def chaos(tmp_path):
    """tests/tools/s3_chaos_proxy.py between the brokers and the S3 server."""
    endpoint = os.environ["HAKO_E2E_S3_ENDPOINT"]
    upstream = endpoint.split("://", 1)[1].rstrip("/")
    proxy = os.path.join(os.path.dirname(__file__), "..", "tools", "s3_chaos_proxy.py")
    log = open(tmp_path / "chaos.log", "w")
    proc = subprocess.Popen([sys.executable, proxy, "--listen-port", "0", "--upstream", upstream,
                             "--seed", "7"], stdout=subprocess.PIPE, stderr=log, text=True)
    port = int(proc.stdout.readline().strip().split()[-1])
    url = f"http://127.0.0.1:{port}"

    def set_chaos(**kw):
        req = urllib.request.Request(url + "/__chaos", data=json.dumps(kw).encode(),
                                     method="POST")
        return json.loads(urllib.request.urlopen(req, timeout=5).read())

    saved = os.environ.get("AWS_ENDPOINT_URL", endpoint)
    yield url, set_chaos
    os.environ["AWS_ENDPOINT_URL"] = saved
    proc.terminate()
    proc.wait(10)
    log.close()


def test_s3_errors_and_stalls_lose_nothing(tmp_path, chaos):
    url_endpoint, set_chaos = chaos
    prefix = "chaos-" + uuid.uuid4().hex[:8]
    # a short per-request timeout, so a stalled request is abandoned and retried quickly;
    # bodies carry x-amz-checksum-crc32c (as on https), which the proxy checks like S3
    storage = s3_url(prefix) + "&request_timeout_ms=2000&sign_payload=false"
    os.environ["AWS_ENDPOINT_URL"] = url_endpoint  # the brokers inherit it
    brokers = [Broker(tmp_path, f"chaos{i + 1}", storage=storage, partitions=2,
                      extra_args=("--node-id", str(i + 1))).start() for i in range(2)]
    try:
        topic = "faulty"
        G.create_topic(brokers[0].bootstrap, topic, 2)
        # a fifth of requests fail (500/503), some of them after the server applied them
        set_chaos(error_rate=0.2, post_error_rate=0.05)
        # small batches: many produce requests, so many S3 requests meet a fault
        conf = {"enable.idempotence": True, "message.timeout.ms": 120000, "batch.num.messages": 10,
                "retry.backoff.ms": 100}
        acked, errors = _produce_from_each(brokers, topic, 2, 600, **conf)
        assert not errors, errors[:5]
        # stalls: some requests hang past the broker's request timeout (a rate high enough
        # that a few dozen requests meet several: pipelined produce writes fewer, larger
        # objects, so this phase sends only ~50 S3 requests)
        set_chaos(error_rate=0.0, post_error_rate=0.0, stall_rate=0.15, stall_seconds=5)
        acked2, errors = _produce_from_each(brokers[:1], topic, 2, 200, tag="stall", **conf)
        assert not errors, errors[:5]
        counts = set_chaos(error_rate=0.0, post_error_rate=0.0, stall_rate=0.0)
        # the faults really happened (the proxy counts what it did)
        assert counts["errors"] >= 20 and counts["post_errors"] >= 5 and counts["stalls"] >= 2, counts
        # every object and document carried the body's CRC32C, and it was right
        assert counts["checksums_ok"] >= 50 and counts["checksums_bad"] == 0, counts
        for b in brokers:
            b.check_alive("after the S3 faults")
        acked.update({(p, o): v for (p, o), v in acked2.items()})
        _check_log(lambda p: brokers[p % 2].bootstrap, topic, 2, acked, 1400)
    finally:
        problems = [p for p in (b.stop() for b in brokers) if p]
    assert not problems, problems


def test_virtual_hosted_addressing(tmp_path):
    """path_style=false: the bucket goes in the Host header ("<bucket>.s3.hako.test"), as on
    AWS; connect_to reaches moto_server without DNS for that name. The objects land in the
    bucket the host named (listed here path-style), and a consumer reads every record."""
    from confluent_kafka import Producer
    endpoint = os.environ["HAKO_E2E_S3_ENDPOINT"]
    port = endpoint.rsplit(":", 1)[1].rstrip("/")
    prefix = "vh-" + uuid.uuid4().hex[:8]
    s3_url(prefix)  # the AWS_* credentials
    bucket = "hako-e2e-vhost"
    # checkpoint_objects=1: the watermark document is stored after every object, so the
    # listing below has both kinds of key
    storage = (f"s3://{bucket}/{prefix}?create_bucket=true&path_style=false"
               f"&connect_to=127.0.0.1:{port}&checkpoint_objects=1")
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = f"http://s3.hako.test:{port}"
    try:
        broker = Broker(tmp_path, "vhost", storage=storage, partitions=1).start()
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved
    try:
        p = Producer(U.confluent_producer_conf(broker.bootstrap, "none"))
        for i in range(200):
            p.produce("vhosted", value=b"v%d" % i, partition=0)
        assert p.flush(30) == 0
        recs, hw = _read_all(broker.bootstrap, "vhosted", 0)
        assert hw == 200
        assert [recs[o] for o in range(200)] == [b"v%d" % i for i in range(200)]
    finally:
        assert not broker.stop()
    listing = urllib.request.urlopen(
        f"{endpoint.rstrip('/')}/{bucket}?list-type=2&prefix={prefix}/log/", timeout=10).read()
    assert b".batch</Key>" in listing and b"state.json</Key>" in listing, listing[:500]


def test_killed_writer_loses_nothing_it_acknowledged(tmp_path):
    """A write is acknowledged once its object is created; the watermark document follows
    at the next checkpoint. A broker killed (SIGKILL) with its checkpoints far off loses
    nothing: another broker on the same prefix finds the objects past the document,
    serves every acknowledged record, and appends after them."""
    from confluent_kafka import Producer
    url = s3_url("killed-" + uuid.uuid4().hex[:8])
    lazy = url + "&checkpoint_objects=100000&checkpoint_ms=600000"
    a = Broker(tmp_path, "s3a", storage=lazy, partitions=3).start()
    G.create_topic(a.bootstrap, "lazy", 3)
    acked, errors = _produce_from_each([a], "lazy", 3, 3000, tag="a", **{"enable.idempotence": True})
    assert not errors, errors[:5]
    assert len(acked) == 3000
    a.proc.kill()
    a.proc.wait()
    a.stop()  # forget it (it is dead: the problem report is expected)
    prefix = url.split("?")[0].split("/", 3)[3]
    endpoint = os.environ["HAKO_E2E_S3_ENDPOINT"].rstrip("/")
    listing = urllib.request.urlopen(
        f"{endpoint}/hako-e2e?list-type=2&prefix={prefix}/log/", timeout=10).read()
    assert b".batch</Key>" in listing and b"state.json</Key>" not in listing, \
        "the writer stored no watermark document: everything below rests on the chain"
    b = Broker(tmp_path, "s3b", storage=url, partitions=3).start()
    try:
        _check_log(lambda p: b.bootstrap, "lazy", 3, acked, 3000)
        ends = {}
        for part in range(3):
            _recs, ends[part] = _read_all(b.bootstrap, "lazy", part)
        assert sum(ends.values()) == 3000
        more, errors = _produce_from_each([b], "lazy", 3, 300, tag="b")
        assert not errors, errors[:5]
        for (part, off) in more:
            assert off >= ends[part], (part, off)
        acked.update(more)
        _check_log(lambda p: b.bootstrap, "lazy", 3, acked, 3300)
    finally:
        assert not b.stop()


def test_stopped_broker_stores_its_chains_and_gives_up_its_lease(tmp_path):
    """SIGTERM: before it exits, a broker stores the watermark documents its writes left
    behind (the next reader starts from them instead of following chains) and gives up its
    registration lease, so Metadata on the other brokers stops listing it at once."""
    url = s3_url("stopped-" + uuid.uuid4().hex[:8])
    lazy = url + "&checkpoint_objects=100000&checkpoint_ms=600000"
    a = Broker(tmp_path, "s3a", storage=lazy, partitions=3).start()
    G.create_topic(a.bootstrap, "tidy", 3)
    acked, errors = _produce_from_each([a], "tidy", 3, 900, tag="a")
    assert not errors, errors[:5]
    prefix = url.split("?")[0].split("/", 3)[3]
    endpoint = os.environ["HAKO_E2E_S3_ENDPOINT"].rstrip("/")

    def keys(under):
        listing = urllib.request.urlopen(
            f"{endpoint}/hako-e2e?list-type=2&prefix={prefix}/{under}", timeout=10).read().decode()
        import re
        return re.findall(r"<Key>([^<]+)</Key>", listing)

    def get(key):
        # moto_server refuses an anonymous GET of a private object but, by default, does not
        # check signatures: any SigV4-shaped Authorization header will do.
        auth = ("AWS4-HMAC-SHA256 Credential=hako/20260101/us-east-1/s3/aws4_request, "
                "SignedHeaders=host, Signature=" + "0" * 64)
        req = urllib.request.Request(f"{endpoint}/hako-e2e/{key}", headers={
            "Authorization": auth, "x-amz-date": "20260101T000000Z",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    assert not [k for k in keys("log/") if k.endswith("state.json")], "stored before the stop"
    assert not a.stop()
    stopped_ms = time.time() * 1000
    docs = [get(k) for k in keys("log/") if k.endswith("state.json")]
    assert len(docs) == 3, docs
    assert sorted(d["next"] for d in docs) == sorted(
        sum(1 for (p, _o) in acked if p == part) for part in range(3))
    (lease,) = keys("cluster/brokers/")
    assert get(lease)["expires_ms"] <= stopped_ms, "the lease was not given up"


def test_a_stop_with_s3_hanging_ends_after_the_grace(tmp_path, chaos):
    """SIGTERM while every S3 request stalls: the broker's final save and lease give-up get
    five seconds, then the engine is shut down and the requests in flight are cancelled —
    the broker exits 0 within ~5 s, not after the request timeout and its retries."""
    url_endpoint, set_chaos = chaos
    storage = (s3_url("hang-" + uuid.uuid4().hex[:8]) +
               "&checkpoint_objects=100000&checkpoint_ms=600000&request_timeout_ms=30000")
    os.environ["AWS_ENDPOINT_URL"] = url_endpoint
    a = Broker(tmp_path, "hang", storage=storage, partitions=1).start()
    G.create_topic(a.bootstrap, "hang", 1)
    acked, errors = _produce_from_each([a], "hang", 1, 100, tag="h")
    assert not errors and len(acked) == 100, errors[:5]
    set_chaos(stall_rate=1.0, stall_seconds=60)
    t0 = time.monotonic()
    problem = a.stop()
    took = time.monotonic() - t0
    set_chaos(stall_rate=0.0)
    assert problem is None, problem
    assert 4.0 <= took <= 9.0, f"exited {took:.1f} s after SIGTERM"
