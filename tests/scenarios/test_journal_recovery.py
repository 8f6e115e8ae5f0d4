"""Crash and recover inside one process (fast; the SIGKILL tests are
test_kill_recovery.py): an engine with a journal is cut off from its journal and its
broker at a chosen moment (:mod:`execution.testing.crash`), and a new engine on the same
journal and exchange recovers what it left."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from execution.broker import BrokerDisconnected
from execution.contracts import ChildStatus, OrderRequest, Position, PriceType, Side, Urgency
from execution.engine import Engine, Execution, RecoveryNeeded
from execution.journal import (
    DurableJournal,
    JournalError,
    JournalIdTaken,
    SqliteStore,
    open_journal,
)
from execution.journal.rows import Batch
from execution.market_session import default_sim_start, epoch_ns
from execution.recovery import RecoveryRefused
from execution.sim import SimulatedExchange
from execution.testing.actions import AcceptThenHold, Hold, LoseAck
from execution.testing.crash import CrashableStore, Severable, crash
from execution.testing.harness import TEST_TIMEOUTS_MS, intent, make_limits, until, until_state
from execution.testing.scripted import OTHER_SYMBOL, SYMBOL, ScriptedBroker

WAIT = 0.05  # in-doubt wait for recovery in these tests (the exchange is in this process)


@dataclass
class Run:
    """One engine 'process': its journal store, its broker proxy, the engine."""

    store: CrashableStore
    broker: Severable
    engine: Engine

    def crash(self) -> None:
        crash(self.store, self.broker)


def start(path: Path, exchange: Any, **limits: Any) -> Run:
    store = CrashableStore(SqliteStore(path))
    broker = Severable(exchange)
    store.on_crash = broker.sever
    engine = Engine(broker, limits=make_limits(**limits), journal=DurableJournal(store),
                    stage_timeouts_ms=TEST_TIMEOUTS_MS | {"MONITORING": 60_000}, pool_size=4)
    return Run(store, broker, engine)


@pytest.fixture
def journal_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "journal.sqlite"


async def restart(path: Path, exchange: Any, **limits: Any) -> tuple[Engine, DurableJournal,
                                                                       list[Position]]:
    journal = open_journal(path)
    engine = Engine(exchange, limits=make_limits(**limits), journal=journal, pool_size=4,
                    stage_timeouts_ms=TEST_TIMEOUTS_MS)
    positions: list[Position] = []
    engine.add_position_listener(positions.append)
    return engine, journal, positions


async def recover_twice(path: Path, exchange: Any, **limits: Any) -> tuple[dict[str, Any],
                                                                             list[Position]]:
    """Recover, then recover again: the second must change nothing, not even the journal."""
    engine, journal, positions = await restart(path, exchange, **limits)
    assert engine.recovery_pending
    with pytest.raises(RecoveryNeeded):
        engine.submit(intent(10))
    first = (await engine.recover(in_doubt_wait_s=WAIT)).to_json()
    await engine.close()
    journal.close()
    seq = SqliteStore(path, readonly=True).last_seq()
    engine, journal, _ = await restart(path, exchange, **limits)
    assert not engine.recovery_pending
    second = await engine.recover(in_doubt_wait_s=WAIT)
    assert not second.changed and not second.unconfirmed, second.to_json()
    await engine.close()
    journal.close()
    assert SqliteStore(path, readonly=True).last_seq() == seq
    return first, positions


async def resting(run: Run, qty: int = 100, **kw: Any) -> Execution:
    execution = run.engine.submit(intent(qty, **kw))
    await until_state(execution, "MONITORING")
    await asyncio.sleep(0.02)  # the ack's record is written (flush_ms 5)
    return execution


# -- the bug --------------------------------------------------------------------------
async def test_a_restarted_engine_never_reuses_an_order_id() -> None:
    """Before: the restarted engine numbered from X000001 again, and the exchange (idempotent
    on client order id) handed a new SELL the crashed engine's BUY acknowledgement."""
    exchange = SimulatedExchange(seed=3, start_ns=epoch_ns(default_sim_start()))
    async with exchange:
        first = Engine(exchange, limits=make_limits(), stage_timeouts_ms=TEST_TIMEOUTS_MS)
        buy = first.submit(intent(100, urgency=Urgency.NORMAL))
        await until_state(buy, "MONITORING")
        second = Engine(exchange, limits=make_limits(), stage_timeouts_ms=TEST_TIMEOUTS_MS)
        sell = second.submit(intent(100, Side.SELL, symbol="000660", urgency=Urgency.HIGH))
        await until(lambda: bool(sell.ctx.children and sell.ctx.children[0].order_ids))
        assert sell.id != buy.id
        assert sell.ctx.children[0].client_order_id != buy.ctx.children[0].client_order_id
        orders = {o.broker_order_id: o for o in exchange.records()}
        placed = orders[sell.ctx.children[0].broker_order_id]
        assert (placed.symbol, placed.side) == ("000660", Side.SELL)
        first.escape_all("done")
        second.escape_all("done")
        await asyncio.gather(buy.result, sell.result)


