"""``scalpchart run``: one intent against the built-in simulated exchange."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from execution.cli.brokers import add_broker_args, make_broker, prepare
from execution.cli.common import (
    UsageError,
    exchange_time,
    non_empty,
    non_negative_float,
    parsed_by,
    positive_decimal,
    positive_int,
    seed,
    write_json,
)
from execution.cli.journaling import add_journal_args, open_for, report_recovery
from execution.cli.preflight import writable_file
from execution.contracts import ExecutionIntent, ExecutionResult, Side, SplitStrategy, Urgency
from execution.journal import JournalError
from execution.market_session import KST, KrxSessions, default_sim_start
from execution.safety import SafetyState
from execution.settings import load_engine_limits
from execution.sim import parse_faults

if TYPE_CHECKING:
    from execution.engine import Engine


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="execute one intent (or a --batch of them) on the "
                                   "simulated exchange, or KIS")
    p.add_argument("--symbol", type=non_empty,
                   help="the intent's symbol (required unless --batch)")
    p.add_argument("--side", choices=[s.value for s in Side],
                   help="buy or sell (required unless --batch)")
    p.add_argument("--qty", type=positive_int, help="shares (required unless --batch)")
    p.add_argument("--batch", type=Path, help="a YAML list of intents, submitted into one "
                   "engine at their after_ms (see execution/schemas/batch.schema.json)")
    p.add_argument("--cash", type=positive_decimal,
                   help="the simulated account's cash in KRW (default: unlimited)")
    p.add_argument("--limit", type=positive_decimal, help="limit price in KRW")
    p.add_argument("--strategy", default="auto", choices=[s.value for s in SplitStrategy],
                   help="how to split the order (auto: the engine chooses)")
    p.add_argument("--urgency", default="normal", choices=[u.value for u in Urgency],
                   help="the intent's urgency")
    p.add_argument("--seed", type=seed, default=7, help="the simulated market's seed")
    p.add_argument("--clock", choices=("real", "virtual"), default="real",
                   help="virtual: simulated waits cost no wall time (deterministic with --seed)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format on stdout")
    p.add_argument("--trace-out", type=Path, help="write the run (JSON, with its trace) here")
    p.add_argument("--limits", type=Path, help="limits YAML (default: config/limits.yaml)")
    p.add_argument("--chart", type=Path, help="chart YAML (default: config/scalp_execution.yaml)")
    p.add_argument("--at", type=exchange_time, help='exchange time "YYYY-MM-DD HH:MM" (Asia/Seoul)')
    p.add_argument("--market-closed", action="store_true",
                   help="start the exchange clock outside the session")
    p.add_argument("--safety-state", default="NORMAL", choices=[s.value for s in SafetyState],
                   help="the safety state PreCheck sees")
    p.add_argument("--capital", type=positive_decimal, help="capital available in KRW")
    p.add_argument("--escape-after-ms", type=non_negative_float,
                   help="trigger an external emergency escape N ms after the start")
    p.add_argument("--broker-faults", type=parsed_by(parse_faults), default=None,
                   help="e.g. reject=0.2,disconnect=1,latency=50,dup=0.1,reorder=1")
    add_broker_args(p)
    add_journal_args(p)
    p.set_defaults(func=cmd_run)


def _start_moment(args: argparse.Namespace, sessions: KrxSessions) -> datetime:
    start: datetime = args.at or default_sim_start(sessions=sessions)
    if args.market_closed:
        start = start.astimezone(KST).replace(hour=20, minute=0) - timedelta(days=1)
    return start


def _engine_and_broker(args: argparse.Namespace) -> tuple[Engine, Any]:
    from execution.engine import Engine

    sessions = KrxSessions()
    start = _start_moment(args, sessions)
    broker = make_broker(args, sessions, start, asyncio.get_running_loop().time)
    journal = open_for(args, broker)
    try:
        engine = Engine(broker, limits=load_engine_limits(args.limits), chart=args.chart,
                        sessions=sessions, safety_state=SafetyState(args.safety_state),
                        capital_krw=args.capital, journal=journal)
    except BaseException:
        if journal is not None:
            journal.close()
        raise
    return engine, broker


async def recover_first(engine: Engine) -> None:
    """What the journal left unfinished is settled before anything new is traded."""
    if engine.recovery_pending:
        report_recovery(await engine.recover())


def close_journal(engine: Engine) -> None:
    """Close the journal; a last write that fails is said (the run's outcome stands)."""
    if engine.journal is not None:
        try:
            engine.journal.close()
        except JournalError as err:
            print(f"scalpchart run: {err}: the last records were not written",
                  file=sys.stderr)


async def execute(args: argparse.Namespace) -> tuple[ExecutionResult, str | None]:
    """Run the intent; return its result and the role of its final state in the chart
    (``success``, ``escaped``, ``failed``: the chart says what an outcome means)."""
    loop = asyncio.get_running_loop()
    engine, broker = _engine_and_broker(args)
    intent = ExecutionIntent(args.symbol, Side(args.side), args.qty, args.limit,
                             Urgency(args.urgency), SplitStrategy(args.strategy))
    try:
        async with broker:
            await prepare(broker, intent.symbol)
            await recover_first(engine)
            execution = engine.submit(intent)
            if args.escape_after_ms is not None:
                loop.call_later(args.escape_after_ms / 1000, engine.escape, execution.id,
                                f"external escape after {args.escape_after_ms:g} ms")
            result = await execution.result
            await engine.close()
    finally:
        close_journal(engine)
    return result, engine.spec.role_of(result.final_state)


def result_json(result: ExecutionResult) -> dict[str, Any]:
    return result.to_json()


def print_text(result: ExecutionResult, args: argparse.Namespace) -> None:
    from execution.cli.run_text import run_lines

    print("\n".join(run_lines(result_json(result), args)))


def cmd_run(args: argparse.Namespace) -> int:
    if args.trace_out is not None:
        writable_file(args.trace_out, "--trace-out")
    if args.batch is not None:
        if any(v is not None for v in (args.symbol, args.side, args.qty)):
            raise UsageError("--batch replaces --symbol/--side/--qty")
        return cmd_batch(args)
    missing = [f"--{n}" for n in ("symbol", "side", "qty") if getattr(args, n) is None]
    if missing:
        raise UsageError(f"{', '.join(missing)} required (or --batch FILE)")
    from execution.sim.vclock import run_on

    try:
        result, role = run_on(execute(args), getattr(args, "clock", "real"))
    except JournalError as err:  # (opening, recovering, or recording the intent)
        raise UsageError(f"{err}: the intent was not sent") from None
    data = result_json(result)
    if args.trace_out:
        write_json(args.trace_out, data, "--trace-out")
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        print_text(result, args)
    return 0 if role == "success" else 1


def cmd_batch(args: argparse.Namespace) -> int:
    from execution.cli.batch import batch_json, load_batch, print_batch, run_batch
    from execution.sim.vclock import run_on

    try:
        entries = load_batch(args.batch)
    except OSError as err:
        raise UsageError(f"{args.batch}: cannot read: {err.strerror or err}") from err

    async def replay() -> dict[str, Any]:
        engine, broker = _engine_and_broker(args)
        try:
            async with broker:
                for symbol in sorted({intent.symbol for _, intent in entries}):
                    await prepare(broker, symbol)
                await recover_first(engine)
                results = await run_batch(engine, broker, entries)
                await engine.close()
        finally:
            close_journal(engine)
        return batch_json(results, broker)

    try:
        data = run_on(replay(), getattr(args, "clock", "real"))
    except JournalError as err:
        raise UsageError(f"{err}: intents from then on were not sent") from None
    if args.trace_out:
        write_json(args.trace_out, data, "--trace-out")
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        from execution.cli.run_text import faults_line

        print(faults_line(args))
        print_batch(data)
    return 0
