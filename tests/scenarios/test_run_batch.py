"""``scalpchart run --batch``: a strategy's intents into one engine, end to end through the
CLI on the simulated exchange (virtual clock)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from execution.cli import main


def _batch(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "intents.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["run", "--clock", "virtual", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_self_trade_daily_limit_and_capital_through_the_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    limits = tmp_path / "limits.yaml"
    text = Path("config/limits.yaml").read_text(encoding="utf-8")
    limits.write_text(text.replace("daily_trade_limit: 100", "daily_trade_limit: 2"),
                      encoding="utf-8")
    batch = _batch(tmp_path, """
- {symbol: "005930", side: buy, qty: 300, id: BUY}
- {symbol: "005930", side: sell, qty: 100, after_ms: 5, id: WASH}
- {symbol: "000660", side: buy, qty: 400, urgency: high, id: BIG}
- {symbol: "035420", side: sell, qty: 10, after_ms: 5, id: THIRD}
""")
    code, data = _run(capsys, "--batch", str(batch), "--cash", "50000000",
                      "--limits", str(limits))
    assert code == 0
    runs = {r["execution_id"]: r for r in data["executions"]}
    assert [r["execution_id"] for r in data["executions"]] == ["BUY", "WASH", "BIG", "THIRD"]
    assert runs["WASH"]["final_state"] == "FAILED" and "GR065" in runs["WASH"]["codes"]
    assert runs["THIRD"]["final_state"] == "FAILED" and "GR062" in runs["THIRD"]["codes"]
    assert "GR061" in runs["BIG"]["codes"]  # reduced: what the cash pays at the worst price
    assert Decimal(data["account"]["cash_krw"]) >= 0
    assert data["account"]["positions"]["005930"] == runs["BUY"]["filled_qty"]
    assert {a["execution_id"] for a in data["alerts"]} >= {"WASH", "THIRD", "BIG"}


def test_a_bad_batch_file_is_refused_with_its_location(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = _batch(tmp_path, "- {symbol: \"005930\", side: hold, qty: 1}\n")
    assert main(["run", "--batch", str(batch)]) == 1
    err = capsys.readouterr().err
    assert f"{batch}:1:" in err and "[schema]" in err


def test_batch_and_a_single_intent_do_not_mix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = _batch(tmp_path, "- {symbol: \"005930\", side: buy, qty: 1}\n")
    assert main(["run", "--batch", str(batch), "--symbol", "005930"]) == 2
    assert "--batch replaces" in capsys.readouterr().err
    assert main(["run", "--side", "buy"]) == 2
    assert "--symbol, --qty required" in capsys.readouterr().err