# -- day state --------------------------------------------------------------------------------
async def test_trades_and_positions_of_the_day_survive_a_restart(journal_path: Path) -> None:
    broker = ScriptedBroker()
    journal = open_journal(journal_path)
    engine = Engine(broker, limits=make_limits(daily_trade_limit=2), journal=journal,
                    stage_timeouts_ms=TEST_TIMEOUTS_MS)
    for qty, side, symbol in ((100, Side.BUY, SYMBOL), (30, Side.SELL, OTHER_SYMBOL)):
        execution = engine.submit(intent(qty, side, symbol=symbol, urgency=Urgency.HIGH))
        await until(lambda e=execution: bool(e.ctx.children and e.ctx.children[0].order_ids))
        broker.fill_child(execution.ctx.children[0].id)
        assert (await execution.result).final_state == "COMPLETE"
    await engine.close()
    journal.close()

    engine, journal, _ = await restart(journal_path, broker, daily_trade_limit=2)
    ledger = engine.services.ledger
    day = engine.services.sessions.trading_day(broker.now_ns())
    assert ledger.trades_per_day[day] == 2
    assert ledger.positions == {SYMBOL: 100, OTHER_SYMBOL: -30}
    third = await engine.execute(intent(10, urgency=Urgency.HIGH))
    assert third.final_state == "FAILED" and "GR062" in third.codes()  # the limit held
    await engine.close()
    journal.close()


async def test_an_execution_id_from_an_earlier_run_is_refused(journal_path: Path) -> None:
    broker = ScriptedBroker()
    engine, journal, _ = await restart(journal_path, broker)
    result = await engine.execute(intent(10, urgency=Urgency.HIGH, cid="STRATEGY-7"))
    assert result.execution_id == "STRATEGY-7"
    await engine.close()
    journal.close()
    engine, journal, _ = await restart(journal_path, broker)
    with pytest.raises(JournalIdTaken, match="STRATEGY-7"):
        engine.submit(intent(10, cid="STRATEGY-7"))
    assert not broker.calls_of("send")[1:]  # nothing sent for it
    await engine.close()
    journal.close()


# -- recovery ---------------------------------------------------------------------------------
async def test_a_live_order_is_cancelled_and_missed_fills_counted(journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker)
    execution = await resting(run)
    child = execution.ctx.children[0]
    broker.fill_child(child.id, 30)
    await asyncio.sleep(0.02)
    run.crash()
    broker.fill_child(child.id, 20)  # while no engine runs
    report, positions = await recover_twice(journal_path, broker)
    [recovered] = report["executions"]
    assert recovered["id"] == execution.id and recovered["final_state"] == "ESCAPED"
    assert recovered["filled_qty"] == recovered["broker_filled_qty"] == 50
    assert report["fills_added"] == 1 and report["orphans_cancelled"] == [child.order_ids[0]]
    assert not broker.live_orders()
    assert [(p.symbol, p.qty) for p in positions] == [(SYMBOL, 50)]


async def test_an_answer_lost_in_the_crash_is_found_by_client_id(journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker)
    release = asyncio.Event()
    broker.script_send(AcceptThenHold(release))  # placed; the ack never makes it back
    execution = run.engine.submit(intent(100))
    await until(lambda: bool(broker.live_orders()))
    run.crash()
    release.set()
    report, _ = await recover_twice(journal_path, broker)
    [recovered] = report["executions"]
    actions = [a["action"] for a in recovered["actions"]]
    assert actions[:2] == ["found", "confirmed"] or "found" in actions, recovered
    assert report["orphans_cancelled"] == [broker.broker_id(f"{execution.id}-1")]
    assert not broker.live_orders() and broker.placed == {f"{execution.id}-1": 1}


async def test_a_send_journaled_but_never_made_is_confirmed_never_placed(
        journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker)
    run.store.crash_at(1, after=True)  # the write-ahead record is written; then the crash
    execution = run.engine.submit(intent(100))
    await until(lambda: run.store.dead)
    report, _ = await recover_twice(journal_path, broker)
    [recovered] = report["executions"]
    assert recovered["id"] == execution.id and recovered["final_state"] == "ESCAPED"
    assert [a["action"] for a in recovered["actions"]] == ["never_placed"]
    assert not broker.calls_of("send") and report["fills_added"] == 0


