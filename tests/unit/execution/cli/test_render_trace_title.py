"""``render --trace RUN.json``: the drawing is titled with the execution and its outcome."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from execution.cli import main


def test_render_of_a_run_is_titled_with_it(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.json"
    assert main(["run", "--symbol", "005930", "--side", "buy", "--qty", "10", "--clock",
                 "virtual", "--escape-after-ms", "1", "--trace-out", str(run)]) == 1
    data = json.loads(run.read_text(encoding="utf-8"))
    capsys.readouterr()
    assert main(["render", "--trace", str(run)]) == 0
    source = capsys.readouterr().out
    title = re.search(r'^\s*graph \[.*?label="([^"]*)"', source, re.M | re.S)
    assert title is not None
    assert title.group(1).splitlines()[-1] == (
        f"execution {data['execution_id']}: ESCAPED FS092 (filled 0/10)")


def test_a_bare_step_list_renders_without_an_execution_title(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps(["INIT", "PRECHECK"]), encoding="utf-8")
    assert main(["render", "--trace", str(steps)]) == 0
    source = capsys.readouterr().out
    assert 'label="scalp_execution v1"' in source  # the chart's title alone
