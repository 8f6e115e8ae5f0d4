"""The journal in SQLite (standard library, WAL mode, one writer): the
:class:`~execution.journal.rows.JournalStore` the engine writes to.

:class:`SqliteStore` takes an exclusive lock on ``PATH.lock`` for its life: a second
writer is refused at once instead of interleaving (the kernel drops the lock when the
process dies, even by SIGKILL). Checkpoints run in a thread of their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from execution.journal import schema
from execution.journal.api import JournalError
from execution.journal.rows import Batch, EventRow, ExecutionRow

Sync = Literal["normal", "full"]
T = TypeVar("T")
log = logging.getLogger("execution.journal")


CHECKPOINT_INTERVAL_S = 0.5


class Checkpointer(threading.Thread):
    """Moves the write-ahead log into the database file, from a connection of its own in a
    background thread: left to itself, SQLite would run each checkpoint (and its fsync)
    inside some commit, on the path of an order. A passive checkpoint never blocks the
    writer; the log starts over once one has caught up."""

    def __init__(self, path: Path, writes: Callable[[], int]) -> None:
        super().__init__(name=f"journal-checkpoint:{path.name}", daemon=True)
        self.path, self.writes = path, writes
        self.halt = threading.Event()
        self.checkpoints = 0

    def run(self) -> None:
        try:
            db = sqlite3.connect(str(self.path), isolation_level=None)
        except sqlite3.Error as err:
            log.error("journal %s: no checkpoints: %s", self.path, err)
            return
        seen = self.writes()
        try:
            while not self.halt.wait(CHECKPOINT_INTERVAL_S):
                current = self.writes()
                if current == seen:
                    continue
                seen = current
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    self.checkpoints += 1
                except sqlite3.Error as err:  # (the next round tries again)
                    log.warning("journal %s: checkpoint failed: %s", self.path, err)
        finally:
            db.close()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5.0)


_json = json.JSONEncoder(separators=(",", ":"), default=str).encode
_Condition = tuple[str, Sequence[Any]]  # a WHERE clause and its parameters


def _in(column: str, values: Sequence[Any]) -> _Condition | None:
    """``column IN (?, ...)`` for the values given; no condition when there are none."""
    return (f"{column} IN ({', '.join('?' * len(values))})", values) if values else None


class SqliteStore:
    """The journal in one SQLite file. ``readonly`` opens it for reading (no lock, no
    migration: an older journal is refused with the command that migrates it)."""

    def __init__(self, path: Path | str, *, sync: Sync = "normal",
                 readonly: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.readonly = readonly
        self._lock_fd: int | None = None
        self._db: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None
        self.writes = 0
        try:
            self._open(sync)
        except BaseException:
            self.close()
            raise

    @property
    def name(self) -> str:
        return str(self.path)

    def _fail(self, what: str, err: BaseException) -> JournalError:
        return JournalError(f"journal {self.path}: {what}: {err}")

    # -- opening --------------------------------------------------------------------------
    def _open(self, sync: Sync) -> None:
        if self.readonly:
            if not self.path.is_file():
                raise JournalError(f"journal {self.path}: no such file")
            uri = f"file:{self.path}?mode=ro"
            db = self._connect(uri, uri=True)
        else:
            self._lock()
            db = self._connect(str(self.path))
        self._db = db
        try:
            self._check(db)
            if not self.readonly:
                if db.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                    raise JournalError(f"journal {self.path}: WAL mode refused by SQLite")
                db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
                db.execute("PRAGMA wal_autocheckpoint = 0")  # see Checkpointer
                schema.migrate(db)
                self._checkpointer = Checkpointer(self.path, lambda: self.writes)
                self._checkpointer.start()
        except sqlite3.Error as err:
            raise self._fail("not a readable journal (corrupted or truncated?)", err) from None

    def _connect(self, target: str, *, uri: bool = False) -> sqlite3.Connection:
        try:
            return sqlite3.connect(target, uri=uri, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as err:
            raise self._fail("cannot open", err) from None

    def _lock(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise self._fail("cannot create its lock file", err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalError(f"journal {self.path}: in use by another process (one "
                               "writer at a time)") from None
        self._lock_fd = fd

    def _check(self, db: sqlite3.Connection) -> None:
        problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise JournalError(f"journal {self.path}: damaged (corrupted or truncated): "
                               + "; ".join(problems[:3]))
        app, found = schema.application_id(db), schema.version(db)
        if schema.is_empty(db):
            if self.readonly:
                raise JournalError(f"journal {self.path}: empty (no journal was written here)")
            return
        if app != schema.APPLICATION_ID:
            raise JournalError(f"journal {self.path}: not a scalpchart journal "
                               f"(SQLite application_id {app:#x})")
        if found > schema.LATEST:
            raise JournalError(
                f"journal {self.path}: written by a newer scalpchart (schema version {found}; "
                f"this one reads up to {schema.LATEST}): upgrade scalpchart to read it")
        if self.readonly and found < schema.LATEST:
            raise JournalError(
                f"journal {self.path}: schema version {found} predates this scalpchart's "
                f"{schema.LATEST}: `scalpchart recover` (or any writer) migrates it first")

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError(f"journal {self.path}: closed")
        return self._db

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # (releases the lock)
            self._lock_fd = None

    # -- writing --------------------------------------------------------------------------
    def begin_session(self, info: Mapping[str, Any], wall_ns: int) -> int:
        try:
            cursor = self.db.execute(
                "INSERT INTO sessions(started_wall_ns, first_seq, info) VALUES (?, ?, ?)",
                (wall_ns, self.last_seq() + 1, _json(info)))
        except sqlite3.Error as err:
            raise self._fail("cannot write", err) from None
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def end_session(self, session: int, wall_ns: int) -> None:
        self._update("UPDATE sessions SET closed_wall_ns = ? WHERE id = ?", (wall_ns, session))

    def end_crashed(self, current: int, wall_ns: int) -> None:
        self._update("UPDATE sessions SET closed_wall_ns = ? WHERE closed_wall_ns IS NULL "
                     "AND id != ?", (wall_ns, current))

    def _update(self, sql: str, params: Sequence[Any]) -> None:
        try:
            self.db.execute(sql, params)
        except sqlite3.Error as err:
            raise self._fail("cannot write", err) from None

    def unrecorded(self, current: int | None) -> list[EventRow]:
        sessions = self._query("SELECT id, first_seq, closed_wall_ns FROM sessions ORDER BY id")
        found: dict[str, EventRow] = {}
        for n, (session, first_seq, closed) in enumerate(sessions):
            if closed is not None or session == current:
                continue
            end = sessions[n + 1][1] if n + 1 < len(sessions) else None
            sql = (f"SELECT {self._EVENT_COLUMNS} FROM events WHERE seq >= ?"
                   + (" AND seq < ?" if end is not None else "")
                   + " AND kind IN ('plan', 'send') ORDER BY seq")
            rows = self._query(sql, (first_seq,) if end is None else (first_seq, end))
            for event in self._decode(functools.partial(_events, rows)):
                if "intent" in event.data:
                    found.setdefault(event.execution_id, event)
        if not found:
            return []
        recorded = {row.id for row in self.executions(ids=list(found))}
        return [event for eid, event in found.items() if eid not in recorded]

    def write(self, batch: Batch) -> None:
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                self._write(db, batch)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # (SQLite rolls back by itself on a full disk)
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise self._fail("cannot write", err) from None
        self.writes += 1

    @staticmethod
    def _write(db: sqlite3.Connection, batch: Batch) -> None:
        if batch.executions:
            db.executemany(
                "INSERT INTO executions(id, session, day, symbol, side, qty, intent, "
                "created_wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(x.id, x.session, x.day, x.symbol, x.side, x.qty, _json(x.intent),
                  x.created_wall_ns) for x in batch.executions])
        if batch.events:
            db.executemany(
                "INSERT INTO events(session, wall_ns, exchange_ns, execution_id, kind, "
                "child_id, order_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*event[:7], _json(event[7])) for event in batch.events])
        if batch.finished:
            db.executemany("UPDATE executions SET final_state = ?, finished_wall_ns = ?, "
                           "settled = ? WHERE id = ?",
                           [(state, ns, int(settled), eid)
                            for eid, state, ns, settled in batch.finished])
        if batch.settled:
            db.executemany("UPDATE executions SET settled = 1 WHERE id = ?",
                           [(eid,) for eid in batch.settled])

    # -- reading --------------------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise self._fail("cannot read", err) from None

    def has_execution(self, execution_id: str) -> bool:
        return bool(self._query("SELECT 1 FROM executions WHERE id = ?", (execution_id,)))

    _EXECUTION_COLUMNS = ("id, session, day, symbol, side, qty, intent, created_wall_ns, "
                          "final_state, finished_wall_ns, settled")

    def executions(self, *, unsettled: bool = False, day: str | None = None,
                   ids: Sequence[str] = ()) -> list[ExecutionRow]:
        rows = self._select(self._EXECUTION_COLUMNS, "executions",
                            [("settled = 0", ()) if unsettled else None,
                             ("day = ?", (day,)) if day is not None else None,
                             _in("id", ids)],
                            "created_wall_ns, id")
        return self._decode(lambda: [_execution(row) for row in rows])

    _EVENT_COLUMNS = "seq, session, wall_ns, exchange_ns, execution_id, kind, child_id, " \
                     "order_id, data"

    def events(self, execution_id: str | None = None, kinds: Sequence[str] = ()) -> list[EventRow]:
        rows = self._select(self._EVENT_COLUMNS, "events",
                            [("execution_id = ?", (execution_id,))
                             if execution_id is not None else None,
                             _in("kind", kinds)],
                            "seq")
        return self._decode(lambda: [_event(row) for row in rows])

    def _select(self, columns: str, table: str, conditions: Sequence[_Condition | None],
                order: str) -> list[tuple[Any, ...]]:
        """``SELECT columns FROM table WHERE`` every condition given ``ORDER BY order``."""
        given = [c for c in conditions if c is not None]
        sql = f"SELECT {columns} FROM {table}"
        if given:
            sql += " WHERE " + " AND ".join(clause for clause, _ in given)
        params = [p for _, values in given for p in values]
        return self._query(f"{sql} ORDER BY {order}", params)

    def events_of_day(self, day: str, kinds: Sequence[str]) -> list[tuple[ExecutionRow, EventRow]]:
        columns = ", ".join(f"x.{c.strip()}" for c in self._EXECUTION_COLUMNS.split(","))
        events = ", ".join(f"e.{c.strip()}" for c in self._EVENT_COLUMNS.split(","))
        rows = self._query(
            f"SELECT {columns}, {events} FROM executions x CROSS JOIN events e "
            f"ON x.id = e.execution_id WHERE x.day = ? AND e.kind IN "
            f"({', '.join('?' * len(kinds))}) ORDER BY e.seq", (day, *kinds))
        width = len(self._EXECUTION_COLUMNS.split(","))
        return self._decode(lambda: [(_execution(row[:width]), _event(row[width:]))
                                     for row in rows])

    def _decode(self, build: Callable[[], list[T]]) -> list[T]:
        try:
            return build()
        except (ValueError, TypeError) as err:  # (json, ints)
            raise self._fail("a damaged record", err) from None

    def last_seq(self) -> int:
        return int(self._query("SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def sessions(self) -> list[tuple[int, int, dict[str, Any]]]:  # (id, started, info)
        return [(int(i), int(ns), json.loads(info))
                for i, ns, info in self._query("SELECT id, started_wall_ns, info FROM sessions "
                                               "ORDER BY id")]


def _execution(row: Sequence[Any]) -> ExecutionRow:
    return ExecutionRow(row[0], int(row[1]), row[2], row[3], row[4], int(row[5]),
                        json.loads(row[6]), int(row[7]), row[8],
                        None if row[9] is None else int(row[9]), bool(row[10]))


def _events(rows: list[tuple[Any, ...]]) -> list[EventRow]:
    return [_event(row) for row in rows]


def _event(row: Sequence[Any]) -> EventRow:
    return EventRow(int(row[0]), int(row[1]), int(row[2]), int(row[3]), row[4], row[5],
                    row[6], row[7], json.loads(row[8]))
