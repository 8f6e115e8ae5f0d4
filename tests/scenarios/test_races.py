"""The classic order-state races, each against the scriptable broker, each ending with the
order-truth invariant checked against the broker's own books:

1. every fill the broker made on the execution's orders is counted exactly once;
2. no order of the execution is live at the broker unless the result lists it unconfirmed;
3. the final state has a reason; COMPLETE only with something filled.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from execution.broker import BrokerDisconnected
from execution.contracts import Amendment, ChildStatus, ExecutionResult, FillEvent, Side
from execution.engine import Engine, EngineBusy
from execution.testing.actions import AcceptThenHold, FalseAnswer, Hold, LoseAck, Raise
from execution.testing.harness import EngineFactory, finish, intent, make_engine, until, until_state
from execution.testing.scripted import ScriptedBroker


def assert_invariant(broker: ScriptedBroker, result: ExecutionResult,
                     amendments: list[Amendment] | None = None) -> None:
    ids = [c.client_order_id for c in result.children]
    broker_filled = sum(broker.filled_qty(cid) for cid in ids if cid in broker.table.by_client)
    counted = amendments[-1].filled_qty if amendments else result.filled_qty
    assert counted == broker_filled, (counted, broker_filled)
    live = [o.broker_id for o in broker.live_orders() if o.request.client_order_id in ids]
    assert set(live) <= set(result.unconfirmed), (live, result.unconfirmed)
    assert result.reason, f"{result.final_state} without a reason"
    if result.final_state == "COMPLETE":
        assert result.filled_qty > 0


async def test_fill_before_ack(broker: ScriptedBroker, engine: Engine) -> None:
    broker.after_accept = lambda oid: broker.fill(oid, 10, 70_000)
    result = await engine.execute(intent(10, cid="FA"))
    assert result.final_state == "COMPLETE" and result.filled_qty == 10
    assert_invariant(broker, result)


async def test_ack_never_returns_the_order_is_found_and_cancelled(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(timeouts={"SENDING": 50})
    broker.script_send(AcceptThenHold(asyncio.Event()))  # placed; the ack never comes
    execution = engine.submit(intent(10, cid="AN"))
    await until(lambda: broker.orders != {}, what="the order at the broker")
    broker.fill_child("AN-1", 3)  # a partial fill the engine cannot route yet
    result = await finish(execution, timeout=5)
    assert result.final_state == "FAILED"
    assert [q.kind for q in broker.queries][:1] == ["find"]
    assert result.filled_qty == 3 and result.children[0].status is ChildStatus.CANCELLED
    assert_invariant(broker, result)


async def test_cancel_racing_a_fill_the_fill_first(broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(10, cid="CF"))
    await until_state(execution, "MONITORING")
    broker.fill_child("CF-1", push=False)  # filled at the broker; the push is late
    engine.escape("CF", "risk")
    result = await finish(execution)
    assert [c.outcome for c in broker.calls_of("cancel")] == ["not-live"]  # False
    assert result.children[0].status is ChildStatus.FILLED and result.filled_qty == 10
    assert_invariant(broker, result)


async def test_cancel_racing_a_fill_the_cancel_first(
        broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(10, cid="CC"))
    await until_state(execution, "MONITORING")
    broker.fill_child("CC-1", 4, push=False)  # partly filled just before the cancel lands
    engine.escape("CC", "risk")
    result = await finish(execution)
    assert result.children[0].status is ChildStatus.CANCELLED
    assert result.filled_qty == 4  # the broker's count, from the order's status
    assert_invariant(broker, result)


async def test_a_false_cancel_answer_is_checked_not_trusted(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.cancel_script.append(FalseAnswer())  # "already done", but it is still live
    execution = engine.submit(intent(10, cid="FC"))
    await until_state(execution, "MONITORING")
    engine.escape("FC", "risk")
    result = await finish(execution)
    assert [c.outcome for c in broker.calls_of("cancel")] == ["not-live", "ok"]
    assert broker.live_orders() == []
    assert_invariant(broker, result)


async def test_modify_answering_a_new_id_and_racing_a_partial_fill() -> None:
    broker = ScriptedBroker(replace_on_modify=True)
    engine = make_engine(broker, adjust_interval_ms=20, timeouts={"MONITORING": 2_000})
    execution = engine.submit(intent(10, cid="MR"))
    await until_state(execution, "MONITORING")
    old = broker.broker_id("MR-1")
    broker.fill(old, 3, push=False)  # fills on the old order, pushed only after the revise
    await until(lambda: len(broker.table.by_client["MR-1"]) == 2, what="the revise")
    new = broker.current_id("MR-1")
    assert new != old and execution.ctx.children[0].order_ids == [old, new]
    broker.deliver(broker.journal[-1])  # the old order's late push
    broker.fill(new, 2)
    engine.escape("MR", "done")
    result = await finish(execution)
    assert result.filled_qty == 5
    assert broker.live_orders() == []
    assert_invariant(broker, result)
    await engine.close()


async def test_duplicate_reordered_and_invalid_fills(
        broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(10, cid="DF"))
    await until_state(execution, "MONITORING")
    oid = broker.broker_id("DF-1")
    first = broker.fill(oid, 4, push=False)
    second = broker.fill(oid, 6, push=False)
    broker.deliver(second)  # reordered
    for bad in (FillEvent("NEG", oid, "005930", Side.BUY, -5, Decimal(70_000), 0, 0,
                          Decimal(0), 0),
                FillEvent("TICK", oid, "005930", Side.BUY, 1, Decimal("70001"), 0, 0,
                          Decimal(0), 0),
                FillEvent("SYM", oid, "000660", Side.BUY, 1, Decimal(70_000), 0, 0,
                          Decimal(0), 0)):
        broker.deliver(bad)
    same_trade = FillEvent("OTHER-ID", oid, first.symbol, first.side, 4, first.price,
                           first.cumulative_qty, 6, Decimal(0), first.ts_ns)
    broker.deliver(same_trade)  # the same trade under another event id
    broker.deliver(first)  # a repeat: OTHER-ID was the same trade (same cumulative qty)
    result = await finish(execution)
    assert result.filled_qty == 10
    assert sorted(f.event_id for f in result.rejected_fills) == ["NEG", "SYM", "TICK"]
    assert result.codes().count("FS097") == 3
    assert_invariant(broker, result)


async def test_a_late_fill_after_the_final_state_amends_the_result(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(timeouts={"MONITORING": 50})
    amendments: list[Amendment] = []
    engine.add_amendment_listener(amendments.append)
    execution = engine.submit(intent(10, cid="LF"))
    await until_state(execution, "MONITORING")
    broker.fill_child("LF-1", 4)
    result = await finish(execution)  # FS093: partial at the fill timeout, rest cancelled
    assert result.final_state == "COMPLETE" and result.filled_qty == 4
    late = broker.make_fill(broker.broker_id("LF-1"), 1, 70_000, book=False)
    broker.deliver(FillEvent("LATE", late.order_id, late.symbol, late.side, 1, late.price, 5,
                             5, Decimal(0), late.ts_ns))  # a fill the engine never saw
    assert [(a.version, a.filled_qty) for a in amendments] == [(2, 5)]
    assert execution.amendments == amendments


async def test_fills_missed_in_a_disconnect_gap_are_polled_after_reconnecting(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(fill_poll_interval_ms=10)
    broker.connect_script.extend([Raise(OSError("dns")), False])  # reconnects fail twice
    execution = engine.submit(intent(10, cid="DG"))
    await until_state(execution, "MONITORING")
    broker.connected = False
    broker.fill_child("DG-1", push=False)  # pushes are lost while the link is down
    result = await finish(execution, timeout=5)
    assert result.final_state == "COMPLETE" and result.filled_qty == 10
    assert engine.poller.failures >= 1
    assert_invariant(broker, result)


async def test_escape_during_sending_with_the_ack_lost(
        broker: ScriptedBroker, engine: Engine) -> None:
    gate = asyncio.Event()
    broker.script_send(Hold(gate), LoseAck(BrokerDisconnected("dropped")))
    execution = engine.submit(intent(10, cid="ES"))
    await until_state(execution, "SENDING")
    engine.escape("ES", "risk")
    gate.set()
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert broker.live_orders() == []
    assert_invariant(broker, result)


async def test_close_with_live_executions_escapes_and_settles_them() -> None:
    broker = ScriptedBroker()
    engine: Engine = make_engine(broker)
    execution = engine.submit(intent(10, cid="CL"))
    await until_state(execution, "MONITORING")
    broker.fill_child("CL-1", 2)
    try:
        await engine.close(escape_live=False)
    except EngineBusy:
        pass
    else:
        raise AssertionError("close(escape_live=False) accepted a live execution")
    await engine.close()
    result = execution.result.result()
    assert result.final_state == "ESCAPED" and result.reason == "engine closing"
    assert broker.live_orders() == []
    assert_invariant(broker, result)
