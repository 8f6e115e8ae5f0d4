"""The shipped suite (``config/scenarios``) at each scenario's own intent count: the market
rules hold for every strategy and the engine reconciles. Its targets are the engine's
business (reported by ``make suite``), not asserted here. Run with ``pytest -m suite``."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.simulate.suite import load_suite, run_suite

SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


@pytest.mark.suite
@pytest.mark.timeout(3600)
def test_shipped_suite_keeps_the_market_rules() -> None:
    suite = run_suite(load_suite(SCENARIOS))
    assert len(suite.data["scenarios"]) >= 10
    for name, report in suite.data["scenarios"].items():
        targets = report["targets"]
        assert targets["session_rules"]["met"], (name, targets["session_rules"])
        assert targets["reconciliation"]["met"], (name, report["reconciliation"])
