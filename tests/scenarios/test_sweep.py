"""``scalpchart sweep`` end to end: the same results in-process, in worker processes and on
a real Dask ``LocalCluster``; resumable; its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from execution.cli import main
from execution.study.cell import code_version, run_cell
from execution.study.grid import load_grid
from execution.study.sweep import Options, make_cells, run_sweep

ROOT = Path(__file__).resolve().parents[2]
GRID = f"""version: 1
scenarios: [{ROOT / 'config' / 'scenarios' / 'default.yaml'}]
seeds: [1, 2]
intents: 3
vary:
  adjust.high_urgency_joins_wide_tick: [false, true]  # HIGH crosses at once or queues
"""


@pytest.fixture(scope="module")
def grid_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "grid.yaml"
    path.write_text(GRID, encoding="utf-8")
    return path


def comparable(data: dict[str, Any]) -> str:
    rest = {k: v for k, v in data.items() if k not in ("wall_s", "workers")}
    return json.dumps(rest, sort_keys=True)


def test_one_worker_two_workers_and_dask_give_the_same_results(grid_path: Path) -> None:
    grid = load_grid(grid_path)
    inline = run_sweep(grid, Options(jobs=1))
    processes = run_sweep(grid, Options(jobs=2))
    dask = run_sweep(grid, Options(jobs=2, dask="local"))  # a real LocalCluster of processes
    assert comparable(inline) == comparable(processes) == comparable(dask)
    assert processes["workers"] == {"kind": "process", "count": 2, "cells_run": 4,
                                    "cells_resumed": 0}
    assert dask["workers"]["kind"] == "dask" and dask["workers"]["count"] == 2
    cells = inline["cells"]
    assert [c["key"] for c in cells] == sorted(c["key"] for c in cells)  # by key, not by time
    assert {c["variant_id"] for c in cells} == {"v01", "v02"} and len(cells) == 4
    by_variant = {v: [c["engine"] for c in cells if c["variant_id"] == v] for v in ("v01", "v02")}
    assert by_variant["v01"] != by_variant["v02"]  # the varied limit matters: a real comparison


def test_a_cell_is_a_pure_function_of_its_content(grid_path: Path) -> None:
    cells = make_cells(load_grid(grid_path))
    assert len({c.key for c in cells}) == len(cells)
    first = cells[0]
    assert run_cell(first) == run_cell(first)
    assert first.code == code_version()


def test_cli_writes_its_files_and_resumes(grid_path: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["sweep", str(grid_path), "--jobs", "1", "--out", str(out),
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "v01" in text and "shortfall bps" in text and "best:" in text
    for name in ("sweep.json", "sweep.txt", "pareto.png", "best-limits.yaml"):
        assert (out / name).stat().st_size > 0
    assert len(list((out / "cells").glob("*.json"))) == 4
    first = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    assert set(first) >= {"cells", "variants", "best", "wall_s", "workers"}
    assert set(first["cells"][0]["engine"]) >= {"shortfall_bps_mean", "fully_filled_ratio",
                                                "slippage_max_bps", "final_states"}
    assert main(["validate", "--limits", str(out / "best-limits.yaml")]) == 0
    capsys.readouterr()

    assert main(["sweep", str(grid_path), "--out", str(out), "--resume", "--format", "json",
                 "--no-progress"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["workers"]["cells_run"] == 0 and again["workers"]["cells_resumed"] == 4
    assert comparable(again) == comparable(first)

    wider = grid_path.parent / "wider.yaml"  # one more seed: only its cells run
    wider.write_text(GRID.replace("seeds: [1, 2]", "seeds: [1, 2, 3]"), encoding="utf-8")
    assert main(["sweep", str(wider), "--jobs", "1", "--out", str(out), "--resume",
                 "--format", "json", "--no-progress"]) == 0
    grown = json.loads(capsys.readouterr().out)
    assert grown["workers"]["cells_run"] == 2 and grown["workers"]["cells_resumed"] == 4


def test_failed_cells_are_reported_and_the_others_kept(
        grid_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import execution.study.sweep as sweep

    real = sweep.run_cell

    def flaky(cell: Any) -> dict[str, Any]:
        if cell.seed == 2:
            raise RuntimeError("the simulator broke")
        return real(cell)

    monkeypatch.setattr(sweep, "run_cell", flaky)
    out = tmp_path / "out"
    assert main(["sweep", str(grid_path), "--jobs", "1", "--out", str(out),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "2 cell(s) failed" in err and "seed 2" in err
    assert "RuntimeError: the simulator broke" in err
    assert len(list((out / "cells").glob("*.json"))) == 2  # the seed-1 cells, resumable
    monkeypatch.setattr(sweep, "run_cell", real)
    assert main(["sweep", str(grid_path), "--jobs", "1", "--out", str(out), "--resume",
                 "--format", "json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["workers"]["cells_run"] == 2


@pytest.mark.slow
def test_a_dask_scheduler_address(grid_path: Path) -> None:
    from dask.distributed import LocalCluster

    grid = load_grid(grid_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = run_sweep(grid, Options(dask=cluster.scheduler_address))
    assert remote["workers"]["count"] == 2 and remote["workers"]["kind"] == "dask"
    assert comparable(remote) == comparable(run_sweep(grid, Options(jobs=1)))
