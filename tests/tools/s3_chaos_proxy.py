#!/usr/bin/env python3
"""An HTTP reverse proxy that makes an S3 server unreliable, for fault tests.

Forwards every request unchanged (method, path, headers, body) to --upstream over a
keep-alive connection, except that a share of requests
  * is answered 500 InternalError / 503 SlowDown without being forwarded (--error-rate),
  * is forwarded, applied by the server, and then answered 500 anyway (--post-error-rate),
    so the client cannot know whether its write happened,
  * stalls for --stall-seconds before being forwarded (--stall-rate).
Like S3, it checks a body against its x-amz-checksum-crc32c header and answers 400
BadDigest on a mismatch (moto_server does not check it), counting the checks.
The rates can be changed while it runs: POST /__chaos with a JSON object of the same
names (error_rate, post_error_rate, stall_rate, stall_seconds). With --tls-cert it serves
HTTPS (for the client's certificate checks). Prints "listening on PORT" once ready. Standard library only; runs under any Python 3.9+.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERRORS = {500: ("InternalError", "We encountered an internal error. Please try again."),
          503: ("SlowDown", "Please reduce your request rate."),
          400: ("BadDigest", "The CRC32C you specified did not match the calculated checksum.")}


def _crc32c_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C, a byte at a time (the fault tests move kilobytes, not megabytes)."""
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


class Chaos:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.error_rate = args.error_rate
        self.post_error_rate = args.post_error_rate
        self.stall_rate = args.stall_rate
        self.stall_seconds = args.stall_seconds
        self.codes = [int(c) for c in args.error_codes.split(",")]
        self.counts = {"forwarded": 0, "errors": 0, "post_errors": 0, "stalls": 0,
                       "checksums_ok": 0, "checksums_bad": 0}

    def draw(self):
        with self.lock:
            x = self.rng.random()
            if x < self.error_rate:
                self.counts["errors"] += 1
                return "error", self.rng.choice(self.codes)
            x -= self.error_rate
            if x < self.post_error_rate:
                self.counts["post_errors"] += 1
                return "post_error", 500
            x -= self.post_error_rate
            if x < self.stall_rate:
                self.counts["stalls"] += 1
                return "stall", None
            self.counts["forwarded"] += 1
            return "forward", None


def make_handler(chaos: Chaos, upstream: tuple[str, int]):
    local = threading.local()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: one line per request is noise
            pass

        def _upstream(self):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(*upstream, timeout=60)
            return conn

        def _send(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status):
            code, msg = ERRORS.get(status, ("InternalError", "error"))
            body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                    f"<Message>{msg}</Message></Error>").encode()
            self._send(status, [("Content-Type", "application/xml")], body)

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == "/__chaos" and self.command == "POST":
                cfg = json.loads(body or b"{}")
                with chaos.lock:
                    for k, v in cfg.items():
                        setattr(chaos, k, v)
                    out = json.dumps(chaos.counts).encode()
                return self._send(200, [("Content-Type", "application/json")], out)
            claimed = self.headers.get("x-amz-checksum-crc32c")
            if claimed is not None:
                ok = base64.b64decode(claimed) == crc32c(body).to_bytes(4, "big")
                with chaos.lock:
                    chaos.counts["checksums_ok" if ok else "checksums_bad"] += 1
                if not ok:
                    return self._error(400)
            what, status = chaos.draw()
            if what == "error":
                return self._error(status)
            if what == "stall":
                time.sleep(chaos.stall_seconds)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            for attempt in range(2):
                try:
                    conn = self._upstream()
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    break
                except (OSError, http.client.HTTPException):
                    local.conn = None
                    if attempt:
                        return self._error(500)
            if what == "post_error":
                return self._error(500)
            self._send(resp.status, resp.getheaders(), data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--upstream", required=True, help="host:port of the S3 server")
    ap.add_argument("--error-rate", type=float, default=0.0)
    ap.add_argument("--error-codes", default="500,503")
    ap.add_argument("--post-error-rate", type=float, default=0.0)
    ap.add_argument("--stall-rate", type=float, default=0.0)
    ap.add_argument("--stall-seconds", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = ap.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    chaos = Chaos(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.listen_port), make_handler(chaos, (host, int(port))))
    server.daemon_threads = True
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
