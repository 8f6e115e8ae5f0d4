"""Scenario YAML for KRX phases: boards, base prices, VI rates, forced VIs, arrival windows,
targets; errors as FILE:LINE:COL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from execution.market_session import KST, epoch_ns
from execution.simulate.intents import arrival_ns
from execution.simulate.scenario import Scenario, Targets, load_scenario
from statecharts.errors import DocumentInvalid

BASE = """version: 1
name: t
seed: 1
start: "2024-06-03 15:18"
market:
  queue_model: probabilistic
  symbols:
    "005930": {weight: 1}
latency:
  order_entry: {model: constant, ms: 1}
  modify_cancel: {model: constant, ms: 1}
  fill_notification: {model: constant, ms: 1}
intents:
  size: {min: 10, max: 100}
"""


def _load(tmp_path: Path, text: str) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(DocumentInvalid) as err:
        _load(tmp_path, text)
    return [str(p) for p in err.value.problems]


def test_defaults_keep_old_files_valid(tmp_path: Path) -> None:
    scenario = _load(tmp_path, BASE)
    assert scenario.sessions and scenario.arrivals is None and scenario.forced_vi == ()
    assert scenario.targets == Targets()
    spec = scenario.symbols["005930"]
    assert spec.board == "kospi200" and spec.vi_rates.dynamic_continuous == 0.03


def test_symbol_class_base_price_vi_events_arrivals_targets(tmp_path: Path) -> None:
    text = BASE.replace('"005930": {weight: 1}', (
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
    text = BASE.replace('"005930": {weight: 1}', (
        '"005930": {weight: 1, board: nasdaq, ref_price: 75000, base_price: 75000}')) + (
        'arrivals: {from: "15:21", to: "15:18"}\n'
        'events:\n  - {at: "25:00", symbol: "000660", event: vi}\n')
    problems = _problems(tmp_path, text)
    assert any(p.startswith(f"{file}:8:") and "[schema]" in p and "nasdaq" in p
               for p in problems), problems
    text = BASE.replace('"005930": {weight: 1}', (
        '"005930": {weight: 1, ref_price: 75000, base_price: 75000}')) + (
        'arrivals: {from: "15:21", to: "15:18"}\n'
        'events:\n  - {at: "10:00", symbol: "000660", event: vi}\n')
    problems = _problems(tmp_path, text)
    assert any(f"{file}:8:" in p and "not both" in p for p in problems), problems
    assert any(f"{file}:17:" in p and "not in market.symbols" in p for p in problems), problems
    problems = _problems(tmp_path, BASE + 'arrivals: {from: "15:21", to: "15:18"}\n')
    assert any(f"{file}:15:" in p and "[scenario]" in p and "must be before" in p
               for p in problems), problems
    problems = _problems(tmp_path, BASE + 'arrivals: {from: "15:61", to: "15:70"}\n')
    assert any("invalid time of day '15:61'" in p for p in problems), problems
