"""``scalpchart simulate --suite DIR``: every scenario of a folder, one table, targets."""

from __future__ import annotations

import argparse
import json
import sys

from execution.cli.common import UsageError, write_texts
from execution.cli.preflight import writable_dir


def cmd_suite(args: argparse.Namespace) -> int:
    """Run the suite; exit 0 when every scenario met its targets, 1 when one missed (or a
    scenario is invalid: its findings), 2 on a bad folder."""
    from execution.simulate.suite import load_suite, render_suite, run_suite

    folder = args.suite
    if args.scenario is not None:
        raise UsageError("--suite and --scenario exclude each other")
    if not folder.is_dir():
        raise UsageError(f"--suite {folder}: not a directory")
    if args.out is not None:
        writable_dir(args.out, "--out")
    try:
        scenarios = load_suite(folder)  # an invalid one raises DocumentInvalid: exit 1
    except OSError as err:
        raise UsageError(f"{err.filename or folder}: cannot read: {err.strerror or err}"
                         ) from err
    if not scenarios:
        raise UsageError(f"--suite {folder}: no scenario (*.yaml) in it")

    def progress(name: str, done: int, total: int) -> None:
        if show:
            print(f"\r{name}: {done}/{total} intents", end="", file=sys.stderr, flush=True)

    show = sys.stderr.isatty() and not args.no_progress
    suite = run_suite(scenarios, intents=args.intents, seed=args.seed, clock=args.clock,
                      chart=args.chart, limits=args.limits, progress=progress)
    if show:
        print(file=sys.stderr)
    text = render_suite(suite.data)
    payload = json.dumps(suite.data, indent=2) + "\n"
    if args.out is not None:
        write_texts(args.out, {"suite.json": payload, "suite.txt": text}, "--out")
    sys.stdout.write(payload if args.format == "json" else text)
    if not suite.met:
        print("scalpchart simulate: targets missed: " + "; ".join(
            f"{name}: {', '.join(keys)}" for name, keys in suite.data["missed"].items()),
            file=sys.stderr)
        return 1
    return 0
