"""One consumer-group member in its own process, for the group tests (test_groups.py).

    /usr/bin/python3 group_worker.py --client confluent|kafka-python --bootstrap HOST:PORT
        --topic T --group G --out FILE [--session-ms 6000] [--assignor range]
        [--instance-id ID] [--delay-ms 0] [--client-id ID]

At-least-once: each polled batch is written to FILE (and flushed) before its offsets are
committed synchronously, and partitions being revoked are committed first, so a kill -9
loses nothing and repeats at most the batch in flight. SIGTERM: commit, close (LeaveGroup),
exit 0.

FILE gets one JSON object per line:
    {"ev": "assigned", "parts": [..], "t": ..}   partitions added (incremental for cooperative)
    {"ev": "revoked", "parts": [..], "t": ..}    partitions taken away
    {"ev": "recs", "p": P, "o": [offsets..], "t": ..}
    {"ev": "closed", "t": ..}
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time

stopping = False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True, choices=["confluent", "kafka-python"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--session-ms", type=int, default=6000)
    ap.add_argument("--assignor", default="range")
    ap.add_argument("--instance-id")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="processing time per record")
    ap.add_argument("--client-id", default="hako-e2e-group-worker")
    a = ap.parse_args()

    out = open(a.out, "a", buffering=1)

    def log(**ev):
        ev["t"] = time.time()
        out.write(json.dumps(ev) + "\n")
        out.flush()

    def stop(_sig, _frm):
        global stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.client == "confluent":
        run_confluent(a, log)
    else:
        run_kafka_python(a, log)
    log(ev="closed")
    out.close()
    return 0


def _record_batch(log, batch, delay_ms):
    """batch: list of (partition, offset); writes them grouped by partition."""
    if delay_ms:
        time.sleep(delay_ms * len(batch) / 1000.0)
    by_p: dict[int, list[int]] = {}
    for p, o in batch:
        by_p.setdefault(p, []).append(o)
    for p, offs in sorted(by_p.items()):
        log(ev="recs", p=p, o=offs)


def run_confluent(a, log):
    from confluent_kafka import Consumer, KafkaError, KafkaException

    conf = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group,
        "client.id": a.client_id,
        "session.timeout.ms": a.session_ms,
        "heartbeat.interval.ms": max(500, a.session_ms // 6),
        "partition.assignment.strategy": a.assignor,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    if a.instance_id:
        conf["group.instance.id"] = a.instance_id
    c = Consumer(conf)

    def commit_quietly():
        # A commit can fail while the group rebalances (the next member to own the
        # partition then repeats the batch: at-least-once); the test counts those.
        try:
            c.commit(asynchronous=False)
        except KafkaException as e:
            if e.args[0].code() != KafkaError._NO_OFFSET:
                log(ev="commit_failed", error=str(e))

    def on_assign(consumer, parts):
        log(ev="assigned", parts=sorted(p.partition for p in parts))

    def on_revoke(consumer, parts):
        commit_quietly()
        log(ev="revoked", parts=sorted(p.partition for p in parts))

    # With cooperative-sticky the binding applies incremental_(un)assign after the callbacks.
    c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    try:
        while not stopping:
            msgs = c.consume(num_messages=500, timeout=0.2)
            batch = []
            for m in msgs:
                if m.error():
                    if m.error().fatal():
                        raise KafkaException(m.error())
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        log(ev="error", error=str(m.error()))
                    continue
                batch.append((m.partition(), m.offset()))
            if batch:
                _record_batch(log, batch, a.delay_ms)
                commit_quietly()
        commit_quietly()
    finally:
        c.close()


def run_kafka_python(a, log):
    from kafka import KafkaConsumer, ConsumerRebalanceListener
    from kafka.errors import KafkaError
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor,
                 "sticky": StickyPartitionAssignor}
    c = KafkaConsumer(
        bootstrap_servers=a.bootstrap,
        group_id=a.group,
        client_id=a.client_id,
        session_timeout_ms=a.session_ms,
        heartbeat_interval_ms=max(500, a.session_ms // 6),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        partition_assignment_strategy=[assignors[a.assignor]],
        metadata_max_age_ms=2000,
    )

    def commit_quietly():
        try:
            c.commit()
        except KafkaError as e:
            log(ev="commit_failed", error=repr(e))

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            if revoked:
                commit_quietly()
            log(ev="revoked", parts=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            log(ev="assigned", parts=sorted(tp.partition for tp in assigned))

    c.subscribe([a.topic], listener=Listener())
    try:
        while not stopping:
            polled = c.poll(timeout_ms=200, max_records=500)
            batch = [(tp.partition, m.offset) for tp, ms in polled.items() for m in ms]
            if batch:
                batch.sort(key=lambda x: (x[0], x[1]))
                _record_batch(log, batch, a.delay_ms)
                commit_quietly()
        if c.assignment():
            commit_quietly()
    finally:
        c.close()


if __name__ == "__main__":
    sys.exit(main())
