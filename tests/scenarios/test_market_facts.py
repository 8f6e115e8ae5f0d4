"""The simulated market keeps its stylized facts: same market, whatever the engine inside.

For every shipped scenario and each of its symbols, :mod:`execution.simulate.facts`
measures the spread distribution, the trade rate and size, the volatility of
the mid over the horizon, the depth at the touch, and how a passive order at
the touch fills. ``market_facts_before.json`` holds the same figures measured
with the step-based simulator (50 ms steps) before the book became event
driven, over 400 paths; they are the reference.

What counts as the same market (the tolerances below):

- spread: mean within 0.015 tick, one-tick share within 1.5 points;
- trades a second within 4 %, volume a second within 6 %, print size (mean
  and median) within 5 % (a median at least within one share);
- the mid's volatility over the horizon within 10 %;
- the displayed depth at the touch within 5 %;
- a passive order of 5 % of the typical size joining the bid: its mean filled
  fraction and its share of full fills within the horizon within 8 points.

(Measured after the change, over the same 400 paths, the largest differences
were 1.3 % on the trade count, 1.7 % on volume, 1 % on print size, 0.5 point
on the one-tick spread share, 0.7 % on touch depth, 4 % on the volatility and 3
points on passive fills: see BENCHMARKS.md.)

The default run uses fewer paths, so its tolerances add three standard errors
of that sample (measured: relative SE of the vol ratio ~0.11 at 40 paths, of
a passive fill share ~0.05); the ``slow`` run uses the reference's 400 paths.
Against the parameters alone (no reference), the figures must also be
plausible: marketable orders print at least ``2 x flow rate`` times a second,
the mid's volatility is the fair value's, and the touch shows a sizeable
fraction of the typical size.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from execution.simulate.facts import expected_from_parameters, measure
from execution.simulate.scenario import Scenario, load_scenario

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parents[1] / "config" / "scenarios"
REFERENCE = json.loads((HERE / "market_facts_before.json").read_text(encoding="utf-8"))
CASES = sorted(
    f"{path.stem}/{symbol}"
    for path in SCENARIOS.glob("*.yaml")
    for symbol, weight in load_scenario(path).symbol_weights.items()
    if weight > 0
)

# fact -> (kind, tolerance at the reference's 400 paths, relative SE of one 40-path sample)
TOLERANCES: dict[str, tuple[str, float, float]] = {
    "spread_mean_ticks": ("abs", 0.015, 0.005),
    "spread_one_tick_share": ("abs", 0.015, 0.005),
    "trades_per_s": ("rel", 0.04, 0.012),
    "volume_per_s": ("rel", 0.06, 0.026),
    "trade_size_mean": ("rel", 0.05, 0.016),
    "trade_size_median": ("rel", 0.05, 0.015),
    "mid_vol_ratio": ("rel", 0.10, 0.112),
    "touch_depth_ratio": ("rel", 0.05, 0.025),
    "passive_filled_fraction": ("abs", 0.08, 0.054),
    "passive_full_fill_share": ("abs", 0.08, 0.051),
}


# Scenarios added after the event-driven book (issue 13's suite) have no step-based
# reference: they are checked against their parameters only.
REFERENCED = [case for case in CASES if case in REFERENCE["facts"]]
NEW = [case for case in CASES if case not in REFERENCE["facts"]]


def test_every_reference_scenario_is_still_shipped() -> None:
    assert sorted(REFERENCE["facts"]) == REFERENCED


def _allowed(fact: str, expected: float, paths: int) -> float:
    kind, tolerance, se40 = TOLERANCES[fact]
    noise = 3 * se40 * math.sqrt(40 / paths) if paths < REFERENCE["paths"] else 0.0
    allowed = tolerance + noise
    allowed = allowed * abs(expected) if kind == "rel" else allowed
    return max(allowed, 1.0) if fact == "trade_size_median" else allowed


def _check(case: str, paths: int) -> None:
    scenario_name, symbol = case.split("/")
    scenario = load_scenario(SCENARIOS / f"{scenario_name}.yaml")
    facts = measure(scenario, symbol, paths=paths)
    if case not in REFERENCE["facts"]:
        _plausible(facts, scenario, symbol)
        return
    expected = REFERENCE["facts"][case]
    misses = [
        f"{fact}: {facts[fact]:.4f}, reference {expected[fact]:.4f} "
        f"(allowed +-{_allowed(fact, expected[fact], paths):.4f})"
        for fact in TOLERANCES
        if abs(facts[fact] - expected[fact]) > _allowed(fact, expected[fact], paths)
    ]
    assert not misses, f"{case} is not the same market:\n" + "\n".join(misses)
    _plausible(facts, scenario, symbol)


def _plausible(facts: dict[str, float], scenario: Scenario, symbol: str) -> None:
    spec, params = scenario.symbols[symbol], scenario.book
    prior = expected_from_parameters(spec, params)
    assert facts["trades_per_s"] >= 0.95 * prior["orders_per_s"]
    assert facts["trade_size_median"] >= 0.8 * prior["order_size_median"]
    assert 0.5 < facts["mid_vol_ratio"] / prior["mid_vol_ratio"] < 1.6
    assert 0.3 < facts["touch_depth_ratio"] / prior["touch_depth_ratio"] < 1.2


@pytest.mark.parametrize("case", CASES)
def test_the_market_keeps_its_stylized_facts(case: str) -> None:
    _check(case, paths=30)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_the_market_keeps_its_stylized_facts_at_the_reference_sample_size(case: str) -> None:
    _check(case, paths=REFERENCE["paths"])
