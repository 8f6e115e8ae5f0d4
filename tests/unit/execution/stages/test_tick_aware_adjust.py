"""Tick-aware re-pricing (GR069): where one tick is a large share of the slippage cap,
a child at the near touch waits in the queue while the queue ahead is short and time
is left; otherwise it moves as before."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Urgency
from execution.testing import EngineFactory, ScriptedBroker, finish, intent, until, until_state

# 005930 at 70 000 on the 100 KRW tick: one tick is 14.3 bps, over a quarter of the cap.
WIDE = {"wide_tick_bps": Decimal(10), "queue_wait_max_pct_left": 40.0,
        "queue_wait_max_ahead_x": 20.0, "adjust_interval_ms": 30}


async def test_a_short_queue_with_time_left_waits_instead_of_moving(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**WIDE)  # 1 000 shares on the bid: 20 x a 50-share child
    execution = engine.submit(intent(50, cid="W"))
    await until_state(execution, "MONITORING")
    await until(lambda: "GR069" in [a.code.name for a in execution.ctx.alerts], what="a wait")
    assert broker.calls_of("modify") == []
    wait = next(a for a in execution.ctx.alerts if a.code.name == "GR069")
    assert wait.details["action"] == "wait" and wait.details["child"] == "W-1"
    assert wait.details["tick_bps"] == "14.3" and wait.details["ahead"] == "1000"
    assert float(wait.details["left_pct"]) >= 40
    broker.fill_child("W-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"


async def test_a_long_queue_ahead_moves(broker: ScriptedBroker,
                                        new_engine: EngineFactory) -> None:
    broker.set_quote(70_000, 70_100, bid_size=50_000)  # 1 000 x the child: never reached
    engine = new_engine(**WIDE)
    execution = engine.submit(intent(50, cid="M"))
    await until_state(execution, "MONITORING")
    await until(lambda: bool(broker.calls_of("modify")), what="a move")
    assert broker.calls_of("modify")[0].price == Decimal(70_100)
    assert "GR069" not in [a.code.name for a in execution.ctx.alerts]


async def test_little_time_left_moves_even_with_a_short_queue(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**(WIDE | {"queue_wait_max_pct_left": 99.0}))
    execution = engine.submit(intent(50, cid="T"))
    await until_state(execution, "MONITORING")
    await until(lambda: bool(broker.calls_of("modify")), what="a move")
    assert "GR069" not in [a.code.name for a in execution.ctx.alerts]


async def test_a_narrow_tick_moves_as_before(broker: ScriptedBroker,
                                             new_engine: EngineFactory) -> None:
    engine = new_engine(**(WIDE | {"wide_tick_bps": Decimal(20)}))  # 14.3 < 20
    execution = engine.submit(intent(50, cid="N"))
    await until_state(execution, "MONITORING")
    await until(lambda: bool(broker.calls_of("modify")), what="a move")
    assert "GR069" not in [a.code.name for a in execution.ctx.alerts]


async def test_the_brokers_queue_position_is_preferred_to_the_visible_size(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    broker.set_quote(70_000, 70_100, bid_size=50_000)  # the level is long...
    broker.queue_ahead = lambda order_id: 100  # type: ignore[attr-defined]  # ...but we are near its front
    engine = new_engine(**WIDE)
    execution = engine.submit(intent(50, cid="Q"))
    await until_state(execution, "MONITORING")
    await until(lambda: "GR069" in [a.code.name for a in execution.ctx.alerts], what="a wait")
    wait = next(a for a in execution.ctx.alerts if a.code.name == "GR069")
    assert wait.details["ahead"] == "100"
    assert broker.calls_of("modify") == []


async def test_high_urgency_takes_the_far_touch_on_a_wide_tick_by_default(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**WIDE)  # one 100 KRW tick at 70 000: 14.3 bps
    execution = engine.submit(intent(50, urgency=Urgency.HIGH, cid="H"))
    await until_state(execution, "MONITORING")
    assert broker.calls_of("send")[0].price == Decimal(70_100)
    assert "GR069" not in [a.code.name for a in execution.ctx.alerts]


async def test_high_urgency_joins_a_wide_tick_when_the_limits_say_so(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(**WIDE, high_urgency_joins_wide_tick=True)
    execution = engine.submit(intent(50, urgency=Urgency.HIGH, cid="J"))
    await until_state(execution, "MONITORING")
    assert broker.calls_of("send")[0].price == Decimal(70_000)
    join = next(a for a in execution.ctx.alerts if a.code.name == "GR069")
    assert join.details["action"] == "join"
