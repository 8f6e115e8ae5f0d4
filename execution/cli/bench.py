"""``scalpchart bench``: the engine's own overhead against a zero-latency broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from typing import Any

from execution.cli.common import UsageError, positive_int

TARGETS = {
    "tick_to_trade_us": {"p50": 500, "p99": 2000},
    "execution_us": {"p50": 1000, "p99": 3000},
    "throughput_per_s": 500,
    "memory_per_execution_kib": 64,
    "journal_p50_ratio": 1.25,
}


def add_bench_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="measure the engine's overhead (zero-latency broker)")
    p.add_argument("--executions", type=positive_int, default=2000,
                   help="sequential executions for the latency figures and the throughput")
    p.add_argument("--concurrency", type=positive_int, default=1000,
                   help="executions in flight at once under the fill storm")
    p.add_argument("--fills-per-order", type=positive_int, default=10,
                   help="partial fills per child order")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format on stdout")
    p.set_defaults(func=cmd_bench)


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "platform": platform.platform()}


def cmd_bench(args: argparse.Namespace) -> int:
    if args.executions < 100:
        raise UsageError(f"--executions must be at least 100, got {args.executions}")
    from execution.perf.bench import BenchConfig, run_all  # (heavy: only for this command)

    config = BenchConfig(args.executions, args.concurrency, args.fills_per_order)
    report = asyncio.run(run_all(config))
    report["machine"] = machine()
    report["config"] = {"executions": config.executions, "concurrency": config.concurrency,
                        "fills_per_order": config.fills_per_order}
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def _mark(value: float, target: float) -> str:
    return "[green]met[/]" if value <= target else "[red]missed[/]"


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="engine overhead (zero-latency broker), microseconds")
    for column in ("figure", "p50", "p99", "p99.9", "target"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    t2t, exe = report["tick_to_trade_us"], report["execution_us"]
    table.add_row("tick-to-trade", *(f"{t2t[k]:.1f}" for k in ("p50", "p99", "p99.9")),
                  f"p50 <= 500 {_mark(t2t['p50'], 500)}, p99 <= 2000 {_mark(t2t['p99'], 2000)}")
    table.add_row("complete execution (CPU)", *(f"{exe[k]:.1f}" for k in ("p50", "p99", "p99.9")),
                  f"p50 <= 1000 {_mark(exe['p50'], 1000)}, p99 <= 3000 {_mark(exe['p99'], 3000)}")
    for stage, figures in report["stages_us"].items():
        table.add_row(f"stage {stage}", *(f"{figures[k]:.1f}" for k in ("p50", "p99", "p99.9")),
                      "")
    conc = report["concurrent"]
    for label, key in (("tick-to-trade", "tick_to_trade_us"),
                       ("last fill to COMPLETE", "last_fill_to_complete_us")):
        load = conc[key]
        table.add_row(f"{conc['executions']} in flight, {label}",
                      *(f"{load[k]:.0f}" for k in ("p50", "p99", "p99.9")), "")
    console.print(table)
    dispatch = report["dispatch_us"]
    gc = report["gc_pauses_in_timed_windows"]
    journal = report.get("journal")
    if journal is not None:
        on, off = journal["tick_to_trade_on_us"], journal["tick_to_trade_off_us"]
        console.print(
            f"journal: tick-to-trade p50 {on['p50']:.1f} us with it, {off['p50']:.1f} us without "
            f"(x{journal['p50_ratio']:.2f}, target <= x1.25: "
            f"{_mark(journal['p50_ratio'], 1.25)}); p99 {on['p99']:.1f} / {off['p99']:.1f} us")
    console.print(
        f"throughput: {report['throughput_per_s']:.0f} complete executions/s on one core "
        f"(target >= 500: {_mark(-report['throughput_per_s'], -500)})\n"
        f"concurrency: {conc['executions']} executions, {conc['fill_events']} fill events, "
        f"{conc['complete']} complete, lost fills {conc['lost_fills']} "
        f"({_mark(conc['lost_fills'], 0)}), storm handled in {conc['storm_ms']} ms\n"
        f"memory: {report['memory_per_execution_kib']} KiB per live execution "
        f"(target <= 64: {_mark(report['memory_per_execution_kib'], 64)})\n"
        f"dispatch per event: chart {dispatch['chart']} us, dict table {dispatch['dict']} us, "
        f"ratio {dispatch['ratio']}x\n"
        f"engine overhead: execution p50 {exe['p50']:.0f} us = {report['overhead_ratio']}x "
        f"({report['transitions_per_execution']} transitions x chart dispatch p50 "
        f"{dispatch['chart']} us; aim <= 1.3)\n"
        f"gc pauses in the timed windows: {gc['collections']} collections, "
        f"max {gc['max_ms']} ms, {gc['over_5ms']} over 5 ms")
