"""Schema versioning of the outbox file: files from before versioning keep every record, newer files are
refused, and a crash mid-migration leaves the old data readable."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from park_sync.hj212_store import HJ212Store
from park_sync.outbox import MIGRATIONS, Outbox
from park_sync.schema import Migration, SchemaTooNew, migrate, user_version

# The schema exactly as outbox.py created it before versioning (user_version 0), dead_letter table included.
UNVERSIONED_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
  priority INTEGER NOT NULL, created REAL NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox(priority, seq);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox(kind, seq);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letter (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, priority INTEGER NOT NULL, created REAL NOT NULL,
  body TEXT NOT NULL,
  reason TEXT NOT NULL, dead_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hj212_samples (code TEXT NOT NULL, ts REAL NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hj212_samples_ts ON hj212_samples(ts);
CREATE TABLE IF NOT EXISTS hj212_history (
  cn TEXT NOT NULL, data_time TEXT NOT NULL, cp TEXT NOT NULL, created REAL NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (cn, data_time));
"""
ROWS = """
INSERT INTO outbox(id, kind, priority, created, body) VALUES
  ('t1', 'telemetry', 1, 100.0, '{"id":"t1","kind":"telemetry","ts":"x","data":{}}'),
  ('i1', 'incident', 0, 101.0, '{"id":"i1","kind":"incident","ts":"x","data":{}}');
INSERT INTO meta(name, value) VALUES ('thinned_telemetry', '7'), ('hj212_overtime_recount', '5,1');
INSERT INTO dead_letter(id, kind, priority, created, body, reason, dead_at) VALUES
  ('d1', 'audit', 0, 99.0, '{"id":"d1"}', 'HTTP 400 records[0].kind: x', 102.0);
INSERT INTO hj212_samples(code, ts, value) VALUES ('a21026', 50.0, 10.0), ('a21026', 55.0, 14.0);
INSERT INTO hj212_history(cn, data_time, cp, created, sent) VALUES
  ('2051', '20250501100000', 'DataTime=20250501100000;a21026-Avg=1', 103.0, 0),
  ('2061', '20250501090000', 'DataTime=20250501090000;a21026-Avg=2', 104.0, 1);
"""


def _unversioned_file(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(UNVERSIONED_SCHEMA + ROWS)
    db.close()


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return user_version(db)
    finally:
        db.close()


async def _assert_records_intact(path: Path) -> None:
    box = Outbox(path)
    await box.open()
    try:
        assert (box.pending, box.dead, box.thinned) == (2, 1, 7)
        assert [r.id for r in await box.peek(10, 1 << 20)] == ["i1", "t1"]
        assert box.dead_recent == [
            {"id": "d1", "kind": "audit", "reason": "HTTP 400 records[0].kind: x", "at": 102.0}
        ]
        assert await box.meta_get("hj212_overtime_recount") == "5,1"
        store = HJ212Store(box)
        assert await store.pending(50) == [("2051", "20250501100000", "DataTime=20250501100000;a21026-Avg=1")]
        assert await store.history("2061", "20250501000000", "20250501235959") == [
            "DataTime=20250501090000;a21026-Avg=2"
        ]
        assert await store.aggregate(0, 100) == [("a21026", 12.0, 10.0, 14.0)]
    finally:
        await box.close()


async def test_unversioned_outbox_is_adopted_with_every_record(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    _unversioned_file(path)
    assert _version(path) == 0
    await _assert_records_intact(path)
    assert _version(path) == len(MIGRATIONS)
    await _assert_records_intact(path)  # opening an up-to-date file changes nothing
    assert _version(path) == len(MIGRATIONS)


async def test_new_outbox_gets_the_current_version(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "fresh.sqlite3")
    await box.open()
    await box.close()
    assert _version(tmp_path / "fresh.sqlite3") == len(MIGRATIONS) >= 1


async def test_outbox_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    _unversioned_file(path)
    newer = len(MIGRATIONS) + 1
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {newer}")
    db.close()
    box = Outbox(path)
    with pytest.raises(SchemaTooNew, match=rf"schema version {newer}, newer than this park_sync knows"):
        await box.open()
    await box.close()
    assert _version(path) == newer  # left exactly as found
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2
    finally:
        db.close()


def test_only_pending_migrations_run_in_order() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    steps = [
        Migration("a", ("CREATE TABLE a (x)",)),
        Migration("b", ("CREATE TABLE b (x)", "INSERT INTO b SELECT x FROM a")),
    ]
    assert migrate(db, steps[:1]) == 0
    db.execute("INSERT INTO a VALUES (1)")
    assert migrate(db, steps) == 1  # only "b" runs; "a" would fail (table exists)
    assert db.execute("SELECT x FROM b").fetchall() == [(1,)]
    assert user_version(db) == 2
    db.close()


async def test_kill_mid_migration_leaves_old_data_readable(tmp_path: Path) -> None:
    """SIGKILL after a migration has emptied tables but before it commits: nothing of it is left."""
    path = tmp_path / "outbox.sqlite3"
    _unversioned_file(path)
    script = textwrap.dedent(
        f"""
        import os, signal, sqlite3
        from park_sync.outbox import MIGRATIONS
        from park_sync.schema import Migration, migrate
        db = sqlite3.connect({str(path)!r}, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.create_function("crash", 0, lambda: os.kill(os.getpid(), signal.SIGKILL))
        destructive = Migration("destructive", (
            "DELETE FROM outbox", "DROP TABLE dead_letter", "DELETE FROM hj212_history", "SELECT crash()"))
        migrate(db, (*MIGRATIONS, destructive))
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=Path(__file__).parents[2] / "addons" / "park_sync"
    )
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL
    assert _version(path) == 0  # neither the baseline nor the destructive step committed
    await _assert_records_intact(path)
    assert _version(path) == len(MIGRATIONS)


async def test_cli_refuses_a_newer_outbox_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    _unversioned_file(path)
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    opts = tmp_path / "options.json"
    opts.write_text(
        json.dumps(
            {
                "park_id": "p",
                "central_url": "http://127.0.0.1:1",
                "central_token": "t",
                "hmac_secret": "0123456789abcdef",
                "outbox_path": str(path),
            }
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "park_sync",
        "--options",
        str(opts),
        "--requeue-dead-letters",
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parents[2] / "addons" / "park_sync",
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"newer than this park_sync knows" in err
    assert b"Traceback" not in err
