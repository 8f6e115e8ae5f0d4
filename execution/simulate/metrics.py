"""Aggregate per-intent outcomes into the report's figures (deterministic, JSON-ready)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from execution.simulate.intents import bucket_names, size_bucket
from execution.simulate.outcome import Outcome

COMPONENTS = ("delay", "impact", "opportunity", "fees")


def progress_grid(horizon_s: float) -> tuple[float, ...]:
    """Seconds since arrival at which fill progress is sampled: 0, then 1-2-5 steps from
    1 ms to 0.5 s (a market order fills within milliseconds), then every second to the
    horizon."""
    fine = [round(m * 10.0**e, 6) for e in range(-3, 0) for m in (1, 2, 5)]
    return (0.0, *fine, *(float(t) for t in range(1, int(horizon_s) + 1)))


PROGRESS_GRID_S = progress_grid(60.0)


def _r(value: float, digits: int = 4) -> float:
    return round(float(value), digits) + 0.0  # + 0.0: no "-0.0" in the JSON


def _short(reason: str) -> str:
    """A reason without its numbers, so that alike reasons count together."""
    return re.sub(r"\s+", " ", re.sub(r"=\S+", "", reason)).strip() or "?"


def stats(values: Iterable[float]) -> dict[str, float | int | None]:
    """mean, median, p95, p99, max (and n) of ``values``; None figures when there are none."""
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {"n": 0, "mean": None, "median": None, "p95": None, "p99": None, "max": None}
    return {
        "n": int(data.size),
        "mean": _r(data.mean()),
        "median": _r(np.percentile(data, 50)),
        "p95": _r(np.percentile(data, 95)),
        "p99": _r(np.percentile(data, 99)),
        "max": _r(data.max()),
    }


def shortfall_summary(outcomes: Sequence[Outcome]) -> dict[str, float | int | None]:
    parts = [o.shortfall() for o in outcomes]
    if not parts:
        return {"n": 0, "mean": None, **dict.fromkeys(COMPONENTS)}
    totals = [p["total"] for p in parts]
    summary: dict[str, float | int | None] = {
        "n": len(parts),
        "mean": _r(float(np.mean(totals))),
        "median": _r(float(np.percentile(totals, 50))),
        "p95": _r(float(np.percentile(totals, 95))),
    }
    for name in COMPONENTS:
        summary[name] = _r(float(np.mean([p[name] for p in parts])))
    return summary


def _counts(items: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(items).items()))


def fill_progress(outcomes: Sequence[Outcome],
                  grid: Sequence[float] = PROGRESS_GRID_S) -> list[float]:
    """Mean filled fraction of the intents' quantity at each time of ``grid`` (seconds)."""
    if not outcomes:
        return [0.0 for _ in grid]
    rows = []
    for o in outcomes:
        rows.append([sum(q for t, q in o.fill_times_s if t <= g) / o.qty for g in grid])
    return [_r(v) for v in np.mean(np.asarray(rows), axis=0)]


