"""Every FS/GR code: its trigger, the alert in the result, the final state/path and the action.

Each test drives a real :class:`execution.engine.Engine` on the deterministic
:class:`ScriptedBroker` (see :mod:`execution.testing`).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from execution.broker import RejectReason, TransientBrokerError
from execution.bus import BusEvent, Priority
from execution.contracts import ChildStatus, ExecutionResult, SplitStrategy
from execution.engine import Engine
from execution.testing import HEAD, EngineFactory
from execution.testing.actions import Hold, Reject, fail_times
from execution.testing.clock import DAY_NS
from execution.testing.harness import alert, finish, intent, make_engine, path, until, until_state
from execution.testing.scripted import SYMBOL, ScriptedBroker


def _statuses(result: ExecutionResult) -> list[str]:
    return [c.status.value for c in result.children]


def _guards(result: ExecutionResult) -> list[str]:
    """The guard of the transition into each step of the path ("" when unguarded)."""
    return [step["guard"] or "" for step in result.trace]


# ---------------------------------------------------------------------------- FS090
async def test_fs090_every_child_fails_to_send_fails_the_execution(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    # two children due now: one is rejected, the other exhausts its 3 transient retries
    broker.script_send(Reject(RejectReason.PRICE_OUT_OF_BAND), child="X-FS090-1")
    broker.script_send(fail_times(3, TransientBrokerError("timeout")), child="X-FS090-2")
    result = await engine.execute(intent(200, strategy=SplitStrategy.TWAP, cid="X-FS090"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "FAILED"]
    assert alert(result, "FS090") == (
        "FS090: id=X-FS090 guard=all_sends_failed children=2 failed=2")
    assert _statuses(result) == ["REJECTED", "REJECTED"]
    assert [c.reject_reason for c in result.children] == [
        "price_out_of_band: scripted reject", "retries exhausted"]
    # the reject is not retried, the transient error is retried max_attempts times
    sends = [c.key for c in broker.calls_of("send")]
    assert sends.count("X-FS090-1") == 1
    assert sends.count("X-FS090-2") == 3
    assert broker.orders == {}


# ---------------------------------------------------------------------------- FS091
async def test_fs091_unknown_symbol_at_precheck_fails_before_any_order(
        broker: ScriptedBroker, engine: Engine) -> None:
    result = await engine.execute(intent(10, symbol="999999"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "FAILED"]
    assert alert(result, "FS091").endswith("guard=symbol_unknown symbol=999999")
    assert result.precheck_failure == "unknown_symbol"
    assert "symbol=999999" in result.reason
    assert result.children == [] and broker.calls == []


async def test_fs091_unknown_symbol_reported_at_send_stops_and_cancels_what_was_placed(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    broker.script_send(Reject(RejectReason.UNKNOWN_SYMBOL, "delisted"), child="S-2")
    result = await engine.execute(intent(200, strategy=SplitStrategy.TWAP, cid="S"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "FAILED"]
    assert alert(result, "FS091") == "FS091: id=S guard=symbol_unknown symbol=005930 child=S-2"
    assert "FS090" not in result.codes()  # one child was placed: not "all failed"
    # the child that was placed is cancelled by the final state
    assert _statuses(result) == ["CANCELLED", "REJECTED"]
    assert [c.outcome for c in broker.calls_of("cancel")] == ["ok"]
    assert broker.live_orders() == []


# ---------------------------------------------------------------------------- FS092
async def test_fs092_escape_cancels_every_live_child_and_emits_p0(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    events: list[BusEvent] = []
    engine.bus.subscribe(events.append)
    execution = engine.submit(intent(300, strategy=SplitStrategy.TWAP, cid="E"))
    await until_state(execution, "MONITORING")
    broker.fill_child("E-1", 40)
    assert engine.escape("E", "loss threshold") is True
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert path(result) == [*HEAD, "ESCAPING", "ESCAPED"]
    assert alert(result, "FS092") == (
        "FS092: id=E guard=escape_executed reason=loss threshold cancelled=3 unconfirmed=0 "
        "filled=40 liquidated=0")
    assert _statuses(result) == ["CANCELLED"] * 3
    assert broker.live_orders() == []
    assert result.filled_qty == 40  # fills are kept
    engine.bus.drain()  # the engine may have auto-drained it already
    assert [(e.priority, e.kind, e.payload["live_children"]) for e in events] == [
        (Priority.P0, "escape", 3)]


# ---------------------------------------------------------------------------- FS093
async def test_fs093_fill_timeout_with_some_fills_completes_and_cancels_the_rest(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    execution = engine.submit(intent(200, strategy=SplitStrategy.TWAP, cid="P"))
    await until_state(execution, "MONITORING")
    broker.fill_child("P-1", 30)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert path(result) == [*HEAD, "COMPLETE"]
    assert result.path[-1].event == "timeout"
    assert "FS093" in result.codes()
    assert alert(result, "FS093") == (
        "FS093: id=P guard=fill_timeout_partial filled=30 qty=200 cancelled=170")
    assert result.filled_qty == 30
    assert _statuses(result) == ["CANCELLED", "CANCELLED"]
    assert sorted(c.key for c in broker.calls_of("cancel")) == [
        broker.broker_id("P-1"), broker.broker_id("P-2")]
    assert broker.live_orders() == []


async def test_fs093_fill_timeout_without_fills_escapes(
        broker: ScriptedBroker, engine: Engine) -> None:
    result = await engine.execute(intent(50, cid="N"))
    assert result.final_state == "ESCAPED"
    assert path(result) == [*HEAD, "ADJUSTING", "ESCAPING", "ESCAPED"]
    assert [s.event for s in result.path[-3:]] == ["timeout", "exhausted", "escaped"]
    assert alert(result, "FS093") == (
        "FS093: id=N guard=fill_timeout_unfilled filled=0 qty=50 rounds=0")
    assert result.codes() == ["FS093", "FS092"]
    assert _statuses(result) == ["CANCELLED"]
    assert result.filled_qty == 0 and broker.live_orders() == []


# ---------------------------------------------------------------------------- FS094
async def test_fs094_slippage_beyond_the_maximum_escapes() -> None:
    broker = ScriptedBroker()  # arrival mid 70 050
    engine = make_engine(broker, adjust_interval_ms=80,
                         split={"twap_horizon_ms": 40})
    execution = engine.submit(intent(200, strategy=SplitStrategy.TWAP, cid="S94"))
    await until_state(execution, "MONITORING")
    broker.set_quote(70_800, 70_900)  # the market runs away (+1 %)
    # the second TWAP slice would join the new near touch, 107 bps above arrival: it is
    # capped at the slippage maximum instead (70 050 x 1.005, on the tick ladder)
    await until(lambda: len(broker.calls_of("send")) == 2, what="second slice")
    assert broker.calls_of("send")[1].price == Decimal(70_400)
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert path(result) == [*HEAD, "ADJUSTING", "ESCAPING", "ESCAPED"]
    assert result.path[-2].event == "adjusted"
    assert alert(result, "FS094") == (
        "FS094: id=S94 guard=slippage_breach far_touch=70900 slippage_bps=121.3 max_bps=50")
    assert broker.calls_of("modify") == []  # no re-price once the breach is seen
    assert _statuses(result) == ["CANCELLED", "CANCELLED"]
    assert broker.live_orders() == []
    await engine.close()


# ---------------------------------------------------------------------------- FS095
async def test_fs095_p0_overflow_pauses_new_executions_until_the_bus_drains(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(p0_queue_capacity=2)
    engine.bus.auto_drain = False  # nobody drains the P0 queue
    for n in range(2):  # two P0 escape events and nobody drains: the P0 queue is full
        execution = engine.submit(intent(10, cid=f"E{n}"))
        assert engine.escape(execution.id, "risk") is True
        assert (await finish(execution)).final_state == "ESCAPED"
    assert engine.bus.paused and engine.bus.p0_depth == 2
    assert engine.bus.publish(BusEvent(Priority.P0, "risk", "", {})) is False  # overflow
    assert engine.bus.overflows == 1
    blocked = [await engine.execute(intent(10, cid=f"B{n}")) for n in range(2)]
    for result in blocked:
        assert result.final_state == "FAILED"
        assert path(result) == ["INIT", "PRECHECK", "FAILED"]
        assert alert(result, "FS095").endswith("guard=p0_overflow p0_depth=2 capacity=2")
        assert result.children == []
    sends_before = len(broker.calls_of("send"))
    assert sends_before == 0  # escaped before their sends ran; the blocked ones never sent
    assert engine.bus.drain() == 2
    assert not engine.bus.paused
    after = engine.submit(intent(10, cid="A"))
    await until_state(after, "MONITORING")
    broker.fill_child("A-1")
    result = await finish(after)
    assert result.final_state == "COMPLETE" and "FS095" not in result.codes()


async def test_fs095_a_p0_burst_pauses_submits_until_the_engine_drains_the_bus(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(p0_queue_capacity=2)
    published = [engine.bus.publish(BusEvent(Priority.P0, "risk", "", {"n": n}))
                 for n in range(3)]
    assert published == [True, True, False]
    blocked = engine.submit(intent(10, cid="B"))  # in the same loop turn as the burst
    assert blocked.state == "FAILED"
    assert "FS095" in (await finish(blocked)).codes()
    if engine.bus.paused:  # an engine that does not drain its own bus
        engine.bus.drain()
    await asyncio.sleep(0)
    assert not engine.bus.paused
    after = engine.submit(intent(10, cid="A"))
    await until_state(after, "MONITORING")


# ---------------------------------------------------------------------------- GR060
async def test_gr060_split_count_is_limited_to_max_children(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    execution = engine.submit(intent(2_000, strategy=SplitStrategy.TWAP, cid="G"))
    await until_state(execution, "MONITORING")
    assert len(execution.ctx.children) == 10
    for child in execution.ctx.children:
        broker.fill_child(child.id)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert _guards(result)[3] == "children_capped and not split_empty"
    assert alert(result, "GR060") == (
        "GR060: id=G guard=children_capped requested=20 max=10 strategy=twap")
    assert [c.qty for c in result.children] == [200] * 10
    assert result.filled_qty == 2_000


# ---------------------------------------------------------------------------- GR061
async def test_gr061_capital_reduces_the_quantity_at_precheck() -> None:
    broker = ScriptedBroker()
    # 50 shares at the worst price (70 050 + 50 bps) with 1.5 bps fees: 3 520 540.50
    engine = make_engine(broker, capital_krw=Decimal(3_521_000))
    execution = engine.submit(intent(100, cid="C"))
    await until_state(execution, "MONITORING")
    broker.fill_child("C-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert _guards(result)[2] == "qty_reduced and not precheck_blocked"
    assert alert(result, "GR061") == (
        "GR061: id=C guard=qty_reduced capital=3521000 requested=100 reduced_to=50")
    assert result.qty == 50
    assert sum(c.qty for c in result.children) == 50
    assert broker.calls_of("send")[0].qty == 50
    assert result.filled_qty == 50
    await engine.close()


async def test_gr061_no_capital_for_one_share_fails() -> None:
    broker = ScriptedBroker(cash=Decimal(70_099))  # one share may cost 70 410.81
    engine = make_engine(broker)
    result = await engine.execute(intent(10, cid="Z"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "FAILED"]
    assert alert(result, "GR061") == (
        "GR061: id=Z guard=no_capital capital=70099 cost_per_share=70410.81 qty=10")
    assert result.precheck_failure == "no_capital"
    assert broker.calls == []
    await engine.close()


async def test_gr061_insufficient_balance_at_send_cancels_the_remaining_children() -> None:
    broker = ScriptedBroker(time_source=lambda: 0.0)  # frozen exchange clock
    # 4 TWAP slices at offsets 0, 0, 1, 1 ms: two go now, two are held back
    engine = make_engine(broker, split={"twap_horizon_ms": 2})
    broker.script_send(Reject(RejectReason.INSUFFICIENT_BALANCE, "no cash"), child="IB-2")
    execution = engine.submit(intent(400, strategy=SplitStrategy.TWAP, cid="IB"))
    await until_state(execution, "MONITORING")
    assert execution.run.trace[-1].guard == "balance_short"
    assert [c.status for c in execution.ctx.children] == [
        ChildStatus.ACCEPTED, ChildStatus.REJECTED, ChildStatus.CANCELLED, ChildStatus.CANCELLED]
    await asyncio.sleep(0.01)  # the 1 ms release timers would have fired by now
    assert [c.key for c in broker.calls_of("send")] == ["IB-1", "IB-2"]
    broker.fill_child("IB-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert alert(result, "GR061") == "GR061: id=IB guard=balance_short child=IB-2 qty=100"
    assert [c.reject_reason for c in result.children[2:]] == [
        "cancelled before sending: insufficient balance"] * 2
    assert result.filled_qty == 100
    await engine.close()


# ---------------------------------------------------------------------------- GR062
async def test_gr062_daily_trade_limit_counts_per_krx_trading_day(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(daily_trade_limit=2)
    for n in range(2):
        execution = engine.submit(intent(10, cid=f"D{n}"))
        await until_state(execution, "MONITORING")
        broker.fill_child(f"D{n}-1")
        assert (await finish(execution)).final_state == "COMPLETE"
    third = await engine.execute(intent(10, cid="D2"))
    assert third.final_state == "FAILED"
    assert path(third) == ["INIT", "PRECHECK", "FAILED"]
    assert alert(third, "GR062") == (
        "GR062: id=D2 guard=daily_limit_reached day=2024-06-03 used=2 limit=2")
    assert third.children == []
    assert len(broker.calls_of("send")) == 2
    broker.advance(DAY_NS / 1e6)  # Tuesday 2024-06-04 10:00 KST: a new trading day
    fourth = engine.submit(intent(10, cid="D3"))
    await until_state(fourth, "MONITORING")
    broker.fill_child("D3-1")
    assert (await finish(fourth)).final_state == "COMPLETE"


# ---------------------------------------------------------------------------- GR063
async def test_gr063_adjustment_is_capped_at_the_slippage_warning_level() -> None:
    broker = ScriptedBroker()  # arrival mid 70 050: the 30 bps warning cap is 70 200
    engine = make_engine(broker, adjust_interval_ms=30)
    execution = engine.submit(intent(50, cid="W"))
    await until_state(execution, "MONITORING")
    broker.set_quote(70_200, 70_300)  # the far touch: beyond the warning, inside the max
    result = await finish(execution)
    rounds = [s for s in result.path if s.state == "ADJUSTING" and s.event == "stalled"]
    assert len(rounds) == 3
    assert alert(result, "GR063") == "GR063: id=W guard=adjust_capped round=3 warning_bps=30"
    # the guard labels the third adjusted -> MONITORING transition
    assert [g for s, g in zip(result.path, _guards(result), strict=True)
            if s.event == "adjusted"] == ["not slippage_breach and not adjust_capped"] * 2 + [
                "adjust_capped and not slippage_breach"]
    assert [c.price for c in broker.calls_of("modify")] == [Decimal(70_100), Decimal(70_200)]
    assert result.children[0].price == Decimal(70_200)
    assert result.final_state == "ESCAPED"  # nothing filled by the fill timeout
    await engine.close()


# ---------------------------------------------------------------------------- GR064
async def test_gr064_fill_delay_warns_on_the_stall(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=30)
    execution = engine.submit(intent(50, cid="L"))
    await until_state(execution, "MONITORING")
    broker.advance(5_001)  # exchange time: no fill for longer than fill_delay_warning_ms
    await until(lambda: len(execution.run.trace) > 5, what="the first stall")
    assert execution.run.trace[5].state == "ADJUSTING"
    assert execution.run.trace[5].guard == "rounds_left and fill_delayed"
    broker.fill_child("L-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert alert(result, "GR064").startswith(
        "GR064: id=L guard=fill_delayed children=L-1 waited_ms=5")
    assert result.codes().count("GR064") == 1  # only the first stall was late


async def test_gr064_late_fill_after_the_final_state_is_applied_and_flagged(
        broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(50, cid="LF"))
    await until_state(execution, "MONITORING")
    broker.fill_child("LF-1", 20)
    gate = asyncio.Event()
    broker.cancel_script.append(Hold(gate))  # the final cancel is slow to confirm
    await until_state(execution, "COMPLETE")
    late = broker.fill_child("LF-1", 10, 70_000)  # arrives in COMPLETE, before the cancel
    gate.set()
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert result.filled_qty == 30
    assert late in result.fills
    assert alert(result, "GR064") == "GR064: id=LF child=LF-1 qty=10 late_after=COMPLETE"
    assert engine.services.ledger.positions[SYMBOL] == 30
    # after the result: still applied to the execution's books, still flagged
    broker.fill(broker.broker_id("LF-1"), 5, 70_000)
    assert execution.ctx.fills.filled_qty == 35
    assert [a.code.name for a in execution.ctx.alerts].count("GR064") == 2


async def test_gr064_overfill_is_flagged_and_not_counted(
        broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(50, cid="O"))
    await until_state(execution, "MONITORING")
    order = broker.broker_id("O-1")
    broker.orders[order].qty = 80  # the broker believes in a bigger order
    broker.fill(order, 70, 70_000)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert result.filled_qty == 50
    assert alert(result, "GR064") == (
        "GR064: id=O child=O-1 overfill=20 note=overfill not counted")

