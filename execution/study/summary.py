"""From a sweep's cells to its variants table, Pareto front and best variant (JSON-ready).

Per variant, over its cells (every scenario and seed): the mean of the cells'
mean implementation shortfall, the mean fully-filled ratio, the worst
slippage of any intent, and the escapes counted. A variant is on the Pareto
front when no other has both a lower shortfall and a higher fully-filled ratio
(at least as good on both and better on one). The best variant is the one with
the lowest shortfall among those that meet the simulate targets (fully filled
ratio >= 99 %, worst slippage <= 50 bps); when none does, the one with the
highest fully-filled ratio (then the lowest shortfall).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from execution.simulate.scenario import Targets
from execution.study.grid import Grid

_DEFAULT = Targets()  # the sweep ranks by the default targets
FILL_TARGET = _DEFAULT.fully_filled_ratio
SLIPPAGE_CAP_BPS = _DEFAULT.max_slippage_bps
CRITERION = (f"lowest mean shortfall among variants with fully-filled ratio >= {FILL_TARGET:g} "
             f"and worst slippage <= {SLIPPAGE_CAP_BPS:g} bps; if none, highest fully-filled "
             "ratio, then lowest shortfall")


def _mean(values: Iterable[float | None]) -> float | None:
    data = [v for v in values if v is not None]
    return round(sum(data) / len(data), 4) + 0.0 if data else None


def variant_rows(grid: Grid, cells: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per variant, in the grid's order."""
    rows = []
    for variant in grid.variants:
        own = [c["engine"] for c in cells if c["variant_id"] == variant.id]
        slips = [e["slippage_max_bps"] for e in own if e["slippage_max_bps"] is not None]
        rows.append({
            "id": variant.id,
            "variant": variant.as_dict(),
            "cells": len(own),
            "shortfall_bps_mean": _mean(e["shortfall_bps_mean"] for e in own),
            "fully_filled_ratio": _mean(e["fully_filled_ratio"] for e in own),
            "slippage_max_bps": round(max(slips), 4) if slips else None,
            "escapes": sum(e["escapes"] for e in own),
        })
    for row in rows:
        row["pareto"] = not any(_dominates(other, row) for other in rows if other is not row)
    return rows


def _score(row: Mapping[str, Any]) -> tuple[float, float]:
    shortfall = row["shortfall_bps_mean"]
    filled = row["fully_filled_ratio"]
    return (float("inf") if shortfall is None else shortfall,
            -1.0 if filled is None else filled)


def _dominates(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    (sa, fa), (sb, fb) = _score(a), _score(b)
    return sa <= sb and fa >= fb and (sa < sb or fa > fb)


def best_variant(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The chosen variant (see the module docstring), with the rule and whether it met it."""
    if not rows:
        raise ValueError("a sweep without variants has no best variant")
    feasible = [r for r in rows
                if (r["fully_filled_ratio"] or 0.0) >= FILL_TARGET
                and r["slippage_max_bps"] is not None
                and r["slippage_max_bps"] <= SLIPPAGE_CAP_BPS]
    if feasible:
        chosen = min(feasible, key=lambda r: _score(r)[0])
    else:
        chosen = min(rows, key=lambda r: (-_score(r)[1], _score(r)[0]))
    return {**chosen, "criterion": CRITERION, "meets_targets": bool(feasible)}


def sweep_data(grid: Grid, cells: Sequence[Mapping[str, Any]], wall_s: float,
               workers: Mapping[str, Any]) -> dict[str, Any]:
    """The sweep's JSON: cells sorted by key (never by completion order), variants, best."""
    ordered = sorted(cells, key=lambda c: c["key"])
    rows = variant_rows(grid, ordered)
    return {
        "grid": grid.file,
        "scenarios": [name for name, _ in grid.scenarios],
        "seeds": list(grid.seeds),
        "varied": list(grid.varied),
        "cells": ordered,
        "variants": rows,
        "best": best_variant(rows),
        "wall_s": round(wall_s, 3),
        "workers": dict(workers),
    }
