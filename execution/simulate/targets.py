"""A scenario's targets, met or missed, from its report's figures.

Generic over the strategies in the report: the engine is compared with the
``market`` baseline (shortfall reduction) and, when the scenario asks for it,
with every other baseline named in :data:`AT_LEAST_AS_GOOD` that the report has
(``peg_cross``: the engine's mean shortfall no higher, its fully-filled ratio no
lower). Two checks hold on every scenario: no continuous-matching fill after the
continuous session's end (15:20) or during a VI, for any strategy (the fills'
phases and times say), and the engine's reconciliation is clean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from execution.contracts import MarketPhase
from execution.simulate.metrics import reconciliation_clean
from execution.simulate.outcome import Outcome
from execution.simulate.scenario import Targets

#: Baselines the engine must be at least as good as (when present and asked for).
AT_LEAST_AS_GOOD = ("peg_cross",)


def _mean_is(report: Mapping[str, Any]) -> float:
    return float(report["shortfall_bps"]["mean"] or 0.0)


def session_violations(outcomes: Sequence[Outcome]) -> list[dict[str, object]]:
    """Fills made by continuous matching after 15:20 or inside a VI window. A VI's first
    instant is not inside it: the order whose rest starts the VI trades up to the band
    first, at that same instant."""
    found: list[dict[str, object]] = []
    for o in outcomes:
        for f in o.fills:
            if f.phase is not MarketPhase.CONTINUOUS:
                continue
            late = o.continuous_end_ns is not None and f.ts_ns >= o.continuous_end_ns
            in_vi = any(start < f.ts_ns < end for start, end in o.vi_windows)
            if late or in_vi:
                found.append({"index": o.index, "ts_ns": f.ts_ns, "qty": f.filled_qty,
                              "why": "after 15:20" if late else "during a VI"})
    return found


def evaluate(targets: Targets, reports: Mapping[str, Mapping[str, Any]],
             outcomes: Mapping[str, Sequence[Outcome]],
             reconciliation: Mapping[str, dict[str, object]]) -> dict[str, Any]:
    """Every target of the scenario with its figures and ``met``; ``met`` overall."""
    engine = outcomes["engine"]
    slips = [o.slippage_bps for o in engine if o.slippage_bps is not None]
    worst = max(slips) if slips else 0.0
    cap = targets.max_slippage_bps
    eng_is = _mean_is(reports["engine"])
    out: dict[str, Any] = {
        "slippage_cap": {"cap_bps": cap, "worst_bps": round(worst, 4),
                         "breaches": sum(s > cap for s in slips), "met": worst <= cap},
    }
    if "market" in reports:
        mkt_is = _mean_is(reports["market"])
        reduction = (mkt_is - eng_is) / abs(mkt_is) if mkt_is else 0.0
        out["shortfall_vs_market"] = {
            "engine_mean_bps": eng_is, "market_mean_bps": mkt_is,
            "reduction": round(reduction, 4), "target": targets.shortfall_reduction_vs_market,
            "met": reduction >= targets.shortfall_reduction_vs_market}
    within = float(reports["engine"]["filled_within_horizon_ratio"])
    out["filled_within_horizon"] = {"ratio": within, "target": targets.fully_filled_ratio,
                                    "met": within >= targets.fully_filled_ratio}
    if targets.at_least_peg_cross:
        for name in AT_LEAST_AS_GOOD:
            if name not in reports:
                continue
            base = reports[name]
            eng_ff = float(reports["engine"]["fully_filled_ratio"])
            base_ff = float(base["fully_filled_ratio"])
            out[f"vs_{name}"] = {
                "engine_mean_bps": eng_is, f"{name}_mean_bps": _mean_is(base),
                "engine_fully_filled": eng_ff, f"{name}_fully_filled": base_ff,
                "met": eng_is <= _mean_is(base) and eng_ff >= base_ff}
    violations = {name: session_violations(outs) for name, outs in outcomes.items()}
    out["session_rules"] = {"violations": violations,
                            "engine_runs_with_vi": sum(bool(o.vi_windows) for o in engine),
                            "met": not any(violations.values())}
    out["reconciliation"] = {"met": reconciliation_clean(reconciliation["engine"])}
    out["met"] = all(body["met"] for body in out.values())
    out["missed"] = [key for key, body in out.items() if isinstance(body, dict)
                     and not body["met"]]
    return out
