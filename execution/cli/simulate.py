"""``scalpchart simulate``: execution quality of the engine against two baselines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from execution.cli.common import positive_int, progress_bar, seed
from statecharts.errors import DocumentInvalid


def add_simulate_parser(sub: Any) -> None:
    p = sub.add_parser("simulate", help="run N intents on the market simulator and report "
                                        "execution quality against two baselines")
    p.add_argument("--scenario", type=Path,
                   help="scenario YAML (default: config/scenarios/default.yaml)")
    p.add_argument("--suite", type=Path, metavar="DIR",
                   help="run every scenario YAML in DIR and print one table; exit 1 when "
                        "a scenario misses one of its targets")
    p.add_argument("--intents", type=positive_int,
                   help="number of intents (default: the scenario's)")
    p.add_argument("--seed", type=seed, help="run seed (default: the scenario's)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--out", type=Path, help="write report.json, report.txt and PNG plots here")
    p.add_argument("--clock", choices=("virtual", "real"), default="virtual",
                   help="virtual: waits cost no wall time (default); real: for demos")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.suite is not None:
        if args.scenario is not None:
            print("scalpchart simulate: error: --suite and --scenario exclude each other",
                  file=sys.stderr)
            return 2
        from execution.cli.simulate_suite import cmd_suite

        return cmd_suite(args)
    from execution.simulate.run import simulate
    from execution.simulate.scenario import load_scenario
    from execution.simulate.text import render_text

    try:
        scenario = load_scenario(args.scenario)
    except OSError as err:
        print(f"scalpchart simulate: error: {args.scenario}: cannot read: "
              f"{err.strerror or err}", file=sys.stderr)
        return 2
    except DocumentInvalid as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    count = args.intents or scenario.mix.count
    show = sys.stderr.isatty() and not args.no_progress
    if show:
        with progress_bar("simulating") as bar:
            task = bar.add_task("intents", total=count)
            report = simulate(scenario, intents=count, seed=args.seed, clock=args.clock,
                              progress=lambda done, total: bar.update(task, completed=done))
    else:
        report = simulate(scenario, intents=count, seed=args.seed, clock=args.clock)
    text = render_text(report.data)
    payload = json.dumps(report.data, indent=2, sort_keys=False) + "\n"
    if args.out is not None:
        from execution.simulate.plots import write_plots

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(payload, encoding="utf-8")
        (args.out / "report.txt").write_text(text, encoding="utf-8")
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
