"""`scalpchart init`, bundled scenarios by name, simulate --chart/--limits recorded in the
report, plugins, shell completion."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from execution.cli import main
from execution.cli.project import project_files

ROOT = Path(__file__).resolve().parents[4]


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_copies_everything_with_schema_links_that_resolve(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "proj"
    code, out, _ = cli(capsys, "init", project)
    assert code == 0 and "wrote" in out
    files = {p.relative_to(project) for p in project.rglob("*") if p.is_file()}
    assert files == set(project_files())
    assert {Path("scalp_execution.yaml"), Path("limits.yaml"), Path("scenarios/stress.yaml"),
            Path("schemas/chart.schema.json"), Path("schemas/scenario.schema.json")} <= files
    for path in project.rglob("*.yaml"):
        link = re.match(r"# yaml-language-server: \$schema=(\S+)",
                        path.read_text(encoding="utf-8"))
        assert link is not None, path
        assert (path.parent / link.group(1)).resolve().is_file(), (path, link.group(1))
    code, out, _ = cli(capsys, "validate", project / "scalp_execution.yaml", "--limits",
                       project / "limits.yaml")
    assert code == 0, out


def test_init_refuses_to_overwrite_unless_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "init", tmp_path)[0] == 0
    limits = tmp_path / "limits.yaml"
    limits.write_text("# mine\n", encoding="utf-8")
    code, _, err = cli(capsys, "init", tmp_path)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert limits.read_text(encoding="utf-8") == "# mine\n"
    assert cli(capsys, "init", tmp_path, "--force")[0] == 0
    assert limits.read_text(encoding="utf-8") != "# mine\n"


def test_unknown_scenario_name_lists_the_bundled_ones(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "simulate", "--scenario", "stres")
    assert code == 2 and "bundled: " in err and "stress" in err


def test_simulate_records_chart_and_limits(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    limits = tmp_path / "limits.yaml"
    limits.write_text((ROOT / "config" / "limits.yaml").read_text(encoding="utf-8")
                      .replace("max_rounds: 3", "max_rounds: 1"), encoding="utf-8")
    chart = ROOT / "config" / "scalp_execution.yaml"
    out_dir = tmp_path / "out"
    code, out, _ = cli(capsys, "simulate", "--scenario", "races", "--intents", "12",
                       "--format", "json", "--no-progress")
    shipped = json.loads(out)["engine"]["adjust_rounds"]["histogram"]
    assert code == 0 and max(int(k) for k in shipped) >= 2  # else the edit shows nothing
    code, _, _ = cli(capsys, "simulate", "--scenario", "races", "--intents", "12",
                     "--chart", chart, "--limits", limits, "--out", out_dir, "--no-progress")
    assert code == 0
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    inputs = report["inputs"]
    assert inputs["limits"] == {"file": str(limits),
                                "sha256": hashlib.sha256(limits.read_bytes()).hexdigest()}
    assert inputs["chart"]["file"] == str(chart)
    assert inputs["scenario"]["file"].endswith("scenarios/races.yaml")
    rounds = report["engine"]["adjust_rounds"]["histogram"]
    assert rounds and max(int(k) for k in rounds) <= 1  # the edited limit was used


def test_simulate_refuses_invalid_limits_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    limits = tmp_path / "limits.yaml"
    limits.write_text((ROOT / "config" / "limits.yaml").read_text(encoding="utf-8")
                      .replace("max_rounds: 3", "max_rounds: off"), encoding="utf-8")
    code, _, err = cli(capsys, "simulate", "--intents", "100000", "--limits", limits)
    assert code == 1 and f"{limits}:" in err and "[yaml-trap]" in err


def test_a_plugin_that_fails_is_one_line(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken_guards.py"
    broken.write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    code, _, err = cli(capsys, "--plugin", broken, "validate")
    assert code == 2 and "boom" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(capsys, "--plugin", "no_such_module_here", "validate")
    assert code == 2 and "no_such_module_here" in err


@pytest.mark.parametrize(("line", "expected"), [("scalpchart simulate --sc", ["--scenario"]),
                                                ("scalpchart simulate --scenario st",
                                                 ["stress"])])
def test_shell_completion(tmp_path: Path, line: str, expected: list[str]) -> None:
    answer = tmp_path / "completions"
    env = dict(os.environ, _ARGCOMPLETE="1", _ARGCOMPLETE_IFS=" ",
               _ARGCOMPLETE_STDOUT_FILENAME=str(answer), COMP_LINE=line,
               COMP_POINT=str(len(line)))
    done = subprocess.run([sys.executable, "-m", "execution"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert answer.read_text(encoding="utf-8").split() == expected


def test_entry_point_plugins_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A package of the user's declares its guard module under `scalpchart.guards`."""
    from importlib.metadata import EntryPoint

    from execution.cli import plugins

    (tmp_path / "users_guard_pkg.py").write_text(
        "from execution.guards import REGISTRY\n"
        "LOADED = True\n"
        "if 'users_entry_point_guard' not in REGISTRY.guards:\n"
        "    REGISTRY.guard('users_entry_point_guard')(lambda ctx: False)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint("mine", "users_guard_pkg", plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "entry_points",
                        lambda group: [point] if group == plugins.ENTRY_POINT_GROUP else [])
    assert cli(capsys, "validate")[0] == 0
    from execution.guards import REGISTRY

    assert "users_entry_point_guard" in REGISTRY.guards
    broken = EntryPoint("broken", "no_such_users_module", plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [broken])
    code, _, err = cli(capsys, "validate")
    assert code == 2 and "plugin broken (no_such_users_module" in err
