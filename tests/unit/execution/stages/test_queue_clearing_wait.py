"""GR069 ``wait_clearing``: past ``queue_wait_max_pct_left``, a wide-tick child at the near
touch waits on while its queue ahead and its own rest are expected to trade (at the rate
the queue has cleared so far) before ``queue_clear_min_pct_left`` % of its window is
left; a queue that does not clear, or clears too slowly, lets it move as before."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from execution.contracts import Urgency
from execution.orders import phase
from execution.testing import EngineFactory, ScriptedBroker, finish, intent, until, until_state

# 005930 at 70 000 on the 100 KRW tick (14.3 bps: wide). Every look is past the
# queue_wait_max_pct_left line; the first round comes at 10 % of a 3 s window.
PAST_THE_LINE = {"wide_tick_bps": Decimal(10), "queue_wait_max_pct_left": 100.0,
                 "queue_wait_max_ahead_x": 1e9, "queue_clear_min_pct_left": 10.0,
                 "adjust_interval_ms": 20,
                 "first_round_pct": {u: 10.0 for u in Urgency},
                 "last_round_pct": {u: 10.0 for u in Urgency}}
WINDOW = {"MONITORING": 3000}


@pytest.fixture(autouse=True)
def short_rate_look(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phase, "QUEUE_RATE_MIN_S", 0.1)


def clearing_queue(broker: ScriptedBroker, start: int, per_s: float) -> None:
    """The queue ahead of any order: ``start`` shares, clearing at ``per_s`` a second."""
    began = time.monotonic()
    broker.queue_ahead = (  # type: ignore[attr-defined]
        lambda order_id: max(0, int(start - per_s * (time.monotonic() - began))))


def actions(execution: object) -> list[str]:
    return [a.details.get("action", "") for a in execution.ctx.alerts  # type: ignore[attr-defined]
            if a.code.name == "GR069"]


async def test_a_queue_clearing_in_time_is_waited_for(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    clearing_queue(broker, 1000, 2000.0)  # 1 050 shares to trade at 2 000/s: ~0.5 s
    engine = new_engine(timeouts=WINDOW, **PAST_THE_LINE)
    execution = engine.submit(intent(50, cid="C"))
    await until_state(execution, "MONITORING")
    await until(lambda: "wait_clearing" in actions(execution), what="a clearing wait")
    assert broker.calls_of("modify") == []
    wait = next(a for a in execution.ctx.alerts if a.details.get("action") == "wait_clearing")
    assert float(wait.details["rate_per_s"]) > 0 and float(wait.details["clears_in_s"]) < 2.7
    broker.fill_child("C-1")
    assert (await finish(execution)).final_state == "COMPLETE"


@pytest.mark.parametrize("per_s", [0.0, 10.0])  # never clears / 105 s to clear in a 3 s window
async def test_a_queue_that_will_not_clear_in_time_moves(
        per_s: float, broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    clearing_queue(broker, 1000, per_s)
    engine = new_engine(timeouts=WINDOW, **PAST_THE_LINE)
    execution = engine.submit(intent(50, cid="S"))
    await until_state(execution, "MONITORING")
    await until(lambda: bool(broker.calls_of("modify")), what="a move")
    assert broker.calls_of("modify")[0].price == Decimal(70_100)
    assert "wait_clearing" not in actions(execution)


async def test_without_the_brokers_queue_position_there_is_no_clearing_wait(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    # only the visible size: no rate can be told from it
    engine = new_engine(timeouts=WINDOW, **PAST_THE_LINE)
    execution = engine.submit(intent(50, cid="V"))
    await until_state(execution, "MONITORING")
    await until(lambda: bool(broker.calls_of("modify")), what="a move")
    assert "wait_clearing" not in actions(execution)


async def test_off_when_the_limit_is_zero(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    clearing_queue(broker, 1000, 2000.0)
    engine = new_engine(timeouts=WINDOW,
                         **(PAST_THE_LINE | {"queue_clear_min_pct_left": 0.0}))
    execution = engine.submit(intent(50, cid="Z"))
    await until_state(execution, "MONITORING")
    await until(lambda: bool(broker.calls_of("modify")), what="a move")
    assert "wait_clearing" not in actions(execution)
