"""The journal's storage: write-ahead records durable before the broker call, buffered ones
within milliseconds, one writer, migrations, and a clear error (never a traceback) for a
damaged, truncated, foreign or newer journal and for a full disk."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from execution.contracts import ChildOrder, ExecutionIntent, OrderRequest, PriceType, Side
from execution.journal import DurableJournal, JournalError, JournalIdTaken, SqliteStore, schema
from execution.journal import open_journal as open_writer
from execution.journal.reading import day_state, unsettled

DAY = date(2024, 6, 3)
INTENT = ExecutionIntent("005930", Side.BUY, 100)


def child(execution_id: str = "E1") -> ChildOrder:
    return ChildOrder(f"{execution_id}-1", execution_id, 1, 100, Decimal(70_000),
                      PriceType.LIMIT, 0, 0, client_order_id=f"{execution_id}-1")


def request(execution_id: str = "E1") -> OrderRequest:
    return OrderRequest(f"{execution_id}-1", "005930", Side.BUY, 100, Decimal(70_000),
                        PriceType.LIMIT)


def reader(path: Path) -> SqliteStore:
    return SqliteStore(path, readonly=True)


async def test_a_send_is_durable_before_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_writer(path, flush_ms=60_000)  # only the write-ahead record flushes
    journal.intent("E1", INTENT, DAY)
    journal.transition("E1", "INIT", "start", "PRECHECK", "")
    assert not reader(path).events() and not reader(path).executions()  # buffered
    journal.sending("E1", child(), request(), attempt=1)
    assert [e.kind for e in reader(path).events("E1")] == ["send"]
    assert not reader(path).executions()  # the row follows; the send carries the intent:
    [first] = reader(path).unrecorded(None)  # recovery finds the execution all the same
    assert first.data["intent"]["symbol"] == "005930" and first.data["day"] == "2024-06-03"
    journal.order_id("E1", child(), "B1", "ack")
    journal.close()  # the row and the transition (not needed ahead of the order) follow
    assert not reader(path).unrecorded(None)
    [row] = reader(path).executions()
    assert row.id == "E1" and row.symbol == "005930" and not row.settled
    events = reader(path).events("E1")
    assert [e.kind for e in events] == ["send", "transition", "order"]
    assert events[1].wall_ns < events[0].wall_ns  # (journal show orders them by time)


async def test_buffered_records_are_written_within_flush_ms(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_writer(path, flush_ms=5)
    journal.intent("E1", INTENT, DAY)
    journal.transition("E1", "INIT", "start", "PRECHECK", "")
    assert not reader(path).executions()
    await asyncio.sleep(0.05)
    assert [r.id for r in reader(path).executions()] == ["E1"]
    assert [e.kind for e in reader(path).events()] == ["transition"]
    assert journal.writes == 1
    journal.close()


def test_an_execution_id_is_never_used_twice(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_writer(path)
    journal.intent("E1", INTENT, DAY)
    with pytest.raises(JournalIdTaken):
        journal.intent("E1", INTENT, DAY)  # this run
    journal.close()
    journal = open_writer(path)
    with pytest.raises(JournalIdTaken, match="already in the journal"):
        journal.intent("E1", INTENT, DAY)  # an earlier run
    journal.close()


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = open_writer(path)
    with pytest.raises(JournalError, match="in use by another process"):
        open_writer(path)
    reader(path).close()  # reading needs no lock
    first.close()
    open_writer(path).close()  # the lock went with the first writer


def test_results_settle_and_unsettled_lists_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_writer(path)
    for eid in ("E1", "E2", "E3"):
        journal.intent(eid, INTENT, DAY)
    journal.result("E1", "COMPLETE", {"filled_qty": 100}, settled=True)
    journal.result("E2", "ESCAPED", {"filled_qty": 0, "unconfirmed": ["B2"]}, settled=False)
    journal.flush()
    assert [j.id for j in unsettled(journal.store)] == ["E2", "E3"]
    journal.settled("E2")
    journal.flush()
    assert [j.id for j in unsettled(journal.store)] == ["E3"]
    journal.close()


def test_day_state_counts_trades_and_positions_of_the_day(tmp_path: Path) -> None:
    from execution.contracts import FillEvent

    journal = open_writer(tmp_path / "j.sqlite")
    sell = ExecutionIntent("000660", Side.SELL, 50)
    journal.intent("E1", INTENT, DAY)
    journal.intent("E2", sell, DAY)
    journal.intent("E0", INTENT, date(2024, 5, 31))  # an earlier day
    for eid in ("E1", "E2", "E0"):
        journal.trade(eid, DAY if eid != "E0" else date(2024, 5, 31))
    fill = FillEvent("F1", "B1", "005930", Side.BUY, 100, Decimal(70_000), 100, 0, Decimal(0), 1)
    journal.fill("E1", child("E1"), fill, 100)
    journal.fill("E1", child("E1"), fill, 40, liquidation=True)  # its escape sold 40 back
    journal.fill("E2", child("E2"), fill, 30)
    journal.fill("E0", child("E0"), fill, 100)
    journal.flush()
    state = day_state(journal.store, DAY)
    assert state.trades == {DAY: 2}
    assert day_state(journal.store, date(2024, 5, 31)).trades == {date(2024, 5, 31): 1}
    assert state.positions == {"005930": 60, "000660": -30}
    journal.close()


# -- what cannot be read ----------------------------------------------------------------------
def test_garbage_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not a database, just bytes " * 200)
    with pytest.raises(JournalError, match=r"not a readable journal.*not a database"):
        open_writer(path)
    with pytest.raises(JournalError, match="not a readable journal"):
        reader(path)


def test_a_truncated_journal_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_writer(path)
    for n in range(400):
        journal.intent(f"E{n}", INTENT, DAY)
        journal.note(f"E{n}", "padding", {"text": "x" * 400})
    journal.close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(JournalError, match=r"journal .*j\.sqlite: (damaged|not a readable)"):
        open_writer(path)


def test_a_journal_from_a_newer_scalpchart_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    open_writer(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    db.close()
    with pytest.raises(JournalError, match=rf"newer scalpchart \(schema version "
                                           rf"{schema.LATEST + 1}; this one reads up to "
                                           rf"{schema.LATEST}\)"):
        open_writer(path)
    with pytest.raises(JournalError, match="newer scalpchart"):
        reader(path)


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="not a scalpchart journal"):
        open_writer(path)


def test_an_older_journal_is_migrated_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(db, to=1) == [1]  # a journal as the first version wrote it
    db.execute("INSERT INTO sessions(started_wall_ns, first_seq, info) VALUES (1, 1, '{}')")
    for eid, state in (("E1", "COMPLETE"), ("E2", None)):
        db.execute("INSERT INTO executions(id, session, day, symbol, side, qty, intent, "
                   "created_wall_ns, final_state) VALUES (?, 1, '2024-06-03', '005930', "
                   "'buy', 100, ?, 1, ?)", (eid, '{"symbol": "005930", "side": "buy", '
                   '"qty": 100, "limit_price": null, "urgency": "normal", '
                   '"strategy": "auto", "client_intent_id": ""}', state))
    db.close()
    with pytest.raises(JournalError, match=r"schema version 1 predates .* migrates it"):
        reader(path)  # reading never writes: it says what migrates the file
    journal = open_writer(path)
    assert schema.version(journal.store.db) == schema.LATEST  # type: ignore[attr-defined]
    assert [j.id for j in unsettled(journal.store)] == ["E2"]  # E1 ended under version 1
    journal.close()
    assert {r.id: r.settled for r in reader(path).executions()} == {"E1": True, "E2": False}


# -- a full disk ------------------------------------------------------------------------------
def full_disk(journal: DurableJournal) -> None:
    """The file may not grow by one more page: SQLite answers SQLITE_FULL, exactly what a
    full disk gives."""
    db = journal.store.db  # type: ignore[attr-defined]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_stops_every_send_and_says_why(tmp_path: Path) -> None:
    journal = open_writer(tmp_path / "j.sqlite")
    journal.intent("E1", INTENT, DAY)
    journal.flush()
    full_disk(journal)
    for n in range(200):  # fill what pages are left
        journal.note("E1", "padding", {"text": "x" * 2000, "n": n})
    with pytest.raises(JournalError, match="database or disk is full"):
        journal.sending("E1", child(), request(), attempt=1)
    with pytest.raises(JournalError, match="database or disk is full"):  # sticky
        journal.sending("E1", child(), request(), attempt=2)
    with pytest.raises(JournalError, match="database or disk is full"):
        journal.intent("E2", INTENT, DAY)
    journal.cancelling("E1", child(), "B1")  # a cancel is never stopped by the journal
    journal.store.close()


async def test_a_planned_send_needs_no_second_write(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = open_writer(path, flush_ms=60_000)
    journal.intent("E1", INTENT, DAY)
    children = [child("E1"), ChildOrder("E1-2", "E1", 2, 50, Decimal(70_000), PriceType.LIMIT,
                                        0, 0, client_order_id="E1-2")]
    journal.planned("E1", INTENT, children)  # the split: both children in one write
    assert journal.writes == 1
    plans = reader(path).events("E1")
    assert [e.kind for e in plans] == ["plan", "plan"]
    assert "intent" in plans[0].data and "intent" not in plans[1].data  # (the row follows)
    journal.sending("E1", children[0], request(), attempt=1)
    assert journal.writes == 1  # as planned: already durable
    repriced = OrderRequest("E1-2", "005930", Side.BUY, 50, Decimal(70_100), PriceType.LIMIT)
    journal.sending("E1", children[1], repriced, attempt=1)  # released later, re-priced
    journal.sending("E1", children[0], request(), attempt=2)  # a retry
    assert journal.writes == 3
    assert [e.kind for e in reader(path).events("E1")] == ["plan", "plan", "send", "send"]
    journal.planned("E1", INTENT, children)  # (nothing new)
    assert journal.writes == 3
    journal.close()
