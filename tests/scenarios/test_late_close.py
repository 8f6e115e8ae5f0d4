"""Late intents run into the closing call auction: no continuous fill after 15:20."""

from __future__ import annotations

from pathlib import Path

from execution.contracts import MarketPhase
from execution.market_session import epoch_ns, parse_at
from execution.simulate.run import simulate
from execution.simulate.scenario import load_scenario
from execution.simulate.targets import session_violations

LATE = Path(__file__).resolve().parents[2] / "config" / "scenarios" / "late_close.yaml"


def test_late_intents_get_no_continuous_fill_after_1520() -> None:
    report = simulate(load_scenario(LATE), intents=8, seed=5)
    close_start = epoch_ns(parse_at("2024-06-03 15:20"))
    for name, outcomes in report.outcomes.items():
        assert session_violations(outcomes) == [], name
        for outcome in outcomes:
            for fill in outcome.fills:
                if fill.ts_ns >= close_start:
                    assert fill.phase is MarketPhase.CLOSING_AUCTION, (name, fill)
    assert report.data["targets"]["session_rules"]["met"]
    for row in report.data["per_intent"]:
        for fill in row["engine"]["fills"]:
            assert fill["ts"].endswith("+09:00") and fill["phase"] in (
                "continuous", "closing_auction")
    arrivals = {o.arrival_ns for o in report.outcomes["engine"]}
    assert any(t >= close_start for t in arrivals), "some intents arrive after 15:20"
