"""``session.auction_policy: shrink`` through the whole engine, on the scriptable broker:
working children cut down when a VI or a call auction begins, the cut owed back at the
fresh near touch after it (GR067 ``shrink`` / ``restore`` / ``dropped``), and the races a
real broker produces around the reduce. Order truth in every test: each fill the broker
made is counted once, the children's quantities plus what is owed add up to the intent's,
and nothing is ever sent twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from execution.broker import OrderState, RejectReason, TransientBrokerError
from execution.context import ExecutionContext
from execution.contracts import ChildStatus, ExecutionResult, MarketPhase, SplitStrategy
from execution.engine import Engine, Execution
from execution.testing import EngineFactory, ScriptedBroker, finish
from execution.testing.actions import Action, Hold, Raise, Reject
from execution.testing.harness import intent, make_engine, until, until_state

SHRINK: dict[str, Any] = {"auction_policy": "shrink", "auction_keep_pct": 50,
                          "adjust_interval_ms": 20, "timeouts": {"MONITORING": 5_000}}
VI_NS = 120 * 10**9


def gr067(ctx: ExecutionContext, action: str) -> list[dict[str, str]]:
    return [a.details for a in ctx.alerts
            if a.code.name == "GR067" and a.details.get("action") == action]


def balanced(ctx: ExecutionContext) -> bool:
    """The children's quantities plus what is owed are the intent's quantity."""
    return sum(c.qty for c in ctx.children) + ctx.owed_qty == ctx.qty


async def resting(engine: Engine, qty: int = 100, cid: str = "S", **kw: Any) -> Execution:
    execution = engine.submit(intent(qty, cid=cid, **kw))
    await until_state(execution, "MONITORING")
    return execution


async def vi(broker: ScriptedBroker, execution: Execution) -> None:
    """A VI begins; wait for the shrink's answers (its alert)."""
    broker.set_phase(MarketPhase.VI_AUCTION, broker.now_ns() + VI_NS)
    await until(lambda: bool(gr067(execution.ctx, "shrink")), what="the shrink")


def resume(broker: ScriptedBroker) -> None:
    broker.set_quote(70_200, 70_300)  # continuous again, one tick higher


async def fill_all(broker: ScriptedBroker, execution: Execution,
                   *children: str) -> ExecutionResult:
    """The broker fills every one of ``children`` in full; the execution's result, which
    counted exactly what the broker filled."""
    for child in children:
        broker.fill_child(child)
    result = await finish(execution)
    assert result.filled_qty == broker.filled_qty()
    return result


async def reduce_on_hold(broker: ScriptedBroker, engine: Engine,
                         ) -> tuple[Execution, asyncio.Event]:
    """A resting execution, a VI, and the shrink's reduce held at the broker until the
    event is set (the child is PENDING_REPLACE meanwhile)."""
    execution = await resting(engine)
    held = asyncio.Event()
    broker.modify_script.append(Hold(held))
    broker.set_phase(MarketPhase.VI_AUCTION)
    child = execution.ctx.children[0]
    await until(lambda: child.status is ChildStatus.PENDING_REPLACE, what="the reduce")
    return execution, held


