"""``scalpchart``: validate, matrix, render, diff, run (and simulate, sweep, bench,
exchange serve, recover, journal show).

Exit codes: 0 ok, 1 findings (an invalid chart, a failed execution), 2 usage
or unreadable input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from execution.cli.bench import add_bench_parser
from execution.cli.chart import add_chart_parsers
from execution.cli.common import EXIT_FINDINGS, EXIT_USAGE, Parser, UsageError
from execution.cli.diff import add_diff_parser
from execution.cli.exchange import add_exchange_parser
from execution.cli.journal import add_journal_parser
from execution.cli.recover import add_recover_parser
from execution.cli.run import add_run_parser
from execution.cli.simulate import add_simulate_parser
from execution.cli.sweep import add_sweep_parser
from statecharts.errors import DocumentInvalid, DocumentUnreadable


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="scalpchart", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_chart_parsers(sub)
    add_diff_parser(sub)
    add_run_parser(sub)
    add_bench_parser(sub)
    add_simulate_parser(sub)
    add_exchange_parser(sub)
    add_sweep_parser(sub)
    add_recover_parser(sub)
    add_journal_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed on one line
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    try:
        code: int = args.func(args)
    except (UsageError, DocumentUnreadable) as err:
        print(f"scalpchart: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except DocumentInvalid as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return EXIT_FINDINGS
    return code


if __name__ == "__main__":
    raise SystemExit(main())
