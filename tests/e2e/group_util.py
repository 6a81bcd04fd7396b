"""Helpers for the consumer group tests: member processes (group_worker.py and the node
*_group_worker.mjs scripts) and what their event logs say."""
from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import e2e_util as U

PY_CLIENTS = ("confluent", "kafka-python")
NODE_CLIENTS = ("kafkajs", "platformatic")
CLIENTS = PY_CLIENTS + NODE_CLIENTS


class Worker:
    """One group member in its own process, logging to `out` (JSON lines)."""

    def __init__(self, client: str, bootstrap: str, topic: str, group: str, out: Path, *,
                 session_ms: int = 6000, assignor: str = "range", instance_id: str | None = None,
                 delay_ms: float = 0.0, name: str = ""):
        self.client, self.out, self.name = client, out, name or out.stem
        if client in PY_CLIENTS:
            cmd = [sys.executable, str(U.E2E_DIR / "group_worker.py"), "--client", client,
                   "--bootstrap", bootstrap, "--assignor", assignor]
            if instance_id:
                cmd += ["--instance-id", instance_id]
            cwd = U.E2E_DIR
        else:
            if not U.node_modules_ready():
                import pytest
                pytest.fail(f"{U.JS_DIR}/node_modules is missing: run scripts/setup_e2e.sh")
            cmd = ["node", str(U.JS_DIR / f"{client}_group_worker.mjs"), "--brokers", bootstrap]
            cwd = U.JS_DIR
        cmd += ["--topic", topic, "--group", group, "--out", str(out),
                "--session-ms", str(session_ms), "--delay-ms", str(delay_ms)]
        self.stderr_path = out.with_suffix(".stderr")
        self._stderr = open(self.stderr_path, "wb")
        env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=subprocess.STDOUT, env=env)

    def events(self) -> list[dict]:
        if not self.out.exists():
            return []
        out = []
        for line in self.out.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line cut by kill -9
        return out

    def assignment(self, events=None) -> set[int]:
        """Partitions owned now, from the assigned/revoked events."""
        owned: set[int] = set()
        for e in events if events is not None else self.events():
            if e["ev"] == "assigned":
                owned |= set(e["parts"])
            elif e["ev"] == "revoked":
                owned -= set(e["parts"])
        return owned

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout} s\n{self.tail()}")
        self._stderr.close()
        return self.proc.returncode

    def kill(self) -> float:
        self.proc.send_signal(signal.SIGKILL)
        t = time.time()
        self.proc.wait()
        self._stderr.close()
        return t

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            text = ""
        return f"--- {self.name} ({self.client}) output ---\n" + "\n".join(text.splitlines()[-lines:])


def describe(workers) -> str:
    return "\n".join(f"{w.name}: alive={w.alive()} owns={sorted(w.assignment())} "
                     f"events={[(e['ev'], e.get('parts')) for e in w.events() if e['ev'] != 'recs'][-8:]}"
                     for w in workers)


def wait_for(cond, timeout: float, what: str, workers=(), broker=None, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        if broker is not None:
            broker.check_alive(f"while waiting for {what}")
        for w in workers:
            if not w.alive() and w.proc.returncode not in (0, -9):
                raise AssertionError(f"{w.name} exited with {w.proc.returncode} while waiting for "
                                     f"{what}\n{w.tail()}")
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{describe(workers)}\n"
                                 + "\n".join(w.tail(15) for w in workers))
        time.sleep(interval)


def balanced(workers, partitions: int) -> bool:
    """Every partition owned by exactly one live worker, every live worker owning some."""
    owned = [w.assignment() for w in workers if w.alive()]
    flat = [p for s in owned for p in s]
    return all(owned) and sorted(flat) == list(range(partitions))


def consumed(workers) -> collections.Counter:
    c: collections.Counter = collections.Counter()
    for w in workers:
        for e in w.events():
            if e["ev"] == "recs":
                for o in e["o"]:
                    c[(e["p"], o)] += 1
    return c


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(topic, partitions, 1)])[topic].result(15)


def produce_counted(bootstrap: str, topic: str, n: int, partitions: int) -> None:
    """n small records, round robin over the partitions (record i -> partition i % p)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    errors = []
    for i in range(n):
        while True:
            try:
                p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % partitions,
                          on_delivery=lambda err, _m: err and errors.append(str(err)))
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(30) == 0, "records not delivered"
    assert not errors, errors[:5]


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
        return [tp.offset for tp in tps]
    finally:
        c.close()
