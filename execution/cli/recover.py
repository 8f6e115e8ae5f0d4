"""``scalpchart recover``: settle what a crashed engine left unfinished, from its journal.

Exit codes: 0 every execution of the journal is final now; 1 an order the broker would
not confirm (listed; run recover again); 2 usage, an unreadable journal or an
unreachable broker (nothing was changed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from execution.broker import BrokerError
from execution.cli.brokers import add_broker_args, make_kis_broker
from execution.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError
from execution.journal import DurableJournal, JournalError, open_journal
from execution.recovery import POLICIES, RESUME_REFUSED
from execution.recovery.report import RecoveryReport, text
from execution.settings import load_engine_limits

SIM_REFUSED = ("--broker sim: the simulated exchange lives inside the engine's process, so "
               "its orders ended with it; there is nothing to recover against (recover a KIS "
               "journal with --broker kis, or call Engine.recover() on the exchange object)")


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 600_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 600000: {text!r}")
    return value


def add_recover_parser(sub: Any) -> None:
    p = sub.add_parser("recover", help="after a crash: settle the journal's unfinished "
                                       "executions against the broker")
    p.add_argument("--journal", type=Path, metavar="PATH",
                   help="the journal (default with --broker kis: journal.path in the broker "
                        "configuration)")
    p.add_argument("--policy", choices=POLICIES, default="escape",
                   help="escape (default): cancel what still works, keep the fills, hand the "
                        "position on; resume: refused (see README)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format on stdout")
    p.add_argument("--in-doubt-wait-ms", type=_milliseconds, default=5000.0,
                   help="how long after a crash a send whose answer was never journaled may "
                        "still reach the broker (default 5000)")
    p.add_argument("--limits", type=Path, help="limits YAML (default: config/limits.yaml)")
    p.add_argument("--chart", type=Path, help="chart YAML (default: config/scalp_execution.yaml)")
    add_broker_args(p)
    p.set_defaults(func=cmd_recover)


def cmd_recover(args: argparse.Namespace) -> int:
    if args.policy == "resume":
        raise UsageError(RESUME_REFUSED)
    if args.broker == "sim":
        raise UsageError(SIM_REFUSED)
    broker = make_kis_broker(args)
    path = args.journal or broker.config.journal_path
    if path is None:
        raise UsageError("no journal: --journal PATH, or journal.path in the broker "
                         "configuration")
    try:
        journal = open_journal(path, info={"command": "recover"})
    except JournalError as err:
        raise UsageError(f"{err}: nothing recovered") from None
    try:
        report = asyncio.run(_recover(args, broker, journal))
    except JournalError as err:
        raise UsageError(str(err)) from None
    except BrokerError as err:
        raise UsageError(f"{err}: recovery stopped (run it again)") from None
    finally:
        journal.close()
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(text(report))
    return EXIT_FINDINGS if report.unconfirmed else EXIT_OK


async def _recover(args: argparse.Namespace, broker: Any,
                   journal: DurableJournal) -> RecoveryReport:
    from execution.engine import Engine

    engine = Engine(broker, limits=load_engine_limits(args.limits), chart=args.chart,
                    journal=journal)
    async with broker:
        try:
            report = await engine.recover(policy=args.policy,
                                          in_doubt_wait_s=args.in_doubt_wait_ms / 1000)
        finally:
            await engine.close()
    if report.unconfirmed:
        print("scalpchart recover: the broker did not confirm every order: run it again",
              file=sys.stderr)
    return report
