"""``scalpchart sweep``: simulate every limits variant of a grid on its scenarios and seeds."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from execution.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, positive_int, progress_bar
from execution.cli.failures import report
from execution.cli.preflight import writable_dir
from statecharts.errors import Problem


def default_jobs() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def add_sweep_parser(sub: Any) -> None:
    p = sub.add_parser("sweep", help="simulate every limits variant of a grid file "
                                     "(scenarios x seeds) in parallel and compare them")
    p.add_argument("grid", type=Path, help="grid YAML (schema: execution/schemas/"
                                           "grid.schema.json)")
    p.add_argument("--jobs", type=positive_int, default=None,
                   help="worker processes (default: the core count); with --dask local, "
                        "the local cluster's workers")
    p.add_argument("--dask", metavar="ADDRESS|local",
                   help="run the cells on Dask: a scheduler address (tcp://host:8786) or "
                        "'local' for a LocalCluster of worker processes on this machine")
    p.add_argument("--out", type=Path, help="write cells/, sweep.json, sweep.txt, pareto.png "
                                            "and best-limits.yaml here")
    p.add_argument("--resume", action="store_true",
                   help="skip the cells already in --out (same chart, limits, scenario, seed "
                        "and code version)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)


def _run(grid: Any, options: Any, show: bool) -> dict[str, Any]:
    from execution.study.sweep import run_sweep

    if not show:
        return run_sweep(grid, options)
    with progress_bar("sweeping") as bar:
        task = bar.add_task("cells", total=None)
        return run_sweep(grid, options, progress=lambda done, total: bar.update(
            task, completed=done, total=total))


def _write(out: Path, data: dict[str, Any], text: str, grid: Any) -> list[Path]:
    from execution.study.output import best_limits_text, write_pareto_plot

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "sweep.json", out / "sweep.txt", out / "best-limits.yaml"]
    written[0].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    written[1].write_text(text, encoding="utf-8")
    best = data["best"]
    label = (f"scalpchart sweep {data['grid']}: best variant {best['id']} "
             f"{json.dumps(best['variant'])}")
    written[2].write_text(best_limits_text(grid, best["variant"], label), encoding="utf-8")
    written.append(write_pareto_plot(data, out / "pareto.png"))
    return written


def cmd_sweep(args: argparse.Namespace) -> int:
    from execution.study.grid import load_grid
    from execution.study.output import render_table
    from execution.study.sweep import CellsFailed, Options

    if args.resume and args.out is None:
        raise UsageError("--resume needs --out (where the finished cells are)")
    if args.out is not None:
        writable_dir(args.out, "--out")
    try:
        grid = load_grid(args.grid)  # ChartInvalid: every problem, exit 1 (main)
    except OSError as err:
        raise UsageError(f"{args.grid}: cannot read: {err.strerror or err}") from err
    options = Options(jobs=args.jobs or default_jobs(), dask=args.dask, out=args.out,
                      resume=args.resume)
    try:
        data = _run(grid, options, sys.stderr.isatty() and not args.no_progress)
    except CellsFailed as err:
        report("failed", [Problem(str(args.grid), 0, 0, "cells-failed", str(err))],
               as_json=args.format == "json", text=[f"scalpchart sweep: {err}"])
        return EXIT_FINDINGS
    text = render_table(data)
    if args.out is not None:
        for path in _write(args.out, data, text, grid):
            print(f"wrote {path}", file=sys.stderr)
    sys.stdout.write(json.dumps(data, indent=2) + "\n" if args.format == "json" else text)
    return EXIT_OK
