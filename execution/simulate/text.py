"""The report as text: rich tables, the engine and every baseline side by side.

One number per cell; every ratio as a percentage with one decimal; the definitions of
the figures only on request (``render_text(..., explain=True)``, ``--explain``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from execution.simulate.metrics import COMPONENTS

#: what each baseline does, for the report's header (a strategy not listed here is named only)
BASELINES = {
    "market": "one market order at arrival",
    "passive": "one limit at the near touch at arrival, never adjusted, cancelled at the horizon",
    "peg_cross": "join the near touch, re-peg (at most once a second) when it moves away, "
                 "cross at half the horizon, capped at the slippage maximum",
}


def fmt(value: Any, digits: int = 2) -> str:
    """A figure for a table cell: ``-`` for none, floats to ``digits`` places."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def pct(ratio: float | None) -> str:
    """A ratio as a percentage: every percentage of the report reads alike (``99.5 %``)."""
    return "-" if ratio is None else f"{ratio * 100:.1f} %"


def by_strategy(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The engine, then every baseline in the report, in its order."""
    return {"engine": data["engine"], **data["baselines"]}


def _table(title: str, first: str, names: list[str], extra: tuple[str, ...] = ()) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for col in (*extra, *names):
        table.add_column(col, justify="left" if col == "figure" else "right")
    return table


def _side_by_side(data: Mapping[str, Any]) -> Table:
    strategies = by_strategy(data)
    names = list(strategies)
    table = _table("Engine vs baselines (slippage and IS: positive = cost)", "figure", names)

    def row(label: str, get: Any, show: Any = fmt) -> None:
        table.add_row(label, *(show(get(strategies[n])) for n in names))

    for key in ("mean", "median", "p95", "p99", "max"):
        row(f"slippage {key} (bps)", lambda r, k=key: r["slippage_bps"][k])
    row("IS mean (bps)", lambda r: r["shortfall_bps"]["mean"])
    for comp in COMPONENTS:
        row(f"  {comp} (bps)", lambda r, c=comp: r["shortfall_bps"][c])
    row("fully filled", lambda r: r["fully_filled_ratio"], pct)
    row("filled in horizon", lambda r: r["filled_within_horizon_ratio"], pct)
    row("fill ratio (qty)", lambda r: r["fill_ratio"], pct)
    row("time to complete p50 (s)", lambda r: r["time_to_complete_s"]["median"])
    row("time to complete p95 (s)", lambda r: r["time_to_complete_s"]["p95"])
    row("adjust rounds mean", lambda r: r["adjust_rounds"]["mean"])
    row("escapes", lambda r: r["escapes"]["count"])
    return table


SIZE_FIGURES: tuple[tuple[str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("slippage mean (bps)", lambda b: b["slippage_bps"]["mean"]),
    ("slippage p95 (bps)", lambda b: b["slippage_bps"]["p95"]),
    ("IS mean (bps)", lambda b: b["shortfall_bps"]["mean"]),
    ("fully filled", lambda b: pct(b["fully_filled_ratio"])),
)


def _by_size(data: Mapping[str, Any]) -> Table:
    strategies = by_strategy(data)
    names = list(strategies)
    table = _table("By size (shares)", "bucket", names, extra=("n", "figure"))
    for bucket, body in data["engine"]["by_size"].items():
        for k, (label, get) in enumerate(SIZE_FIGURES):
            table.add_row(bucket if k == 0 else "", str(body["intents"]) if k == 0 else "",
                          label, *(fmt(get(strategies[n]["by_size"][bucket])) for n in names),
                          end_section=k == len(SIZE_FIGURES) - 1)
    return table


def _counts(title: str, data: Mapping[str, Any], key: str, first: str) -> Table:
    strategies = by_strategy(data)
    names = list(strategies)
    table = _table(title, first, names)
    for k in sorted({k for r in strategies.values() for k in r[key]}):
        table.add_row(k, *(str(strategies[n][key].get(k, 0)) for n in names))
    return table


def _latency(data: Mapping[str, Any]) -> Table:
    table = Table(title="Engine time in our own code per stage (us)", title_justify="left")
    for col in ("stage", "n", "p50", "p99", "max"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for stage, s in data["stage_latency_us"].items():
        table.add_row(stage, str(s["n"]), fmt(s["p50"], 1), fmt(s["p99"], 1), fmt(s["max"], 1))
    return table


#: the report's figures that ``definitions`` in the data does not cover (``--explain``)
FIGURES = {
    "fully filled": "share of intents whose whole quantity was filled",
    "filled in horizon": "share of intents fully filled within the scenario's horizon",
    "fill ratio (qty)": "filled shares / intended shares, over all intents",
    "time to complete": "arrival to the last fill, over the fully filled intents (simulated s)",
    "adjust rounds mean": "AdaptiveAdjust re-pricing rounds per intent",
    "escapes": "intents that ended ESCAPED (an emergency escape)",
    "p50 / p95 / p99": "percentiles over the intents (linear interpolation)",
    "percentages": "every ratio is shown as a percentage with one decimal",
}


def _header(data: Mapping[str, Any]) -> list[str]:
    sc = data["scenario"]
    described = [f"{name} = {BASELINES[name]}" for name in data["baselines"] if name in BASELINES]
    described += [name for name in data["baselines"] if name not in BASELINES]
    return [
        f"scalpchart simulate: scenario {sc['name']} ({sc['file']}), {data['intents']} intents, "
        f"seed {data['seed']}, {sc['clock']} clock, queue model {sc['queue_model']}, "
        f"horizon {sc['horizon_s']:g} s, symbols {', '.join(sc['symbols'])}",
        "baselines: " + "; ".join(described),
    ]


def explain_lines(data: Mapping[str, Any]) -> list[str]:
    """What every figure of the report means (``scalpchart simulate --explain``)."""
    width = max(len(k) for k in (*data["definitions"], *FIGURES))
    lines = ["Definitions"]
    lines += [f"  {k:<{width}}  {v}" for k, v in data["definitions"].items()]
    lines += [f"  {k:<{width}}  {v}" for k, v in FIGURES.items()]
    return lines


def _targets(data: Mapping[str, Any]) -> list[str]:
    t = data["targets"]
    cap, is_, fill = t["slippage_cap"], t["shortfall_vs_market"], t["filled_within_horizon"]

    def mark(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    vwap = data["engine"]["vwap"]
    slip = vwap["slippage_bps"]
    return [
        f"target slippage <= {cap['cap_bps']:g} bps on every intent: worst {cap['worst_bps']:.2f}"
        f" bps, {cap['breaches']} breaches -> {mark(cap['met'])}",
        f"target engine IS >= {pct(is_['target'])} below market: engine "
        f"{is_['engine_mean_bps']:.2f} bps vs market {is_['market_mean_bps']:.2f} bps, "
        f"reduction {pct(is_['reduction'])} -> {mark(is_['met'])}",
        f"target >= {pct(fill['target'])} fully filled within the horizon: "
        f"{pct(fill['ratio'])} -> {mark(fill['met'])}",
        f"VWAP runs: {vwap['intents']}, slippage vs market VWAP (bps) mean "
        f"{fmt(slip['mean'])}, p95 {fmt(slip['p95'])}",
    ]


def _ids(indices: list[int]) -> str:
    return ", ".join(map(str, indices)) if indices else "none"


def _reconciliation(data: Mapping[str, Any]) -> list[str]:
    lines = []
    for name, r in data["reconciliation"].items():
        lines.append(f"reconciliation {name}: counted {r['filled_qty']} shares, exchange "
                     f"{r['exchange_filled_qty']}; mismatched intents "
                     f"{_ids(r['mismatched_intents'])}; late fills {r['late_fill_qty']}; "
                     f"position mismatches {_ids(r['position_mismatches'])}")
    return lines


def render_text(data: Mapping[str, Any], width: int = 120, explain: bool = False) -> str:
    """The report; with ``explain``, the definitions of its figures at the end."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    for line in _header(data):
        console.print(line, soft_wrap=True)
    console.print()
    console.print(_side_by_side(data))
    console.print(_by_size(data))
    console.print(_counts("Final states", data, "final_states", "final state"))
    console.print(_counts("FS/GR codes (alerts raised)", data, "codes", "code"))
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
    if explain:
        console.print()
        for line in explain_lines(data):
            console.print(line, soft_wrap=True)
    else:
        console.print("(scalpchart simulate --explain defines every figure)")
    return buffer.getvalue()
