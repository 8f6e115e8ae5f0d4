"""When adjust rounds come: patience per urgency over the fill timeout; late children join
the parent's adjust level."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.contracts import SplitStrategy, Urgency
from execution.orders.reprice import price_at_level
from execution.settings import load_engine_limits
from execution.testing import EngineFactory
from execution.testing.harness import finish, intent, make_context, make_engine, until
from execution.testing.scripted import ScriptedBroker

SHIPPED = load_engine_limits()


@pytest.mark.parametrize(("urgency", "due_s"), [
    (Urgency.LOW, [42.0, 48.0, 54.0]),
    (Urgency.NORMAL, [30.0, 42.0, 54.0]),
    (Urgency.HIGH, [1.0, 2.0, 3.0]),  # no patience: one round per adjust interval
])
def test_shipped_schedule_spreads_the_rounds_over_the_fill_timeout(
        urgency: Urgency, due_s: list[float]) -> None:
    assert SHIPPED.max_rounds == 3 and SHIPPED.adjust_interval_ms == 1000
    rounds = [SHIPPED.round_due_ms(urgency, k, 60_000) / 1000 for k in (1, 2, 3)]
    assert rounds == pytest.approx(due_s)


def test_rounds_are_never_closer_than_one_adjust_interval() -> None:
    limits = SHIPPED.with_(adjust_interval_ms=500)
    due = [limits.round_due_ms(Urgency.NORMAL, k, 1_000) for k in (1, 2, 3)]
    assert due == [500.0, 1000.0, 1500.0]  # the schedule (500, 700, 900) is too tight


async def _first_round_after_ms(urgency: Urgency) -> float:
    broker = ScriptedBroker()
    engine = make_engine(broker, adjust_interval_ms=10,
                         first_round_pct=SHIPPED.first_round_pct,
                         last_round_pct=SHIPPED.last_round_pct,
                         timeouts={"MONITORING": 400})
    execution = engine.submit(intent(10, urgency=urgency, cid=f"S{urgency.value}"))
    await until(lambda: "ADJUSTING" in execution.run.path(), what="a round", timeout=2)
    trace = execution.run.trace
    monitoring = next(s for s in trace if s.state == "MONITORING")
    adjusting = next(s for s in trace if s.state == "ADJUSTING")
    engine.escape(execution.id, "done")
    await finish(execution)
    await engine.close()
    return (adjusting.at_ns - monitoring.at_ns) / 1e6


async def test_normal_urgency_waits_half_the_fill_timeout_before_its_first_round() -> None:
    assert await _first_round_after_ms(Urgency.NORMAL) >= 0.5 * 400


async def test_high_urgency_adjusts_after_one_interval() -> None:
    assert await _first_round_after_ms(Urgency.HIGH) < 0.25 * 400


def test_a_late_child_joins_the_parent_level() -> None:
    broker = ScriptedBroker()
    ctx = make_context(broker, intent(100))
    quote = broker.quote("005930")
    ctx.arrival_price = quote.mid
    start = quote.bid
    assert price_at_level(ctx, quote, start, 0) == start
    assert price_at_level(ctx, quote, start, 1) == quote.ask  # one step: the far touch
    assert price_at_level(ctx, quote, start, 3) == quote.ask  # never through it


async def test_released_child_is_priced_at_the_current_level(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=10, split={"twap_horizon_ms": 150})
    execution = engine.submit(intent(200, cid="TW", strategy=SplitStrategy.TWAP))
    await until(lambda: execution.ctx.adjust_rounds >= 1, what="a round")
    await until(lambda: len(broker.calls_of("send")) >= 2, what="a later slice")
    later = broker.calls_of("send")[1]
    assert later.price == Decimal(broker.quote("005930").ask)
    engine.escape(execution.id, "done")
    await finish(execution)


async def test_rounds_still_come_when_a_gap_between_slices_leaves_nothing_live(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=10, split={"twap_horizon_ms": 100})
    execution = engine.submit(intent(200, cid="GAP", strategy=SplitStrategy.TWAP))
    await until(lambda: len(broker.calls_of("send")) == 1, what="the first slice")
    broker.fill_child("GAP-1")  # nothing live until the next slice is released
    await until(lambda: "ADJUSTING" in execution.run.path(), what="a round after the gap")
    assert len(broker.calls_of("send")) >= 2
    engine.escape(execution.id, "done")
    await finish(execution)
