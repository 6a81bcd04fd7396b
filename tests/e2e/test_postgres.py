"""postgres:// engine (issue 6), end to end against the server of scripts/pg_start.sh.

- The outbox function: hako.produce() inside an application's transaction is visible to
  Kafka consumers at the returned offset after COMMIT, never after ROLLBACK, and leaves
  no offset hole; concurrent SQL callers and Kafka producers on one partition give a
  dense log with every committed record exactly once.
- Three brokers on one database: concurrent producers on every broker, every acknowledged
  record read back exactly once, offsets dense.
- LISTEN/NOTIFY: a consumer long-polling on broker B sees a commit made through SQL.
Runs in the HAKO_E2E_ENGINE=postgres pass only (make e2e).
"""
from __future__ import annotations

import os
import threading
import time

import pytest

import e2e_util as U
import group_util as G
from conftest import Broker, pg_schema, pg_url

pytestmark = pytest.mark.skipif(os.environ.get("HAKO_E2E_ENGINE") != "postgres",
                                reason="postgres engine pass only (HAKO_E2E_ENGINE=postgres)")


def _sql(schema):
    import psycopg2
    base = os.environ["HAKO_E2E_PG_URL"]
    conn = psycopg2.connect(base)
    with conn.cursor() as cur:
        cur.execute(f'SET search_path TO "{schema}"')
    conn.commit()
    return conn


def _read_all(bootstrap, topic, partition):
    """Every record of the partition as {offset: (key, value, headers)}; asserts density."""
    got, hi = U.confluent_read_dense(bootstrap, topic, partition)
    return {g.offset: (g.key, g.value, g.headers) for g in got}, hi


@pytest.fixture
def pg_broker(tmp_path):
    schema = pg_schema()
    b = Broker(tmp_path, "pg", storage=pg_url(schema), partitions=1).start()
    yield b, schema
    problem = b.stop()
    assert not problem, problem


def test_outbox_commit_and_rollback(pg_broker):
    broker, schema = pg_broker
    G.create_topic(broker.bootstrap, "orders", 1)
    conn = _sql(schema)
    with conn.cursor() as cur:
        # the application's own business table, written in the same transaction
        cur.execute("CREATE TABLE app_order (id int PRIMARY KEY, total int)")
        conn.commit()
        cur.execute("INSERT INTO app_order VALUES (1, 100)")
        cur.execute("SELECT produce('orders', 0, 'o1', '{\"total\": 100}', '{\"src\": \"app\"}')")
        assert cur.fetchone()[0] == 0
        conn.commit()
        cur.execute("INSERT INTO app_order VALUES (2, 200)")
        cur.execute("SELECT produce('orders', 0, 'o2', 'never')")
        assert cur.fetchone()[0] == 1
        conn.rollback()  # the record never existed: offset 1 is handed out again
        cur.execute("SELECT produce('orders', 0, 'o3', 'third', "
                    "'[{\"key\": \"h\", \"value\": \"x\"}, {\"key\": \"n\", \"value\": null}]')")
        assert cur.fetchone()[0] == 1
        conn.commit()
        # unknown topic: an error, nothing written
        with pytest.raises(Exception, match="unknown topic"):
            cur.execute("SELECT produce('nope', 0, NULL, 'x')")
        conn.rollback()
        # the view shows the stream as a table
        cur.execute("SELECT \"offset\", key_text, value_text FROM records "
                    "WHERE topic = 'orders' ORDER BY \"offset\"")
        assert cur.fetchall() == [(0, "o1", '{"total": 100}'), (1, "o3", "third")]
    conn.close()
    recs, hw = _read_all(broker.bootstrap, "orders", 0)
    assert hw == 2
    assert recs[0][:2] == (b"o1", b'{"total": 100}') and recs[0][2] == [("src", b"app")]
    assert recs[1] == (b"o3", b"third", [("h", b"x"), ("n", None)])
    # Kafka producers continue after the SQL-made records
    out = U.confluent_produce(broker.bootstrap, "orders",
                              [U.Rec(i, 0, b"k", b"kafka%d" % i, (), None) for i in range(3)])
    assert sorted(o for _, o in out.values()) == [2, 3, 4]


