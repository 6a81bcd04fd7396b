#!/usr/bin/env python3
"""The hako benchmark harness (Python 3 standard library only). Run it through
bench/run.sh, which builds first; bench/README.md explains what it measures and how.

Every figure comes from a process started here: a fresh broker per workload, `hako perf`
as the load generator, and baselines (loopback TCP, raw SQLite, raw PostgreSQL COPY)
measured in the same run so results can be read as ratios on a noisy machine."""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")

MODES = {
    "full": dict(produce_s=8, fill={100: 3_000_000, 1024: 500_000}, latency_rate=10_000,
                 latency_s=10, startup_runs=50, tcp_s=3, sqlite_rows=1_000_000,
                 pg_rows=1_000_000, profile_s=5, wait_quiet_s=300),
    "quick": dict(produce_s=1, fill={100: 300_000}, latency_rate=10_000, latency_s=1.5,
                  startup_runs=10, tcp_s=0.5, sqlite_rows=200_000, pg_rows=200_000,
                  profile_s=0, wait_quiet_s=0),
}
# Group commit: a moderate fixed rate (where it shows as latency) and full speed.
GROUP_COMMIT_RATE = 40_000
# Raw PUT baseline object sizes for the S3 engine's ratio.
S3_PUT_SIZES = (1024, 65536, 1 << 20)
SIZES, PARTITIONS, ACKS = (100, 1024), (1, 8), ("1", "all")
# Quick mode runs a few rows of the produce matrix: these on memory, the first elsewhere.
QUICK_ROWS = [(100, 8, "1"), (100, 1, "all"), (1024, 8, "1")]
# Latency at a fixed rate, once per client profile: the Java client's defaults (linger 0,
# at most 5 requests in flight: the broker's own service time shows) and librdkafka's
# (linger.ms=5, unlimited requests in flight).
LATENCY_CLIENTS = [
    ("linger.ms=0, max.in.flight=5", ["--linger-ms", "0", "-X", "max.in.flight=5"]),
    ("librdkafka defaults (linger.ms=5)", []),
]


class Engine:
    """A storage engine the broker can run on. `url` may use {tmp} (scratch directory),
    {tag} (unique per broker start) and {pg} (base URL of the PostgreSQL started for the
    run; the engine gets a fresh database per start). To add an engine, add a line to
    ENGINES; the harness skips it, with the broker's own message, while hako refuses it."""

    def __init__(self, name, url, needs=None):
        self.name, self.url, self.needs = name, url, needs


ENGINES = [
    Engine("memory", "memory://"),
    Engine("sqlite", "sqlite://{tmp}/{tag}.db"),
    Engine("postgres", "{pg}/{tag}", needs="postgres"),
    # moto_server is plain http; the s3 rows protect bodies as the engine does by default on
    # https endpoints (UNSIGNED-PAYLOAD + x-amz-checksum-crc32c, src/storage/s3/README.md).
    Engine("s3", "s3://hako-bench/{tag}?create_bucket=true&sign_payload=false", needs="s3"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def system_busy_s():
    """CPU seconds all cores spent busy (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


def wait_quiet(max_s, say, calm_needed=3):
    """Wait (up to max_s) until the machine has been nearly idle for calm_needed seconds in
    a row (under 15% of one core busy each second)."""
    deadline, calm, told = time.monotonic() + max_s, 0, False
    while time.monotonic() < deadline:
        b0 = system_busy_s()
        time.sleep(1)
        busy = system_busy_s() - b0
        calm = calm + 1 if busy < 0.15 else 0
        if calm >= calm_needed:
            return True
        if calm == 0 and not told:
            say(f"  waiting for a quiet machine (busy {busy:.0%} of a core)")
            told = True
    return False


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def size_name_short(b):
    return f"{b >> 20} MiB" if b >= 1 << 20 else f"{b >> 10} KiB" if b >= 1024 else f"{b} B"


def fmt_int(v):
    return f"{v:,.0f}"


class Broker:
    def __init__(self, bench, engine, url):
        self.bench, self.engine, self.url = bench, engine, url
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.cmd = [bench.hako, "broker", "--listener-url", f"tcp://{self.addr}",
                    "--storage-engine", url, "--silent"]
        bench.note_command(self.cmd)
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=bench.log)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}; see {bench.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("broker did not listen within 15 s")
                time.sleep(0.005)

    def status_kb(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mb(self):
        return self.status_kb("VmRSS") / 1024

    def hwm_mb(self):
        return self.status_kb("VmHWM") / 1024

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                # a finding for the report, not a reason to stop benchmarking
                self.bench.results.setdefault("sigterm_hangs", []).append(self.engine.name)
                self.bench.say(f"  {self.engine.name}: broker did not exit 3 s after SIGTERM; "
                               "killed")
                self.proc.kill()
                self.proc.wait()


class Postgres:
    """A throwaway PostgreSQL server (see ../shared/reference/test-environment.md)."""

    def __init__(self, bench):
        self.bench, self.proc_dir, self.reason = bench, None, None
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()) \
            if os.path.isdir("/usr/lib/postgresql") else []
        if not bins:
            self.reason = "no PostgreSQL server binaries under /usr/lib/postgresql"
            return
        self.bin = f"/usr/lib/postgresql/{bins[-1]}/bin"
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.dir = tempfile.mkdtemp(prefix="hako-bench-pg-")
        os.chmod(self.dir, 0o755)
        if self.as_pg:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        try:
            subprocess.run(self.as_pg + [f"{self.bin}/initdb", "-D", self.data, "-U", "postgres",
                                         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                                         "--no-sync"],
                           check=True, stdout=subprocess.DEVNULL, stderr=bench.log)
            subprocess.run(self.as_pg + [f"{self.bin}/pg_ctl", "-D", self.data, "-l",
                                         os.path.join(self.dir, "log"), "-w", "-o",
                                         f"-c listen_addresses=127.0.0.1 -p {self.port} "
                                         f"-k {self.dir}", "start"],
                           check=True, stdout=subprocess.DEVNULL, stderr=bench.log)
            self.proc_dir = self.data
        except (subprocess.CalledProcessError, OSError) as e:
            self.reason = f"could not start PostgreSQL ({e})"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def cpu_s(self):
        """CPU of the server: the postmaster, its live children, and the children it reaped."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                root = int(f.readline())
        except (OSError, ValueError):
            return 0.0
        total = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(pid) == root:  # utime, stime, cutime, cstime
                total += sum(int(x) for x in fields[11:15])
            elif int(fields[1]) == root:
                total += int(fields[11]) + int(fields[12])
        return total / CLK_TCK

    def psql(self, sql, db="postgres", stdin=None):
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                              stdin=stdin, check=True, stdout=subprocess.DEVNULL,
                              stderr=self.bench.log)

    def stop(self):
        if self.proc_dir:
            subprocess.run(self.as_pg + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast",
                                         "stop"], stdout=subprocess.DEVNULL, stderr=self.bench.log)
            self.proc_dir = None
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)


