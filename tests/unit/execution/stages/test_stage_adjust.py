"""Stage 5, AdaptiveAdjust: next_price on its own, and adjust rounds through the engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.broker import UnknownOrder
from execution.context import AdjustOutcome
from execution.contracts import Quote, Side
from execution.engine import Engine
from execution.orders.reprice import next_price
from execution.testing.actions import Raise
from execution.testing.harness import EngineFactory, finish, intent, make_limits, until
from execution.testing.scripted import ScriptedBroker

LIMITS = make_limits()
D = Decimal


def _quote(bid: int, ask: int) -> Quote:
    return Quote("005930", D(bid), D(ask), 1_000, 1_000, 0)


def _next(side: Side, price: int, quote: Quote, *, original: int | None = None,
          arrival: int = 70_050, limit: int | None = None,
          **limits: object) -> tuple[Decimal, AdjustOutcome]:
    return next_price(side, D(price), D(original if original is not None else price), quote,
                      D(arrival), D(limit) if limit is not None else None,
                      LIMITS.with_(**limits) if limits else LIMITS)


def test_buy_steps_one_tick_up_toward_the_ask() -> None:
    assert _next(Side.BUY, 70_000, _quote(70_000, 70_300)) == (D(70_100), AdjustOutcome.ADJUSTED)


def test_sell_steps_one_tick_down_toward_the_bid() -> None:
    assert _next(Side.SELL, 70_100, _quote(69_800, 70_100)) == (D(70_000), AdjustOutcome.ADJUSTED)


def test_the_step_is_at_least_one_tick_and_on_the_ladder() -> None:
    # 0.1 % of 1 500 is 1.5 KRW: one tick is 1 KRW, the step rounds up to 2 on the ladder
    assert _next(Side.BUY, 1_500, _quote(1_500, 1_510), arrival=1_505)[0] == D(1_502)
    # 0.1 % of 70 000 is 70 KRW, below the 100 KRW tick: one tick
    assert _next(Side.BUY, 70_000, _quote(70_000, 70_200), arrival=70_100)[0] == D(70_100)


def test_never_through_the_far_touch() -> None:
    assert _next(Side.BUY, 70_000, _quote(70_000, 70_000))[0] == D(70_000)
    assert _next(Side.SELL, 70_100, _quote(70_100, 70_200), arrival=70_150)[0] == D(70_100)


def test_never_past_the_limit() -> None:
    assert _next(Side.BUY, 70_000, _quote(70_000, 70_300), limit=70_050)[0] == D(70_000)
    assert _next(Side.SELL, 70_100, _quote(69_800, 70_100), limit=70_150)[0] == D(70_200)


def test_total_move_is_capped_at_half_a_percent_of_the_first_price() -> None:
    # warning/max slippage out of the way: only max_price_move_pct binds (70 000 * 1.005)
    wide = {"slippage_warning_bps": D(1_000), "slippage_max_bps": D(2_000)}
    price, _ = _next(Side.BUY, 70_300, _quote(70_300, 72_000), original=70_000,
                     arrival=70_000, **wide)
    assert price == D(70_300)
    price, _ = _next(Side.SELL, 69_700, _quote(68_000, 69_700), original=70_000,
                     arrival=70_000, **wide)
    assert price == D(69_700)


def test_capped_at_the_warning_level_gr063() -> None:
    # the far touch (70 300, +36 bps) lies between the warning (30) and the maximum (50)
    price, outcome = _next(Side.BUY, 70_200, _quote(70_200, 70_300), original=70_000)
    assert (price, outcome) == (D(70_200), AdjustOutcome.CAPPED)  # 70 050 + 30 bps -> 70 200
    price, outcome = _next(Side.SELL, 69_900, _quote(69_800, 69_900), arrival=70_050,
                           original=70_100)
    assert (price, outcome) == (D(69_900), AdjustOutcome.CAPPED)


def test_breach_when_the_far_touch_lies_beyond_the_maximum_fs094() -> None:
    # the child's own price is fine; the touch it would have to chase is not
    assert _next(Side.BUY, 70_000, _quote(70_400, 70_500))[1] is AdjustOutcome.BREACH
    assert _next(Side.BUY, 70_500, _quote(70_500, 70_600)) == (D(70_500), AdjustOutcome.BREACH)
    assert _next(Side.SELL, 69_600, _quote(69_500, 69_600)) == (D(69_600), AdjustOutcome.BREACH)


@pytest.mark.parametrize("side", list(Side))
def test_a_better_than_arrival_price_is_never_worsened(side: Side) -> None:
    quote = _quote(70_000, 70_100)
    start = 69_000 if side is Side.BUY else 71_000
    price, outcome = _next(side, start, quote)
    assert outcome is AdjustOutcome.ADJUSTED
    assert (price - D(start)) * side.sign == D(100)  # one tick toward the touch


async def test_rounds_re_price_by_modify_until_the_limit(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20)
    broker.set_quote(70_000, 70_300)  # 43 bps wide: inside the precheck's spread limit
    execution = engine.submit(intent(10, limit=70_150, cid="A"))
    await until(lambda: execution.ctx.adjust_rounds == 3, what="three rounds")
    result = await finish(execution)
    # 70 000 -> 70 100, then the limit (snapped down to 70 100) holds it there
    assert [c.price for c in broker.calls_of("modify")] == [D(70_100)]
    assert result.children[0].price == D(70_100)
    assert result.adjust_rounds == 3
    assert len(broker.calls_of("send")) == 1


async def test_a_modify_the_broker_refuses_keeps_the_old_price(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20, max_rounds=1)
    broker.modify_script.append(Raise(UnknownOrder("already done")))
    execution = engine.submit(intent(10, cid="M"))
    await until(lambda: len(broker.calls_of("modify")) == 1, what="the modify")
    assert execution.ctx.children[0].price == D(70_000)
    broker.fill_child("M-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert result.children[0].price == D(70_000)


async def test_adjust_after_the_fill_timeout_is_exhausted_not_another_round(
        broker: ScriptedBroker, engine: Engine) -> None:
    result = await engine.execute(intent(10, cid="X"))
    assert result.adjust_rounds == 0
    assert broker.calls_of("modify") == []
    assert [s.event for s in result.path[-3:]] == ["timeout", "exhausted", "escaped"]
