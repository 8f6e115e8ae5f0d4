"""The journal's SQLite schema: a version (``PRAGMA user_version``) and the migrations that
bring an older journal up to it, each in its own transaction.

A journal is recognised by its ``application_id``; one written by a newer scalpchart
(a version above :data:`LATEST`) is refused, never guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

APPLICATION_ID = 0x53434A4C  # "SCJL"


def _v1(db: sqlite3.Connection) -> None:
    """The first schema: sessions, executions, and the append-only event log. Few
    indexes: each one is another page written by the commit ahead of every first order
    (executions are found by their primary key, or by a scan at start)."""
    db.execute("""CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_wall_ns INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        closed_wall_ns INTEGER,
        info TEXT NOT NULL)""")
    db.execute("""CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        session INTEGER NOT NULL,
        day TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty INTEGER NOT NULL,
        intent TEXT NOT NULL,
        created_wall_ns INTEGER NOT NULL,
        final_state TEXT,
        finished_wall_ns INTEGER) WITHOUT ROWID""")
    db.execute("""CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        session INTEGER NOT NULL,
        wall_ns INTEGER NOT NULL,
        exchange_ns INTEGER NOT NULL,
        execution_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        child_id TEXT NOT NULL DEFAULT '',
        order_id TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL)""")
    db.execute("CREATE INDEX events_by_execution ON events(execution_id, seq)")


def _v2(db: sqlite3.Connection) -> None:
    """``settled``: a result can go out with orders the broker has not confirmed (FS096);
    such an execution is not done until they are. Version 1 took a final state as done."""
    db.execute("ALTER TABLE executions ADD COLUMN settled INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE executions SET settled = 1 WHERE final_state IS NOT NULL")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2)
LATEST = len(MIGRATIONS)


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def application_id(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA application_id").fetchone()[0])


def is_empty(db: sqlite3.Connection) -> bool:
    return int(db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]) == 0


def migrate(db: sqlite3.Connection, to: int = LATEST) -> list[int]:
    """Apply the migrations above the journal's version, up to ``to``; returns the versions
    applied. ``db`` must be in autocommit mode (``isolation_level=None``)."""
    applied = []
    for target in range(version(db) + 1, to + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[target - 1](db)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        applied.append(target)
    return applied
