"""pytest fixtures for the hako end-to-end suite.

Run with Debian's Python (the client libraries are Debian packages for it):

    scripts/setup_e2e.sh            # once: apt packages + npm ci in tests/e2e/js
    /usr/bin/python3 -m pytest tests/e2e -q

Environment:
    HAKO_BIN            broker binary (default <repo>/build/hako)
    HAKO_E2E_RECORDS    records per client test (default 10000)
    HAKO_E2E_PARTITIONS --default-partitions of the brokers (default 3)
    HAKO_E2E_ENGINE     memory (default), sqlite, postgres or s3
    HAKO_E2E_PG_URL     server for postgres (scripts/pg_start.sh prints one); each broker
                        gets a fresh schema on it
    HAKO_E2E_S3_ENDPOINT S3-compatible server for s3 (scripts/s3_start.sh prints one); each
                        broker gets a fresh key prefix in bucket hako-e2e
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import e2e_util  # noqa: E402

HAKO_BIN = Path(os.environ.get("HAKO_BIN", str(e2e_util.REPO_DIR / "build" / "hako")))
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
LOG_TAIL_LINES = 60

# Every broker started by this suite that is still supposed to be running.
_LIVE: list["Broker"] = []


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_schema() -> str:
    """A schema name no other broker of this run uses."""
    import uuid
    return "e2e_" + uuid.uuid4().hex[:12]


def s3_url(prefix: str) -> str:
    """s3:// URL of a fresh prefix on HAKO_E2E_S3_ENDPOINT's server (credentials and
    endpoint go to the broker through the AWS_* environment, set here)."""
    endpoint = os.environ.get("HAKO_E2E_S3_ENDPOINT")
    if not endpoint:
        pytest.fail("HAKO_E2E_S3_ENDPOINT is not set (start a server: scripts/s3_start.sh)",
                    pytrace=False)
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP="true", AWS_REGION="us-east-1",
                      AWS_ACCESS_KEY_ID=os.environ.get("AWS_ACCESS_KEY_ID", "hako"),
                      AWS_SECRET_ACCESS_KEY=os.environ.get("AWS_SECRET_ACCESS_KEY", "hako"))
    return f"s3://hako-e2e/{prefix}?create_bucket=true"


def pg_url(schema: str) -> str:
    """postgres:// URL of HAKO_E2E_PG_URL's server with its own schema."""
    base = os.environ.get("HAKO_E2E_PG_URL")
    if not base:
        pytest.fail("HAKO_E2E_PG_URL is not set (start a server: scripts/pg_start.sh)", pytrace=False)
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


class Broker:
    """One `hako broker` process on 127.0.0.1 (engine from HAKO_E2E_ENGINE)."""

    def __init__(self, workdir: Path, name: str, auto_create: bool = True, partitions: int = e2e_util.PARTITIONS,
                 extra_args: tuple = (), storage: str | None = None):
        self.workdir = workdir
        self.name = name
        self.auto_create = auto_create
        self.partitions = partitions
        self.extra_args = tuple(extra_args)
        self.storage = storage  # overrides HAKO_E2E_ENGINE (shared storage tests)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"{name}.log"
        self._log = None
        self.reported = False  # its death was already reported by a test
        self.pg_schema = pg_schema()  # used when HAKO_E2E_ENGINE=postgres; kept across restarts

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def storage_url(self) -> str:
        """HAKO_E2E_ENGINE=memory (default), sqlite (a fresh file per broker), postgres
        (a fresh schema per broker on HAKO_E2E_PG_URL) or s3 (a fresh prefix per broker on
        HAKO_E2E_S3_ENDPOINT)."""
        if self.storage:
            return self.storage
        engine = os.environ.get("HAKO_E2E_ENGINE", "memory")
        if engine == "sqlite":
            return f"sqlite://{self.workdir / (self.name + '.db')}"
        if engine == "postgres":
            return pg_url(self.pg_schema)
        if engine == "s3":
            return s3_url(self.pg_schema)  # a fresh prefix per broker, kept across restarts
        return "memory://"

    def command(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [str(HAKO_BIN), "broker",
                "--listener-url", url,
                "--advertised-listener-url", url,
                "--storage-engine", self.storage_url(),
                "--auto-create-topics", "true" if self.auto_create else "false",
                "--default-partitions", str(self.partitions),
                "--silent", *self.extra_args]

    def start(self) -> "Broker":
        if not HAKO_BIN.is_file() or not os.access(HAKO_BIN, os.X_OK):
            pytest.fail(f"hako broker binary not found or not executable: {HAKO_BIN} "
                        f"(build it, or set HAKO_BIN)", pytrace=False)
        last_err = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = _free_port()
            self._log = open(self.log_path, "ab")
            self._log.write(f"=== {' '.join(self.command())}\n".encode())
            self._log.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        _LIVE.append(self)
                        return self
                except OSError:
                    time.sleep(0.02)
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"broker {self.name} did not accept connections on {self.bootstrap} within "
                            f"{START_TIMEOUT} s\n{self.log_tail()}", pytrace=False)
            last_err = f"broker {self.name} exited with code {rc} during start-up\n{self.log_tail()}"
            if "in use" not in self.log_tail().lower():
                break
        pytest.fail(last_err, pytrace=False)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self, context: str = "") -> None:
        """Fail the current test at once if this broker has died."""
        if self.alive():
            return
        if self in _LIVE:
            _LIVE.remove(self)
        self.reported = True
        pytest.fail(f"broker {self.name} died{' ' + context if context else ''} "
                    f"(exit code {self.proc.returncode if self.proc else None})\n{self.log_tail()}",
                    pytrace=False)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- {self.log_path} (last {lines} lines) ---\n{tail}"

    def stop(self) -> str | None:
        """SIGTERM and wait; returns a problem description or None if it exited 0."""
        if self in _LIVE:
            _LIVE.remove(self)
        if self.proc is None:
            return None
        problem = None
        rc = self.proc.poll()
        if rc is not None:
            problem = f"broker {self.name} had died before shutdown (exit code {rc})"
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(STOP_TIMEOUT)
                if rc != 0:
                    problem = f"broker {self.name} exited with code {rc} after SIGTERM"
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = f"broker {self.name} did not exit within {STOP_TIMEOUT} s of SIGTERM (killed)"
        if self._log:
            self._log.close()
        return problem


