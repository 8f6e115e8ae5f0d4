"""``.pre-commit-hooks.yaml`` and what its hooks run: ``validate`` and ``render --check``."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PRODUCT_CHART, ROOT

from execution.cli import main

HOOKS = ROOT / ".pre-commit-hooks.yaml"
DIAGRAMS = ROOT / "diagrams"


def hooks() -> dict[str, dict[str, Any]]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


def test_hook_definitions() -> None:
    found = hooks()
    assert set(found) == {"scalpchart-validate", "scalpchart-diagrams"}
    for hook in found.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit pip-installs this repository
        assert shlex.split(hook["entry"])[0] == "scalpchart"
        assert re.search(hook["files"], "config/scalp_execution.yaml")
    assert not re.search(found["scalpchart-validate"]["files"], "config/limits.yaml")


def _hook_argv(hook: dict[str, Any], files: list[str]) -> list[str]:
    """The command pre-commit runs: entry, then args, then the matching files."""
    argv = shlex.split(hook["entry"])[1:] + list(hook.get("args", []))
    return argv + (files if hook.get("pass_filenames", True) else [])


@pytest.mark.parametrize("hook_id", ["scalpchart-validate", "scalpchart-diagrams"])
def test_hooks_pass_on_this_repository(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], hook_id: str) -> None:
    monkeypatch.chdir(ROOT)
    assert main(_hook_argv(hooks()[hook_id], ["config/scalp_execution.yaml"])) == 0
    capsys.readouterr()


def _tree(tmp_path: Path, chart_text: str) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "scalp_execution.yaml").write_text(chart_text, encoding="utf-8")
    shutil.copytree(DIAGRAMS, tmp_path / "diagrams")
    return tmp_path


def test_diagrams_hook_fails_when_the_chart_changed(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    text = PRODUCT_CHART.read_text(encoding="utf-8").replace(
        "  - {event: filled, source: MONITORING, target: COMPLETE, unless: nothing_filled}\n", "")
    monkeypatch.chdir(_tree(tmp_path, text))
    assert main(_hook_argv(hooks()["scalpchart-diagrams"], [])) == 1
    out = capsys.readouterr().out
    assert "diagrams/scalp_execution.dot: stale" in out
    assert "diagrams/scalp_execution.svg: stale" in out
    assert "scalpchart render config/scalp_execution.yaml --format dot -o" in out


def test_a_comment_edit_needs_a_re_render_too(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    """Drawings carry the digest of the chart's text (as statecharts/test_render.py checks), so
    they name the exact version they were drawn from."""
    text = PRODUCT_CHART.read_text(encoding="utf-8") + "# a trailing comment\n"
    monkeypatch.chdir(_tree(tmp_path, text))
    assert main(["render", "config/scalp_execution.yaml", "--check",
                 "diagrams/scalp_execution.dot"]) == 1
    assert "stale" in capsys.readouterr().out


def test_render_check_missing_and_unsupported(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    assert main(["render", str(PRODUCT_CHART), "--check", str(tmp_path / "x.dot")]) == 1
    assert "missing" in capsys.readouterr().out
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG")
    assert main(["render", str(PRODUCT_CHART), "--check", str(png)]) == 2
    assert "use .dot or .svg" in capsys.readouterr().err
    assert main(["render", "--check", str(png), "-o", str(tmp_path / "y.dot")]) == 2


def test_validate_takes_several_charts(capsys: pytest.CaptureFixture[str]) -> None:
    broken = ROOT / "tests" / "charts" / "broken" / "unknown_state.yaml"
    assert main(["validate", str(PRODUCT_CHART), str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()  # findings only: every line is located
    assert len(out) == 1
    assert out[0].startswith(f"{broken}:") and "[unknown-state]" in out[0]
    assert main(["validate", str(PRODUCT_CHART), str(PRODUCT_CHART)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{PRODUCT_CHART}: chart ok, limits ok (config/limits.yaml)"] * 2
