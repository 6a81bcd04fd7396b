"""`hako perf produce` and `hako perf consume` (the benchmark harness's load tools) against a
real broker: what they report must be what happened on the wire, checked with another
client (confluent-kafka) rather than with the tool itself."""

from __future__ import annotations

import json
import subprocess

from confluent_kafka import Consumer, TopicPartition

from conftest import HAKO_BIN


def _perf(*args: str) -> dict:
    p = subprocess.run([str(HAKO_BIN), "perf", *args, "--json", "--no-progress"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def _end_offsets(bootstrap: str, topic: str, partitions: int) -> list[int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "perf-cli-check"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)]
    finally:
        c.close()


def test_produce_reports_what_the_broker_stored(broker, topic_name):
    topic, n = topic_name(), 20_000
    r = _perf("produce", "-b", broker.bootstrap, "-t", topic, "-p", "4", "-s", "64", "-n", str(n))
    assert (r["records"], r["errors"], r["bytes"]) == (n, 0, n * 64)
    lat = r["latency_ms"]
    # produce() to delivery report: positive, and ordered as percentiles are
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], lat
    assert r["records_per_s"] > 0
    ends = _end_offsets(broker.bootstrap, topic, 4)
    # (how they spread over the partitions is librdkafka's sticky partitioner's business:
    # a burst within its 10 ms linger can all land on one)
    assert sum(ends) == n, ends

    c = _perf("consume", "-b", broker.bootstrap, "-t", topic)
    assert (c["records"], c["errors"], c["bytes"]) == (n, 0, n * 64)


def test_produce_at_a_rate_keeps_to_it(broker, topic_name):
    topic = topic_name()
    r = _perf("produce", "-b", broker.bootstrap, "-t", topic, "-p", "1", "-r", "2000", "-d", "2")
    assert r["errors"] == 0
    # paced, not flat out: about 2 s × 2,000 records/s (the pacing is exact; the bounds only
    # allow for a slow start on a busy machine)
    assert 2_000 <= r["records"] <= 4_100, r
    assert sum(_end_offsets(broker.bootstrap, topic, 1)) == r["records"]
