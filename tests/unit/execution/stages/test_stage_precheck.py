"""Stage 1, PreCheck: each check on a bare context, their order, and the reconnect path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.bus import BusEvent, Priority
from execution.codes import Code
from execution.context import PrecheckFailure
from execution.contracts import Side
from execution.safety import SafetyState
from execution.stages.precheck import precheck, reference_price, run_checks
from execution.testing.actions import Hold
from execution.testing.clock import START_NS
from execution.testing.harness import finish, intent, make_context, make_engine, until_state
from execution.testing.scripted import SYMBOL, ScriptedBroker


def test_all_checks_pass_and_record_the_arrival() -> None:
    broker = ScriptedBroker()
    ctx = make_context(broker, intent(100))
    run_checks(ctx)
    assert ctx.precheck_failure is None
    assert ctx.qty == 100
    assert ctx.arrival is not None and ctx.arrival.bid == Decimal(70_000)
    assert ctx.arrival_price == Decimal(70_050)
    assert ctx.notes == {}


def test_precheck_returns_checked_synchronously_when_connected() -> None:
    ctx = make_context(ScriptedBroker())
    assert precheck(ctx, None) == "checked"


@pytest.mark.parametrize("state", [SafetyState.NORMAL, SafetyState.WARNING])
def test_safety_states_that_pass(state: SafetyState) -> None:
    ctx = make_context(ScriptedBroker(), safety_state=state)
    run_checks(ctx)
    assert ctx.precheck_failure is None


@pytest.mark.parametrize("state", [SafetyState.FAIL, SafetyState.LOCKDOWN])
def test_safety_states_that_block(state: SafetyState) -> None:
    ctx = make_context(ScriptedBroker(), safety_state=state)
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.SAFETY_STATE
    assert ctx.failure_detail == state.value


def test_first_failure_wins_in_the_spec_order() -> None:
    # a paused bus, a blocked safety state and an unknown symbol: the bus is checked first
    ctx = make_context(ScriptedBroker(), intent(10, symbol="999999"),
                       safety_state=SafetyState.FAIL, p0_queue_capacity=1)
    ctx.services.bus.publish(BusEvent(Priority.P0, "risk", "", {}))
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.P0_OVERFLOW
    assert ctx.notes[Code.FS095] == {"p0_depth": 1, "capacity": 1}
    assert ctx.notes[Code.GR070] == {"check": "p0_overflow", "detail": "p0_depth=1"}
    assert not ctx.symbol_unknown
    ctx.services.bus.drain()
    ctx.precheck_failure = None
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.SAFETY_STATE


def test_unknown_symbol() -> None:
    ctx = make_context(ScriptedBroker(), intent(10, symbol="999999"))
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.UNKNOWN_SYMBOL
    assert ctx.symbol_unknown
    assert ctx.notes[Code.FS091] == {"symbol": "999999"}
    assert ctx.arrival is None


def test_duplicate_live_intent_on_the_same_symbol_and_side() -> None:
    ctx = make_context(ScriptedBroker(), intent(10))
    ctx.services.ledger.live[(SYMBOL, Side.BUY)] += 1  # another live buy
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.DUPLICATE_INTENT


@pytest.mark.parametrize(("held", "side", "qty", "blocked"), [
    (0, Side.BUY, 10_000, False),
    (0, Side.BUY, 10_001, True),
    (9_990, Side.BUY, 11, True),
    (9_990, Side.SELL, 11, False),  # selling reduces the position
    (-10_000, Side.SELL, 1, True),
])
def test_position_cap(held: int, side: Side, qty: int, blocked: bool) -> None:
    ctx = make_context(ScriptedBroker(), intent(qty, side), max_notional_krw=Decimal(10**12))
    ctx.services.ledger.positions[SYMBOL] = held
    run_checks(ctx)
    assert (ctx.precheck_failure is PrecheckFailure.POSITION_CAP) is blocked


def test_capital_reduces_buys_only() -> None:
    ctx = make_context(ScriptedBroker(), intent(100), capital_krw=Decimal(701_000))
    run_checks(ctx)
    assert ctx.precheck_failure is None
    # the worst price it may reach: arrival 70 050 + 50 bps = 70 400.25, plus 1.5 bps fees
    assert ctx.qty == 9  # 701 000 // 70 410.81
    assert ctx.notes[Code.GR061] == {"capital": Decimal(701_000), "requested": 100,
                                     "reduced_to": 9}
    sell = make_context(ScriptedBroker(), intent(100, Side.SELL), capital_krw=Decimal(1))
    run_checks(sell)
    assert sell.precheck_failure is None and sell.qty == 100


def test_capital_uses_the_smaller_of_budget_and_broker_cash() -> None:
    ctx = make_context(ScriptedBroker(cash=Decimal(140_900)), intent(100),
                       capital_krw=Decimal(10**9))
    run_checks(ctx)
    assert ctx.qty == 2  # 140 900 // 70 410.81


def test_capital_for_not_one_share_fails() -> None:
    ctx = make_context(ScriptedBroker(), intent(5), capital_krw=Decimal(70_099))
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.NO_CAPITAL
    assert Code.GR061 in ctx.notes


def test_reference_price_is_the_limit_when_it_is_better_than_the_touch() -> None:
    ctx = make_context(ScriptedBroker(), intent(10, limit=69_500))
    run_checks(ctx)
    assert reference_price(ctx) == Decimal(69_500)
    ctx = make_context(ScriptedBroker(), intent(10, limit=71_000))
    run_checks(ctx)
    assert reference_price(ctx) == Decimal(70_100)
    ctx = make_context(ScriptedBroker(), intent(10, Side.SELL, limit=70_500))
    run_checks(ctx)
    assert reference_price(ctx) == Decimal(70_500)


@pytest.mark.parametrize(("offset_h", "open_"), [
    (-1.0, True),  # 09:00
    (-1.01, False),  # 08:59:24
    (5.49, True),  # 15:29:24
    (5.5, False),  # 15:30
    (24 * 5, False),  # Saturday 2024-06-08
    (24 * 3, False),  # Thursday 2024-06-06: Memorial Day, an exchange holiday
])
def test_market_session(offset_h: float, open_: bool) -> None:
    broker = ScriptedBroker(start_ns=START_NS + int(offset_h * 3_600e9))
    ctx = make_context(broker)
    run_checks(ctx)
    assert (ctx.precheck_failure is None) is open_
    if not open_:
        assert ctx.precheck_failure is PrecheckFailure.MARKET_CLOSED


def test_daily_limit_is_per_trading_day() -> None:
    ctx = make_context(ScriptedBroker(), daily_trade_limit=3)
    sessions, ledger = ctx.services.sessions, ctx.services.ledger
    today = sessions.trading_day(START_NS)
    ledger.trades_per_day[today] = 3
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.DAILY_LIMIT
    assert ctx.notes[Code.GR062] == {"day": today, "used": 3, "limit": 3}
    tomorrow = make_context(ScriptedBroker(start_ns=START_NS + 86_400 * 10**9), daily_trade_limit=3)
    tomorrow.services.ledger.trades_per_day[today] = 3
    run_checks(tomorrow)
    assert tomorrow.precheck_failure is None


def test_risk_spread_and_notional() -> None:
    wide = ScriptedBroker(bid=70_000, ask=70_400)  # 57 bps
    ctx = make_context(wide)
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.SPREAD_TOO_WIDE
    ctx = make_context(ScriptedBroker(), intent(8_000))  # 560.8 M KRW
    run_checks(ctx)
    assert ctx.precheck_failure is PrecheckFailure.NOTIONAL_TOO_LARGE
    # the notional uses the reduced quantity
    ctx = make_context(ScriptedBroker(), intent(8_000), capital_krw=Decimal(400_000_000))
    run_checks(ctx)
    assert ctx.precheck_failure is None and ctx.qty == 5_680  # 400 M // 70 410.81


async def test_disconnected_broker_reconnects_once_then_fails() -> None:
    broker = ScriptedBroker(connected=False)
    broker.connect_script.extend([False, True])  # the second attempt would succeed
    engine = make_engine(broker)
    result = await engine.execute(intent(10, cid="R"))
    assert result.final_state == "FAILED"
    assert result.precheck_failure == "broker_disconnected"
    assert [c.outcome for c in broker.calls_of("connect")] == ["failed"]
    await engine.close()


async def test_precheck_timeout_fails_a_reconnect_that_hangs() -> None:
    import asyncio

    broker = ScriptedBroker(connected=False)
    gate = asyncio.Event()
    broker.connect_script.append(Hold(gate))
    engine = make_engine(broker, timeouts={"PRECHECK": 30})
    execution = engine.submit(intent(10, cid="H"))
    await until_state(execution, "FAILED")
    result = await finish(execution)
    assert [s.state for s in result.path] == ["INIT", "PRECHECK", "FAILED"]
    assert result.path[-1].event == "timeout"
    assert [a.message for a in result.alerts] == ["FS098: id=H timeout=PRECHECK after_ms=30"]
    gate.set()
    await asyncio.sleep(0.005)
    assert broker.calls_of("send") == []
    await engine.close()
