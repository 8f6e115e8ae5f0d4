"""``scalpchart exchange serve``: the paper exchange (KIS's protocol over the simulator)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from execution.brokers.kis.wire import DEFAULT_NOTICE_COLUMNS, NOTICE_COLUMNS
from execution.cli.common import (
    UsageError,
    exchange_time,
    non_negative_float,
    port,
    positive_decimal,
    seed,
)


def add_exchange_parser(sub: Any) -> None:
    group = sub.add_parser("exchange", help="the paper exchange: KIS's protocol over the "
                                            "simulated KRX exchange")
    commands = group.add_subparsers(dest="exchange_command", required=True)
    p = commands.add_parser("serve", help="serve KIS's REST and WebSocket protocol locally; "
                                          "prints 'listening on http://HOST:PORT ws://...' "
                                          "first; stops on SIGTERM")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=port, default=0, help="0: any free port (default)")
    p.add_argument("--scenario", type=Path, help="market, latency and fault models "
                                                 "(a `simulate` scenario YAML)")
    p.add_argument("--seed", type=seed, help="market seed (default: the scenario's, else 7)")
    p.add_argument("--at", type=exchange_time, help='exchange time at start, "YYYY-MM-DD HH:MM" '
                                         "(Asia/Seoul; default: a session of a recent day)")
    p.add_argument("--cash", type=positive_decimal, default=None,
                   help="cash of each account in KRW (default 1,000,000,000)")
    p.add_argument("--faults", default="", help="protocol faults, e.g. http500=1,lose=1,"
                   "slow_ms=300,throttle=2,rate_limit=20,revise_lose=1,revise_slow_ms=200")
    p.add_argument("--token-ttl-s", type=non_negative_float, default=86_400.0,
                   help="lifetime of an issued access token, in seconds")
    p.add_argument("--token-interval-s", type=non_negative_float, default=60.0,
                   help="at most one token per app key this often (KIS: 60)")
    p.add_argument("--ping-s", type=non_negative_float, default=10.0, help="PINGPONG interval")
    p.add_argument("--notice-columns", choices=sorted(NOTICE_COLUMNS),
                   default=DEFAULT_NOTICE_COLUMNS,
                   help="the layout of the execution notices pushed over the websocket")
    p.add_argument("--no-latency", action="store_true",
                   help="zero exchange latencies (for latency measurements of the adapter)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from decimal import Decimal

    from execution.paper import PaperSettings, parse_paper_faults
    from execution.paper.serve import serve
    from execution.simulate.scenario import load_scenario

    try:
        faults = parse_paper_faults(args.faults)
    except ValueError as err:
        raise UsageError(f"--faults: {err}") from None
    scenario = None
    if args.scenario is not None:
        try:
            scenario = load_scenario(args.scenario)
        except OSError as err:
            raise UsageError(f"{args.scenario}: cannot read: {err.strerror or err}") from None
    settings = PaperSettings(
        seed=args.seed if args.seed is not None else (scenario.seed if scenario else 7),
        start=args.at, scenario=scenario,
        cash_krw=args.cash if args.cash is not None else Decimal(1_000_000_000),
        token_ttl_s=args.token_ttl_s, token_interval_s=args.token_interval_s,
        ping_s=max(args.ping_s, 0.05), notice_columns=args.notice_columns,
        no_latency=args.no_latency, faults=faults)
    try:
        asyncio.run(serve(settings, args.host, args.port))
    except OSError as err:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: "
                         f"{err.strerror or err}") from None
    return 0
