"""Every path through the scalp execution chart, driven through the real engine.

Notes on reachability (the handlers decide what can interleave):

* INIT is left inside :meth:`Engine.submit`; the test holds it there by making the
  run's first ``start`` dispatch a no-op, which is the only way to be "in INIT" later.
* SPLITTING and ADJUSTING are synchronous stages (no await point): nothing from outside
  can run while the chart is in them. SPLITTING -> FAILED is reachable only through
  ``split_empty`` (the SPLITTING timeout can never fire: the state is left in the same
  macrostep that entered it). An escape requested from *inside* one of these stages (a
  callback re-entering :meth:`Engine.escape`) runs once the current step ends: tested below.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

import execution.stages.split as split_stage
from execution.broker import RejectReason
from execution.contracts import ChildStatus, ExecutionResult, Position, Side
from execution.engine import Engine, Execution
from execution.safety import SafetyState
from execution.split import SplitPlan
from execution.testing import HEAD, EngineFactory
from execution.testing.actions import AcceptThenHold, Hold, Raise, Reject
from execution.testing.harness import finish, intent, make_engine, path, until, until_state
from execution.testing.scripted import OTHER_SYMBOL, SYMBOL, ScriptedBroker


# ------------------------------------------------------------------------ COMPLETE
async def test_complete_directly(broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(50, cid="C"))
    assert execution.state == "SENDING"  # PRECHECK and SPLITTING ran inside submit()
    await until_state(execution, "MONITORING")
    broker.fill_child("C-1", 20, 70_000)
    broker.fill_child("C-1", 30, 70_100)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert path(result) == [*HEAD, "COMPLETE"]
    assert [s.event for s in result.path] == [
        "", "start", "checked", "split", "sent", "filled"]
    assert result.alerts == [] and result.reason == "filled 50/50"
    assert result.filled_qty == 50
    assert result.avg_price == Decimal(70_060)
    assert result.arrival_price == Decimal(70_050)
    assert result.children[0].status is ChildStatus.FILLED
    assert broker.calls_of("cancel") == []


async def test_complete_through_adjusting_and_back(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=30)
    execution = engine.submit(intent(50, cid="A"))
    await until(lambda: "ADJUSTING" in execution.run.path(), what="a stall")
    await until_state(execution, "MONITORING")
    assert execution.ctx.adjust_rounds == 1
    await until(lambda: len(broker.calls_of("modify")) == 1, what="the re-price")
    broker.fill_child("A-1", price=70_100)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert path(result) == [*HEAD, "ADJUSTING", "MONITORING", "COMPLETE"]
    assert [s.event for s in result.path[5:]] == ["stalled", "adjusted", "filled"]
    # one step toward the far touch (70 000 -> 70 100), by modify: never a second order
    assert [(c.kind, c.price) for c in broker.calls if c.kind != "send"] == [
        ("modify", Decimal(70_100))]
    assert result.children[0].price == Decimal(70_100)
    broker.assert_no_duplicate_orders()


# ------------------------------------------------------------------------ FAILED
@pytest.mark.parametrize(("setup", "failure"), [
    ("safety", "safety_state"),
    ("closed", "market_closed"),
    ("reconnect", "broker_disconnected"),
    ("cap", "position_cap"),
    ("spread", "spread_too_wide"),
    ("notional", "notional_too_large"),
])
async def test_failed_from_precheck(setup: str, failure: str) -> None:
    broker = ScriptedBroker()
    kwargs: dict[str, Any] = {}
    qty = 10
    if setup == "safety":
        kwargs["safety_state"] = SafetyState.LOCKDOWN
    elif setup == "closed":
        broker.advance(11 * 3_600_000)  # 21:00 KST
    elif setup == "reconnect":
        broker.connected = False
        broker.connect_script.append(False)
    elif setup == "cap":
        qty = 10_001
    elif setup == "spread":
        broker.set_quote(70_000, 70_500)  # 71 bps
    elif setup == "notional":
        kwargs["max_notional_krw"] = Decimal(500_000)  # 10 x 70 100 = 701 000
    engine = make_engine(broker, **kwargs)
    result = await engine.execute(intent(qty, cid="F"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "FAILED"]
    assert result.precheck_failure == failure
    assert result.reason.startswith(failure)
    # every final state has its code: outside the session it is a session-phase refusal
    # (GR066), every other pre-trade check refuses with GR070, naming the check
    [refusal] = result.alerts
    if failure == "market_closed":
        assert result.trace[-1]["guard"] == "session_phase_refused"
        assert refusal.message.startswith(
            "GR066: id=F guard=session_phase_refused phase=closed exchange_time=")
    else:
        assert result.trace[-1]["guard"] == "precheck_blocked"
        assert refusal.message.startswith(
            f"GR070: id=F guard=precheck_blocked check={failure} detail=")
    assert result.children == []
    assert broker.calls_of("send") == []
    await engine.close()


async def test_failed_from_precheck_duplicate_live_intent(
        broker: ScriptedBroker, engine: Engine) -> None:
    first = engine.submit(intent(10, cid="D1"))
    await until_state(first, "MONITORING")
    second = await engine.execute(intent(10, cid="D2"))
    assert second.final_state == "FAILED"
    assert second.precheck_failure == "duplicate_intent"
    # the other side of the same symbol would trade with it: refused (GR065)
    other = await engine.execute(intent(10, Side.SELL, cid="D3"))
    assert other.final_state == "FAILED" and other.precheck_failure == "self_trade"
    assert "GR065" in other.codes()
    assert first.state == "MONITORING"
    engine.escape_all("done")
    await finish(first)
    # once the first is final, the same intent is accepted again
    again = engine.submit(intent(10, cid="D4"))
    await until_state(again, "MONITORING")


async def test_precheck_reconnects_once_then_goes_on() -> None:
    broker = ScriptedBroker(connected=False)
    engine = make_engine(broker)
    execution = engine.submit(intent(10, cid="R"))
    assert execution.state == "PRECHECK"  # waiting on the reconnect task
    await until_state(execution, "MONITORING")
    assert [c.kind for c in broker.calls] == ["connect", "send"]
    engine.escape("R", "done")
    await finish(execution)
    await engine.close()


async def test_failed_from_splitting_when_the_split_is_empty(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def empty_plan(strategy: Any, *args: Any, **kwargs: Any) -> SplitPlan:
        return SplitPlan(strategy, (), 0, False)

    monkeypatch.setattr(split_stage, "plan_split", empty_plan)

    broker = ScriptedBroker()
    engine = make_engine(broker)
    result = await engine.execute(intent(10, cid="S"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "FAILED"]
    assert result.trace[-1]["guard"] == "split_empty"
    assert result.codes() == ["FS090"]  # nothing planned, so nothing could be sent
    assert broker.calls == []
    await engine.close()


async def test_splitting_timeout_cannot_preempt_the_synchronous_split(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(timeouts={"SPLITTING": 0})
    execution = engine.submit(intent(10, cid="T"))
    await asyncio.sleep(0.01)  # the 0 ms SPLITTING timer has fired by now
    assert execution.state == "MONITORING"
    assert execution.run.path() == HEAD


async def test_failed_from_sending_when_every_child_is_rejected(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.script_send(Reject(RejectReason.MARKET_CLOSED))
    result = await engine.execute(intent(10, cid="FS"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "FAILED"]
    assert result.codes() == ["FS090"]


async def test_sending_timeout_fails_a_send_that_never_returns(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(timeouts={"SENDING": 50})
    gate = asyncio.Event()
    broker.script_send(AcceptThenHold(gate))  # placed at the exchange, the ack is slow
    execution = engine.submit(intent(10, cid="ST"))
    await until_state(execution, "FAILED")
    gate.set()  # the ack arrives after the timeout: the order it placed is cancelled
    result = await finish(execution)
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "FAILED"]
    assert result.path[-1].event == "timeout"
    assert "FS098: id=ST timeout=SENDING after_ms=50" in [a.message for a in result.alerts]
    await until(lambda: broker.calls_of("cancel") != [], what="the late cancel")
    assert broker.live_orders() == []


async def test_failed_when_the_broker_ends_every_order_with_nothing_filled(
        broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(10, cid="EX"))
    await until_state(execution, "MONITORING")
    broker.expire(execution.ctx.children[0].broker_order_id)  # e.g. the exchange's cancel
    result = await finish(execution)
    assert result.final_state == "FAILED" and result.filled_qty == 0
    assert result.trace[-1]["guard"] == "nothing_filled"
    assert result.codes() == ["FS099"]
    assert result.reason == "FS099: id=EX guard=nothing_filled filled=0 orders=1 ended=EXPIRED:1"


async def escape_unanswered(broker: ScriptedBroker, engine: Engine, cid: str) -> ExecutionResult:
    """A manual escape of a resting intent whose cancels the broker never answers."""
    gate = asyncio.Event()
    broker.cancel_script.extend([Hold(gate), Hold(gate)])
    execution = engine.submit(intent(10, cid=cid))
    await until_state(execution, "MONITORING")
    engine.escape(cid, "manual")
    result = await finish(execution)
    gate.set()
    return result


async def test_an_escape_that_runs_out_of_time_still_ends_with_its_code(
        broker: ScriptedBroker, new_engine: EngineFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import execution.stages.escape as escape_stage

    monkeypatch.setattr(escape_stage, "_MARGIN", 5.0)  # the escape outlives its timeout
    engine = new_engine(timeouts={"ESCAPING": 50}, cancel_confirm_timeout_ms=100)
    result = await escape_unanswered(broker, engine, "ET")
    assert result.final_state == "ESCAPED" and result.path[-1].event == "timeout"
    assert result.alerts[0].message == "FS092: id=ET timeout=ESCAPING after_ms=50"
    assert "FS096" in result.codes()
    assert result.reason == "manual"


# ------------------------------------------------------------------------ ESCAPED
def _hold_in_init(engine: Engine) -> list[Any]:
    """Make the next submit() leave its run in INIT (the first ``start`` is swallowed)."""
    pool = engine.pool()
    take = pool.take
    held: list[Any] = []

    def take_held() -> Any:
        chart_run = take()

        def swallow_start(event: str, **kwargs: Any) -> str:
            del chart_run.dispatch  # later dispatches (the escape) are real
            assert event == "start"
            return chart_run.state

        chart_run.dispatch = swallow_start
        held.append(chart_run)
        return chart_run

    pool.take = take_held  # type: ignore[method-assign]
    return held


async def test_escaped_from_init(broker: ScriptedBroker, engine: Engine) -> None:
    held = _hold_in_init(engine)
    execution = engine.submit(intent(10, cid="I"))
    assert held and execution.state == "INIT"
    assert engine.escape("I", "manual") is True
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert path(result) == ["INIT", "ESCAPING", "ESCAPED"]
    assert result.reason == "manual"
    assert result.codes() == ["FS092"]
    assert broker.calls == []


async def test_escaped_from_precheck_while_reconnecting() -> None:
    broker = ScriptedBroker(connected=False)
    gate = asyncio.Event()
    broker.connect_script.append(Hold(gate))
    engine = make_engine(broker)
    execution = engine.submit(intent(10, cid="P"))
    await asyncio.sleep(0.005)
    assert execution.state == "PRECHECK"
    assert engine.escape("P", "manual") is True
    result = await finish(execution)
    assert path(result) == ["INIT", "PRECHECK", "ESCAPING", "ESCAPED"]
    assert result.reason == "manual"
    gate.set()
    await asyncio.sleep(0.005)
    assert broker.calls_of("send") == []  # the reconnect task was cancelled
    await engine.close()


async def test_escaped_from_sending_cancels_the_order_whose_ack_was_in_flight() -> None:
    """The exchange has placed the order but the ack has not arrived when the escape comes:
    the send must run to its end (never cut off) and the order it placed be cancelled."""

    broker = ScriptedBroker()
    engine = make_engine(broker)
    gate = asyncio.Event()
    broker.script_send(AcceptThenHold(gate))
    execution = engine.submit(intent(10, cid="S"))
    await until(lambda: broker.orders != {}, what="the order at the exchange")
    assert execution.state == "SENDING"
    assert engine.escape("S", "manual") is True
    gate.set()
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "ESCAPING", "ESCAPED"]
    assert result.reason == "manual"
    assert broker.live_orders() == [], "orphan order left live at the broker"
    assert result.children[0].broker_order_id == "B00001"
    assert result.children[0].status is ChildStatus.CANCELLED
    await engine.close()


async def test_escaped_from_sending_before_the_exchange_saw_the_order(
        broker: ScriptedBroker, engine: Engine) -> None:
    gate = asyncio.Event()
    broker.script_send(Hold(gate))
    execution = engine.submit(intent(10, cid="S"))
    await asyncio.sleep(0.005)
    assert engine.escape("S", "manual") is True
    assert execution.state == "ESCAPING"
    gate.set()
    result = await finish(execution)
    assert path(result)[-2:] == ["ESCAPING", "ESCAPED"]
    # the send was not retried after the escape, and what it placed is not live
    assert len(broker.calls_of("send")) <= 1
    assert broker.live_orders() == []


async def test_escaped_from_monitoring(broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(10, cid="M"))
    await until_state(execution, "MONITORING")
    assert engine.escape("M", "manual") is True
    result = await finish(execution)
    assert path(result) == [*HEAD, "ESCAPING", "ESCAPED"]
    assert [c.outcome for c in broker.calls_of("cancel")] == ["ok"]
    assert broker.live_orders() == []


async def test_escaped_from_adjusting_by_its_own_triggers() -> None:
    """ADJUSTING -> ESCAPING without an outside escape: the fill timeout after the rounds."""

    broker = ScriptedBroker()
    engine = make_engine(broker, adjust_interval_ms=20)
    result = await engine.execute(intent(10, cid="AJ"))
    assert result.final_state == "ESCAPED"
    assert path(result) == [*HEAD, *["ADJUSTING", "MONITORING"] * 3,
                            "ADJUSTING", "ESCAPING", "ESCAPED"]
    assert result.adjust_rounds == 3
    assert result.codes() == ["FS093", "FS092"]
    await engine.close()


@pytest.mark.parametrize("stage", ["SPLITTING", "ADJUSTING"])
async def test_escape_requested_inside_a_synchronous_stage(
        stage: str, monkeypatch: pytest.MonkeyPatch, broker: ScriptedBroker,
        new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20)
    returned: list[object] = []
    holder: list[Execution] = []

    def request_escape() -> None:
        try:
            returned.append(engine.escape(holder[0].id, "risk"))
        except Exception as exc:  # a caller (the risk loop) should never see this
            returned.append(exc)

    if stage == "SPLITTING":  # the split asks the plan: escape from inside it
        monkeypatch.setattr(split_stage, "plan_split", _lookup_then(
            engine, "X1", request_escape, holder, split_stage.plan_split))
    else:  # the adjust round reads the quote: escape from inside it
        def quote_in_adjusting(symbol: str) -> None:
            del symbol
            if holder and holder[0].state == "ADJUSTING" and not returned:
                request_escape()

        broker.on_quote = quote_in_adjusting
    execution = engine.submit(intent(10, cid="X1"))
    if not holder:
        holder.append(execution)
    result = await finish(execution)
    assert returned == [True]
    assert result.final_state == "ESCAPED"
    assert result.reason == "risk"
    assert execution.run.errors == []


def _lookup_then(engine: Engine, execution_id: str, hook: Any, holder: list[Execution],
                 plan: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> SplitPlan:
        holder.append(engine.executions[execution_id])
        hook()
        return plan(*args, **kwargs)

    return wrapped


async def test_escape_is_idempotent(broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(10, cid="E"))
    await until_state(execution, "MONITORING")
    assert engine.escape("E", "first") is True
    assert engine.escape("E", "second") is False
    assert engine.escape_all("third") == 0
    assert engine.escape("nope", "unknown id") is False
    result = await finish(execution)
    assert path(result).count("ESCAPING") == 1
    assert result.reason == "first"
    assert result.codes() == ["FS092"]
    assert engine.escape("E", "after the end") is False
    assert len(broker.calls_of("cancel")) == 1


async def test_cancels_the_broker_never_confirms_end_escaped_and_unconfirmed() -> None:
    """The escape waits for its cancels until just before the ESCAPING timeout; settlement
    asks again; an order the broker never confirms is UNKNOWN, listed, alerted (FS096)."""
    broker = ScriptedBroker()
    # (300 ms: the escape must note its outcome before the ESCAPING timeout on a loaded
    # machine too; at 50 ms the timeout sometimes came first)
    engine = make_engine(broker, timeouts={"ESCAPING": 300}, cancel_confirm_timeout_ms=600)
    result = await escape_unanswered(broker, engine, "U")
    assert result.final_state == "ESCAPED"
    assert result.codes() == ["FS092", "FS096"]
    assert result.alerts[0].details["unconfirmed"] == "1"
    assert result.children[0].status is ChildStatus.UNKNOWN  # not pretended cancelled
    assert result.unconfirmed == ["B00001"]
    await engine.close()


# ------------------------------------------------------------------------ errors
async def test_a_raising_split_handler_escapes_with_its_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> SplitPlan:
        raise ValueError("no volume profile")

    monkeypatch.setattr(split_stage, "plan_split", boom)

    broker = ScriptedBroker()
    engine = make_engine(broker)
    execution = engine.submit(intent(10, cid="B"))
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "ESCAPING", "ESCAPED"]
    assert result.path[3].event == "error.execution"
    assert result.reason == "ValueError in SPLITTING: no volume profile"
    assert [(s, type(e).__name__) for s, e in execution.run.errors] == [
        ("SPLITTING", "ValueError")]
    assert broker.calls == []
    await engine.close()


async def test_an_unexpected_broker_error_in_a_send_task_escapes_with_its_reason(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.script_send(Raise(RuntimeError("socket closed under us")))
    execution = engine.submit(intent(10, cid="K"))
    result = await finish(execution)
    assert result.final_state == "ESCAPED"
    assert path(result) == ["INIT", "PRECHECK", "SPLITTING", "SENDING", "ESCAPING", "ESCAPED"]
    assert result.reason == "RuntimeError in SENDING: socket closed under us"
    assert len(broker.calls_of("send")) == 1  # an unexpected error is not retried


async def test_an_unexpected_broker_error_while_monitoring_escapes(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20)
    execution = engine.submit(intent(10, cid="Q"))
    await until_state(execution, "MONITORING")

    def broken_quote(symbol: str) -> None:
        raise RuntimeError(f"no quote for {symbol}")

    broker.on_quote = broken_quote  # the monitor reads the quote (is it an auction?)
    result = await finish(execution)
    broker.on_quote = None
    assert result.final_state == "ESCAPED"
    assert path(result) == [*HEAD, "ESCAPING", "ESCAPED"]
    assert result.reason == "RuntimeError in MONITORING: no quote for 005930"
    assert broker.live_orders() == []


# ------------------------------------------------------------------------ hand-off
async def test_position_listeners_get_the_position_on_complete(
        broker: ScriptedBroker, engine: Engine) -> None:
    positions: list[Position] = []
    engine.add_position_listener(positions.append)
    execution = engine.submit(intent(30, Side.SELL, cid="H"))
    await until_state(execution, "MONITORING")
    first = broker.fill_child("H-1", 10, 70_100)
    broker.advance(5)
    last = broker.fill_child("H-1", 20, 70_000)
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    (position,) = positions
    assert position == Position("H", SYMBOL, Side.SELL, 30, result.avg_price, first.ts_ns)
    assert position.avg_price == (Decimal(70_100) * 10 + Decimal(70_000) * 20) / 30
    assert position.entry_ns == first.ts_ns < last.ts_ns  # entry: the first fill


async def test_a_failing_listener_does_not_keep_the_position_from_the_others(
        broker: ScriptedBroker, engine: Engine) -> None:
    seen: list[str] = []

    def broken(position: Position) -> None:
        raise RuntimeError("dashboard down")

    engine.add_position_listener(broken)
    engine.add_position_listener(lambda p: seen.append(p.execution_id))
    execution = engine.submit(intent(10, cid="LB"))
    await until_state(execution, "MONITORING")
    broker.fill_child("LB-1")
    result = await finish(execution)
    assert seen == ["LB"]
    assert result.final_state == "COMPLETE"
    assert result.reason == "RuntimeError in COMPLETE: dashboard down"


async def test_micro_risk_loop_escapes_another_live_execution() -> None:
    """The listener is the micro-risk loop: the first position it watches breaches its loss
    threshold, and it escapes the other execution still working on the same name."""

    broker = ScriptedBroker()
    engine = make_engine(broker)
    watched = engine.submit(intent(10, cid="W"))
    other = engine.submit(intent(10, Side.SELL, symbol=OTHER_SYMBOL, cid="O"))  # a hedge
    escapes: list[tuple[bool, str]] = []

    def risk_loop(position: Position) -> None:
        if position.execution_id == "W":
            done = engine.escape("O", f"micro-risk: loss on {position.symbol}")
            escapes.append((done, other.state))

    engine.add_position_listener(risk_loop)
    await until_state(watched, "MONITORING")
    await until_state(other, "MONITORING")
    broker.fill_child("O-1", 4)
    broker.fill_child("W-1")
    await until_state(watched, "COMPLETE")
    assert escapes == [(True, "ESCAPING")]  # the other execution yields at once
    w, o = await finish(watched), await finish(other)
    assert w.final_state == "COMPLETE"
    assert o.final_state == "ESCAPED"
    assert o.reason == "micro-risk: loss on 005930"
    assert o.filled_qty == 4 and o.children[0].status is ChildStatus.CANCELLED
    assert broker.live_orders() == []
    await engine.close()


# ------------------------------------------------------------------------ concurrency
async def test_many_concurrent_executions_each_with_its_own_chart() -> None:
    symbols = [f"{n:06d}" for n in range(100, 124)]  # one side per name: no self-trade

    broker = ScriptedBroker(symbols=[*symbols, OTHER_SYMBOL])
    engine = make_engine(broker)
    sides = (Side.BUY, Side.SELL)
    executions = [engine.submit(intent(20, sides[n % 2], symbol=s, cid=f"{s}{sides[n % 2].value}"))
                  for n, s in enumerate(symbols)]
    assert len({id(e.run) for e in executions}) == len(executions) == 24
    assert len({id(e.run.machine) for e in executions}) == 24
    for e in executions:
        await until_state(e, "MONITORING")
    outcome: dict[str, str] = {}
    for n, e in enumerate(executions):
        if n % 3 == 0:
            broker.fill_child(f"{e.id}-1")
            outcome[e.id] = "COMPLETE"
        elif n % 3 == 1:
            engine.escape(e.id, "risk")
            outcome[e.id] = "ESCAPED"
        else:
            broker.fill_child(f"{e.id}-1", 5)  # partial: FS093 at the fill timeout
            outcome[e.id] = "COMPLETE"
    results = await asyncio.gather(*(finish(e) for e in executions))
    for e, result in zip(executions, results, strict=True):
        assert result.final_state == outcome[e.id], e.id
        assert result.execution_id == e.id
        assert {c.parent_id for c in result.children} == {e.id}
    assert sum(r.filled_qty for r in results) == 8 * 20 + 8 * 5
    broker.assert_no_duplicate_orders()
    assert broker.live_orders() == []
    assert engine.services.ledger.live.total() == 0
    await engine.close()