async def test_shrink_cuts_to_the_keep_share_and_restores_at_the_fresh_touch(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution = await resting(engine)
    await vi(broker, execution)
    ctx = execution.ctx
    [reduce] = broker.calls_of("modify")
    assert (reduce.key, reduce.price, reduce.qty) == (broker.broker_id("S-1"),
                                                      Decimal(70_000), 50)
    assert broker.orders[broker.broker_id("S-1")].qty == 50  # the broker's order: 50
    assert ctx.children[0].qty == 50 and ctx.owed_qty == 50 and balanced(ctx)
    assert gr067(ctx, "shrink") == [{"id": "S", "action": "shrink", "children": "1",
                                     "cut": "50", "kept": "50", "unchanged": "0",
                                     "keep_pct": "50"}]
    await asyncio.sleep(0.1)  # several looks in the VI: no further call
    assert len(broker.calls) == 2
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    restore = broker.calls_of("send")[1]
    assert (restore.key, restore.price, restore.qty) == ("S-2", Decimal(70_200), 50)
    assert gr067(ctx, "restore") == [{"id": "S", "action": "restore", "child": "S-2",
                                      "qty": "50", "price": "70200"}]
    assert ctx.owed_qty == 0 and balanced(ctx)
    await until(lambda: len(broker.calls_of("modify")) == 2, what="the re-quote")
    result = await fill_all(broker, execution, "S-1", "S-2")
    assert result.final_state == "COMPLETE" and result.filled_qty == 100
    assert broker.filled_qty() == 100
    broker.assert_no_duplicate_orders()


async def test_keep_is_the_default_and_never_reduces(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20, timeouts={"MONITORING": 5_000})
    execution = await resting(engine)
    assert execution.ctx.limits.auction_policy == "keep"
    broker.set_phase(MarketPhase.VI_AUCTION)
    await until(lambda: execution.ctx.paused_since is not None, what="the pause")
    await asyncio.sleep(0.1)
    assert broker.calls_of("modify") == [] and not gr067(execution.ctx, "shrink")
    assert execution.ctx.children[0].qty == 100


async def test_a_fill_before_the_reduce_answers_shrinks_only_what_is_left(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution, held = await reduce_on_hold(broker, engine)
    child = execution.ctx.children[0]
    broker.fill_child("S-1", 30)  # trades in the auction while the reduce is on its way
    held.set()
    await until(lambda: bool(gr067(execution.ctx, "shrink")), what="the shrink")
    order = broker.orders[broker.broker_id("S-1")]
    assert (order.qty, order.filled, order.remaining) == (50, 30, 20)  # a total of 50
    assert (child.qty, child.filled_qty, child.remaining) == (50, 30, 20)
    assert execution.ctx.owed_qty == 50 and balanced(execution.ctx)
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    assert (await fill_all(broker, execution, "S-1", "S-2")).filled_qty == 100


async def test_a_fill_beyond_the_kept_share_refuses_the_reduce_and_nothing_is_owed(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution, held = await reduce_on_hold(broker, engine)
    child = execution.ctx.children[0]
    broker.fill_child("S-1", 70)  # more than the 50 the reduce would leave
    held.set()
    await until(lambda: bool(gr067(execution.ctx, "shrink")), what="the shrink")
    assert broker.calls_of("modify")[0].outcome == "rejected"
    assert child.qty == 100 and child.filled_qty == 70 and execution.ctx.owed_qty == 0
    assert gr067(execution.ctx, "shrink")[0]["unchanged"] == "1"
    resume(broker)
    await asyncio.sleep(0.1)
    assert [c.key for c in broker.calls_of("send")] == ["S-1"]  # nothing to restore
    broker.fill_child("S-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == broker.filled_qty() == 100
    assert not gr067(execution.ctx, "restore")


async def test_a_reduce_answering_a_new_order_id_is_adopted_and_old_fills_count() -> None:
    broker = ScriptedBroker(replace_on_modify=True)
    engine = make_engine(broker, **SHRINK)
    execution, held = await reduce_on_hold(broker, engine)
    child = execution.ctx.children[0]
    old = child.broker_order_id
    late = broker.fill(old, 20, push=False)  # filled on the old id; the push comes later
    held.set()
    await until(lambda: bool(gr067(execution.ctx, "shrink")), what="the shrink")
    new = broker.current_id("S-1")
    assert new != old and child.order_ids == [old, new]
    assert broker.orders[old].state is OrderState.REPLACED
    assert broker.orders[new].qty == 30  # the kept 50, less the 20 the old id filled
    broker.deliver(late)
    broker.deliver(late)  # a repeat: counted once
    assert (child.qty, child.filled_qty) == (50, 20) and execution.ctx.owed_qty == 50
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    assert (await fill_all(broker, execution, "S-1", "S-2")).filled_qty == 100
    broker.assert_no_duplicate_orders()
    await engine.close()


@pytest.mark.parametrize("failure", [Reject(RejectReason.OTHER, "not now"),
                                     Raise(TransientBrokerError("timeout"))],
                         ids=["refused", "failed"])
async def test_a_refused_or_failed_reduce_keeps_the_child_whole_and_owes_nothing(
        broker: ScriptedBroker, new_engine: EngineFactory, failure: Action) -> None:
    engine = new_engine(**SHRINK)
    execution = await resting(engine)
    broker.modify_script.append(failure)
    await vi(broker, execution)
    ctx = execution.ctx
    assert ctx.children[0].qty == 100 and ctx.owed_qty == 0
    assert ctx.children[0].status is ChildStatus.ACCEPTED
    assert broker.orders[broker.broker_id("S-1")].qty == 100
    resume(broker)
    await until(lambda: bool(gr067(ctx, "resume")), what="the resume")
    await asyncio.sleep(0.1)
    assert [c.key for c in broker.calls_of("send")] == ["S-1"]  # no double send
    broker.fill_child("S-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == broker.filled_qty() == 100


async def test_keep_zero_cancels_the_child_and_the_monitor_waits_for_the_restore(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**(SHRINK | {"auction_keep_pct": 0}))
    execution = await resting(engine)
    broker.fill_child("S-1", 10)
    await vi(broker, execution)
    ctx, child = execution.ctx, execution.ctx.children[0]
    assert [c.kind for c in broker.calls] == ["send", "cancel"]
    assert child.status is ChildStatus.CANCELLED and child.qty == child.filled_qty == 10
    assert ctx.owed_qty == 90 and balanced(ctx)
    await asyncio.sleep(0.1)  # every child is over, but 90 are owed: not "filled"
    assert execution.state == "MONITORING"
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    assert broker.calls_of("send")[1].qty == 90
    broker.fill_child("S-2")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == broker.filled_qty() == 100


async def test_a_child_filled_in_the_auction_gets_only_the_cut_back(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution = await resting(engine)
    await vi(broker, execution)
    broker.fill_child("S-1", 50, 70_100)  # the kept half trades at the auction price
    ctx = execution.ctx
    assert ctx.children[0].status is ChildStatus.FILLED
    await asyncio.sleep(0.1)
    assert execution.state == "MONITORING"  # 50 still owed
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    assert broker.calls_of("send")[1].qty == 50  # only the cut: never overfilled
    broker.fill_child("S-2")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == broker.filled_qty() == 100
    assert sum(c.qty for c in result.children) == 100


async def test_an_escape_in_the_pause_drops_what_is_owed(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution = await resting(engine)
    await vi(broker, execution)
    engine.escape("S", "risk off")
    result = await finish(execution)
    assert result.final_state == "ESCAPED" and result.reason == "risk off"
    assert gr067(execution.ctx, "dropped") == [{"id": "S", "action": "dropped", "owed": "50",
                                                "reason": "risk off"}]
    assert execution.ctx.owed_qty == 0 and not broker.live_orders()
    assert [c.key for c in broker.calls_of("send")] == ["S-1"]


async def test_an_escape_while_the_reduce_is_in_flight_owes_nothing(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution, held = await reduce_on_hold(broker, engine)
    engine.escape("S", "risk off")
    await asyncio.sleep(0.05)
    held.set()
    result = await finish(execution)
    assert result.final_state == "ESCAPED" and result.reason == "risk off"
    assert execution.ctx.owed_qty == 0 and not broker.live_orders()
    assert [c.key for c in broker.calls_of("send")] == ["S-1"]
    assert result.filled_qty == broker.filled_qty() == 0


async def test_the_restore_goes_out_beyond_max_children_and_says_so(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK, split={"max_children": 2, "twap_horizon_ms": 50})
    execution = await resting(engine, 200, strategy=SplitStrategy.TWAP)
    await until(lambda: len(broker.calls_of("send")) == 2, what="both slices")
    await vi(broker, execution)
    assert gr067(execution.ctx, "shrink")[0]["children"] == "2"
    assert execution.ctx.owed_qty == 100 and balanced(execution.ctx)
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 3, what="the restore")
    [restore] = gr067(execution.ctx, "restore")
    assert restore["qty"] == "100" and restore["beyond_max"] == "2"
    for child in execution.ctx.children:
        broker.fill_child(child.id)
    result = await finish(execution)
    assert result.filled_qty == broker.filled_qty() == 200


async def test_a_resume_before_the_reduce_answers_restores_after_it_and_requotes(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution, held = await reduce_on_hold(broker, engine)
    resume(broker)
    await until(lambda: bool(gr067(execution.ctx, "resume")), what="the resume")
    assert gr067(execution.ctx, "resume")[0]["requoted"] == "0"  # (being reduced)
    held.set()
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    await until(lambda: len(broker.calls_of("modify")) == 2, what="the late re-quote")
    shrink, requote = broker.calls_of("modify")
    assert (shrink.price, shrink.qty) == (Decimal(70_000), 50)
    assert (requote.price, requote.qty) == (Decimal(70_200), None)
    assert (broker.calls_of("send")[1].qty, broker.calls_of("send")[1].price) == (
        50, Decimal(70_200))
    assert (await fill_all(broker, execution, "S-1", "S-2")).filled_qty == 100


async def test_a_second_vi_before_the_restore_keeps_it_owed_and_shrinks_again(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHRINK)
    execution, held = await reduce_on_hold(broker, engine)
    ctx, child = execution.ctx, execution.ctx.children[0]
    resume(broker)
    await until(lambda: bool(gr067(ctx, "resume")), what="the resume")
    broker.set_phase(MarketPhase.VI_AUCTION)  # a VI again, before the restore went out
    held.set()
    await until(lambda: len(gr067(ctx, "shrink")) == 2, what="the second shrink")
    assert [c.key for c in broker.calls_of("send")] == ["S-1"]  # nothing into the VI
    assert child.qty == 25 and ctx.owed_qty == 75 and balanced(ctx)
    resume(broker)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the restore")
    assert broker.calls_of("send")[1].qty == 75
    assert [d["qty"] for d in gr067(ctx, "restore")] == ["75"]
    assert (await fill_all(broker, execution, "S-1", "S-2")).filled_qty == 100
    broker.assert_no_duplicate_orders()
