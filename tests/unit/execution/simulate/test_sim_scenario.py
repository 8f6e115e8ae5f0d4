"""Scenario files: the shipped ones load; KRX phases (boards, base prices, VI rates, forced
VIs, arrival windows, targets); errors point at FILE:LINE:COL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from execution.market_session import KST, epoch_ns
from execution.sim.queues import QueueModel
from execution.simulate.intents import arrival_ns, intent_faults, make_intent, size_bucket
from execution.simulate.scenario import Scenario, Targets, load_scenario
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


# KRX phases: boards, base prices, VI rates, forced VIs, arrival windows, targets
LATE = BASE.replace("seed: 1\n", 'seed: 1\nstart: "2024-06-03 15:18"\n')


def _load(tmp_path: Path, text: str) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(DocumentInvalid) as err:
        _load(tmp_path, text)
    return [str(p) for p in err.value.problems]


def test_defaults_keep_old_files_valid(tmp_path: Path) -> None:
    scenario = _load(tmp_path, LATE)
    assert scenario.sessions and scenario.arrivals is None and scenario.forced_vi == ()
    assert scenario.targets == Targets()
    spec = scenario.symbols["005930"]
    assert spec.board == "kospi200" and spec.vi_rates.dynamic_continuous == 0.03


def test_symbol_class_base_price_vi_events_arrivals_targets(tmp_path: Path) -> None:
    text = LATE.replace('"005930": {weight: 1}', (
        '"KQ0001": {weight: 1, board: kosdaq, base_price: 2450, typical_size: 9000,'
        ' daily_vol: 0.04, vi: {dynamic_continuous: 0.05}}')) + (
        'arrivals: {from: "15:18", to: "15:21"}\n'
        'events:\n  - {at: "15:25:30", symbol: "KQ0001", event: vi}\n'
        'rules: {vi_s: 60}\n'
        'targets: {max_slippage_bps: 40, at_least_peg_cross: false}\n')
    scenario = _load(tmp_path, text)
    spec = scenario.symbols["KQ0001"]
    assert spec.board == "kosdaq" and spec.ref_price == 2450
    assert (spec.vi_rates.dynamic_continuous, spec.vi_rates.dynamic_closing) == (0.05, 0.04)
    assert scenario.rules.vi_s == 60
    assert scenario.forced_vi == ((datetime(2024, 6, 3, 15, 25, 30, tzinfo=KST), "KQ0001"),)
    assert scenario.targets.max_slippage_bps == 40 and not scenario.targets.at_least_peg_cross
    lo, hi = (epoch_ns(t) for t in scenario.arrivals or ())
    times = {arrival_ns(scenario, 1, i) for i in range(50)}
    assert all(lo <= t < hi for t in times) and len(times) > 40


def test_errors_point_at_the_line(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    text = LATE.replace('"005930": {weight: 1}', (
        '"005930": {weight: 1, board: nasdaq, ref_price: 75000, base_price: 75000}')) + (
        'arrivals: {from: "15:21", to: "15:18"}\n'
        'events:\n  - {at: "25:00", symbol: "000660", event: vi}\n')
    problems = _problems(tmp_path, text)
    assert any(p.startswith(f"{file}:8:") and "[schema]" in p and "nasdaq" in p
               for p in problems), problems
    text = LATE.replace('"005930": {weight: 1}', (
        '"005930": {weight: 1, ref_price: 75000, base_price: 75000}')) + (
        'arrivals: {from: "15:21", to: "15:18"}\n'
        'events:\n  - {at: "10:00", symbol: "000660", event: vi}\n')
    problems = _problems(tmp_path, text)
    assert any(f"{file}:8:" in p and "not both" in p for p in problems), problems
    assert any(f"{file}:17:" in p and "not in market.symbols" in p for p in problems), problems
    problems = _problems(tmp_path, LATE + 'arrivals: {from: "15:21", to: "15:18"}\n')
    assert any(f"{file}:15:" in p and "[scenario]" in p and "must be before" in p
               for p in problems), problems
    problems = _problems(tmp_path, LATE + 'arrivals: {from: "15:61", to: "15:70"}\n')
    assert any("invalid time of day '15:61'" in p for p in problems), problems


def test_events_need_the_krx_phases(tmp_path: Path) -> None:
    # Found by the market fuzz (seed 2087): a forced VI with ``sessions: false`` crashed
    # the exchange's driver (an AssertionError on the event loop) instead of an error here.
    file = tmp_path / "s.yaml"
    text = LATE + ('sessions: false\n'
                   'events:\n  - {at: "15:19", symbol: "005930", event: vi}\n')
    problems = _problems(tmp_path, text)
    assert any(p.startswith(f"{file}:16:") and "[scenario]" in p and "sessions" in p
               for p in problems), problems
