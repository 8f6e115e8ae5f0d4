"""Pre-trade risk with several intents at once: reservations claimed atomically at
PreCheck (daily trades, position room, capital at the worst price plus fees) and released
at settlement; self-trade prevention; shortages on any slice; GR064 from each child's own
wait for its first fill."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from execution.broker import RejectReason
from execution.contracts import ChildStatus, Side, SplitStrategy, Urgency
from execution.engine import Engine
from execution.orders.reprice import next_price
from execution.testing import EngineFactory
from execution.testing.actions import Reject
from execution.testing.harness import finish, intent, make_engine, make_limits, until, until_state
from execution.testing.scripted import OTHER_SYMBOL, ScriptedBroker


async def test_two_intents_together_never_both_pass_a_daily_limit_of_one(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(daily_trade_limit=1)
    first = engine.submit(intent(10, cid="D1"))
    second = engine.submit(intent(10, symbol=OTHER_SYMBOL, cid="D2"))  # same loop turn
    assert second.state == "FAILED" and second.ctx.precheck_failure is not None
    assert "GR062" in (await finish(second)).codes()
    await until_state(first, "MONITORING")
    engine.escape("D1", "done")
    assert (await finish(first)).final_state == "ESCAPED"
    assert len(broker.calls_of("send")) == 1


async def test_concurrent_buys_never_jointly_exceed_the_position_cap(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(position_cap_shares=100)
    first = engine.submit(intent(60, cid="P1"))
    second = await engine.execute(intent(60, symbol="005930", cid="P2", side=Side.BUY))
    assert second.precheck_failure in ("duplicate_intent", "position_cap")
    third = await engine.execute(intent(60, symbol=OTHER_SYMBOL, cid="P3"))
    assert third.final_state != "FAILED" or third.precheck_failure != "position_cap"
    engine.escape_all("done")
    await finish(first)


async def test_capital_claims_cover_the_worst_price_and_fees_of_every_live_intent(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(capital_krw=Decimal(10_000_000))
    first = engine.submit(intent(100, cid="C1"))  # may cost 100 x 70 410.81 = 7 041 081
    second = engine.submit(intent(100, symbol=OTHER_SYMBOL, cid="C2"))
    await until_state(first, "MONITORING")
    assert first.ctx.qty == 100
    assert second.ctx.qty == 42  # what is left: 2 958 919 // 70 410.81
    claimed = engine.services.ledger.capital_claimed()
    assert claimed <= Decimal(10_000_000)
    broker.fill_child("C1-1", 100, 70_100)
    await until_state(second, "MONITORING")
    broker.fill_child("C2-1", 42, 70_100)
    first_result, second_result = await finish(first), await finish(second)
    assert first_result.final_state == second_result.final_state == "COMPLETE"
    assert engine.services.ledger.claims == {}  # every claim released at settlement
    assert engine.services.ledger.spent_krw == 142 * 70_100


async def test_a_sell_is_refused_while_a_buy_of_the_symbol_is_live(
        broker: ScriptedBroker, engine: Engine) -> None:
    buy = engine.submit(intent(10, cid="B"))
    sell = await engine.execute(intent(10, Side.SELL, cid="S"))
    assert sell.final_state == "FAILED" and sell.precheck_failure == "self_trade"
    assert "GR065" in sell.codes()
    await until_state(buy, "MONITORING")
    assert [c.key for c in broker.calls_of("send")] == ["B-1"]  # the sell never went out


async def test_cancel_resting_escapes_the_other_side_before_trading(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(self_trade_policy="cancel_resting")
    buy = engine.submit(intent(10, cid="B"))
    await until_state(buy, "MONITORING")
    sell = engine.submit(intent(10, Side.SELL, cid="S"))
    assert sell.state == "PRECHECK"  # waiting for the resting buy to settle
    bought = await finish(buy)
    assert bought.final_state == "ESCAPED" and "self-trade" in bought.reason
    await until_state(sell, "MONITORING")
    assert broker.live_orders()[0].request.side is Side.SELL  # never both sides live
    assert "GR065" in [a.code.name for a in sell.ctx.alerts]


async def test_a_shortage_on_a_later_slice_raises_gr061_and_cancels_the_rest(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 30})
    broker.script_send(Reject(RejectReason.INSUFFICIENT_BALANCE, "no cash"), child="T-2")
    execution = engine.submit(intent(400, strategy=SplitStrategy.TWAP, cid="T"))
    await until_state(execution, "MONITORING")
    await until(lambda: execution.ctx.children[1].status is ChildStatus.REJECTED,
                what="the second slice refused")
    assert [c.status for c in execution.ctx.children[2:]] == [ChildStatus.CANCELLED] * 2
    assert "GR061" in [a.code.name for a in execution.ctx.alerts]
    broker.fill_child("T-1")
    result = await finish(execution)
    assert [c.key for c in broker.calls_of("send")] == ["T-1", "T-2"]
    assert result.final_state == "COMPLETE"


async def test_a_shortage_on_the_first_slice_says_gr061_as_well_as_fs090(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.script_send(Reject(RejectReason.INSUFFICIENT_BALANCE, "no cash"))
    result = await engine.execute(intent(10, cid="F"))
    assert result.final_state == "FAILED"
    assert {"FS090", "GR061"} <= set(result.codes())


async def test_gr064_comes_from_the_childs_own_wait_not_the_adjust_schedule() -> None:
    broker = ScriptedBroker()
    low_and_late = {u: 90.0 for u in Urgency}
    engine = make_engine(broker, fill_delay_warning_ms=40, adjust_interval_ms=20,
                         first_round_pct=low_and_late, last_round_pct=low_and_late,
                         timeouts={"MONITORING": 2_000})
    execution = engine.submit(intent(10, urgency=Urgency.LOW, cid="W"))
    await until(lambda: "GR064" in [a.code.name for a in execution.ctx.alerts],
                timeout=1.0, what="the fill-delay warning")
    assert "ADJUSTING" not in execution.run.path()  # the first round is ~1.8 s away
    warning = next(a for a in execution.ctx.alerts if a.code.name == "GR064")
    assert warning.details["child"] == "W-1" and int(warning.details["waited_ms"]) >= 40
    engine.escape("W", "done")
    result = await finish(execution)
    assert result.codes().count("GR064") == 1
    await engine.close()


def test_an_adjust_step_rounds_to_the_nearest_tick_not_up() -> None:
    from execution.contracts import Quote

    limits = make_limits(step_pct=Decimal("0.1"))
    quote = Quote("X", Decimal(1_000), Decimal(1_010), 100, 100, 0)
    price, _ = next_price(Side.BUY, Decimal(1_001), Decimal(1_001), quote, Decimal(1_005),
                          None, limits)
    assert price == Decimal(1_002)  # 1 001 + 0.1 % = 1 002.001: one tick, not two
    price, _ = next_price(Side.SELL, Decimal(1_009), Decimal(1_009), quote, Decimal(1_005),
                          None, limits)
    assert price == Decimal(1_008)


async def test_batch_of_intents_at_once_keeps_every_limit() -> None:
    """Many intents in one loop turn, fills interleaved: no self-trade, the daily count,
    the position cap and the capital are never exceeded, every claim is released."""
    broker = ScriptedBroker(symbols=["005930", "000660", "035420"], cash=Decimal(20_000_000))
    engine = make_engine(broker, daily_trade_limit=4, position_cap_shares=150,
                         capital_krw=Decimal(15_000_000))
    specs = [("005930", Side.BUY, 100), ("005930", Side.SELL, 50), ("000660", Side.BUY, 120),
             ("000660", Side.BUY, 30), ("035420", Side.SELL, 200), ("035420", Side.BUY, 100),
             ("005930", Side.BUY, 40)]
    executions = [engine.submit(intent(q, side, symbol=s, cid=f"E{n}"))
                  for n, (s, side, q) in enumerate(specs)]
    await asyncio.sleep(0.05)
    live = [e for e in executions if e.state == "MONITORING"]
    sides = {(e.ctx.intent.symbol, e.ctx.intent.side) for e in live}
    assert not any((s, side.opposite) in sides for s, side in sides)  # no self-trade
    assert len(live) <= 4
    assert engine.services.ledger.capital_claimed() <= Decimal(15_000_000)
    for e in live:
        broker.fill_child(f"{e.id}-1")
    results = await asyncio.gather(*(finish(e) for e in executions))
    ledger = engine.services.ledger
    assert all(abs(qty) <= 150 for qty in ledger.positions.values())
    assert ledger.spent_krw <= Decimal(15_000_000)
    assert ledger.claims == {}
    assert sum(1 for r in results if r.final_state == "COMPLETE") == len(live)
    await engine.close()
