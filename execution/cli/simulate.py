"""``scalpchart simulate``: execution quality of the engine against three baselines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from execution.cli.common import UsageError, positive_int, progress_bar, seed, write_texts
from execution.cli.preflight import writable_dir
from execution.cli.project import bundled_scenarios, scenario_path


def add_simulate_parser(sub: Any) -> None:
    p = sub.add_parser("simulate", help="run N intents on the market simulator and report "
                                        "execution quality against three baselines")
    scenario = p.add_argument("--scenario", type=scenario_path,
                   help="scenario YAML, or a bundled scenario's name (a file of "
                        "config/scenarios: stress, late_close, vi_day, ...; default: "
                        "config/scenarios/default.yaml)")
    scenario.completer = bundled_scenarios  # (argcomplete reads it)
    p.add_argument("--chart", type=Path,
                   help="chart YAML the engine runs (default: config/scalp_execution.yaml)")
    p.add_argument("--limits", type=Path,
                   help="limits YAML (default: the scenario's engine.limits, else "
                        "config/limits.yaml)")
    p.add_argument("--suite", type=Path, metavar="DIR",
                   help="run every scenario YAML in DIR and print one table; exit 1 when "
                        "a scenario misses one of its targets")
    p.add_argument("--intents", type=positive_int,
                   help="number of intents (default: the scenario's)")
    p.add_argument("--seed", type=seed, help="run seed (default: the scenario's)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="report format on stdout")
    p.add_argument("--out", type=Path, help="write report.json, report.txt and PNG plots here "
                                            "(created if missing; default: nowhere)")
    p.add_argument("--clock", choices=("virtual", "real"), default="virtual",
                   help="virtual: waits cost no wall time; real: for demos")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--explain", action="store_true",
                   help="end the text report with the definitions of its figures")
    p.set_defaults(func=cmd_simulate)


def _check_inputs(args: argparse.Namespace) -> Any:
    """Load the scenario and check the chart and limits before anything runs: an invalid
    document is its findings (exit 1), an unreadable one a usage error (exit 2)."""
    from execution.engine import load_product_chart
    from execution.settings import load_engine_limits
    from execution.simulate.scenario import load_scenario

    try:
        scenario = load_scenario(args.scenario)
        limits = load_engine_limits(args.limits if args.limits is not None
                                    else scenario.limits_path)
        load_product_chart(args.chart, limits)
    except OSError as err:
        name = getattr(err, "filename", None) or args.scenario
        raise UsageError(f"{name}: cannot read: {err.strerror or err}") from err
    return scenario


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.suite is not None:
        from execution.cli.simulate_suite import cmd_suite

        return cmd_suite(args)
    from execution.simulate.run import simulate
    from execution.simulate.text import render_text

    if args.out is not None:
        writable_dir(args.out, "--out")
    scenario = _check_inputs(args)
    count = args.intents or scenario.mix.count
    show = sys.stderr.isatty() and not args.no_progress
    options: dict[str, Any] = {"intents": count, "seed": args.seed, "clock": args.clock,
                               "chart": args.chart, "limits": args.limits}
    if show:
        with progress_bar("simulating") as bar:
            task = bar.add_task("intents", total=count)
            report = simulate(scenario, **options,
                              progress=lambda done, total: bar.update(task, completed=done))
    else:
        report = simulate(scenario, **options)
    text = render_text(report.data, explain=args.explain)
    payload = json.dumps(report.data, indent=2, sort_keys=False) + "\n"
    if args.out is not None:
        from execution.simulate.plots import write_plots

        write_texts(args.out, {"report.json": payload, "report.txt": text}, "--out")
        for path in write_plots(report.outcomes, report.data, args.out):
            print(f"wrote {path}", file=sys.stderr)
    sys.stdout.write(payload if args.format == "json" else text)
    from execution.simulate.metrics import reconciliation_clean

    engine = report.data["reconciliation"]["engine"]
    if not reconciliation_clean(engine):
        print("scalpchart simulate: the engine's fills or orders do not reconcile with the "
              "exchange (see reconciliation)", file=sys.stderr)
        return 1
    return 0
