# PYTHON_ARGCOMPLETE_OK
"""scalpchart: a scalp execution engine driven by a YAML statechart.

Check and draw the chart (validate, matrix, render, diff), trade one intent or a batch
(run), measure execution quality and tune the limits (simulate, sweep, bench), serve the
paper exchange (exchange serve), settle after a crash (recover, journal show), and start a
project folder of your own (init).

Exit codes: 0 ok, 1 findings (an invalid document, an execution that did not succeed),
2 usage or unreadable input.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from execution.cli.bench import add_bench_parser
from execution.cli.chart import add_chart_parsers
from execution.cli.common import EXIT_FINDINGS, EXIT_USAGE, ArgumentsRefused, Parser, UsageError
from execution.cli.diff import add_diff_parser
from execution.cli.exchange import add_exchange_parser
from execution.cli.failures import report, usage_problem, wants_json
from execution.cli.journal import add_journal_parser
from execution.cli.plugins import ENTRY_POINT_GROUP, load_plugins
from execution.cli.project import add_init_parser
from execution.cli.recover import add_recover_parser
from execution.cli.run import add_run_parser
from execution.cli.simulate import add_simulate_parser
from execution.cli.sweep import add_sweep_parser
from statecharts.errors import DocumentInvalid, DocumentUnreadable


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("scalpchart")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="scalpchart", description=__doc__,
                    epilog="Each command has --help. README.md has the details.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE first: a module that registers your guards or "
                             "handlers (repeatable; installed packages can also declare "
                             f"them under the entry point group {ENTRY_POINT_GROUP})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_chart_parsers(sub)
    add_diff_parser(sub)
    add_run_parser(sub)
    add_bench_parser(sub)
    add_simulate_parser(sub)
    add_exchange_parser(sub)
    add_sweep_parser(sub)
    add_recover_parser(sub)
    add_journal_parser(sub)
    add_init_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(argv)
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # shell completion (argcomplete): answers and exits
        import argcomplete

        argcomplete.autocomplete(parser)
    if not argv:  # bare `scalpchart`: the help, as a usage error
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    except ArgumentsRefused as err:
        report("usage", [usage_problem(err.message)], as_json=as_json, text=[str(err)])
        return EXIT_USAGE
    try:
        load_plugins(args.plugin)
        code: int = args.func(args)
    except DocumentUnreadable as err:
        report("usage", [usage_problem(f"cannot read: {err.reason}", err.file)],
               as_json=as_json, text=[f"scalpchart: error: {err}"])
        return EXIT_USAGE
    except UsageError as err:
        report("usage", [usage_problem(str(err))], as_json=as_json,
               text=[f"scalpchart: error: {err}"])
        return EXIT_USAGE
    except DocumentInvalid as err:
        report("invalid", err.problems, as_json=as_json)
        return EXIT_FINDINGS
    except BrokenPipeError:  # `scalpchart ... | head`: the reader has had enough
        _quiet_stdout()
        return EXIT_FINDINGS
    try:
        sys.stdout.flush()  # a pipe closed early shows here, not at interpreter exit
    except BrokenPipeError:
        _quiet_stdout()
    return code


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's own flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    raise SystemExit(main())