class S3Server:
    """A throwaway moto_server (in memory; see ../shared/reference/test-environment.md).
    The broker finds it through the AWS_* environment, set here for the whole run."""

    def __init__(self, bench):
        self.bench, self.proc, self.reason = bench, None, None
        self.exe = shutil.which("moto_server")
        if not self.exe:
            self.reason = "moto_server not on PATH (pip install 'moto[server]')"
            return
        self.port = free_port()
        self.start()

    def restart(self):
        """An empty server again. moto keeps every object in memory (spilling those over
        5 MiB to temporary files) and slows down as it fills — a later row, or the raw
        PUT baseline measured after every row, would meet a slower server than an earlier
        one. So each s3 workload and each raw PUT measurement starts on a fresh server."""
        self.stop()
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.exe, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=self.bench.log)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.reason = "moto_server did not start"
                    self.stop()
                    return
                time.sleep(0.05)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        os.environ.update(AWS_ENDPOINT_URL=self.endpoint, AWS_ALLOW_HTTP="true",
                          AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench",
                          AWS_SECRET_ACCESS_KEY="bench")

    def object_sizes(self, url):
        """Count and mean size of the batch objects under an s3:// URL's prefix."""
        import http.client
        import re as _re
        bucket, prefix = url[len("s3://"):].split("?")[0].split("/", 1)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sizes, token = [], None
        while True:
            q = f"/{bucket}?list-type=2&max-keys=1000&prefix={prefix}/log/"
            if token:
                import urllib.parse
                q += "&continuation-token=" + urllib.parse.quote(token, safe="")
            conn.request("GET", q)
            body = conn.getresponse().read().decode()
            for key, size in _re.findall(r"<Key>([^<]*)</Key>.*?<Size>(\d+)</Size>", body, _re.S):
                if key.endswith(".batch"):
                    sizes.append(int(size))
            m = _re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", body)
            if not m or "<IsTruncated>true</IsTruncated>" not in body:
                break
            token = m.group(1)
        conn.close()
        return dict(count=len(sizes), mean_bytes=sum(sizes) / len(sizes) if sizes else 0)

    def put_rate_parallel(self, size, seconds, connections):
        """put_rate over several connections at once (the engine writes partitions in parallel)."""
        results = []
        # distinct keys per connection; the bucket exists after the first put_rate
        threads = [threading.Thread(target=lambda i=i: results.append(
                       self.put_rate(size, seconds, note=False, tag=f"c{i}")))
                   for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.bench.note_command(["python3", "-c", f"http.client keep-alive x{connections}: PUT "
                                 f"{size} B objects to moto_server for {seconds} s"])
        total = sum(r["mb_per_s"] for r in results)
        return dict(size=size, connections=connections, mb_per_s=total,
                    puts_per_s=sum(r["puts_per_s"] for r in results))

    def cpu_s(self):
        if not self.proc:
            return 0.0
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            return 0.0

    def put_rate(self, size, seconds, note=True, tag="raw"):
        """Raw PUT rate of `size`-byte objects over one keep-alive connection, unsigned
        (moto does not check signatures): the server's own ceiling for the engine's ratio."""
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("PUT", "/hako-raw-put")
        conn.getresponse().read()
        body = os.urandom(size)
        n, lat = 0, []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            s = time.perf_counter()
            conn.request("PUT", f"/hako-raw-put/{tag}/{size}/{n:08d}", body=body,
                         headers={"Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"raw PUT answered {r.status}")
            lat.append(time.perf_counter() - s)
            n += 1
        secs = time.perf_counter() - t0
        conn.close()
        lat.sort()
        if note:
            self.bench.note_command(["python3", "-c", f"http.client keep-alive: PUT {size} B "
                                     f"objects to moto_server for {seconds} s"])
        return dict(size=size, puts=n, seconds=secs, puts_per_s=n / secs,
                    mb_per_s=n * size / secs / 1e6, p50_ms=lat[len(lat) // 2] * 1000)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = "quick" if args.quick else "full"
        self.m = MODES[self.mode]
        self.hako = os.path.abspath(args.hako)
        self.out_dir = os.path.abspath(args.work)
        os.makedirs(self.out_dir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="hako-bench-")
        self.log = open(os.path.join(self.out_dir, "bench.log"), "w")
        self.commands = []
        self.tags = 0
        self.results = {"mode": self.mode, "engines": {}, "skipped": {}, "baselines": {}}
        self.pg = None
        self.s3 = None

    # -- helpers ---------------------------------------------------------------------------
    def say(self, text):
        print(text, flush=True)
        self.log.write(f"== {text}\n")
        self.log.flush()

    def note_command(self, cmd):
        text = " ".join(shlex.quote(c) for c in cmd)
        text = text.replace(self.hako, "build/hako").replace(self.tmp, "$TMP")
        text = text.replace(self.out_dir, "build/bench")
        text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:$PORT", text)
        text = re.sub(r"/b\d+\b", "/$DB", text)  # a fresh database per broker
        if text not in self.commands:
            self.commands.append(text)

    def run_json(self, cmd, note=True):
        if note:
            self.note_command(cmd)
        self.log.write("$ " + " ".join(cmd) + "\n")
        self.log.flush()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"no result from {' '.join(cmd)} (exit {p.returncode}); "
                               f"see {self.log.name}")
        self.log.write(lines[-1] + "\n")
        return json.loads(lines[-1])

    def perf(self, *args):
        return self.run_json([self.hako, "perf", *[str(a) for a in args], "--json"])

    def engine_url(self, engine):
        self.tags += 1
        tag = f"b{self.tags}"
        pg = ""
        if engine.needs == "postgres":
            self.pg.psql(f"CREATE DATABASE {tag}")
            pg = self.pg.url
        return engine.url.format(tmp=self.tmp, tag=tag, pg=pg)

    def settle(self):
        """Full mode: before each workload, wait (up to 2 minutes) for other work on the
        machine to stop, so one compile elsewhere does not decide a row."""
        if self.mode == "full" and self.args.wait_quiet != 0:
            if not wait_quiet(120, self.say, calm_needed=2):
                self.results["unquiet_workloads"] = self.results.get("unquiet_workloads", 0) + 1

    def broker(self, engine):
        if engine.needs == "s3" and self.s3 and not self.s3.reason:
            self.s3.restart()
        self.settle()
        return Broker(self, engine, self.engine_url(engine))

    # -- workloads -------------------------------------------------------------------------
    def engine_available(self, engine):
        if engine.needs == "postgres" and (self.pg is None or self.pg.reason):
            return "no PostgreSQL server: " + (self.pg.reason if self.pg else "not started")
        if engine.needs == "s3" and (self.s3 is None or self.s3.reason):
            return "no S3 server: " + (self.s3.reason if self.s3 else "not started")
        try:
            self.broker(engine).stop()
            return None
        except RuntimeError:
            self.log.flush()
            with open(self.log.name) as f:
                tail = [ln.strip() for ln in f.read().splitlines() if ln.startswith("hako")]
            return tail[-1] if tail else "the broker did not start"

    def idle(self, engine, res):
        b = self.broker(engine)
        time.sleep(0.3)
        res["idle_rss_mb"] = b.rss_mb()
        subprocess.run([self.hako, "topic", "list", "--broker", f"tcp://{b.addr}"],
                       stdout=subprocess.DEVNULL, stderr=self.log)
        time.sleep(0.2)
        res["idle_rss_after_request_mb"] = b.rss_mb()
        b.stop()

    def measured(self, broker, fn):
        """Runs fn(); returns its result with the CPU the broker, the client (children of
        this process that ended) and everything else on the machine used meanwhile."""
        pg = {"postgres": self.pg, "s3": self.s3}.get(broker.engine.needs)
        c0, u0, s0, t0 = broker.cpu_s(), children_cpu(), system_busy_s(), time.monotonic()
        p0 = pg.cpu_s() if pg else 0.0
        r = fn()
        c1, u1, s1, t1 = broker.cpu_s(), children_cpu(), system_busy_s(), time.monotonic()
        p1 = pg.cpu_s() if pg else 0.0
        cpu = dict(broker_cpu=c1 - c0, client_cpu=u1 - u0, wall=t1 - t0,
                   storage_cpu=(p1 - p0) if pg else None,
                   other_cpu=max(0.0, (s1 - s0) - (c1 - c0) - (u1 - u0) - (p1 - p0)))
        return r, cpu

    def produce_matrix(self, engine, res):
        rows = res["produce"] = []
        combos = [(s, p, a) for s in SIZES for p in PARTITIONS for a in ACKS]
        if self.mode == "quick":
            combos = QUICK_ROWS if engine.name == "memory" else QUICK_ROWS[:1]
        for size, parts, acks in combos:
            b = self.broker(engine)
            r, cpu = self.measured(b, lambda: self.perf(
                "produce", "-b", b.addr, "-t", f"p{size}-{parts}-{acks}", "-p", parts, "-s",
                size, "--acks", acks, "-d", self.m["produce_s"]))
            row = dict(size=size, partitions=parts, acks=acks, rps=r["records_per_s"],
                       mbps=r["mb_per_s"], p50=r["latency_ms"]["p50"],
                       p99=r["latency_ms"]["p99"], records=r["records"], errors=r["errors"],
                       seconds=r["seconds"], **cpu,
                       cpu_per_gb=cpu["broker_cpu"] / (r["bytes"] / 1e9) if r["bytes"] else None,
                       peak_rss_mb=b.hwm_mb())
            if engine.needs == "s3" and self.s3:
                # the sizes of the objects the engine wrote, for a raw PUT of the same size
                row["objects"] = self.s3.object_sizes(b.url)
            b.stop()
            rows.append(row)
            self.say(f"  {engine.name:8} produce {size:>4} B {parts}p acks={acks:3}: "
                     f"{fmt_int(row['rps'])} records/s, {row['mbps']:.1f} MB/s, "
                     f"p99 {row['p99']:.1f} ms, broker {row['broker_cpu']:.2f} CPU-s"
                     + (f", storage server {row['storage_cpu']:.2f} CPU-s"
                        if row["storage_cpu"] is not None else "")
                     + f", others {row['other_cpu']:.2f} CPU-s")

    def consume(self, engine, res):
        rows = res["consume"] = []
        for size, n in self.m["fill"].items():
            b = self.broker(engine)
            topic = f"c{size}"
            w = self.perf("produce", "-b", b.addr, "-t", topic, "-p", 8, "-s", size,
                          "--acks", 1, "-n", n)
            r, cpu = self.measured(b, lambda: self.perf(
                "consume", "-b", b.addr, "-t", topic, "-n", w["records"], "-d", 120))
            rows.append(dict(size=size, partitions=8, records=r["records"],
                             expected=w["records"], rps=r["records_per_s"], mbps=r["mb_per_s"],
                             seconds=r["seconds"], start_ms=r.get("start_ms", 0), **cpu,
                             peak_rss_mb=b.hwm_mb(), errors=r["errors"]))
            b.stop()
            row = rows[-1]
            self.say(f"  {engine.name:8} consume {size:>4} B 8p: {fmt_int(row['rps'])} "
                     f"records/s, {row['mbps']:.1f} MB/s ({row['records']}/{row['expected']})")

    def latency(self, engine, res):
        rate, secs = self.m["latency_rate"], self.m["latency_s"]
        n = int(rate * secs)
        rows = res["latency"] = []
        clients = LATENCY_CLIENTS[:1] if self.mode == "quick" else LATENCY_CLIENTS
        for label, extra in clients:
            b = self.broker(engine)
            topic = "latency"
            subprocess.run([self.hako, "topic", "create", topic, "--partitions", "1",
                            "--broker", f"tcp://{b.addr}"], check=True,
                           stdout=subprocess.DEVNULL, stderr=self.log)
            ccmd = [self.hako, "perf", "consume", "-b", b.addr, "-t", topic, "-n", str(n),
                    "-d", str(secs + 15), "--json", "--no-progress"]
            self.note_command(ccmd)
            consumer = subprocess.Popen(ccmd, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True)
            time.sleep(0.5)  # let it connect and assign before the first record
            p = self.perf("produce", "-b", b.addr, "-t", topic, "-s", 100, "--acks", "all",
                          "-r", rate, "-n", n, *extra)
            out, _ = consumer.communicate(timeout=secs + 60)
            c = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
            b.stop()
            rows.append(dict(client=label, rate=rate, seconds=secs, size=100, partitions=1,
                             acks="all", produced=p["records"], consumed=c["records"],
                             achieved=p["records_per_s"], ack=p["latency_ms"],
                             e2e=c["latency_ms"], errors=p["errors"] + c["errors"]))
            self.say(f"  {engine.name:8} latency at {fmt_int(rate)}/s, {label}: ack p50 "
                     f"{p['latency_ms']['p50']:.3f} ms p99 {p['latency_ms']['p99']:.3f} ms; "
                     f"end-to-end p50 {c['latency_ms']['p50']:.1f} ms")

    def group_commit(self, engine, res):
        """SQLite only: what group commit buys. Eight producers with the Java client's
        defaults (linger.ms=0, 5 requests in flight), acks=all, so produce requests arrive
        together from many connections; the same load with group commit off (max_batch=1:
        one transaction, one fsync, per write job) and on (the default)."""
        if engine.name != "sqlite":
            return
        rows = res["group_commit"] = []
        for rate in (GROUP_COMMIT_RATE, 0):
            for label, query in (("off (max_batch=1)", "?max_batch=1"), ("on (default)", "")):
                self.settle()
                b = Broker(self, engine, self.engine_url(engine) + query)
                r, cpu = self.measured(b, lambda: self.perf(
                    "produce", "-b", b.addr, "-t", "gc", "-p", 8, "-s", 100, "--acks", "all",
                    "--producers", 8, "--linger-ms", 0, "-X", "max.in.flight=5",
                    "-r", rate, "-d", self.m["produce_s"]))
                b.stop()
                rows.append(dict(label=label, rate=rate, rps=r["records_per_s"],
                                 mbps=r["mb_per_s"], p50=r["latency_ms"]["p50"],
                                 p99=r["latency_ms"]["p99"], errors=r["errors"], **cpu))
                self.say(f"  {engine.name:8} group commit {label} at "
                         f"{fmt_int(rate) + '/s' if rate else 'full speed'}: "
                         f"{fmt_int(r['records_per_s'])} records/s, ack p50 "
                         f"{r['latency_ms']['p50']:.1f} ms p99 {r['latency_ms']['p99']:.1f} ms")

    def startup(self, engine, res):
        self.settle()
        port = free_port()
        url = self.engine_url(engine)
        r = self.run_json([self.hako, "perf", "startup", "--runs", str(self.m["startup_runs"]),
                           "--broker", f"127.0.0.1:{port}", "--timeout", "5", "--stop-timeout", "1", "--json", "--",
                           self.hako,
                           "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
                           "--storage-engine", url, "--silent"])
        res["startup"] = r
        if "exec_floor" not in self.results:
            # what any start of this binary pays: exec, dynamic linking, static init, exit
            self.results["exec_floor"] = self.run_json(
                [self.hako, "perf", "startup", "--runs", str(self.m["startup_runs"]),
                 "--until-exit", "--json", "--", self.hako, "--version"])
        self.say(f"  {engine.name:8} start-up median {r['median_ms']:.2f} ms "
                 f"(p90 {r['p90_ms']:.2f}, {r['runs']} runs)"
                 + (f"; {r['stop_hangs']} runs did not exit on SIGTERM" if r.get("stop_hangs")
                    else ""))

    def profile(self, engine, res):
        """Full mode: perf record on the broker during the headline workload (100 B, 8
        partitions, acks=1): where its time goes, as self time per binary and function."""
        if not shutil.which("perf") or not self.m["profile_s"]:
            return
        b = self.broker(engine)
        data = os.path.join(self.out_dir, f"perf-{engine.name}.data")
        rec = subprocess.Popen(["perf", "record", "-F", "999", "-o", data, "-p",
                                str(b.proc.pid)], stdout=subprocess.DEVNULL, stderr=self.log)
        time.sleep(0.3)
        cmd_note = ["perf", "record", "-F", "999", "-p", "$BROKER_PID"]
        self.note_command(cmd_note)
        self.perf("produce", "-b", b.addr, "-t", "profile", "-p", 8, "-s", 100, "--acks", 1,
                  "-d", self.m["profile_s"])
        rec.send_signal(signal.SIGINT)
        rec.wait()
        b.stop()
        res["profile"] = dict(workload=f"produce 100 B, 8 partitions, acks=1, "
                                       f"{self.m['profile_s']} s",
                              dso=self.perf_report(data, "dso", 1.0),
                              symbols=self.perf_report(data, "dso,sym", 1.0))
        os.remove(data)

    def perf_report(self, data, sort, limit):
        p = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g",
                            "none", "--sort", sort, "--percent-limit", str(limit)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        rows = []
        for line in p.stdout.splitlines():
            m = re.match(r"^\s+([\d.]+)%\s+(.*)$", line)
            if m:
                rest = re.sub(r"\s+", " ", m.group(2).strip())
                rows.append((float(m.group(1)), rest[:140]))
        return rows[:20]

    # -- baselines ---------------------------------------------------------------------------
    def baselines(self):
        base = self.results["baselines"]
        self.settle()
        tool = os.path.join(self.out_dir, "tcp_baseline")
        if os.path.exists(tool):
            base["tcp_stream"] = self.run_json([tool, "stream", str(self.m["tcp_s"])])
            base["tcp_pingpong"] = self.run_json([tool, "pingpong", str(self.m["tcp_s"]),
                                                  "same"])
            if (os.cpu_count() or 1) > 1:
                base["tcp_pingpong_cross"] = self.run_json(
                    [tool, "pingpong", str(self.m["tcp_s"]), "cross"])
            cross = base.get("tcp_pingpong_cross", base["tcp_pingpong"])
            self.say(f"  baseline loopback TCP: {base['tcp_stream']['mb_per_s']:.0f} MB/s, "
                     f"round trip p50 {base['tcp_pingpong']['p50_ms'] * 1000:.1f} us on one "
                     f"core, {cross['p50_ms'] * 1000:.1f} us across cores")
        n = self.m["sqlite_rows"]
        base["sqlite"] = self.sqlite_baseline(n)
        base["sqlite_variants"] = [self.sqlite_baseline(n // 5, 1024),
                                   self.sqlite_baseline(n, 100, shaped=True),
                                   self.sqlite_baseline(n // 5, 1024, shaped=True)]
        self.say(f"  baseline SQLite insert: {fmt_int(base['sqlite']['rows_per_s'])} rows/s; "
                 + ", ".join(f"{v['size']} B{' record-shaped' if v['shaped'] else ''} "
                             f"{fmt_int(v['rows_per_s'])}" for v in base["sqlite_variants"]))
        if "postgres" not in base:
            base["postgres"] = dict(skipped=self.pg.reason if self.pg else "not started")

    def storage_baselines(self, engine):
        """The raw rate of an engine's storage server, measured right after the engine's
        rows, and then the server is stopped: a PostgreSQL left running after its rows goes
        on checkpointing and vacuuming what they wrote while the next engine is measured
        (the s3 rows of a full run were 20–35% below the same workload run on its own)."""
        base = self.results["baselines"]
        if engine.needs == "postgres" and self.pg and not self.pg.reason:
            self.settle()
            n = self.m["pg_rows"]
            base["postgres"] = self.postgres_baseline(n)
            base["postgres_variants"] = [self.postgres_baseline(n, 100, shaped=True),
                                         self.postgres_baseline(n // 5, 1024, shaped=True)]
            self.say(f"  baseline PostgreSQL binary COPY: "
                     f"{fmt_int(base['postgres']['rows_per_s'])} rows/s; "
                     + ", ".join(f"{v['size']} B record-shaped {fmt_int(v['rows_per_s'])}"
                                 for v in base["postgres_variants"]))
            self.pg.stop()
        if engine.needs == "s3" and self.s3 and not self.s3.reason:
            self.settle()
            secs = self.m["tcp_s"]
            self.s3.restart()
            base["s3_put"] = [self.s3.put_rate(size, secs) for size in S3_PUT_SIZES]
            # The same object sizes as the engine wrote in its headline rows, over one and
            # over four connections (the engine writes partitions in parallel).
            same = []
            for row in self.results["engines"].get("s3", {}).get("produce", []):
                mean = int(row.get("objects", {}).get("mean_bytes", 0))
                if mean and row["partitions"] == 8 and row["acks"] == "1":
                    self.s3.restart()
                    one = self.s3.put_rate(mean, secs)
                    self.s3.restart()
                    four = self.s3.put_rate_parallel(mean, secs, 4)
                    self.s3.restart()
                    beside = self.put_rate_beside_kafka(row, mean, secs)
                    same.append(dict(record_size=row["size"], objects=row["objects"],
                                     one=one, four=four, beside_kafka=beside))
            base["s3_put_same_size"] = same
            self.say("  baseline S3 PUT (moto_server, one connection): " + ", ".join(
                f"{size_name_short(v['size'])} {v['puts_per_s']:.0f}/s = {v['mb_per_s']:.1f} MB/s"
                for v in base["s3_put"]))
            self.s3.stop()

    def put_rate_beside_kafka(self, row, size, secs):
        """The four-connection raw PUT rate while the Kafka side of an s3 row runs beside it:
        the same client, at the records/s the s3 engine reached, into a memory broker (whose
        CPU per byte is close to the s3 broker's). The two cores are shared by moto_server,
        the Kafka client and the broker in the engine's row; this is what moto_server can
        take with the same neighbours. An explanation next to the target, not the target."""
        mem = next(e for e in ENGINES if e.name == "memory")
        b = Broker(self, mem, self.engine_url(mem))
        load = {}

        def produce():
            load.update(self.perf("produce", "-b", b.addr, "-t", "beside", "-p",
                                  row["partitions"], "-s", row["size"], "--acks", "1",
                                  "-d", secs + 3, "-r", int(row["rps"])))
        t = threading.Thread(target=produce)
        t.start()
        time.sleep(1.5)  # the client at its rate before the PUTs start
        c0, t0 = b.cpu_s(), time.monotonic()
        four = self.s3.put_rate_parallel(size, secs, 4)
        broker_cpu = (b.cpu_s() - c0) / (time.monotonic() - t0)
        t.join()
        b.stop()
        four.update(kafka_mb_per_s=load.get("mb_per_s"), broker_cores=broker_cpu)
        return four

    # Tables shaped like the engines' record tables (src/storage/*/…schema.cc), so the ratio
    # of an engine to its raw store separates the engine's overhead from the table's.
    SQLITE_PLAIN = "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)"
    SQLITE_SHAPED = ("CREATE TABLE t (topic TEXT NOT NULL, \"partition\" INTEGER NOT NULL, "
                     "\"offset\" INTEGER NOT NULL, timestamp INTEGER NOT NULL, key BLOB, "
                     "value BLOB, PRIMARY KEY (topic, \"partition\", \"offset\")) WITHOUT ROWID")
    PG_PLAIN = "CREATE TABLE copy_{tag} (id bigint, v bytea)"
    PG_SHAPED = ("CREATE TABLE copy_{tag} (topic text NOT NULL, \"partition\" integer NOT NULL, "
                 "\"offset\" bigint NOT NULL, \"timestamp\" bigint NOT NULL, key bytea, "
                 "value bytea, headers jsonb, PRIMARY KEY (topic, \"partition\", \"offset\"))")

    def sqlite_baseline(self, n, size=100, shaped=False):
        path = os.path.join(self.tmp, f"raw-sqlite-{size}-{int(shaped)}.db")
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute(self.SQLITE_SHAPED if shaped else self.SQLITE_PLAIN)
        payload = os.urandom(size)
        if shaped:  # 8 partitions, interleaved as a producer's batches would be
            rows = [("bench", i % 8, i // 8, 1_700_000_000_000, None, payload) for i in range(n)]
            insert = "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)"
        else:
            rows = [(i, payload) for i in range(n)]
            insert = "INSERT INTO t VALUES (?, ?)"
        t0 = time.perf_counter()
        con.execute("BEGIN")
        con.executemany(insert, rows)
        con.execute("COMMIT")
        secs = time.perf_counter() - t0
        con.close()
        self.note_command(["python3", "-c", f"sqlite3 WAL synchronous=FULL: BEGIN; executemany("
                           f"INSERT {n} rows of {size} B into "
                           f"{'the record-table shape' if shaped else '(id, blob)'}); COMMIT"])
        return dict(rows=n, size=size, shaped=shaped, seconds=secs, rows_per_s=n / secs,
                    synchronous="FULL")

    def postgres_baseline(self, n, size=100, shaped=False):
        tag = f"{size}_{int(shaped)}"
        self.pg.psql((self.PG_SHAPED if shaped else self.PG_PLAIN).format(tag=tag))
        path = os.path.join(self.tmp, f"copy-{tag}.bin")
        payload = os.urandom(size)
        with open(path, "wb") as f:
            f.write(b"PGCOPY\n\xff\r\n\0" + struct.pack("!ii", 0, 0))
            if shaped:
                head = struct.pack("!hi", 7, 5) + b"bench"
                # fields: topic, partition (int4), offset (int8), timestamp (int8),
                # key NULL, value, headers NULL
                f.write(b"".join(
                    head + struct.pack("!iiiq", 4, i % 8, 8, i // 8)
                    + struct.pack("!iq", 8, 1_700_000_000_000) + struct.pack("!i", -1)
                    + struct.pack("!i", size) + payload + struct.pack("!i", -1)
                    for i in range(n)))
            else:
                row_tail = struct.pack("!i", size) + payload
                f.write(b"".join(struct.pack("!hiq", 2, 8, i) + row_tail for i in range(n)))
            f.write(struct.pack("!h", -1))
        with open(path, "rb") as f:
            t0 = time.perf_counter()
            self.pg.psql(f"COPY copy_{tag} FROM STDIN (FORMAT binary)", stdin=f)
            secs = time.perf_counter() - t0
        os.remove(path)
        self.note_command(["psql", "-c", f"COPY copy_{tag} FROM STDIN (FORMAT binary)",
                           f"< {n} rows of {size} B "
                           f"{'in the record-table shape' if shaped else '(bigint, bytea)'}"])
        return dict(rows=n, size=size, shaped=shaped, seconds=secs, rows_per_s=n / secs)

    def exec_baselines(self):
        """Where start-up goes before main(): exec of an empty C program, and of the same
        program linked against hako's direct shared libraries (all, and each alone)."""
        self.settle()
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            return
        elf = subprocess.run(["readelf", "-d", self.hako], stdout=subprocess.PIPE,
                             text=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", elf)
        src = os.path.join(self.tmp, "empty.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        runs = str(max(20, self.m["startup_runs"]))

        def timed(name, libs):
            exe = os.path.join(self.tmp, name)
            r = subprocess.run([cc, "-O2", src, "-o", exe, "-Wl,--no-as-needed"]
                               + [f"-l:{lib}" for lib in libs], stderr=self.log)
            if r.returncode != 0:
                return None
            return self.run_json([self.hako, "perf", "startup", "--runs", runs,
                                  "--until-exit", "--json", "--", exe], note=False)["median_ms"]

        out = self.results["exec_baselines"] = dict(needed=needed)
        out["empty"] = timed("empty", [])
        out["empty_with_hako_libs"] = timed("empty-libs", needed)
        out["each"] = {}
        for lib in needed:
            if not lib.startswith(("libc.so", "libm.so")):
                out["each"][lib] = timed("empty-" + lib, [lib])
        self.say(f"  exec of an empty program: {out['empty']:.2f} ms; linked against hako's "
                 f"{len(needed)} direct libraries: {out['empty_with_hako_libs']:.2f} ms")
        self.note_command(["cc", "-O2", "empty.c", "-o", "empty-libs", "-Wl,--no-as-needed",
                           "-l:LIB ...", "# each NEEDED library of build/hako, all and alone"])
        self.note_command(["build/hako", "perf", "startup", "--runs", runs, "--until-exit",
                           "--json", "--", "./empty-libs"])

    def startup_profile(self):
        """perf record over repeated `hako --version`: the top functions of process start."""
        self.settle()
        if not shutil.which("perf") or not self.m["profile_s"]:
            return
        data = os.path.join(self.out_dir, "perf-startup.data")
        loop = f"for i in $(seq 40); do {shlex.quote(self.hako)} --version >/dev/null; done"
        subprocess.run(["perf", "record", "-F", "20000", "-o", data, "--", "sh", "-c", loop],
                       stdout=subprocess.DEVNULL, stderr=self.log)
        self.note_command(["perf", "record", "-F", "20000", "--", "sh", "-c",
                           "for i in $(seq 40); do build/hako --version; done"])
        p = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                            "--comm", "hako", "--percentage", "relative", "--sort", "dso,sym",
                            "--percent-limit", "1.5"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        rows = []
        for line in p.stdout.splitlines():
            m = re.match(r"^\s+([\d.]+)%\s+(.*)$", line)
            if m:
                rows.append((float(m.group(1)), re.sub(r"\s+", " ", m.group(2).strip())[:140]))
        self.results["startup_profile"] = rows[:15]
        os.remove(data)

    # -- footprint -----------------------------------------------------------------------------
    def binary(self):
        stripped = os.path.join(self.tmp, "hako.stripped")
        subprocess.run(["strip", "-o", stripped, self.hako], check=True)
        libs = subprocess.run(["ldd", self.hako], stdout=subprocess.PIPE, text=True).stdout
        self.results["binary"] = dict(
            size_mb=os.path.getsize(self.hako) / 1e6,
            stripped_mb=os.path.getsize(stripped) / 1e6,
            shared_libs=sorted({ln.split()[0] for ln in libs.splitlines()
                                if "=>" in ln and "linux-vdso" not in ln}))
        self.say(f"  binary: {self.results['binary']['stripped_mb']:.2f} MB stripped")

    # -- the run -------------------------------------------------------------------------------
    def run(self):
        started = time.monotonic()
        self.say(f"hako bench ({self.mode} mode), logs in {self.log.name}")
        wait_s = self.args.wait_quiet if self.args.wait_quiet is not None else self.m["wait_quiet_s"]
        if wait_s and not wait_quiet(wait_s, self.say):
            self.say("  the machine did not become quiet; measuring anyway (see the 'others' "
                     "column)")
        self.results["loadavg_before"] = loadavg()
        wanted = [e for e in ENGINES if not self.args.engines or e.name in self.args.engines]
        if any(e.needs == "postgres" for e in wanted) and not self.args.no_postgres:
            self.pg = Postgres(self)
        if any(e.needs == "s3" for e in wanted):
            self.s3 = S3Server(self)
        try:
            self.binary()
            for engine in wanted:
                why = self.engine_available(engine)
                if why:
                    self.results["skipped"][engine.name] = why
                    self.say(f"  {engine.name:8} skipped: {why}")
                    continue
                res = self.results["engines"][engine.name] = {}
                self.idle(engine, res)
                self.startup(engine, res)
                self.produce_matrix(engine, res)
                self.consume(engine, res)
                self.latency(engine, res)
                self.group_commit(engine, res)
                self.profile(engine, res)
                self.storage_baselines(engine)
            self.baselines()
            self.exec_baselines()
            self.startup_profile()
        finally:
            if self.pg:
                self.pg.stop()
            if self.s3:
                self.s3.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.results["elapsed_s"] = time.monotonic() - started
        self.results["loadavg_after"] = loadavg()
        self.results["commands"] = self.commands
        self.results["machine"] = machine()
        with open(os.path.join(self.out_dir, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        import report  # bench/report.py: results -> markdown
        text = report.render(self.results, self.commands, self.results["machine"], self.args)
        with open(self.args.out, "w") as f:
            f.write(text)
        self.say(f"wrote {os.path.relpath(self.args.out, ROOT)} in "
                 f"{self.results['elapsed_s']:.0f} s")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    def cmd(*c):
        try:
            return subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True).stdout.strip()
        except OSError:
            return ""
    lscpu = cmd("lscpu")
    model = re.search(r"Model name:\s*(.*)", lscpu)
    hyper = re.search(r"Hypervisor vendor:\s*(.*)", lscpu)
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    osr = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            m = re.search(r'PRETTY_NAME="([^"]*)"', f.read())
            osr = m.group(1) if m else ""
    commit = cmd("git", "-C", ROOT, "rev-parse", "--short", "HEAD")
    dirty = cmd("git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no")
    build_type = ""
    cache = os.path.join(ROOT, "build", "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
            build_type = m.group(1) if m else ""
    rdk = cmd("pkg-config", "--modversion", "rdkafka")
    return dict(cpu=model.group(1) if model else platform.processor(),
                hypervisor=hyper.group(1) if hyper else "", cores=os.cpu_count(),
                ram_gb=mem_kb / 1024 / 1024, kernel=platform.release(), os=osr,
                compiler=cmd("c++", "--version").splitlines()[0] if cmd("c++", "--version")
                else "", build_type=build_type, librdkafka=rdk,
                commit=commit + (" + uncommitted changes" if dirty else ""),
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                python=platform.python_version(), sqlite=sqlite3.sqlite_version)


def main():
    ap = argparse.ArgumentParser(description="hako benchmark harness (see bench/README.md)")
    ap.add_argument("--quick", action="store_true", help="short runs, under a minute")
    ap.add_argument("--engines", type=lambda s: s.split(","), default=None,
                    help="comma-separated subset of: " + ",".join(e.name for e in ENGINES))
    ap.add_argument("--hako", default=os.path.join(ROOT, "build", "hako"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench"),
                    help="logs, raw results.json, perf data, helper binaries")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--no-postgres", action="store_true", help="don't start PostgreSQL")
    ap.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                    help="first wait up to this long for an idle machine (full: 300, quick: 0)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    Bench(args).run()


if __name__ == "__main__":
    main()
