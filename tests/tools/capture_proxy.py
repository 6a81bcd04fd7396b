#!/usr/bin/env python3
"""Records the Kafka request frames a real client sends, for the decoder tests.

Usage: capture_proxy.py LISTEN_PORT BROKER_PORT OUT_DIR PREFIX
Forwards bytes both ways between a client and a broker on 127.0.0.1 and writes each
request frame (without its size prefix) to OUT_DIR/PREFIX-<api>-v<version>-<n>.bin, at
most 3 per (api, version). Stops after 60 s or on SIGTERM.
"""
import os
import signal
import socket
import struct
import sys
import threading
import time

API_NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 18: "api_versions",
             19: "create_topics", 20: "delete_topics", 21: "delete_records",
             32: "describe_configs", 33: "alter_configs", 37: "create_partitions",
             44: "incremental_alter_configs", 60: "describe_cluster"}


def main():
    listen_port, broker_port, out_dir, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.makedirs(out_dir, exist_ok=True)
    counts = {}
    lock = threading.Lock()

    def record(frame):
        api, ver = struct.unpack(">hh", frame[:4])
        key = (api, ver)
        with lock:
            n = counts.get(key, 0)
            if n >= 3:
                return
            counts[key] = n + 1
        name = API_NAMES.get(api, f"api{api}")
        if api == 0 and len(frame) > 200_000:
            return  # keep the repository small
        with open(os.path.join(out_dir, f"{prefix}-{name}-v{ver}-{n}.bin"), "wb") as f:
            f.write(frame)

    def pump_requests(src, dst):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                buf += data
                while len(buf) >= 4:
                    (size,) = struct.unpack(">i", buf[:4])
                    if len(buf) < 4 + size:
                        break
                    record(buf[4:4 + size])
                    buf = buf[4 + size:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen_port))
    srv.listen(16)
    srv.settimeout(1.0)
    deadline = time.time() + 60
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while time.time() < deadline:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        b = socket.create_connection(("127.0.0.1", broker_port))
        threading.Thread(target=pump_requests, args=(c, b), daemon=True).start()
        threading.Thread(target=pump, args=(b, c), daemon=True).start()


if __name__ == "__main__":
    main()
