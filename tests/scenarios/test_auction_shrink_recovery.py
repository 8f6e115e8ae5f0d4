"""A crash after the shrink policy reduced a child (journaled like a revise, with the
child's new quantity): recovery rebuilds the child at its reduced quantity, counts what
the broker filled on it exactly once, and cancels what is left."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from execution.contracts import MarketPhase
from execution.engine import Engine
from execution.journal import DurableJournal, SqliteStore, open_journal
from execution.journal.reading import unsettled
from execution.testing.actions import Hold
from execution.testing.crash import CrashableStore, Severable, crash
from execution.testing.harness import TEST_TIMEOUTS_MS, intent, make_limits, until, until_state
from execution.testing.scripted import ScriptedBroker

SHRINK: dict[str, Any] = {"auction_policy": "shrink", "auction_keep_pct": 40,
                          "adjust_interval_ms": 20}


async def _shrunk_then_crashed(path: Path, broker: ScriptedBroker,
                               held: asyncio.Event | None = None) -> str:
    """Run to a shrink in a VI, then crash: after its answer was journaled, or (``held``)
    while the reduce is on its way (the broker applies it once ``held`` is set)."""
    store = CrashableStore(SqliteStore(path))
    severable = Severable(broker)
    store.on_crash = severable.sever
    engine = Engine(severable, limits=make_limits(**SHRINK), journal=DurableJournal(store),
                    stage_timeouts_ms=TEST_TIMEOUTS_MS | {"MONITORING": 60_000}, pool_size=4)
    execution = engine.submit(intent(100, cid="R"))
    await until_state(execution, "MONITORING")
    if held is not None:
        broker.modify_script.append(Hold(held))
    broker.set_phase(MarketPhase.VI_AUCTION)
    if held is not None:
        await until(lambda: bool(broker.queries), what="the reduce's question")
        await asyncio.sleep(0.02)  # its write-ahead record is durable
    else:
        await until(lambda: any(a.details.get("action") == "shrink"
                                for a in execution.ctx.alerts), what="the shrink")
        await asyncio.sleep(0.02)  # the revise's answer is written (flush_ms 5)
    crash(store, severable)
    return execution.id


async def _recover(path: Path, broker: ScriptedBroker) -> dict[str, Any]:
    journal = open_journal(path)
    engine = Engine(broker, limits=make_limits(**SHRINK), journal=journal, pool_size=4,
                    stage_timeouts_ms=TEST_TIMEOUTS_MS)
    report = (await engine.recover(in_doubt_wait_s=0.05)).to_json()
    await engine.close()
    journal.close()
    return report


async def test_recovery_rebuilds_a_shrunk_child_at_its_reduced_quantity(
        tmp_path: Path) -> None:
    path, broker = tmp_path / "journal.sqlite", ScriptedBroker(replace_on_modify=True)
    execution_id = await _shrunk_then_crashed(path, broker)
    [journaled] = unsettled(SqliteStore(path, readonly=True))
    order = journaled.orders[f"{execution_id}-1"]
    assert order.request.qty == 40 and len(order.order_ids) == 2  # the revise's new id
    assert not order.revise_pending
    new = broker.current_id(f"{execution_id}-1")
    broker.fill(new, 15)  # after the crash, on the reduced order
    report = await _recover(path, broker)
    [recovered] = report["executions"]
    assert recovered["filled_qty"] == recovered["broker_filled_qty"] == 15
    assert report["orphans_cancelled"] == [new] and not broker.live_orders()
    result = [e for _, e in SqliteStore(path, readonly=True).events_of_day(
        journaled.row.day, ("result",)) if e.execution_id == execution_id][-1]
    [child] = result.data["children"]
    assert (child["qty"], child["filled_qty"]) == (40, 15)
    assert broker.filled_qty() == 15


async def test_a_reduce_in_flight_at_the_crash_is_found_at_the_broker(tmp_path: Path) -> None:
    path, broker = tmp_path / "journal.sqlite", ScriptedBroker(replace_on_modify=True)
    held = asyncio.Event()
    execution_id = await _shrunk_then_crashed(path, broker, held)
    [journaled] = unsettled(SqliteStore(path, readonly=True))
    order = journaled.orders[f"{execution_id}-1"]
    assert order.revise_pending and order.request.qty == 100  # asked, never answered
    held.set()  # the exchange applies the reduce the dead process asked for
    await until(lambda: len(broker.table.by_client[f"{execution_id}-1"]) == 2,
                what="the reduce at the exchange")
    new = broker.current_id(f"{execution_id}-1")
    broker.fill(new, 25)
    report = await _recover(path, broker)
    [recovered] = report["executions"]
    assert {"action": "revise_found", "child": f"{execution_id}-1", "order": new} in \
        recovered["actions"]
    assert recovered["filled_qty"] == recovered["broker_filled_qty"] == 25
    assert report["orphans_cancelled"] == [new] and not broker.live_orders()
    assert broker.filled_qty() == 25
