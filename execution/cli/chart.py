"""The chart commands: validate, matrix, render."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from execution import paths
from execution.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError, chart_arg
from execution.cli.preflight import need_dot, render_format, writable_file
from execution.guards import REGISTRY
from statecharts.compiler import compile_chart
from statecharts.document import DocumentBudget, read_text
from statecharts.errors import DocumentInvalid, Problem
from statecharts.lint import lint
from statecharts.loader import load_chart
from statecharts.matrix import build_matrix
from statecharts.render import TraceStep, render, staleness, trace_title
from statecharts.spec import ChartSpec


def _read_spec(path: Path | None) -> ChartSpec:
    chart = path or paths.default_chart()
    try:
        return load_chart(chart)
    except OSError as err:
        raise UsageError(f"{chart}: cannot read: {err.strerror or err}") from err


def _limit_problems(limits: Path | None) -> tuple[list[str] | None, list[Problem]]:
    """The limits given, else the default ones that ``run`` and the Engine use, so what
    validates is what runs."""
    from execution.settings import read_limits

    limits = limits if limits is not None else paths.default_limits()
    try:
        return list(read_limits(limits).keys()), []
    except DocumentInvalid as err:
        return None, err.problems
    except OSError as err:
        raise UsageError(f"{limits}: cannot read: {err.strerror or err}") from err


def _chart_problems(chart: Path | None, limit_keys: list[str] | None) -> list[Problem]:
    try:
        spec = _read_spec(chart)
    except DocumentInvalid as err:
        return err.problems
    return lint(spec, registry=REGISTRY, limits=limit_keys)


def cmd_validate(args: argparse.Namespace) -> int:
    """Every problem, located; "chart ok, limits ok" per chart only when nothing at all was
    found (a run with findings prints findings only, so every line of it points at a
    place). The limits checked are named: the default ones unless ``--limits``."""
    limits = args.limits if args.limits is not None else paths.default_limits()
    limit_keys, problems = _limit_problems(limits)
    charts = [chart or paths.default_chart() for chart in (args.charts or [None])]
    for chart in charts:
        problems += _chart_problems(chart, limit_keys)
    if args.format == "json":
        print(json.dumps({"checked": {"charts": [str(c) for c in charts], "limits": str(limits)},
                          "findings": [p.to_json() for p in problems]}, indent=2))
    elif problems:
        for problem in problems:
            print(problem)
    else:
        for chart in charts:
            print(f"{chart}: chart ok, limits ok ({limits})")
    return EXIT_FINDINGS if problems else EXIT_OK


def valid_spec(path: Path | None) -> ChartSpec:
    """The chart, loaded and linted against the registry and the default limits (when they
    can be read: drawing a chart does not need them); an invalid one is refused with its
    findings (exit 1)."""
    spec = _read_spec(path)
    try:
        limit_keys, _ = _limit_problems(paths.default_limits())
    except UsageError:
        limit_keys = None
    problems = lint(spec, registry=REGISTRY, limits=limit_keys)
    if problems:
        raise DocumentInvalid(problems)
    return spec


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
    except (DocumentInvalid, ValueError, RecursionError) as err:
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


def read_trace_title(path: Path) -> str | None:
    """The title of a trace render: the execution and its outcome, from a run's JSON
    (None for a bare list of steps, which names neither)."""
    data = json.loads(read_text(path, TRACE_BUDGET))  # read_trace has vetted it
    if not isinstance(data, dict) or not data.get("execution_id"):
        return None
    detail = (f"filled {data['filled_qty']}/{data['qty']}"
              if isinstance(data.get("filled_qty"), int) and isinstance(data.get("qty"), int)
              else "")
    return trace_title(str(data["execution_id"]), str(data.get("final_state") or "?"),
                       [str(c) for c in data.get("codes") or []], detail)


def check_drawings(spec: ChartSpec, files: list[Path]) -> int:
    """``render --check``: exit 1 when a committed drawing no longer matches the chart."""
    stale = 0
    for path in files:
        try:
            reason = staleness(spec, path.suffix.lower(), path.read_bytes())
        except FileNotFoundError:
            reason = "missing"
        except OSError as err:
            raise UsageError(f"{path}: cannot read: {err.strerror or err}") from err
        except ValueError as err:
            raise UsageError(f"{path}: {err}") from err
        if reason is None:
            print(f"{path}: up to date")
            continue
        stale += 1
        fmt = "svg" if path.suffix.lower() == ".svg" else "dot"
        print(f"{path}: stale ({reason}); re-render it: "
              f"scalpchart render {spec.file} --format {fmt} -o {path}")
    return EXIT_FINDINGS if stale else EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    if args.check:
        if args.trace or args.output or args.format:
            raise UsageError("--check compares committed files: no --trace, -o or --format "
                             "with it")
        return check_drawings(valid_spec(args.chart), args.check)
    fmt = render_format(args.format, args.output)
    if fmt == "png" and args.output is None:
        raise UsageError("PNG output needs -o FILE")
    need_dot(fmt)
    if args.output is not None:
        writable_file(args.output, "-o")
    spec = valid_spec(args.chart)
    trace = read_trace(args.trace) if args.trace else []
    data = render(spec, fmt, trace, read_trace_title(args.trace) if args.trace else None)
    if args.output:
        try:
            args.output.write_bytes(data)
        except OSError as err:
            raise UsageError(f"-o {args.output}: cannot write: {err.strerror or err}") from err
        print(f"wrote {args.output} ({fmt})", file=sys.stderr)
    else:
        sys.stdout.write(data.decode())
    return EXIT_OK


def add_chart_parsers(sub: Any) -> None:
    p = sub.add_parser("validate", help="schema-check and lint charts (and a limits file)")
    p.add_argument("charts", nargs="*", type=Path, metavar="chart",
                   help="chart YAML files (default: config/scalp_execution.yaml)")
    p.add_argument("--limits", type=Path,
                   help="the limits YAML the charts run with (default: config/limits.yaml)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="findings as lines, or one JSON object")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("matrix", help="the transition matrix of the compiled chart")
    chart_arg(p)
    p.add_argument("--format", choices=("text", "json", "csv"), default="text",
                   help="output format on stdout")
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser("render", help="draw the chart (optionally with a run's trace)")
    chart_arg(p)
    p.add_argument("--format", choices=("dot", "svg", "png"), default=None,
                   help="output format (default: the -o file's extension, else dot)")
    p.add_argument("-o", "--output", type=Path,
                   help="write here (.dot/.gv, .svg, .png) instead of stdout")
    p.add_argument("--trace", type=Path, help="a run's JSON (scalpchart run --trace-out)")
    p.add_argument("--check", nargs="+", type=Path, metavar="FILE",
                   help="exit 1 when these committed drawings (.dot, .svg) are stale")
    p.set_defaults(func=cmd_render)
