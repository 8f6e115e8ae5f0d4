"""The chart commands: validate, matrix, render."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from execution import paths
from execution.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, chart_arg
from execution.guards import REGISTRY
from statecharts.compiler import compile_chart
from statecharts.document import DocumentBudget, read_text
from statecharts.errors import ChartInvalid, Problem
from statecharts.lint import lint
from statecharts.loader import load_chart
from statecharts.matrix import build_matrix
from statecharts.render import TraceStep, render
from statecharts.spec import ChartSpec


def _read_spec(path: Path | None) -> ChartSpec:
    chart = path or paths.default_chart()
    try:
        return load_chart(chart)
    except OSError as err:
        raise UsageError(f"{chart}: cannot read: {err.strerror or err}") from err


def _problems(args: argparse.Namespace) -> list[Problem]:
    """The chart's and the limits' problems: the limits given, else the default ones that
    ``run`` and the Engine use, so what validates is what runs."""
    from execution.settings import read_limits

    problems: list[Problem] = []
    limit_keys = None
    limits = args.limits if args.limits is not None else paths.default_limits()
    try:
        limit_keys = list(read_limits(limits).keys())
    except ChartInvalid as err:
        problems.extend(err.problems)
    except OSError as err:
        raise UsageError(f"{limits}: cannot read: {err.strerror or err}") from err
    try:
        spec = _read_spec(args.chart)
    except ChartInvalid as err:
        return problems + err.problems
    problems += lint(spec, registry=REGISTRY, limits=limit_keys)
    return problems


def cmd_validate(args: argparse.Namespace) -> int:
    problems = _problems(args)
    if args.format == "json":
        print(json.dumps([p.to_json() for p in problems], indent=2))
    else:
        for problem in problems:
            print(problem)
        if not problems:
            print(f"{args.chart or paths.default_chart()}: ok")
    return EXIT_FINDINGS if problems else EXIT_OK


def _compiled(path: Path | None) -> tuple[ChartSpec, type]:
    spec = _read_spec(path)
    return spec, compile_chart(spec, REGISTRY)


def cmd_matrix(args: argparse.Namespace) -> int:
    spec, chart = _compiled(args.chart)
    matrix = build_matrix(chart, spec)
    if args.format == "json":
        print(json.dumps(matrix.to_json(), indent=2))
    elif args.format == "csv":
        sys.stdout.write(matrix.to_csv())
    else:
        print(matrix.to_text())
    return EXIT_OK


TRACE_BUDGET = DocumentBudget(max_bytes=64 << 20)


def read_trace(path: Path) -> list[TraceStep]:
    """A trace file: a run's JSON (``scalpchart run --trace-out``) or a list of steps."""
    try:
        data = json.loads(read_text(path, TRACE_BUDGET))
    except (ChartInvalid, ValueError, RecursionError) as err:
        raise UsageError(f"{path}: cannot read trace: {err}") from err
    steps = data.get("trace", data.get("path")) if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise UsageError(f"{path}: no 'trace' or 'path' list in the trace file")
    out = []
    for step in steps:
        if isinstance(step, str):
            out.append(TraceStep(step))
        elif isinstance(step, dict) and "state" in step:
            out.append(TraceStep(step["state"], step.get("event") or "", step.get("guard") or ""))
        else:
            raise UsageError(f"{path}: bad trace step {step!r}")
    return out


def cmd_render(args: argparse.Namespace) -> int:
    spec = _read_spec(args.chart)
    trace = read_trace(args.trace) if args.trace else []
    data = render(spec, args.format, trace)
    if args.output:
        args.output.write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    elif args.format == "png":
        raise UsageError("PNG output needs -o FILE")
    else:
        sys.stdout.write(data.decode())
    return EXIT_OK


def add_chart_parsers(sub: Any) -> None:
    p = sub.add_parser("validate", help="schema-check and lint a chart (and a limits file)")
    chart_arg(p)
    p.add_argument("--limits", type=Path,
                   help="the limits YAML the chart runs with (default: config/limits.yaml)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("matrix", help="the transition matrix of the compiled chart")
    chart_arg(p)
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser("render", help="draw the chart (optionally with a run's trace)")
    chart_arg(p)
    p.add_argument("--format", choices=("dot", "svg", "png"), default="dot")
    p.add_argument("-o", "--output", type=Path)
    p.add_argument("--trace", type=Path, help="a run's JSON (scalpchart run --trace-out)")
    p.set_defaults(func=cmd_render)