def strategy_report(outcomes: Sequence[Outcome], edges: tuple[int, ...],
                    horizon_s: float) -> dict[str, object]:
    """Every figure of one strategy (the engine or a baseline) over all intents."""
    slips = [o.slippage_bps for o in outcomes if o.slippage_bps is not None]
    qty = sum(o.qty for o in outcomes)
    filled = sum(o.filled_qty for o in outcomes)
    complete = [o for o in outcomes if o.fully_filled]
    in_time = [o for o in complete if (o.time_to_complete_s or 0.0) <= horizon_s]
    escapes = [o for o in outcomes if o.role == "escaped"]
    by_size: dict[str, dict[str, object]] = {}
    for name in bucket_names(edges):
        group = [o for o in outcomes if size_bucket(o.qty, edges) == name]
        by_size[name] = {
            "intents": len(group),
            "slippage_bps": stats(o.slippage_bps for o in group if o.slippage_bps is not None),
            "shortfall_bps": shortfall_summary(group),
            "fully_filled_ratio": (_r(sum(o.fully_filled for o in group) / len(group))
                                   if group else None),
        }
    by_urgency: dict[str, dict[str, object]] = {}
    for name in sorted({o.intent.urgency.value for o in outcomes}):
        group = [o for o in outcomes if o.intent.urgency.value == name]
        by_urgency[name] = {"intents": len(group), "shortfall_bps": shortfall_summary(group),
                            "slippage_bps": stats(o.slippage_bps for o in group
                                                  if o.slippage_bps is not None)}
    vwap_runs = [o for o in outcomes if o.split_strategy == "vwap"]
    return {
        "intents": len(outcomes),
        "slippage_bps": stats(slips),
        "shortfall_bps": shortfall_summary(outcomes),
        "fully_filled_ratio": _r(len(complete) / len(outcomes)) if outcomes else 0.0,
        "filled_within_horizon_ratio": _r(len(in_time) / len(outcomes)) if outcomes else 0.0,
        "fill_ratio": _r(filled / qty) if qty else 0.0,
        "qty": qty,
        "filled_qty": filled,
        "time_to_complete_s": stats(o.time_to_complete_s for o in complete
                                    if o.time_to_complete_s is not None),
        "adjust_rounds": {"mean": _r(float(np.mean([o.adjust_rounds for o in outcomes])))
                          if outcomes else 0.0,
                          "histogram": {str(k): v for k, v in sorted(
                              Counter(o.adjust_rounds for o in outcomes).items())}},
        "escapes": {"count": len(escapes),
                    "reasons": _counts(o.escape_reason or "?" for o in escapes)},
        "failures": {"count": sum(o.role == "failed" for o in outcomes),
                     "reasons": _counts(_short(o.reason) for o in outcomes
                                        if o.role == "failed")},
        "final_states": _counts(o.final_state for o in outcomes),
        "codes": _counts(code for o in outcomes for code in o.codes),
        "split_strategies": _counts(o.split_strategy for o in outcomes if o.split_strategy),
        "by_size": by_size,
        "by_urgency": by_urgency,
        "vwap": {"intents": len(vwap_runs),
                 "slippage_bps": stats(o.vwap_slippage_bps for o in vwap_runs
                                       if o.vwap_slippage_bps is not None)},
        "fill_progress": {"t_s": list(grid := progress_grid(horizon_s)),
                          "filled_fraction": fill_progress(outcomes, grid)},
    }


def stage_latency(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float | int]]:
    """p50 / p99 of the engine's own busy time per stage (wall time in our code), in us."""
    per_stage: dict[str, list[float]] = {}
    for o in outcomes:
        for stage, micros in o.stage_busy_us.items():
            per_stage.setdefault(stage, []).append(float(micros))
    totals = [sum(o.stage_busy_us.values()) for o in outcomes if o.stage_busy_us]
    if totals:
        per_stage["TOTAL"] = totals
    return {
        stage: {"n": len(v), "p50": _r(float(np.percentile(v, 50)), 1),
                "p99": _r(float(np.percentile(v, 99)), 1), "max": _r(max(v), 1)}
        for stage, v in per_stage.items()
    }


def reconciliation(outcomes: Sequence[Outcome]) -> dict[str, object]:
    """Do the fills a strategy counted match the exchange's journal and account?"""
    mismatched = [o for o in outcomes if o.exchange_filled_qty != o.filled_qty]
    position_off = [o for o in outcomes
                    if "FS092" not in o.codes
                    and o.exchange_position != o.intent.side.sign * o.exchange_filled_qty]
    return {
        "intents": len(outcomes),
        "filled_qty": sum(o.filled_qty for o in outcomes),
        "exchange_filled_qty": sum(o.exchange_filled_qty for o in outcomes),
        "mismatched_intents": [o.index for o in mismatched],
        "position_mismatches": [o.index for o in position_off],
        "late_fill_qty": sum(o.late_fill_qty for o in outcomes),
        "overfilled_intents": [o.index for o in outcomes if o.exchange_filled_qty > o.qty],
        "open_orders_left": [o.index for o in outcomes if o.open_orders_left],
    }


def reconciliation_clean(section: dict[str, object]) -> bool:
    """Every fill counted once and no order left live unreported: the order-truth
    invariant, as the report can see it."""
    return not any(section[key] for key in ("mismatched_intents", "position_mismatches",
                                            "overfilled_intents", "open_orders_left"))
