"""``scalpchart diff``: what a change to the chart (and to the limits) means.

Exit codes: 0 no behaviour change, 1 behaviour changes, 2 usage, unreadable input or an
invalid document (its ``FILE:LINE:COL: [rule] message`` findings on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import graphviz

from execution.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError
from execution.cli.failures import report
from execution.cli.preflight import need_dot, writable_file
from execution.guards import REGISTRY
from statecharts.diff import ChartDiff, diff_charts, diff_limits
from statecharts.diff_report import to_json, to_markdown, to_text
from statecharts.errors import ChartInvalid, DocumentInvalid, Problem
from statecharts.limits import Limits
from statecharts.lint import lint
from statecharts.loader import load_chart
from statecharts.render_diff import render_diff
from statecharts.spec import ChartSpec

GIT_TIMEOUT_S = 30
RENDER_SUFFIXES = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


def read_document(arg: str) -> str:
    """The text of a file, or of ``REV:PATH`` read from git in the current directory."""
    path = Path(arg)
    if path.is_file() or ":" not in arg:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else err
            raise UsageError(f"{arg}: cannot read: {reason}") from err
    try:
        done = subprocess.run(["git", "cat-file", "blob", arg], capture_output=True,
                              check=False, timeout=GIT_TIMEOUT_S)
    except FileNotFoundError as err:
        raise UsageError(f"{arg}: cannot read from git: git is not installed") from err
    except subprocess.TimeoutExpired as err:
        raise UsageError(f"{arg}: git did not answer within {GIT_TIMEOUT_S} s") from err
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        message = lines[0].removeprefix("fatal: ") if lines else f"exit {done.returncode}"
        raise UsageError(f"{arg}: cannot read from git: {message}")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"{arg}: not UTF-8 text") from err


def _limits(arg: str | None, problems: list[Problem]) -> Limits | None:
    from execution.settings import read_limits

    if arg is None:
        return None
    try:
        return read_limits(arg, read_document(arg))
    except DocumentInvalid as err:
        problems.extend(err.problems)
        return None


def _chart(arg: str, limits: Limits | None, registered: bool,
           problems: list[Problem]) -> ChartSpec | None:
    """Load and lint one side. The new side is checked exactly as ``validate`` does; the
    old side without today's registry (a guard the change removes from the code is fine
    in the old chart)."""
    try:
        spec = load_chart(arg, read_document(arg))
    except DocumentInvalid as err:
        problems.extend(err.problems)
        return None
    found = lint(spec, guards=REGISTRY.guards if registered else None,
                 handlers=REGISTRY.handlers if registered else None,
                 limits=list(limits.keys()) if limits is not None else None)
    problems.extend(found)
    return None if found else spec


def compute_diff(args: argparse.Namespace) -> ChartDiff:
    """Load, validate and compare both sides; raises ChartInvalid with every finding."""
    if (args.limits_old is None) != (args.limits_new is None):
        raise UsageError("give both --limits-old and --limits-new (or neither)")
    problems: list[Problem] = []
    limits_old = _limits(args.limits_old, problems)
    limits_new = _limits(args.limits_new, problems)
    old = _chart(args.old, limits_old, False, problems)
    new = _chart(args.new, limits_new, True, problems)
    if problems or old is None or new is None:
        raise ChartInvalid(problems)
    diff = diff_charts(old, new)
    if limits_old is not None and limits_new is not None:
        diff = dataclasses.replace(diff, limits=diff_limits(limits_old, limits_new))
    return diff


def _render_format(args: argparse.Namespace) -> str | None:
    if args.output is None:
        if args.render is not None:
            raise UsageError("--render needs -o FILE")
        return None
    fmt: str | None = args.render or RENDER_SUFFIXES.get(args.output.suffix.lower())
    if fmt is None:
        raise UsageError(f"{args.output}: say --render svg|png|dot (unknown suffix)")
    need_dot(fmt)
    writable_file(args.output, "-o")
    return fmt


def cmd_diff(args: argparse.Namespace) -> int:
    fmt = _render_format(args)
    try:
        diff = compute_diff(args)
    except DocumentInvalid as err:
        report("invalid", err.problems, as_json=args.format == "json")
        return EXIT_USAGE
    if args.format == "json":
        print(json.dumps(to_json(diff), indent=2, ensure_ascii=False))
    elif args.format == "markdown":
        sys.stdout.write(to_markdown(diff))
    else:
        sys.stdout.write(to_text(diff))
    if fmt is not None:
        try:
            args.output.write_bytes(render_diff(diff, fmt))
        except graphviz.ExecutableNotFound as err:
            raise UsageError(f"{fmt} output needs Graphviz's dot: install graphviz") from err
        except OSError as err:
            raise UsageError(f"{args.output}: cannot write: {err.strerror or err}") from err
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_FINDINGS if diff.behaviour_changed else EXIT_OK


def add_diff_parser(sub: Any) -> None:
    p = sub.add_parser(
        "diff", help="what a chart (and limits) change means: 0 none, 1 behaviour changes",
        description="Compare two charts by meaning (and two limits files by value). "
                    "OLD and NEW are files or REV:PATH read from git, e.g. "
                    "HEAD:config/scalp_execution.yaml. Exit 0: no behaviour change, "
                    "1: behaviour changes, 2: usage or an invalid document.")
    p.add_argument("old", metavar="OLD", help="the chart before: FILE or REV:PATH")
    p.add_argument("new", metavar="NEW", help="the chart after: FILE or REV:PATH")
    p.add_argument("--limits-old", metavar="F", help="the limits before: FILE or REV:PATH")
    p.add_argument("--limits-new", metavar="F", help="the limits after: FILE or REV:PATH")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="output format on stdout")
    p.add_argument("--render", choices=("svg", "png", "dot"),
                   help="also draw the union chart (needs -o; default: from the suffix)")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="where --render writes")
    p.set_defaults(func=cmd_diff)
