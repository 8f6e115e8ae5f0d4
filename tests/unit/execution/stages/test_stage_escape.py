"""Stage 6, EmergencyEscape: cancels, liquidation, the P0 event, fills during the escape."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from execution.broker import TransientBrokerError, UnknownOrder
from execution.bus import Priority
from execution.contracts import (
    ChildOrder,
    ChildStatus,
    OrderRequest,
    PriceType,
    Side,
    SplitStrategy,
)
from execution.engine import Engine
from execution.orders.cancelling import cancel_child
from execution.testing import EngineFactory
from execution.testing.actions import Hold, Raise
from execution.testing.harness import finish, intent, make_context, until, until_state
from execution.testing.scripted import SYMBOL, ScriptedBroker


async def test_cancel_child_on_a_bare_context() -> None:
    broker = ScriptedBroker()
    ctx = make_context(broker)
    ack = await broker.send(_request("T1-1"))
    child = ChildOrder("T1-1", "T1", 1, 10, Decimal(70_000), PriceType.LIMIT, 0, 0,
                       status=ChildStatus.ACCEPTED, client_order_id="T1-1",
                       order_ids=[ack.broker_order_id])
    deadline = asyncio.get_running_loop().time() + 0.2
    assert await cancel_child(ctx, child, deadline) is True
    assert child.status is ChildStatus.CANCELLED
    assert await cancel_child(ctx, child, deadline) is True  # confirmed: nothing to do
    assert [c.outcome for c in broker.calls_of("cancel")] == ["ok"]
    other = ChildOrder("T1-2", "T1", 2, 10, Decimal(70_000), PriceType.LIMIT, 0, 0,
                       status=ChildStatus.ACCEPTED, client_order_id="T1-2",
                       order_ids=["B-missing"])
    assert await cancel_child(ctx, other, deadline) is False  # the broker never confirms
    assert other.status is ChildStatus.UNKNOWN


def _request(cid: str) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, Side.BUY, 10, Decimal(70_000), PriceType.LIMIT)


async def test_escape_cancels_live_children_and_drops_pending_ones_without_a_broker_call(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 30_000})
    execution = engine.submit(intent(300, strategy=SplitStrategy.TWAP, cid="E"))
    await until_state(execution, "MONITORING")
    engine.escape("E", "manual")
    result = await finish(execution)
    assert [c.status for c in result.children] == [ChildStatus.CANCELLED] * 3
    assert [c.reject_reason for c in result.children[1:]] == [
        "cancelled before sending: escape: manual"] * 2
    assert [c.key for c in broker.calls_of("cancel")] == [broker.broker_id("E-1")]
    assert result.alerts[-1].details["cancelled"] == "1"
    await asyncio.sleep(0.01)
    assert len(broker.calls_of("send")) == 1  # the release timers were stopped


async def test_escape_publishes_one_p0_event(broker: ScriptedBroker, engine: Engine) -> None:
    delivered: list[object] = []
    engine.bus.subscribe(delivered.append)
    execution = engine.submit(intent(10, cid="P"))
    await until_state(execution, "MONITORING")
    engine.escape("P", "loss threshold")
    await finish(execution)
    engine.bus.drain()  # the engine may have auto-drained it already
    assert engine.bus.p0_depth == 0
    (event,) = delivered
    assert event.priority is Priority.P0  # type: ignore[attr-defined]
    assert event.execution_id == "P"  # type: ignore[attr-defined]
    assert event.payload == {  # type: ignore[attr-defined]
        "reason": "loss threshold", "symbol": SYMBOL, "live_children": 1}


async def test_a_failed_cancel_is_retried_until_the_broker_confirms(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.cancel_script.extend([Raise(TransientBrokerError("timeout")),
                                 Raise(UnknownOrder("?"))])
    execution = engine.submit(intent(10, cid="U"))
    await until_state(execution, "MONITORING")
    engine.escape("U", "manual")
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert [c.outcome for c in broker.calls_of("cancel")] == [
        "raised:TransientBrokerError", "raised:UnknownOrder", "ok"]
    fs092 = result.alerts[-1]
    assert (fs092.details["cancelled"], fs092.details["unconfirmed"]) == ("1", "0")
    assert broker.live_orders() == [] and result.unconfirmed == []


async def test_fills_during_the_escape_are_kept(broker: ScriptedBroker, engine: Engine) -> None:
    gate = asyncio.Event()
    broker.cancel_script.append(Hold(gate))
    execution = engine.submit(intent(10, cid="F"))
    await until_state(execution, "MONITORING")
    engine.escape("F", "manual")
    await until(lambda: not broker.cancel_script, what="the cancel to be held")
    assert execution.state == "ESCAPING"
    broker.fill_child("F-1", 4, 70_000)
    gate.set()
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert result.filled_qty == 4
    assert "GR064" not in result.codes()  # not late: the run was still escaping
    assert result.alerts[-1].details["filled"] == "4"


async def test_liquidate_on_escape_flattens_the_fills_at_market(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(liquidate_on_escape=True)
    positions: list[object] = []
    engine.add_position_listener(positions.append)
    execution = engine.submit(intent(10, cid="Q"))
    await until_state(execution, "MONITORING")
    broker.fill_child("Q-1", 6, 70_000)
    broker.after_accept = lambda oid: broker.fill(oid, 6, 69_900)  # the market order fills
    engine.escape("Q", "manual")
    result = await finish(execution)
    liquidation = broker.calls_of("send")[-1]
    assert (liquidation.key, liquidation.qty, liquidation.price) == ("Q-L", 6, None)
    request = broker.orders[broker.broker_id("Q-L")].request
    assert request.side is Side.SELL and request.price_type is PriceType.MARKET
    assert result.alerts[-1].details["liquidated"] == "6"
    assert positions == []  # flattened: nothing handed to the risk loop
    assert execution.ctx.liquidated_qty == result.liquidated_qty == 6
    assert execution.ctx.fills.filled_qty == 6  # the execution's own fills are unchanged
    assert engine.services.ledger.positions["005930"] == 0


async def test_escape_with_nothing_filled_does_not_liquidate(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(liquidate_on_escape=True)
    execution = engine.submit(intent(10, cid="Z"))
    await until_state(execution, "MONITORING")
    engine.escape("Z", "manual")
    result = await finish(execution)
    assert [c.key for c in broker.calls_of("send")] == ["Z-1"]
    assert result.alerts[-1].details["liquidated"] == "0"
