"""The command line's surface: --version, help for every flag with its default, no RST in
help, bare `scalpchart`, `python -m execution`, errors as JSON under --format json."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from execution.cli import main
from execution.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[4]


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    found = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, f"{name} {sub}")

    walk(build_parser(), "scalpchart")
    return found


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("scalpchart ")


def test_every_flag_has_help_and_its_default() -> None:
    for name, parser in parsers():
        help_text = parser.format_help()
        assert "``" not in help_text, name  # no RST markup
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest}: no help"
            default = action.default
            if action.option_strings and default not in (None, False, [], argparse.SUPPRESS):
                line = parser._get_formatter()._get_help_string(action) or ""
                assert "default" in line, f"{name} {action.option_strings}: default not shown"


def test_bare_scalpchart_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: scalpchart") and "simulate" in err and "init" in err


def test_python_dash_m_execution() -> None:
    done = subprocess.run([sys.executable, "-m", "execution", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.startswith("scalpchart ")


@pytest.mark.parametrize("argv", [
    ("run", "--symbol", "005930", "--format", "json"),  # --side, --qty missing (ours)
    ("run", "--qty", "-3", "--format", "json"),  # argparse's
    ("validate", "{tmp}/missing.yaml", "--format", "json"),  # unreadable
    ("matrix", "--format=json", "{tmp}/missing.yaml"),
])
def test_usage_errors_are_json_under_format_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, out, err = cli(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert code == 2 and err == ""
    data = json.loads(out)
    assert data["error"] == "usage"
    [finding] = data["findings"]
    assert set(finding) == {"file", "line", "column", "rule", "message"}
    assert finding["rule"] == "usage" and finding["message"]


def test_findings_are_json_under_format_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "chart.yaml"
    chart.write_text((ROOT / "config" / "scalp_execution.yaml").read_text(encoding="utf-8")
                     .replace("target: FAILED, code", "target: FAILD, code"), encoding="utf-8")
    code, out, _ = cli(capsys, "run", "--chart", chart, "--symbol", "005930", "--side", "buy",
                       "--qty", "1", "--clock", "virtual", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["error"] == "invalid"
    assert {f["rule"] for f in data["findings"]} == {"unknown-state"}
    assert all(f["file"] == str(chart) and f["line"] > 0 for f in data["findings"])
