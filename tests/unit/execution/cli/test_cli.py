"""The scalpchart command line: exit codes, output formats, default paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution.cli import main

ROOT = Path(__file__).resolve().parents[4]
CHART = ROOT / "config" / "scalp_execution.yaml"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_shipped_chart_and_limits(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "validate", str(CHART), "--limits",
                           str(ROOT / "config" / "limits.yaml"))
    assert code == 0
    assert out.strip().endswith(f": chart ok, limits ok ({ROOT / 'config' / 'limits.yaml'})")


def test_validate_reports_every_problem_with_position(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = CHART.read_text(encoding="utf-8")
    text = text.replace("initial: INIT", "initial: INIT\nbogus: 1", 1)
    text = text.replace("    entry: split\n", "    entry: split\n    final: yes\n", 1)
    broken = tmp_path / "chart.yaml"
    broken.write_text(text, encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate", str(broken), "--format", "json")
    assert code == 1
    problems = json.loads(out)["findings"]
    # The document could still be read: the YAML trap and the schema finding come together.
    assert sorted(p["rule"] for p in problems) == ["schema", "yaml-trap"]
    trap = next(p for p in problems if p["rule"] == "yaml-trap")
    assert trap["message"].endswith("this field is a boolean: write true")
    assert trap["file"] == str(broken) and trap["line"] > 10 and trap["column"] > 0
    text = text.replace("    final: yes\n", "")
    broken.write_text(text, encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate", str(broken))
    assert code == 1
    line = out.strip().splitlines()[0]
    assert line.startswith(f"{broken}:") and "[schema] unknown key 'bogus'" in line


def test_validate_limits_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    limits = tmp_path / "limits.yaml"
    original = (ROOT / "config" / "limits.yaml").read_text(encoding="utf-8")
    limits.write_text(original.replace("max_rounds: 3", "max_rounds: three"), encoding="utf-8")
    code, out, _ = run_cli(capsys, "validate", "--limits", str(limits), "--format", "json")
    assert code == 1
    [problem] = json.loads(out)["findings"]
    assert problem["rule"] == "schema" and problem["path"] == "adjust.max_rounds"
    expected_line = original.splitlines().index(
        next(x for x in original.splitlines() if "max_rounds" in x)) + 1
    assert problem["line"] == expected_line


def test_unreadable_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "validate", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot read" in err


def test_matrix_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "matrix", "--format", "json")
    assert code == 0
    matrix = json.loads(out)
    assert set(matrix) == {"states", "events", "cells"}
    assert len(matrix["states"]) == 10
    assert matrix["cells"]["INIT"]["start"] == [{"target": "PRECHECK", "guard": None}]
    assert matrix["cells"]["ESCAPING"]["escape"] == []
    assert all(cell == [] for cell in matrix["cells"]["COMPLETE"].values())


def test_matrix_csv(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "matrix", "--format", "csv")
    assert code == 0
    header, *rows = out.strip().splitlines()
    assert header.startswith("state,start,checked")
    assert len(rows) == 10


def test_render_dot_to_stdout_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "render")
    assert code == 0 and out.startswith("digraph scalp_execution")
    target = tmp_path / "chart.dot"
    code, _, _ = run_cli(capsys, "render", "-o", str(target))
    assert code == 0 and target.read_text(encoding="utf-8") == out


def test_run_json_has_the_contract_keys(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "run.json"
    code, out, _ = run_cli(capsys, "run", "--symbol", "005930", "--side", "buy", "--qty", "50",
                           "--urgency", "high", "--format", "json", "--trace-out", str(trace))
    data = json.loads(out)
    for key in ("final_state", "path", "alerts", "children", "fills", "filled_qty", "avg_price",
                "arrival_price", "slippage_bps", "stage_latency_us"):
        assert key in data
    assert code == (0 if data["final_state"] == "COMPLETE" else 1)
    assert data["path"][0]["state"] == "INIT"
    assert sum(c["qty"] for c in data["children"]) == 50
    assert json.loads(trace.read_text(encoding="utf-8")) == data
    code, out, _ = run_cli(capsys, "render", "--trace", str(trace))
    assert code == 0 and "penwidth=2.5" in out


def test_run_unknown_symbol_fails_with_fs091(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "--symbol", "999999", "--side", "sell", "--qty", "10",
                           "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["final_state"] == "FAILED"
    assert [a["code"] for a in data["alerts"]] == ["FS091"]


def test_run_market_closed_fails(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "--symbol", "005930", "--side", "buy", "--qty", "10",
                           "--market-closed", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["final_state"] == "FAILED"
    assert data["reason"].startswith("market_closed:")


def test_run_rejects_a_bad_fault_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--symbol", "005930", "--side", "buy", "--qty", "1",
                 "--broker-faults", "nonsense"])
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