class _ModuleBrokers:
    """The broker(s) of one test module. If a test kills the broker, that test fails
    (see _broker_still_alive) and the next test of the module gets a fresh broker, so
    one crash does not turn the rest of the module into time-outs."""

    def __init__(self, workdir: Path, name: str, **kw):
        self.workdir, self.name, self.kw = workdir, name, kw
        self.current: Broker | None = None
        self.started: list[Broker] = []

    def get(self) -> Broker:
        if self.current is None or not self.current.alive():
            name = self.name if not self.started else f"{self.name}-restart{len(self.started)}"
            self.current = Broker(self.workdir, name, **self.kw).start()
            self.started.append(self.current)
        return self.current

    def stop_all(self):
        problems = []
        for b in self.started:
            problem = b.stop()
            if problem and not b.reported:
                problems.append(f"{problem}\n{b.log_tail()}")
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


def _module_brokers(request, tmp_path_factory, name: str, **kw):
    holder = _ModuleBrokers(tmp_path_factory.mktemp(f"hako-{request.module.__name__}-{name}"), name, **kw)
    yield holder
    holder.stop_all()


@pytest.fixture(scope="module")
def _brokers(request, tmp_path_factory):
    yield from _module_brokers(request, tmp_path_factory, "broker")


@pytest.fixture(scope="module")
def _brokers_no_autocreate(request, tmp_path_factory):
    yield from _module_brokers(request, tmp_path_factory, "broker-noauto", auto_create=False)


@pytest.fixture
def broker(_brokers) -> Broker:
    """A broker per test module: memory engine, auto-create on, --default-partitions 3
    (HAKO_E2E_PARTITIONS)."""
    return _brokers.get()


@pytest.fixture
def broker_no_autocreate(_brokers_no_autocreate) -> Broker:
    """A broker per test module with --auto-create-topics false."""
    return _brokers_no_autocreate.get()


@pytest.fixture(autouse=True)
def _broker_still_alive():
    """Fail the test during which a broker died (not just the module teardown)."""
    yield
    dead = [b for b in _LIVE if not b.alive()]
    for b in dead:
        _LIVE.remove(b)
        b.reported = True
    if dead:
        pytest.fail("\n".join(f"broker {b.name} died during this test (exit code {b.proc.returncode})\n"
                              f"{b.log_tail()}" for b in dead), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _LIVE:
        for b in _LIVE:
            rep.sections.append((f"hako {b.name} log", b.log_tail()))


@pytest.fixture
def node():
    """run_node(script, args, env=None) -> CompletedProcess (fails the test on exit != 0)."""
    return e2e_util.run_node


@pytest.fixture(scope="session")
def dataset():
    """make_dataset(seed, **options) -> list[Rec] (deterministic)."""
    return e2e_util.make_dataset


_topic_counter = [0]


@pytest.fixture
def topic_name(request):
    """A unique topic name for this test."""
    def make(suffix: str = "") -> str:
        _topic_counter[0] += 1
        base = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")
        return f"{base}{'-' + suffix if suffix else ''}-{os.getpid()}-{_topic_counter[0]}"[:200]
    return make
