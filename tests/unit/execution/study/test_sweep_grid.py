"""Sweep grids: refused before anything runs, with the place of every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.cli import main
from execution.study.grid import load_grid
from execution.study.output import best_limits_text
from execution.study.summary import best_variant, variant_rows
from statecharts.errors import DocumentInvalid

ROOT = Path(__file__).resolve().parents[4]
CONFIG = ROOT / "config"


def grid_file(tmp_path: Path, body: str, name: str = "grid.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def head(seeds: str = "[1]") -> str:
    return (f"version: 1\nlimits: {CONFIG / 'limits.yaml'}\n"
            f"scenarios: [{CONFIG / 'scenarios' / 'default.yaml'}]\nseeds: {seeds}\n")


def problems(path: Path) -> list[str]:
    with pytest.raises(DocumentInvalid) as err:
        load_grid(path)
    return [str(p) for p in err.value.problems]


def test_a_good_grid_expands_every_combination(tmp_path: Path) -> None:
    path = grid_file(tmp_path, head("[1, 2]") + "intents: 3\nvary:\n"
                     "  adjust.step_pct: [0.05, 0.2]\n  adjust.max_rounds: [1, 2, 3]\n")
    grid = load_grid(path)
    assert [v.id for v in grid.variants] == [f"v0{i}" for i in range(1, 7)]
    assert grid.variants[1].as_dict() == {"adjust.step_pct": 0.05, "adjust.max_rounds": 2}
    assert grid.variants[1].limits["adjust"]["max_rounds"] == 2
    assert grid.varied == ("adjust.step_pct", "adjust.max_rounds")
    assert [name for name, _ in grid.scenarios] == ["default"] and grid.seeds == (1, 2)


def test_paths_are_relative_to_the_grid_file(tmp_path: Path) -> None:
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "s.yaml").write_text(
        (CONFIG / "scenarios" / "stress.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    path = grid_file(tmp_path, "version: 1\nscenarios: [sc/s.yaml]\nseeds: [3]\n"
                     "vary:\n  adjust.max_rounds: [2]\n")
    grid = load_grid(path)
    assert grid.scenarios[0][1].file == str(tmp_path / "sc" / "s.yaml")
    assert grid.limits.file.endswith("limits.yaml")  # the shipped limits by default


def test_schema_problems_are_positioned(tmp_path: Path) -> None:
    path = grid_file(tmp_path, "version: 1\nscenarios: []\nseeds: [-1]\nvary: {}\nextra: 1\n")
    found = problems(path)
    assert f"{path}:2:1: [schema] [] should be non-empty (at scenarios)" in found
    assert f"{path}:3:9: [schema] -1 is less than the minimum of 0 (at seeds[0])" in found
    assert any("unknown key 'extra'" in p for p in found), found


def test_yaml_traps_are_refused(tmp_path: Path) -> None:
    path = grid_file(tmp_path, head() + "vary:\n  escape.liquidate_on_escape: [on]\n")
    assert problems(path) == [f"{path}:6:32: [yaml-trap] YAML 1.1 reads 'on' as a boolean; "
                              "quote it if a string is meant"]


def test_a_path_not_in_the_limits_schema(tmp_path: Path) -> None:
    path = grid_file(tmp_path, head() + "vary:\n  adjust.step_pcts: [0.1]\n"
                     "  adjust.first_round_pct_of_timeout: [10]\n")
    found = problems(path)
    assert found == [
        f"{path}:6:3: [grid] adjust.step_pcts is not in the limits schema "
        "(did you mean adjust.step_pct?)",
        f"{path}:7:3: [grid] adjust.first_round_pct_of_timeout is a section of the limits, "
        "not a value: vary one of its keys (high, low, normal)",
    ]


def test_a_variant_that_fails_validation_is_placed_at_its_value(tmp_path: Path) -> None:
    path = grid_file(tmp_path, head() + "vary:\n  adjust.max_rounds: [2, 1.5]\n"
                     "  adjust.step_pct: [0.1, -1]\n")
    found = problems(path)
    assert len(found) == 2, found  # one report per offending value, not per variant
    assert found[0].startswith(f"{path}:6:26: [grid] adjust.max_rounds=1.5 makes invalid "
                               "limits: 1.5 is not of type 'integer'")
    assert found[1].startswith(f"{path}:7:26: [grid] adjust.step_pct=-1 makes invalid limits")


def test_a_missing_scenario_file(tmp_path: Path) -> None:
    path = grid_file(tmp_path, "version: 1\nscenarios: [nowhere.yaml]\nseeds: [1]\n"
                     "vary:\n  adjust.max_rounds: [2]\n")
    found = problems(path)
    assert len(found) == 1 and found[0].startswith(f"{path}:2:13: [grid] cannot read ")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = grid_file(tmp_path, head() + "vary:\n  adjust.nope: [1]\n")
    assert main(["sweep", str(bad), "--no-progress"]) == 1  # an invalid document: findings
    assert f"{bad}:6:3: [grid]" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "missing.yaml")]) == 2  # unreadable input
    assert "cannot read" in capsys.readouterr().err
    good = grid_file(tmp_path, head() + "vary:\n  adjust.max_rounds: [2]\n", "good.yaml")
    assert main(["sweep", str(good), "--resume"]) == 2  # --resume without --out
    assert "--resume needs --out" in capsys.readouterr().err


def test_the_best_limits_file_changes_only_the_varied_values(tmp_path: Path) -> None:
    path = grid_file(tmp_path, head() + "vary:\n  adjust.step_pct: [0.25]\n"
                     "  adjust.first_round_pct_of_timeout.normal: [40]\n"
                     "  adjust.first_round_pct_of_timeout.low: [60]\n")
    grid = load_grid(path)
    text = best_limits_text(grid, grid.variants[0].as_dict(), "best of a test")
    base = grid.limits.text.splitlines()
    changed = [(a, b) for a, b in zip(base, text.splitlines(), strict=False) if a != b]
    assert changed == [
        ("  first_round_pct_of_timeout: {low: 70, normal: 50, high: 0}",
         "  first_round_pct_of_timeout: {low: 60, normal: 40, high: 0}"),
        ("  step_pct: 0.1", "  step_pct: 0.25"),
    ]
    assert text.endswith("# best of a test\n")
    out = tmp_path / "best.yaml"
    out.write_text(text, encoding="utf-8")
    assert main(["validate", "--limits", str(out)]) == 0


def _row(id_: str, shortfall: float, filled: float, slip: float = 10.0) -> dict[str, object]:
    return {"id": id_, "shortfall_bps_mean": shortfall, "fully_filled_ratio": filled,
            "slippage_max_bps": slip, "escapes": 0}


def test_best_is_the_cheapest_variant_that_meets_the_targets() -> None:
    rows = [_row("v01", 1.0, 0.95), _row("v02", 2.0, 0.995), _row("v03", 1.5, 1.0),
            _row("v04", 0.5, 1.0, slip=60.0)]
    best = best_variant(rows)
    assert best["id"] == "v03" and best["meets_targets"]
    fallback = best_variant([_row("v01", 1.0, 0.95), _row("v02", 3.0, 0.97)])
    assert fallback["id"] == "v02" and not fallback["meets_targets"]


def test_pareto_front_flags(tmp_path: Path) -> None:
    path = grid_file(tmp_path, head() + "vary:\n  adjust.max_rounds: [1, 2, 3]\n")
    grid = load_grid(path)
    cells = [{"variant_id": vid, "engine": {"shortfall_bps_mean": s, "fully_filled_ratio": f,
                                            "slippage_max_bps": 5.0, "escapes": 0}}
             for vid, s, f in (("v01", 1.0, 0.9), ("v02", 2.0, 1.0), ("v03", 2.5, 0.95))]
    rows = variant_rows(grid, cells)
    assert [r["pareto"] for r in rows] == [True, True, False]  # v03: worse than v02 on both