def test_outbox_concurrent_with_kafka_producers(pg_broker):
    broker, schema = pg_broker
    topic = "mixed"
    G.create_topic(broker.bootstrap, topic, 1)
    committed: dict[int, bytes] = {}
    rolled_back: set[bytes] = set()
    lock = threading.Lock()
    errors: list[str] = []

    def sql_writer(w):
        try:
            conn = _sql(schema)
            with conn.cursor() as cur:
                for i in range(60):
                    value = b"sql-%d-%d" % (w, i)
                    cur.execute("SELECT produce(%s, 0, NULL, %s)", (topic, value))
                    off = cur.fetchone()[0]
                    if i % 4 == 3:
                        conn.rollback()
                        with lock:
                            rolled_back.add(value)
                    else:
                        conn.commit()
                        with lock:
                            committed[off] = value
            conn.close()
        except Exception as e:  # surfaced below
            errors.append(f"sql writer {w}: {e}")

    from confluent_kafka import Producer
    acked: dict[int, bytes] = {}
    p = Producer(U.confluent_producer_conf(broker.bootstrap, "none", **{"linger.ms": 1}))

    def cb(err, msg):
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            errors.append(str(err))

    threads = [threading.Thread(target=sql_writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for i in range(1500):
        while True:
            try:
                p.produce(topic, value=b"kafka-%d" % i, partition=0, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if i % 100 == 0:
            time.sleep(0.01)
    for t in threads:
        t.join(60)
    assert p.flush(30) == 0
    assert not errors, errors[:5]

    recs, hw = _read_all(broker.bootstrap, topic, 0)
    assert hw == len(committed) + len(acked), (hw, len(committed), len(acked))
    for off, v in committed.items():
        assert recs[off][1] == v, f"outbox record at {off}"
    for off, v in acked.items():
        assert recs[off][1] == v, f"kafka record at {off}"
    values = [r[1] for r in recs.values()]
    assert len(set(values)) == len(values), "a record appears twice"
    assert not rolled_back & set(values), "a rolled-back record is visible"


def test_notify_wakes_long_poll_on_another_broker(tmp_path):
    schema = pg_schema()
    url = pg_url(schema)
    a = Broker(tmp_path, "pa", storage=url, partitions=1, extra_args=("--node-id", "1")).start()
    b = Broker(tmp_path, "pb", storage=url, partitions=1, extra_args=("--node-id", "2")).start()
    try:
        G.create_topic(a.bootstrap, "wake", 1)
        from confluent_kafka import TopicPartition
        c = U.confluent_consumer(b.bootstrap, **{"fetch.wait.max.ms": 5000})
        c.assign([TopicPartition("wake", 0, 0)])
        c.poll(0.5)  # the consumer is now long-polling broker B
        conn = _sql(schema)
        with conn.cursor() as cur:
            cur.execute("SELECT produce('wake', 0, NULL, 'ping')")
        t0 = time.monotonic()
        conn.commit()
        m = None
        while m is None and time.monotonic() - t0 < 10:
            m = c.poll(0.05)
        took = time.monotonic() - t0
        c.close()
        conn.close()
        assert m is not None and m.value() == b"ping"
        assert took < 2.0, f"long poll woke after {took:.2f} s (fetch.wait.max.ms 5000)"
    finally:
        problems = [p for p in (a.stop(), b.stop()) if p]
    assert not problems, problems


def test_three_brokers_one_database(tmp_path):
    url = pg_url(pg_schema())
    brokers = [Broker(tmp_path, f"pg{i + 1}", storage=url, partitions=3,
                      extra_args=("--node-id", str(i + 1))).start() for i in range(3)]
    topic = "shared"
    n = 3000
    try:
        G.create_topic(brokers[0].bootstrap, topic, 3)
        from confluent_kafka import Producer
        acked: dict[tuple[int, int], bytes] = {}
        errors: list[str] = []
        lock = threading.Lock()

        def produce(w, broker):
            # bootstrap on one broker only: librdkafka still follows leadership, so pin
            # the writes to this broker's connection by giving it only this address
            p = Producer(U.confluent_producer_conf(broker.bootstrap, "lz4", **{"linger.ms": 2}))

            def cb(err, msg):
                with lock:
                    if err is None:
                        acked[(msg.partition(), msg.offset())] = msg.value()
                    else:
                        errors.append(str(err))
            for i in range(n):
                while True:
                    try:
                        p.produce(topic, value=b"w%d-%d" % (w, i), partition=i % 3, on_delivery=cb)
                        break
                    except BufferError:
                        p.poll(0.05)
                p.poll(0)
            assert p.flush(60) == 0

        threads = [threading.Thread(target=produce, args=(w, b)) for w, b in enumerate(brokers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors[:5]
        assert len(acked) == 3 * n, f"{len(acked)} of {3 * n} acknowledged"
        seen = set()
        for part in range(3):
            recs, hw = _read_all(brokers[part].bootstrap, topic, part)
            assert hw == n, (part, hw)
            for off, (_, v, _) in recs.items():
                assert acked[(part, off)] == v, f"partition {part} offset {off}"
                assert v not in seen, f"{v!r} read twice"
                seen.add(v)
        assert len(seen) == 3 * n
    finally:
        problems = [p for p in (b.stop() for b in brokers) if p]
    assert not problems, problems


def _pg_ctl(*args):
    """pg_ctl on the server of scripts/pg_start.sh (same port, same data: `restart` reuses
    the options the server was started with, also after a stop)."""
    import subprocess
    pg_dir = os.environ.get("HAKO_PG_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "hako-pg"))
    bins = sorted(d for d in os.listdir("/usr/lib/postgresql"))
    pg_ctl = f"/usr/lib/postgresql/{bins[-1]}/bin/pg_ctl"
    cmd = [pg_ctl, "-D", f"{pg_dir}/data", "-w", "-t", "60", *args]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=90)


def _restart_postgres(mode="fast"):
    """fast: a clean shutdown; immediate: the server processes quit at once, as in a crash
    (no shutdown checkpoint; the restart runs crash recovery from the WAL)."""
    _pg_ctl("-m", mode, "restart")


def test_postgres_down_answers_retriable_errors_per_partition(pg_broker):
    """While PostgreSQL is down the broker stays up and keeps the connection: produce,
    fetch and ListOffsets answer KAFKA_STORAGE_ERROR (56, retriable in every client) per
    partition; once the server is back the same connection carries on at the next offset."""
    import raw_kafka as R
    broker, _schema = pg_broker
    topic = "outage"
    G.create_topic(broker.bootstrap, topic, 1)
    conn = R.Conn(broker.bootstrap)
    now = int(time.time() * 1000)
    for i in range(5):
        err, base, _ = R.produce_v7(conn, topic, 0, R.record_batch([(None, b"before%d" % i, now)], now))
        assert (err, base) == (0, i)
    _pg_ctl("-m", "immediate", "stop")
    try:
        err, base, _ = R.produce_v7(conn, topic, 0, R.record_batch([(None, b"during", now)], now))
        assert err == 56 and base == -1, (err, base)
        err, _hw, _recs = R.fetch_v4(conn, topic, 0, 0, 1 << 20)
        assert err == 56, err
        err, _ts, _off = R.list_offsets(conn, 1, topic, 0, -1)
        assert err == 56, err
        broker.check_alive("while PostgreSQL is down")
    finally:
        _pg_ctl("-m", "fast", "restart")
    deadline = time.time() + 30
    while True:  # the pool reconnects with backoff: the first tries may still fail
        err, base, _ = R.produce_v7(conn, topic, 0, R.record_batch([(None, b"after", now)], now))
        if err == 0 or time.time() > deadline:
            break
        assert err == 56, err
        time.sleep(0.2)
    assert (err, base) == (0, 5), "the record refused during the outage must not have been written"
    err, hw, recs = R.fetch_v4(conn, topic, 0, 0, 1 << 20)
    assert (err, hw) == (0, 6)
    conn.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_during_produce(pg_broker, mode):
    broker, _schema = pg_broker
    topic = f"restart-{mode}"
    G.create_topic(broker.bootstrap, topic, 1)
    from confluent_kafka import Producer
    acked: dict[int, bytes] = {}
    errors: list[str] = []
    p = Producer(U.confluent_producer_conf(broker.bootstrap, "none", **{
        "enable.idempotence": True, "linger.ms": 2, "message.timeout.ms": 60000,
        "retry.backoff.ms": 200}))

    def cb(err, msg):
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            errors.append(str(err))

    n = 6000
    restarter = threading.Thread(target=_restart_postgres, args=(mode,))
    for i in range(n):
        if i == n // 4:
            restarter.start()  # mid-load, produce requests in flight; the broker keeps running
        while True:
            try:
                p.produce(topic, value=b"r%d" % i, partition=0, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if i % 100 == 0:
            time.sleep(0.02)
    restarter.join(60)
    assert p.flush(60) == 0
    broker.check_alive("after the PostgreSQL restart")
    assert not errors, errors[:5]
    recs, hw = _read_all(broker.bootstrap, topic, 0)
    assert len(acked) == n
    for off, v in acked.items():
        assert recs[off][1] == v, f"acknowledged record at {off} lost or moved"
    assert hw == n, f"{hw - n} records duplicated despite idempotence"


def _readme_blocks(path, after):
    """The fenced code blocks of a markdown file that follow the line containing `after`."""
    text = open(path).read()
    text = text[text.index(after):]
    blocks, inside, cur = [], False, []
    for line in text.splitlines():
        if line.startswith("```"):
            if inside:
                blocks.append("\n".join(cur) + "\n")
                cur = []
            inside = not inside
        elif inside:
            cur.append(line)
    return blocks


def test_readme_outbox_example_runs_verbatim(tmp_path):
    """The outbox example of src/storage/postgres/README.md, as written: a broker on a
    fresh database with the default `hako` schema, the topic `orders` with one partition,
    the SQL block through psql, then the kcat command (only the broker address changed);
    its output must be the line the README shows."""
    import subprocess
    import uuid
    import psycopg2
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "src", "storage", "postgres",
                          "README.md")
    sql, shell = _readme_blocks(readme, "A complete example")[:2]
    cmd_line, expected = shell.strip().splitlines()
    assert cmd_line.startswith("$ kcat ")
    base = os.environ["HAKO_E2E_PG_URL"]
    db = "readme_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(base)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {db}")
    url = base.rsplit("/", 1)[0] + "/" + db
    b = Broker(tmp_path, "readme", storage=url, partitions=1).start()
    try:
        G.create_topic(b.bootstrap, "orders", 1)
        r = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-q", url], input=sql,
                           text=True, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        argv = __import__("shlex").split(cmd_line[2:].replace("localhost:9092", b.bootstrap))
        r = subprocess.run(argv, text=True, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().splitlines() == [expected], r.stdout
    finally:
        problem = b.stop()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.close()
    assert not problem, problem
