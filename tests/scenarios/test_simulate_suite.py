"""``scalpchart simulate --suite DIR``: one table, JSON by scenario, targets decide the exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution.cli import main

SCENARIO = """version: 1
name: {name}
seed: 3
start: "2024-06-03 10:00"
horizon_s: 20
market:
  queue_model: probabilistic
  symbols:
    "005930": {{weight: 1}}
latency:
  order_entry: {{model: constant, ms: 5}}
  modify_cancel: {{model: constant, ms: 5}}
  fill_notification: {{model: constant, ms: 5}}
intents:
  count: 3
  size: {{min: 10, max: 200}}
  urgency: {{{urgency}: 1}}
targets: {targets}
"""
EASY = ("{max_slippage_bps: 10000, shortfall_reduction_vs_market: -1000, "
        "fully_filled_ratio: 0, at_least_peg_cross: false}")
# HIGH urgency takes the far touch: a positive slippage, so a 0 bps cap is missed
HARD = "{fully_filled_ratio: 1, max_slippage_bps: 0, shortfall_reduction_vs_market: 1}"


def _write(folder: Path, name: str, targets: str) -> None:
    urgency = "high" if targets == HARD else "normal"
    (folder / f"{name}.yaml").write_text(
        SCENARIO.format(name=name, targets=targets, urgency=urgency), encoding="utf-8")


def test_suite_met_is_exit_0_with_one_table(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "alpha", EASY)
    _write(tmp_path, "beta", EASY)
    assert main(["simulate", "--suite", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "beta" in out and "2 of 2 scenarios met every target" in out
    for strategy in ("engine", "market", "passive"):
        assert strategy in out


def test_suite_json_and_a_miss_is_exit_1(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "easy", EASY)
    _write(tmp_path, "hard", HARD)
    assert main(["simulate", "--suite", str(tmp_path), "--format", "json",
                 "--no-progress"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert set(data["scenarios"]) == {"easy", "hard"}
    assert data["scenarios"]["easy"]["targets"]["met"] is True
    hard = data["scenarios"]["hard"]["targets"]
    assert hard["met"] is False and "slippage_cap" in hard["missed"]  # HIGH: far touch
    assert data["missed"] == {"hard": hard["missed"]}
    assert "targets missed: hard" in captured.err
    fills = data["scenarios"]["easy"]["per_intent"][0]["engine"]["fills"]
    assert all(set(f) == {"ts", "price", "qty", "phase"} for f in fills)


def test_suite_bad_folder_is_exit_2_and_a_bad_scenario_its_findings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--suite", str(tmp_path / "nope")]) == 2
    assert main(["simulate", "--suite", str(tmp_path)]) == 2  # empty
    assert main(["simulate", "--suite", str(tmp_path), "--scenario", "default"]) == 2
    (tmp_path / "bad.yaml").write_text("version: 1\nname: x\n", encoding="utf-8")
    assert main(["simulate", "--suite", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not a directory" in err and "no scenario" in err and "exclude each other" in err
    assert "bad.yaml:1:1:" in err


def test_the_table_shows_the_shortfall_by_urgency() -> None:
    from execution.simulate.suite import by_urgency, suite_table

    def report(groups: dict[str, float]) -> dict[str, object]:
        return {"by_urgency": {u: {"shortfall_bps": {"mean": m}} for u, m in groups.items()}}

    assert by_urgency(report({"low": -1.26, "normal": -1.37, "high": 7.61})) \
        == "-1.3 / -1.4 / 7.6"
    assert by_urgency(report({"high": 8.16})) == "- / - / 8.2"  # a mix without low/normal
    columns = [c.header for c in suite_table({"scenarios": {}}).columns]
    assert "IS low/normal/high" in columns
