"""``scalpchart run`` as text: human times and units, ``-`` for what has no value.

Timestamps (the exchange's clock) are shown as ``HH:MM:SS.mmm`` KST, durations in
seconds or milliseconds, and a line says which faults were injected into the run.
The JSON output (``--format json``) keeps the machine units (``*_ns``, ``*_us``).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from execution.market_session import KST
from execution.sim.faults import FaultConfig

MAX_ROWS = 10  # children and fills listed; the rest is counted (all of it is in --format json)


def dash(value: object) -> str:
    """``-`` for a missing value, else the value as text."""
    return "-" if value is None or value == "" else str(value)


def clock_time(epoch_ns: int) -> str:
    """An exchange timestamp as ``HH:MM:SS.mmm`` in Seoul time."""
    moment = datetime.fromtimestamp(epoch_ns / 1e9, KST)
    return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


def duration(micros: float | None) -> str:
    """A duration in s (from one second on) or ms, three decimals."""
    if micros is None:
        return "-"
    if abs(micros) >= 1_000_000:
        return f"{micros / 1_000_000:.3f} s"
    return f"{micros / 1000:.3f} ms"


def _pct(rate: float) -> str:
    return f"{rate * 100:g} %"


def _windows(windows: Sequence[tuple[float, float]]) -> str:
    return ", ".join(f"{a:g}-{b:g} s" for a, b in windows)


# FaultConfig field -> how a value that is not the default reads
_FAULT_TEXT: dict[str, Any] = {
    "reject_rate": lambda v: f"reject {_pct(v)} of sends",
    "disconnects": lambda v: f"{v} disconnect(s) right after an accept",
    "extra_latency_ms": lambda v: f"+{v:g} ms on every ack, modify and cancel",
    "duplicate_fill_rate": lambda v: f"{_pct(v)} of fill pushes duplicated",
    "reorder_fills": lambda v: "fill pushes reordered",
    "disconnect_windows": lambda v: f"disconnected {_windows(v)} after the start",
    "auto_reconnect": lambda v: "no automatic reconnect",
    "slow_ack_rate": lambda v: f"{_pct(v)} of sends acknowledged late",
    "slow_ack_ms": lambda v: f"late acks +{v:g} ms",
    "replace_on_modify": lambda v: "revises answer a new order id",
    "lost_answer_rate": lambda v: f"{_pct(v)} of answers lost",
    "lost_push_rate": lambda v: f"{_pct(v)} of fill pushes lost",
}


def describe_faults(config: FaultConfig | None) -> list[str]:
    """One phrase per fault switched on (every field that differs from its default)."""
    if config is None:
        return []
    default = FaultConfig()
    out = []
    for f in fields(FaultConfig):
        value = getattr(config, f.name)
        if value != getattr(default, f.name):
            text = _FAULT_TEXT.get(f.name)
            out.append(text(value) if text is not None else f"{f.name}={value}")
    return out


def injected(args: argparse.Namespace) -> list[str]:
    """The faults and failure conditions the command line injected into this run."""
    out = describe_faults(getattr(args, "broker_faults", None))
    if getattr(args, "escape_after_ms", None) is not None:
        out.append(f"external escape after {args.escape_after_ms:g} ms")
    if getattr(args, "market_closed", False):
        out.append("market closed at the start")
    safety = getattr(args, "safety_state", "NORMAL")
    if safety != "NORMAL":
        out.append(f"safety state {safety}")
    return out


def faults_line(args: argparse.Namespace) -> str:
    return "faults:   " + ("; ".join(injected(args)) or "none")


def _rows(items: Sequence[Any], render: Any) -> list[str]:
    lines = [render(item) for item in items[:MAX_ROWS]]
    if len(items) > MAX_ROWS:
        lines.append(f"  ... {len(items) - MAX_ROWS} more (--format json lists all)")
    return lines


def _child(c: Mapping[str, Any]) -> str:
    price = "market" if c["price"] is None else f"@ {c['price']}"
    return (f"  #{c['sequence']:<3} {c['qty']:>7} {price:<10} released "
            f"{clock_time(c['scheduled_ns'])}  {c['status']:<9} filled {c['filled_qty']}")


def _fill(f: Mapping[str, Any]) -> str:
    return (f"  {clock_time(f['ts_ns'])}  {f['qty']:>7} @ {f['price']:<10} "
            f"fee {Decimal(str(f['fee'])):.2f}")


def _path(data: Mapping[str, Any]) -> str:
    steps = data["path"]
    if not steps:
        return "path:     -"
    t0 = steps[0]["at_ns"]
    return "path:     " + " -> ".join(
        s["state"] + (f" (+{duration((s['at_ns'] - t0) / 1000)})" if i == len(steps) - 1 else "")
        for i, s in enumerate(steps))


def run_lines(data: Mapping[str, Any], args: argparse.Namespace) -> list[str]:
    """The text of one run's JSON (``ExecutionResult.to_json()``)."""
    intent = data["intent"]
    lines = [f"execution {data['execution_id']}: {intent['side']} {intent['qty']} "
             f"{intent['symbol']} -> {data['final_state']}"
             + (f" ({data['reason']})" if data["reason"] else ""),
             faults_line(args), _path(data)]
    lines += [f"alert:    {a['message']}" for a in data["alerts"]]
    lines.append(f"children: {len(data['children'])}")
    lines += _rows(data["children"], _child)
    lines.append(f"fills:    {len(data['fills'])}, filled {data['filled_qty']}/{intent['qty']}"
                 " (times KST)")
    lines += _rows(data["fills"], _fill)
    slip = data["slippage_bps"]
    lines.append(f"price:    avg {dash(data['avg_price'])}  arrival {dash(data['arrival_price'])}"
                 f"  slippage {'-' if slip is None else f'{slip:.3f} bps'}"
                 f"  fees {dash(data['fees'])}")
    lines.append(f"{'stage':<12} {'in state':>12} {'engine busy':>12}")
    in_state, busy = data["stage_latency_us"], data["stage_busy_us"]
    for stage in [*in_state, *(s for s in busy if s not in in_state)]:
        lines.append(f"  {stage:<10} {duration(in_state.get(stage)):>12} "
                     f"{duration(busy.get(stage)):>12}")
    return lines
