"""HIGH urgency: the far touch at once by default; with ``adjust.high_passive_max_ms`` a
bounded wait at the near touch (GR069 action=join), then its first round crosses to the
far touch in one move. Released slices follow the same rule as the first child."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from execution.context import AdjustOutcome
from execution.contracts import Quote, Side, SplitStrategy, Urgency
from execution.orders.reprice import next_price
from execution.testing import (
    EngineFactory,
    ScriptedBroker,
    finish,
    intent,
    make_limits,
    until,
    until_state,
)

SHORT_QUEUE = {"wide_tick_bps": Decimal(10), "queue_wait_max_pct_left": 0.0,
               "queue_wait_max_ahead_x": 1e9, "adjust_interval_ms": 20}


def test_the_passive_wait_is_bounded_by_the_fill_timeout_share() -> None:
    limits = make_limits(high_passive_max_ms=2000.0, high_passive_max_pct=5.0)
    assert limits.high_passive
    assert limits.high_passive_wait_ms(60_000) == 2000.0  # 5 % would be 3 s
    assert limits.high_passive_wait_ms(10_000) == 500.0  # 5 % of a short window
    assert not make_limits(high_passive_max_ms=0.0).high_passive


def test_high_rounds_come_after_the_wait_then_every_interval() -> None:
    limits = make_limits(high_passive_max_ms=2000.0, high_passive_max_pct=5.0,
                         adjust_interval_ms=1000.0)
    assert limits.round_due_ms(Urgency.HIGH, 1, 60_000) == 2000.0
    assert limits.round_due_ms(Urgency.HIGH, 2, 60_000) == 3000.0
    off = make_limits(high_passive_max_ms=0.0, adjust_interval_ms=1000.0)
    assert off.round_due_ms(Urgency.HIGH, 1, 60_000) == 1000.0


@pytest.mark.parametrize(("cross", "expected"), [(True, 70_300), (False, 70_100)])
def test_a_high_round_crosses_a_wide_spread_in_one_move(cross: bool, expected: int) -> None:
    quote = Quote("005930", Decimal(70_000), Decimal(70_300), 1_000, 1_000, 0)
    price, outcome = next_price(Side.BUY, Decimal(70_000), Decimal(70_000), quote,
                                Decimal(70_150), None, make_limits(), cross=cross)
    assert (price, outcome) == (Decimal(expected), AdjustOutcome.ADJUSTED)


async def test_high_joins_the_near_touch_then_crosses_after_its_wait(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**SHORT_QUEUE, high_passive_max_ms=120.0, high_passive_max_pct=100.0)
    execution = engine.submit(intent(50, urgency=Urgency.HIGH, cid="P"))
    await until_state(execution, "MONITORING")
    assert broker.calls_of("send")[0].price == Decimal(70_000)  # the near touch
    join = next(a for a in execution.ctx.alerts if a.code.name == "GR069")
    assert join.details == {"action": "join", "cross_after_ms": "120"} | {
        k: v for k, v in join.details.items() if k not in ("action", "cross_after_ms")}
    await asyncio.sleep(0.06)
    assert broker.calls_of("modify") == []  # still inside its wait
    await until(lambda: bool(broker.calls_of("modify")), what="the cross")
    assert broker.calls_of("modify")[0].price == Decimal(70_100)  # the far touch
    assert [a.details["action"] for a in execution.ctx.alerts
            if a.code.name == "GR069"] == ["join"]  # never a queue wait (GR069 wait)
    broker.fill_child("P-1")
    assert (await finish(execution)).final_state == "COMPLETE"


async def test_released_high_slices_take_the_far_touch_by_default(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    broker.set_quote(70_000, 70_100, ask_size=100)  # 300 shares: an iceberg of the touch
    engine = new_engine(**SHORT_QUEUE)  # one 100 KRW tick: wide, but HIGH does not join it
    execution = engine.submit(intent(300, urgency=Urgency.HIGH, cid="I",
                                     strategy=SplitStrategy.ICEBERG))
    await until_state(execution, "MONITORING")
    assert broker.calls_of("send")[0].price == Decimal(70_100)
    broker.fill_child("I-1")
    await until(lambda: len(broker.calls_of("send")) >= 2, what="the refill")
    assert broker.calls_of("send")[1].price == Decimal(70_100)
    engine.escape("I", "done")
    await finish(execution)
