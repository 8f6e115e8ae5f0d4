"""The ``peg_cross`` baseline: join the near touch, re-peg at most once a second when the
touch moves away, cross at half the horizon, never beyond the slippage maximum."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Quote, Side
from execution.simulate.pegcross import (
    REPEG_MIN_S,
    PegCross,
    cross_price,
    moved_away,
    peg_price,
)
from execution.simulate.run import simulate
from execution.simulate.scenario import load_scenario
from execution.testing import ScriptedBroker, intent

D = Decimal
ARRIVAL = D(70_050)  # the scripted broker's mid: the 50 bps cap is 70 400 (buy), 69 700 (sell)
CAP = D(50)
CROSS_AT = 30.0


def _quote(bid: int, ask: int) -> Quote:
    return Quote("005930", D(bid), D(ask), 1_000, 1_000, 0)


def _algo(side: Side = Side.BUY, limit: int | None = None) -> tuple[ScriptedBroker, PegCross]:
    broker = ScriptedBroker()
    return broker, PegCross(broker, intent(50, side, limit=limit, cid="PC"), ARRIVAL, CAP)


def test_prices() -> None:
    assert peg_price(Side.BUY, _quote(70_000, 70_100), ARRIVAL, None, CAP) == D(70_000)
    assert peg_price(Side.SELL, _quote(70_000, 70_100), ARRIVAL, None, CAP) == D(70_100)
    assert cross_price(Side.BUY, _quote(70_000, 70_100), ARRIVAL, None, CAP) == D(70_100)
    # the far touch beyond the cap: capped at the slippage maximum, both sides
    assert cross_price(Side.BUY, _quote(70_900, 71_000), ARRIVAL, None, CAP) == D(70_400)
    assert cross_price(Side.SELL, _quote(69_000, 69_100), ARRIVAL, None, CAP) == D(69_700)
    # and the intent's own limit
    assert cross_price(Side.BUY, _quote(70_000, 70_100), ARRIVAL, D(70_050), CAP) == D(70_000)
    assert moved_away(Side.BUY, _quote(70_100, 70_200), D(70_000))
    assert not moved_away(Side.BUY, _quote(69_900, 70_000), D(70_000))
    assert moved_away(Side.SELL, _quote(69_900, 70_000), D(70_100))


async def test_joins_the_near_touch_and_repegs_at_most_once_a_second() -> None:
    broker, algo = _algo()
    await algo.step(0.0, CROSS_AT)
    assert [(c.kind, c.price) for c in broker.calls] == [("send", D(70_000))]
    broker.set_quote(70_100, 70_200)  # the bid moves away at 0.2 s
    await algo.step(0.2, CROSS_AT)
    assert broker.calls_of("modify") == []  # less than a second since the peg
    await algo.step(REPEG_MIN_S, CROSS_AT)
    assert [c.price for c in broker.calls_of("modify")] == [D(70_100)]
    broker.set_quote(70_200, 70_300)
    await algo.step(1.5, CROSS_AT)
    assert len(broker.calls_of("modify")) == 1
    await algo.step(2.0, CROSS_AT)
    assert [c.price for c in broker.calls_of("modify")] == [D(70_100), D(70_200)]
    assert algo.repegs == 2
    broker.set_quote(70_100, 70_200)  # the touch comes back toward us: no re-peg
    await algo.step(5.0, CROSS_AT)
    assert len(broker.calls_of("modify")) == 2


async def test_crosses_at_half_the_horizon_capped_at_the_maximum() -> None:
    broker, algo = _algo()
    await algo.step(0.0, CROSS_AT)
    await algo.step(29.9, CROSS_AT)
    assert broker.calls_of("modify") == []
    await algo.step(CROSS_AT, CROSS_AT)  # half the horizon: the far touch
    assert [c.price for c in broker.calls_of("modify")] == [D(70_100)]
    assert algo.crossed
    broker.set_quote(70_800, 70_900)  # the market runs 1.2 % away: chase no further than cap
    await algo.step(CROSS_AT + 1, CROSS_AT)
    assert [c.price for c in broker.calls_of("modify")] == [D(70_100), D(70_400)]
    await algo.step(CROSS_AT + 3, CROSS_AT)
    assert len(broker.calls_of("modify")) == 2  # already at the cap


async def test_a_sell_crosses_down_to_the_cap() -> None:
    broker, algo = _algo(Side.SELL)
    await algo.step(0.0, CROSS_AT)
    assert broker.calls_of("send")[0].price == D(70_100)
    broker.set_quote(69_000, 69_100)
    await algo.step(CROSS_AT, CROSS_AT)
    assert broker.calls_of("modify")[0].price == D(69_700)


def test_in_the_report_it_stays_inside_the_cap_and_reconciles() -> None:
    data = simulate(load_scenario(), intents=6, seed=11).data
    assert "peg_cross" in data["baselines"]
    rows = [row["peg_cross"] for row in data["per_intent"]]
    assert all(r["slippage_bps"] is None or r["slippage_bps"] <= 50 for r in rows)
    recon = data["reconciliation"]["peg_cross"]
    assert recon["filled_qty"] == recon["exchange_filled_qty"]
    assert recon["mismatched_intents"] == []
