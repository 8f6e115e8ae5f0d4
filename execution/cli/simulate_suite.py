"""``scalpchart simulate --suite DIR``: every scenario of a folder, one table, targets."""

from __future__ import annotations

import argparse
import json
import sys

from statecharts.errors import DocumentInvalid


def cmd_suite(args: argparse.Namespace) -> int:
    """Run the suite; exit 0 when every scenario met its targets, 1 when one missed,
    2 on a bad folder or scenario."""
    from execution.simulate.suite import load_suite, render_suite, run_suite

    folder = args.suite
    if not folder.is_dir():
        print(f"scalpchart simulate: error: --suite {folder}: not a directory", file=sys.stderr)
        return 2
    try:
        scenarios = load_suite(folder)
    except OSError as err:
        print(f"scalpchart simulate: error: {err.filename or folder}: cannot read: "
              f"{err.strerror or err}", file=sys.stderr)
        return 2
    except DocumentInvalid as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    if not scenarios:
        print(f"scalpchart simulate: error: --suite {folder}: no scenario (*.yaml) in it",
              file=sys.stderr)
        return 2

    def progress(name: str, done: int, total: int) -> None:
        if show:
            print(f"\r{name}: {done}/{total} intents", end="", file=sys.stderr, flush=True)

    show = sys.stderr.isatty() and not args.no_progress
    suite = run_suite(scenarios, intents=args.intents, seed=args.seed, clock=args.clock,
                      progress=progress)
    if show:
        print(file=sys.stderr)
    text = render_suite(suite.data)
    payload = json.dumps(suite.data, indent=2) + "\n"
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "suite.json").write_text(payload, encoding="utf-8")
        (args.out / "suite.txt").write_text(text, encoding="utf-8")
    sys.stdout.write(payload if args.format == "json" else text)
    if not suite.met:
        print("scalpchart simulate: targets missed: " + "; ".join(
            f"{name}: {', '.join(keys)}" for name, keys in suite.data["missed"].items()),
            file=sys.stderr)
        return 1
    return 0
