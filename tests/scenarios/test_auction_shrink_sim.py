"""The shrink policy end to end on the simulated exchange: ``vi_day`` (a forced VI at
10:12 and organic static VIs) with ``session.auction_policy: shrink``. The engine's
account must still be the exchange's (the order-truth invariant the report checks), and
the policy must have acted (its GR067 shrink/restore alerts on top of the pauses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution import paths
from execution.simulate.metrics import reconciliation_clean
from execution.simulate.run import simulate
from execution.simulate.scenario import load_scenario

INTENTS, SEED = 12, 5


def _limits(tmp_path: Path, keep_pct: int) -> Path:
    text = paths.default_limits().read_text(encoding="utf-8")
    text = text.replace("auction_policy: keep ", "auction_policy: shrink ")
    text = text.replace("auction_keep_pct: 50 ", f"auction_keep_pct: {keep_pct} ")
    path = tmp_path / f"limits-shrink-{keep_pct}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("keep_pct", [50, 0])
def test_shrink_through_a_forced_vi_reconciles(tmp_path: Path, keep_pct: int) -> None:
    scenario = load_scenario(paths.config_dir() / "scenarios" / "vi_day.yaml")
    assert [symbol for _, symbol in scenario.forced_vi] == ["KQ0002"]  # a forced VI
    keep = simulate(scenario, intents=INTENTS, seed=SEED).data
    shrink = simulate(scenario, intents=INTENTS, seed=SEED,
                      limits=_limits(tmp_path, keep_pct)).data
    assert reconciliation_clean(shrink["reconciliation"]["engine"]), shrink["reconciliation"]
    engine = shrink["engine"]
    assert engine["filled_qty"] <= engine["qty"]
    assert shrink["reconciliation"]["engine"]["overfilled_intents"] == []
    # the same pauses as with keep, plus the shrink (and restore) alerts
    assert engine["codes"]["GR067"] > keep["engine"]["codes"]["GR067"]
