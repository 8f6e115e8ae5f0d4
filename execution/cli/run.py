"""``scalpchart run``: one intent against the built-in simulated exchange."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from execution.cli.common import (
    UsageError,
    non_empty,
    non_negative_float,
    positive_decimal,
    positive_int,
    seed,
)
from execution.context import SafetyState
from execution.contracts import ExecutionIntent, ExecutionResult, Side, SplitStrategy, Urgency
from execution.market_session import KST, KrxSessions, default_sim_start, parse_at
from execution.settings import load_engine_limits
from execution.sim import SimulatedExchange, parse_faults


def _at(text: str) -> datetime:
    try:
        return parse_at(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _faults(text: str) -> Any:
    try:
        return parse_faults(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="execute one intent against the simulated exchange")
    p.add_argument("--symbol", required=True, type=non_empty)
    p.add_argument("--side", required=True, choices=[s.value for s in Side])
    p.add_argument("--qty", required=True, type=positive_int)
    p.add_argument("--limit", type=positive_decimal, help="limit price in KRW")
    p.add_argument("--strategy", default="auto", choices=[s.value for s in SplitStrategy])
    p.add_argument("--urgency", default="normal", choices=[u.value for u in Urgency])
    p.add_argument("--seed", type=seed, default=7)
    p.add_argument("--clock", choices=("real", "virtual"), default="real",
                   help="virtual: simulated waits cost no wall time (deterministic with --seed)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--trace-out", type=Path, help="write the run (JSON, with its trace) here")
    p.add_argument("--limits", type=Path, help="limits YAML (default: config/limits.yaml)")
    p.add_argument("--chart", type=Path, help="chart YAML (default: config/scalp_execution.yaml)")
    p.add_argument("--at", type=_at, help='exchange time "YYYY-MM-DD HH:MM" (Asia/Seoul)')
    p.add_argument("--market-closed", action="store_true",
                   help="start the exchange clock outside the session")
    p.add_argument("--safety-state", default="NORMAL", choices=[s.value for s in SafetyState])
    p.add_argument("--capital", type=positive_decimal, help="capital available in KRW")
    p.add_argument("--escape-after-ms", type=non_negative_float,
                   help="trigger an external emergency escape N ms after the start")
    p.add_argument("--broker-faults", type=_faults, default=None,
                   help="e.g. reject=0.2,disconnect=1,latency=50,dup=0.1,reorder=1")
    p.set_defaults(func=cmd_run)


def _start_moment(args: argparse.Namespace, sessions: KrxSessions) -> datetime:
    start: datetime = args.at or default_sim_start(sessions=sessions)
    if args.market_closed:
        start = start.astimezone(KST).replace(hour=20, minute=0) - timedelta(days=1)
    return start


async def execute(args: argparse.Namespace) -> ExecutionResult:
    from execution.engine import Engine

    loop = asyncio.get_running_loop()
    sessions = KrxSessions()
    start = _start_moment(args, sessions)
    exchange = SimulatedExchange(seed=args.seed, start_ns=int(start.timestamp() * 1e9),
                                 time_source=loop.time, is_open=sessions.is_open,
                                 faults=args.broker_faults)
    engine = Engine(exchange, limits=load_engine_limits(args.limits), chart=args.chart,
                    sessions=sessions, safety_state=SafetyState(args.safety_state),
                    capital_krw=args.capital)
    intent = ExecutionIntent(args.symbol, Side(args.side), args.qty, args.limit,
                             Urgency(args.urgency), SplitStrategy(args.strategy))
    async with exchange:
        execution = engine.submit(intent)
        if args.escape_after_ms is not None:
            loop.call_later(args.escape_after_ms / 1000, engine.escape, execution.id,
                            f"external escape after {args.escape_after_ms:g} ms")
        result = await execution.result
    await engine.close()
    return result


def result_json(result: ExecutionResult) -> dict[str, Any]:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value.quantize(Decimal("0.01")))

    return {
        "execution_id": result.execution_id,
        "intent": {"symbol": result.intent.symbol, "side": result.intent.side.value,
                   "qty": result.intent.qty,
                   "limit": str(result.intent.limit_price) if result.intent.limit_price else None},
        "final_state": result.final_state,
        "reason": result.reason,
        "path": [{"state": s.state, "event": s.event, "at_ns": s.at_ns} for s in result.path],
        "trace": result.extra.get("trace", []),
        "alerts": [a.to_json() for a in result.alerts],
        "children": [c.to_json() for c in result.children],
        "fills": [f.to_json() for f in result.fills],
        "filled_qty": result.filled_qty,
        "avg_price": money(result.avg_price),
        "arrival_price": money(result.arrival_price),
        "slippage_bps": None if result.slippage_bps is None else round(result.slippage_bps, 3),
        "fees": money(result.fees),
        "adjust_rounds": result.extra.get("adjust_rounds", 0),
        "stage_latency_us": {k: round(v, 1) for k, v in result.stage_latency_us.items()},
        "stage_busy_us": {k: round(v, 1) for k, v in _busy(result).items()},
    }


def _busy(result: ExecutionResult) -> dict[str, float]:
    busy = result.extra.get("stage_busy_us", {})
    return dict(busy) if isinstance(busy, dict) else {}


def print_text(result: ExecutionResult) -> None:
    data = result_json(result)
    print(f"execution {data['execution_id']}: {data['intent']['side']} {data['intent']['qty']} "
          f"{data['intent']['symbol']} -> {data['final_state']}"
          + (f" ({data['reason']})" if data["reason"] else ""))
    print("path:    " + " -> ".join(s["state"] for s in data["path"]))
    for alert in data["alerts"]:
        print(f"alert:   {alert['message']}")
    print(f"children: {len(data['children'])}  "
          + ", ".join(f"{c['qty']}@{c['price']} {c['status']}" for c in data["children"]))
    print(f"fills:   {len(data['fills'])}  filled {data['filled_qty']}/{data['intent']['qty']}")
    print(f"price:   avg {data['avg_price']}  arrival {data['arrival_price']}  "
          f"slippage {data['slippage_bps']} bps  fees {data['fees']}")
    print("stage      in-state (us)   engine busy (us)")
    for stage, micros in data["stage_latency_us"].items():
        busy = data["stage_busy_us"].get(stage, 0.0)
        print(f"  {stage:<10} {micros:>12.1f}   {busy:>12.1f}")


def cmd_run(args: argparse.Namespace) -> int:
    from execution.sim.vclock import run_on

    result = run_on(execute(args), getattr(args, "clock", "real"))
    data = result_json(result)
    if args.trace_out:
        try:
            args.trace_out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        except OSError as err:
            raise UsageError(f"{args.trace_out}: cannot write: {err.strerror or err}") from err
    if args.format == "json":
        print(json.dumps(data, indent=2))
    else:
        print_text(result)
    return 0 if result.final_state == "COMPLETE" else 1
