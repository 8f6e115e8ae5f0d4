"""The journal options of ``run`` (and ``recover``): which journal, if any, and recovering
what it left unfinished before anything new is traded.

With ``--broker kis`` the journal is on by default, at the broker configuration's
``journal.path``; ``--journal PATH`` picks another file (and turns it on for the
simulator); ``--no-journal`` turns it off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from execution.cli.common import UsageError
from execution.journal import DurableJournal, JournalError, open_journal


def add_journal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journal", type=Path, metavar="PATH",
                   help="write-ahead journal (SQLite); on by default with --broker kis "
                        "(journal.path in the broker configuration)")
    p.add_argument("--no-journal", action="store_true",
                   help="no journal, even with --broker kis")
    p.add_argument("--journal-sync", choices=("normal", "full"), default=None,
                   help="normal: durable when the engine process dies (default); full: also "
                        "when the machine does (an fsync per write, milliseconds each)")


def journal_path(args: argparse.Namespace, broker: Any) -> Path | None:
    if getattr(args, "no_journal", False):
        if args.journal is not None:
            raise UsageError("--journal and --no-journal exclude each other")
        return None
    if args.journal is not None:
        return Path(args.journal)
    config = getattr(broker, "config", None)
    path = getattr(config, "journal_path", None)
    return None if path is None else Path(path)


def open_for(args: argparse.Namespace, broker: Any) -> DurableJournal | None:
    """The journal ``run`` writes to, opened (UsageError when it cannot be)."""
    path = journal_path(args, broker)
    if path is None:
        return None
    config = getattr(broker, "config", None)
    sync = args.journal_sync or getattr(config, "journal_sync", "normal")
    try:
        return open_journal(path, sync=sync, info={"command": "run",
                                                   "broker": getattr(args, "broker", "")})
    except JournalError as err:
        raise UsageError(f"{err}: nothing sent") from None


def report_recovery(report: Any) -> None:
    """A recovery that did something, said on stderr (stdout stays the run's)."""
    from execution.recovery.report import text

    if report.changed or report.unknown_orders or report.unconfirmed:
        print(text(report), file=sys.stderr)
