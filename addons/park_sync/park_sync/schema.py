"""Schema versioning of the outbox database: ``PRAGMA user_version`` plus an ordered list of migrations.

Migration N (1-based) takes the file from version N-1 to N. All pending migrations and the new version number
are applied in one transaction, so a crash part-way leaves the file as it was. A file written by a newer
park_sync (a version above the list) is refused: its tables may mean something this code does not know.
The tables themselves are defined by the modules that own them (``outbox``, ``hj212_store``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass


class SchemaTooNew(RuntimeError):
    """The database was written by a newer park_sync."""


@dataclass(slots=True, frozen=True)
class Migration:
    description: str
    # Separate statements, not one script: sqlite3's executescript() would commit our open transaction.
    statements: tuple[str, ...]


def user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration], name: str = "database") -> int:
    """Bring ``db`` (autocommit connection) to ``len(migrations)``; returns the version it was at."""
    known = len(migrations)
    # IMMEDIATE: a second process opening the same file waits instead of migrating it concurrently.
    db.execute("BEGIN IMMEDIATE")
    try:
        found = user_version(db)
        if found > known:
            raise SchemaTooNew(
                f"{name} has schema version {found}, newer than this park_sync knows ({known}); "
                "refusing to use it: run the newer park_sync, or move the file aside"
            )
        for migration in migrations[found:]:
            for statement in migration.statements:
                db.execute(statement)
        if found != known:
            db.execute(f"PRAGMA user_version = {known:d}")  # transactional: part of the same commit
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return found
