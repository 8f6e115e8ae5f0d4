"""Run a sweep's cells in parallel: local worker processes, or a Dask cluster.

Every cell is the same pure function (:func:`execution.study.cell.run_cell`)
of its own content; results are keyed by the cell's content hash and sorted
by it, so they do not depend on where or in which order the cells ran:
``--jobs 1``, ``--jobs 2`` and ``--dask local`` give the same JSON (but for
``wall_s`` and ``workers``).

With an output directory, each finished cell is written to ``cells/KEY.json``
as soon as it arrives; a resumed sweep reads those back and runs only the
others (a changed chart, limits, scenario, seed or code version is another
key, so a stale result is never reused).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from execution.study.cell import Cell, code_version, run_cell
from execution.study.grid import Grid
from execution.study.summary import sweep_data

Progress = Callable[[int, int], None]  # (cells done, cells in all)
Result = dict[str, Any]


class CellsFailed(Exception):
    """Some cells raised; the others' results are kept (and resumable)."""

    def __init__(self, failures: list[tuple[Cell, str]]) -> None:
        self.failures = failures
        lines = [f"{c.variant_id} {c.scenario} seed {c.seed} ({c.key}): {error}"
                 for c, error in failures]
        super().__init__(f"{len(failures)} cell(s) failed:\n" + "\n".join(lines))


@dataclass(frozen=True, slots=True)
class Options:
    jobs: int = 1  # worker processes (local), or workers of a local Dask cluster
    dask: str | None = None  # None: local processes; "local": a LocalCluster; else an address
    out: Path | None = None
    resume: bool = False


def make_cells(grid: Grid) -> list[Cell]:
    code = code_version()
    return [
        Cell(variant.id, variant.values, variant.limits, name, doc.file, doc.text,
             grid.chart.file, grid.chart.text, seed, grid.intents, code)
        for variant in grid.variants
        for name, doc in grid.scenarios
        for seed in grid.seeds
    ]


def _cell_file(out: Path, key: str) -> Path:
    return out / "cells" / f"{key}.json"


def _load_done(cells: Iterable[Cell], out: Path) -> dict[str, Result]:
    done = {}
    for cell in cells:
        file = _cell_file(out, cell.key)
        if file.is_file():
            result = json.loads(file.read_text(encoding="utf-8"))
            if result.get("key") == cell.key:
                done[cell.key] = result
    return done


def _save(out: Path, result: Result) -> None:
    file = _cell_file(out, result["key"])
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    os.replace(tmp, file)


def _local(cells: list[Cell], jobs: int) -> Iterator[tuple[Cell, Result | BaseException]]:
    if jobs == 1 or len(cells) <= 1:
        for cell in cells:
            try:
                yield cell, run_cell(cell)
            except Exception as err:  # reported with the cell, the others go on
                yield cell, err
        return
    context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[Result], Cell] = {pool.submit(run_cell, c): c for c in cells}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], error if error is not None else future.result()


def run_sweep(grid: Grid, options: Options, progress: Progress | None = None) -> dict[str, Any]:
    """Run every cell not already done; return the sweep's JSON (see ``summary``)."""
    cells = make_cells(grid)
    done: dict[str, Result] = {}
    if options.out is not None and options.resume:
        done = _load_done(cells, options.out)
    todo = [c for c in cells if c.key not in done]
    started = time.perf_counter()
    if progress is not None:
        progress(len(done), len(cells))
    if options.dask is not None:
        from execution.study.on_dask import run_on_dask, worker_count

        results = run_on_dask(todo, options.dask, options.jobs)
        workers = {"kind": "dask", "address": options.dask,
                   "count": worker_count(options.dask, options.jobs)}
    else:
        results = _local(todo, options.jobs)
        workers = {"kind": "process", "count": options.jobs}
    failures: list[tuple[Cell, str]] = []
    for cell, outcome in results:
        if isinstance(outcome, BaseException):
            failures.append((cell, f"{type(outcome).__name__}: {outcome}"))
        else:
            done[cell.key] = outcome
            if options.out is not None:
                _save(options.out, outcome)
        if progress is not None:
            progress(len(done) + len(failures), len(cells))
    if failures:
        raise CellsFailed(failures)
    wall_s = time.perf_counter() - started
    workers |= {"cells_run": len(todo), "cells_resumed": len(cells) - len(todo)}
    return sweep_data(grid, list(done.values()), wall_s, workers)
