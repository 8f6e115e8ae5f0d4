"""The report as text: rich tables, engine and baselines side by side."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from execution.simulate.metrics import COMPONENTS

COLUMNS = ("engine", "market", "passive", "peg_cross")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _by_strategy(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {"engine": data["engine"], **data["baselines"]}


def _side_by_side(data: Mapping[str, Any]) -> Table:
    strategies = _by_strategy(data)
    table = Table(title="Engine vs baselines (bps; positive = cost)", title_justify="left")
    table.add_column("figure")
    for name in COLUMNS:
        table.add_column(name, justify="right")

    def row(label: str, get: Any, digits: int = 2) -> None:
        table.add_row(label, *(_fmt(get(strategies[n]), digits) for n in COLUMNS))

    for key in ("mean", "median", "p95", "p99", "max"):
        row(f"slippage {key}", lambda r, k=key: r["slippage_bps"][k])
    row("IS mean", lambda r: r["shortfall_bps"]["mean"])
    for comp in COMPONENTS:
        row(f"  {comp}", lambda r, c=comp: r["shortfall_bps"][c])
    row("fully filled", lambda r: r["fully_filled_ratio"], 3)
    row("filled in horizon", lambda r: r["filled_within_horizon_ratio"], 3)
    row("fill ratio (qty)", lambda r: r["fill_ratio"], 3)
    row("time to complete p50 s", lambda r: r["time_to_complete_s"]["median"])
    row("time to complete p95 s", lambda r: r["time_to_complete_s"]["p95"])
    row("adjust rounds mean", lambda r: r["adjust_rounds"]["mean"])
    row("escapes", lambda r: r["escapes"]["count"])
    return table


def _by_size(data: Mapping[str, Any]) -> Table:
    strategies = _by_strategy(data)
    table = Table(title="By size (shares): slippage mean / p95, IS mean", title_justify="left")
    table.add_column("bucket")
    table.add_column("n", justify="right")
    for name in COLUMNS:
        table.add_column(name, justify="right")
    for bucket, body in data["engine"]["by_size"].items():
        cells = []
        for name in COLUMNS:
            b = strategies[name]["by_size"][bucket]
            cells.append(f"{_fmt(b['slippage_bps']['mean'])} / {_fmt(b['slippage_bps']['p95'])}"
                         f", {_fmt(b['shortfall_bps']['mean'])}")
        table.add_row(bucket, str(body["intents"]), *cells)
    return table


def _counts(title: str, data: Mapping[str, Any], key: str) -> Table:
    strategies = _by_strategy(data)
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    for name in COLUMNS:
        table.add_column(name, justify="right")
    names = sorted({k for r in strategies.values() for k in r[key]})
    for k in names:
        table.add_row(k, *(str(strategies[n][key].get(k, 0)) for n in COLUMNS))
    return table


def _latency(data: Mapping[str, Any]) -> Table:
    table = Table(title="Engine wall time in our code per stage (us; not simulated waits)",
                  title_justify="left")
    for col in ("stage", "n", "p50", "p99", "max"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for stage, s in data["stage_latency_us"].items():
        table.add_row(stage, str(s["n"]), _fmt(s["p50"], 1), _fmt(s["p99"], 1), _fmt(s["max"], 1))
    return table


def _header(data: Mapping[str, Any]) -> list[str]:
    sc = data["scenario"]
    lines = [
        f"scalpchart simulate: scenario {sc['name']} ({sc['file']}), {data['intents']} intents, "
        f"seed {data['seed']}, {sc['clock']} clock, queue model {sc['queue_model']}, "
        f"horizon {sc['horizon_s']:g} s, symbols {', '.join(sc['symbols'])}",
        "baselines: market = one market order at arrival; passive = one limit at the near "
        "touch at arrival, never adjusted, cancelled at the horizon; peg_cross = join the near "
        "touch, re-peg (<= 1/s) when it moves away, cross at half the horizon, capped at the "
        "slippage maximum",
        "definitions:",
    ]
    lines += [f"  {k}: {v}" for k, v in data["definitions"].items()]
    return lines


def _targets(data: Mapping[str, Any]) -> list[str]:
    t = data["targets"]
    cap, is_, fill = t["slippage_cap"], t["shortfall_vs_market"], t["filled_within_horizon"]

    def mark(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    vwap = data["engine"]["vwap"]
    return [
        f"target slippage <= {cap['cap_bps']:g} bps on every intent: worst {cap['worst_bps']:.2f}"
        f" bps, {cap['breaches']} breaches -> {mark(cap['met'])}",
        f"target engine IS >= {is_['target']:.0%} below market: engine {is_['engine_mean_bps']:.2f}"
        f" bps vs market {is_['market_mean_bps']:.2f} bps, reduction {is_['reduction']:.1%}"
        f" -> {mark(is_['met'])}",
        f"target >= {fill['target']:.0%} fully filled within the horizon: {fill['ratio']:.1%}"
        f" -> {mark(fill['met'])}",
        f"VWAP runs: {vwap['intents']}, slippage vs market VWAP mean "
        f"{_fmt(vwap['slippage_bps']['mean'])} bps, p95 {_fmt(vwap['slippage_bps']['p95'])} bps",
    ]


def _reconciliation(data: Mapping[str, Any]) -> list[str]:
    lines = []
    for name, r in data["reconciliation"].items():
        lines.append(f"reconciliation {name}: counted {r['filled_qty']} shares, exchange "
                     f"{r['exchange_filled_qty']}; mismatched intents {r['mismatched_intents']}"
                     f"; late fills {r['late_fill_qty']}; position mismatches "
                     f"{r['position_mismatches']}")
    return lines


def render_text(data: Mapping[str, Any], width: int = 120) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    for line in _header(data):
        console.print(line, soft_wrap=True)
    console.print()
    console.print(_side_by_side(data))
    console.print(_by_size(data))
    console.print(_counts("Final states", data, "final_states"))
    console.print(_counts("FS/GR codes", data, "codes"))
    failures = data["engine"]["failures"]
    if failures["count"]:
        console.print(f"engine failures: {failures['count']}: " + "; ".join(
            f"{k} x{v}" for k, v in failures["reasons"].items()), soft_wrap=True)
    escapes = data["engine"]["escapes"]
    if escapes["count"]:
        console.print(f"engine escapes: {escapes['count']}: " + "; ".join(
            f"{k} x{v}" for k, v in escapes["reasons"].items()), soft_wrap=True)
    console.print("engine split strategies: " + ", ".join(
        f"{k} {v}" for k, v in data["engine"]["split_strategies"].items()))
    console.print(_latency(data))
    for line in _targets(data) + _reconciliation(data):
        console.print(line, soft_wrap=True)
    return buffer.getvalue()