async def test_a_revise_answer_lost_follows_the_new_order_id(journal_path: Path) -> None:
    broker = ScriptedBroker(replace_on_modify=True)
    run = start(journal_path, broker, adjust_interval_ms=20)
    broker.modify_script.append(LoseAck(BrokerDisconnected("gone")))
    hold = asyncio.Event()
    broker.modify_script.append(Hold(hold))
    execution = await resting(run)
    await until(lambda: len(broker.calls_of("modify")) >= 1)
    run.crash()
    old = execution.ctx.children[0].order_ids[0]
    new = broker.current_id(f"{execution.id}-1")
    assert new != old
    broker.fill(new, 40)
    report, _ = await recover_twice(journal_path, broker)
    [recovered] = report["executions"]
    assert {"action": "revise_found", "child": f"{execution.id}-1", "order": new} in \
        recovered["actions"]
    assert recovered["filled_qty"] == recovered["broker_filled_qty"] == 40
    assert report["orphans_cancelled"] == [new] and not broker.live_orders()
    hold.set()


async def test_a_liquidation_in_flight_is_counted_as_the_escape(journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker, liquidate_on_escape=True)
    execution = await resting(run)
    broker.fill_child(execution.ctx.children[0].id, 60)
    release = asyncio.Event()
    broker.script_send(AcceptThenHold(release), child=f"{execution.id}-L")
    run.engine.escape(execution.id, "test")
    await until(lambda: f"{execution.id}-L" in broker.placed)
    run.crash()
    release.set()
    broker.fill_child(f"{execution.id}-L", 60)  # the market order fills at the exchange
    report, positions = await recover_twice(journal_path, broker)
    [recovered] = report["executions"]
    assert recovered["filled_qty"] == 60 and recovered["liquidated_qty"] == 60
    assert positions == []  # flat: nothing handed on
    assert not broker.live_orders()


async def test_unknown_orders_are_reported_and_never_touched(journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker)
    await resting(run)
    run.crash()
    manual = await broker.send(OrderRequest("BY-HAND-1", SYMBOL, Side.SELL, 5, Decimal(71_000),
                                            PriceType.LIMIT))
    report, _ = await recover_twice(journal_path, broker)
    assert [o["order_id"] for o in report["unknown_orders"]] == [manual.broker_order_id]
    assert [o.broker_id for o in broker.live_orders()] == [manual.broker_order_id]


async def test_a_broker_that_cannot_answer_leaves_the_execution_for_later(
        journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker, cancel_confirm_timeout_ms=50)
    execution = await resting(run)
    run.crash()
    broker.status_script.extend([Hold(asyncio.Event())] * 1000)  # the broker hangs
    engine, journal, _ = await restart(journal_path, broker, cancel_confirm_timeout_ms=50)
    report = await engine.recover(in_doubt_wait_s=WAIT, order_timeout_s=0.2)
    [recovered] = report.executions
    assert recovered.final_state is None and report.unconfirmed
    await engine.close()
    journal.close()
    broker.status_script.clear()
    report2, _ = await recover_twice(journal_path, broker)  # the broker is back
    assert [e["id"] for e in report2["executions"]] == [execution.id]
    assert report2["executions"][0]["final_state"] == "ESCAPED"
    assert not broker.live_orders()


async def test_an_execution_of_an_earlier_trading_day_is_closed(journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker)
    execution = await resting(run)
    run.crash()
    broker.clock.start_ns += 86_400 * 10**9  # the next day
    broker.expire(execution.ctx.children[0].order_ids[0])  # day orders end at the close
    report, _ = await recover_twice(journal_path, broker)
    [recovered] = report["executions"]
    assert recovered["broker_filled_qty"] is None
    assert recovered["actions"][0]["action"] == "previous_day"


async def test_resume_is_refused_with_its_reason(journal_path: Path) -> None:
    engine, journal, _ = await restart(journal_path, ScriptedBroker())
    with pytest.raises(RecoveryRefused, match=r"resume is not available.*--policy escape"):
        await engine.recover(policy="resume")
    journal.close()


async def test_a_full_disk_sends_nothing(journal_path: Path) -> None:
    broker = ScriptedBroker()
    run = start(journal_path, broker)
    db = run.store.inner.db  # type: ignore[attr-defined]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    for size in (3000, 300, 30, 1):  # the disk fills up, to the last byte
        padding = Batch(events=[(1, 0, 0, "-", "padding", "", "", {"x": "x" * size})])
        with pytest.raises(JournalError, match="database or disk is full"):
            for _ in range(10_000):
                run.store.write(padding)
    execution = run.engine.submit(intent(100, urgency=Urgency.HIGH))  # buffered: accepted
    result = await asyncio.wait_for(execution.result, 5)
    assert not broker.calls_of("send")
    assert result.final_state in ("ESCAPED", "FAILED")
    assert "database or disk is full" in result.reason
    assert result.children[0].status is ChildStatus.REJECTED
    with pytest.raises(JournalError, match="database or disk is full"):
        run.engine.submit(intent(10, symbol=OTHER_SYMBOL))  # refused from now on
    await run.engine.close()
    SqliteStore(journal_path, readonly=True).close()  # what was written stays readable
