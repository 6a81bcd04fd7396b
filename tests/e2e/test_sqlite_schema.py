"""SQLite schema management: a fresh file is migrated to the current version and the
migrations are recorded; a file from a newer hako is refused with a clear message."""
from __future__ import annotations

import sqlite3
import subprocess

from conftest import HAKO_BIN, Broker


def test_fresh_file_is_migrated_and_recorded(tmp_path):
    db = tmp_path / "fresh.db"
    b = Broker(tmp_path, "fresh", storage=f"sqlite://{db}").start()
    try:
        versions = [v for (v,) in sqlite3.connect(db).execute(
            "select version from schema_migration order by version")]
        assert versions == list(range(1, len(versions) + 1)) and len(versions) >= 1
    finally:
        assert b.stop() is None


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "newer.db"
    con = sqlite3.connect(db)
    con.execute("create table schema_migration (version integer primary key, applied_ms integer not null)")
    con.execute("insert into schema_migration values (999, 0)")
    con.commit()
    con.close()
    proc = subprocess.run([str(HAKO_BIN), "broker", "--listener-url", "tcp://127.0.0.1:0",
                           "--storage-engine", f"sqlite://{db}"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "schema version 999" in proc.stderr and "upgrade hako" in proc.stderr, proc.stderr
    assert "terminate called" not in proc.stderr  # a message, not a crash
