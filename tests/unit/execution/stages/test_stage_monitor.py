"""Stage 4, PartialFillMonitor, and the fill path it relies on: booking on a bare context,
routing, polling and stalls."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, FillEvent, OrderRequest, PriceType, Side
from execution.engine import Engine
from execution.orders.confirm import confirm
from execution.orders.fills import book_fill as on_fill
from execution.orders.fills import register, route
from execution.testing import EngineFactory
from execution.testing.harness import (
    finish,
    intent,
    make_context,
    make_engine,
    path,
    until,
    until_state,
)
from execution.testing.scripted import SYMBOL, ScriptedBroker


def _child(ctx: ExecutionContext, seq: int, qty: int) -> ChildOrder:
    child = ChildOrder(f"{ctx.id}-{seq}", ctx.id, seq, qty, Decimal(70_000), PriceType.LIMIT,
                       0, 0, status=ChildStatus.ACCEPTED, client_order_id=f"{ctx.id}-{seq}",
                       order_ids=[f"B{seq}"], original_price=Decimal(70_000))
    ctx.children.append(child)
    return child


def _fill(event_id: str, order: str, qty: int, price: int = 70_000, ts: int = 1) -> FillEvent:
    return FillEvent(event_id, order, SYMBOL, Side.BUY, qty, Decimal(price), 0, 0,
                     Decimal("1.5"), ts)


def test_on_fill_aggregates_per_child_and_per_parent() -> None:
    ctx = make_context(ScriptedBroker(), intent(100))
    ctx.qty = 100
    a, b = _child(ctx, 1, 60), _child(ctx, 2, 40)
    on_fill(ctx, a, _fill("f1", "B1", 20, 70_000, ts=5))
    on_fill(ctx, b, _fill("f2", "B2", 40, 70_100, ts=3))
    on_fill(ctx, a, _fill("f3", "B1", 40, 70_000, ts=4))
    assert (a.filled_qty, b.filled_qty, ctx.fills.filled_qty) == (60, 40, 100)
    assert a.status is b.status is ChildStatus.FILLED
    assert ctx.fills.avg_price == Decimal(70_040)
    assert ctx.fills.fees == Decimal("4.5")
    assert ctx.fills.last_fill_ns == 5
    assert ctx.services.ledger.positions[SYMBOL] == 100
    assert ctx.all_children_done
    assert ctx.notes[Code.FS093] == {"filled": 100, "qty": 100, "cancelled": 0}


def test_duplicates_are_ignored_and_overfills_flagged_not_counted() -> None:
    ctx = make_context(ScriptedBroker(), intent(10))
    ctx.qty = 10
    child = _child(ctx, 1, 10)
    first = _fill("f1", "B1", 6)
    on_fill(ctx, child, first)
    on_fill(ctx, child, first)
    assert ctx.fills.filled_qty == 6 and ctx.fills.duplicates == 1
    on_fill(ctx, child, _fill("f2", "B1", 7))
    assert ctx.fills.filled_qty == 10 and ctx.fills.overfill_qty == 3
    assert [a.code for a in ctx.alerts] == [Code.GR064]
    assert ctx.alerts[0].details == {"id": "T1", "child": "T1-1", "overfill": "3",
                                     "note": "overfill not counted"}
    assert ctx.services.ledger.positions[SYMBOL] == 10


async def test_an_order_the_broker_ended_is_confirmed_with_its_fills() -> None:
    broker = ScriptedBroker()
    ctx = make_context(broker, intent(10))
    ctx.qty = 10
    ack = await broker.send(OrderRequest("T1-1", SYMBOL, Side.BUY, 10, Decimal(70_000),
                                         PriceType.LIMIT))
    child = _child(ctx, 1, 10)
    child.order_ids = [ack.broker_order_id]
    broker.fill(ack.broker_order_id, 4, push=False)  # a push lost
    broker.expire(ack.broker_order_id)
    assert await confirm(ctx, child) is True
    assert child.status is ChildStatus.EXPIRED
    assert ctx.fills.filled_qty == 4  # the broker's count, booked once
    assert await confirm(ctx, child) is True and ctx.fills.filled_qty == 4


def test_router_holds_fills_that_overtake_the_ack() -> None:
    ctx = make_context(ScriptedBroker(), intent(10))
    ctx.qty = 10
    child = _child(ctx, 1, 10)
    child.status, child.order_ids = ChildStatus.PENDING_SUBMIT, []
    services = ctx.services
    route(services, _fill("f1", "B1", 4))
    route(services, _fill("f1", "B1", 4))  # a duplicate of the orphan
    assert ctx.fills.filled_qty == 0
    register(ctx, child, "B1")
    assert child.broker_order_id == "B1"
    assert ctx.fills.filled_qty == 4
    route(services, _fill("f2", "B1", 6))
    assert child.status is ChildStatus.FILLED and services.index.routed == 1


async def test_a_fill_before_the_ack_through_the_engine(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.after_accept = lambda order: broker.fill(order, 10, 70_000)  # before the ack
    result = await engine.execute(intent(10, cid="O"))
    assert result.final_state == "COMPLETE"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "MONITORING",
                            "COMPLETE"]
    assert result.filled_qty == 10


async def test_polling_catches_a_fill_whose_push_was_lost(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(fill_poll_interval_ms=20)
    execution = engine.submit(intent(10, cid="P"))
    await until_state(execution, "MONITORING")
    broker.fill_child("P-1", push=False)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert result.filled_qty == 10
    assert result.path[-1].event == "filled"


async def test_push_and_poll_of_the_same_fills_count_once(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(fill_poll_interval_ms=10)
    execution = engine.submit(intent(30, cid="Q"))
    await until_state(execution, "MONITORING")
    for _ in range(3):
        broker.fill_child("Q-1", 10, times=2)
        await asyncio.sleep(0.015)  # let the poller see it too
    result = await finish(execution)
    assert result.filled_qty == 30
    assert len(result.fills) == 3
    assert execution.ctx.fills.duplicates >= 3


async def test_stalls_only_while_rounds_are_left(broker: ScriptedBroker,
                                                new_engine: EngineFactory) -> None:
    # the fill timeout far beyond the test's own waits (a loaded machine stalls the loop)
    engine = new_engine(adjust_interval_ms=15, max_rounds=2, timeouts={"MONITORING": 2000})
    execution = engine.submit(intent(10, cid="R"))
    await until(lambda: execution.run.path().count("ADJUSTING") == 2, what="two rounds")
    await asyncio.sleep(0.06)  # four more adjust intervals: no third round
    assert execution.run.path().count("ADJUSTING") == 2
    assert execution.state == "MONITORING"
    broker.fill_child("R-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert result.adjust_rounds == 2


async def test_fill_timeout_counts_from_the_first_entry_into_monitoring(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20, timeouts={"MONITORING": 100})
    loop = asyncio.get_running_loop()
    execution = engine.submit(intent(10, cid="F"))
    await until_state(execution, "MONITORING")
    entered = loop.time()
    result = await finish(execution)
    elapsed_ms = (loop.time() - entered) * 1000
    # three adjust rounds re-entered MONITORING, yet the timeout was not restarted
    assert path(result).count("MONITORING") == 4
    assert 100 <= elapsed_ms < 200
    assert result.final_state == "ESCAPED"


async def test_an_order_the_broker_cancelled_on_its_own_is_noticed_by_the_poller() -> None:
    broker = ScriptedBroker()
    engine = make_engine(broker, fill_poll_interval_ms=10)  # MONITORING times out at 300
    execution = engine.submit(intent(10, cid="GONE"))
    await until_state(execution, "MONITORING")
    broker.fill_child("GONE-1", 4)
    broker.expire(broker.broker_id("GONE-1"))  # ended at the exchange
    result = await finish(execution)
    # "filled" (nothing left working), not the fill timeout's "timeout" (FS093)
    assert result.final_state == "COMPLETE" and result.path[-1].event == "filled"
    assert result.filled_qty == 4
    assert result.children[0].status is ChildStatus.EXPIRED
    assert "filled 4/10" in result.reason
    await engine.close()
