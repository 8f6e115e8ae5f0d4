"""Scenario files: the shipped ones load; errors point at FILE:LINE:COL."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.sim.queues import QueueModel
from execution.simulate.intents import intent_faults, make_intent, size_bucket
from execution.simulate.scenario import load_scenario
from statecharts.errors import DocumentInvalid

SCENARIOS = sorted((Path(__file__).resolve().parents[4] / "config" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.mix.count >= 1 and scenario.symbols


def test_default_scenario_is_krx_large_caps() -> None:
    scenario = load_scenario()
    assert scenario.book.queue_model is QueueModel.PROBABILISTIC
    samsung = scenario.symbols["005930"]
    assert samsung.ref_price == 75_000 and samsung.typical_size >= 1_000
    assert scenario.horizon_s == 60


def _broken(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentInvalid) as err:
        load_scenario(path)
    return [str(p) for p in err.value.problems]


BASE = """version: 1
name: t
seed: 1
market:
  queue_model: probabilistic
  symbols:
    "005930": {weight: 1}
latency:
  order_entry: {model: constant, ms: 1}
  modify_cancel: {model: constant, ms: 1}
  fill_notification: {model: lognormal, median_ms: 5, sigma: 0.3}
intents:
  size: {min: 10, max: 100}
"""


def test_minimal_scenario_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE, encoding="utf-8")
    scenario = load_scenario(path)
    intent = make_intent(scenario, 3, 0)
    assert intent == make_intent(scenario, 3, 0)
    assert 10 <= intent.qty <= 100 and intent.symbol == "005930"
    assert intent_faults(scenario, 3, 0) == scenario.faults


def test_schema_errors_are_positioned(tmp_path: Path) -> None:
    text = BASE.replace("queue_model: probabilistic", "queue_model: optimistic")
    problems = _broken(tmp_path, text + "bogus: 1\n")
    assert any(p.startswith(f"{tmp_path / 's.yaml'}:5:16: [schema]") for p in problems), problems
    assert any("unknown key 'bogus'" in p and ":14:" in p for p in problems), problems


def test_cross_checks(tmp_path: Path) -> None:
    text = BASE.replace("{min: 10, max: 100}", "{min: 500, max: 100}").replace(
        '"005930": {weight: 1}', '"123456": {weight: 1}')
    problems = _broken(tmp_path, text)
    assert any("[scenario] size min 500 exceeds max 100" in p for p in problems)
    assert any("unknown symbol 123456" in p for p in problems)


def test_yaml_traps_are_reported(tmp_path: Path) -> None:
    problems = _broken(tmp_path, BASE.replace("seed: 1", "seed: 017"))
    assert any("[yaml-trap]" in p and ":3:7:" in p for p in problems), problems


def test_size_buckets() -> None:
    edges = (100, 1000, 3000)
    assert [size_bucket(q, edges) for q in (1, 100, 999, 1000, 2999, 3000, 10**6)] == [
        "<100", "100-999", "100-999", "1000-2999", "1000-2999", ">=3000", ">=3000"]
