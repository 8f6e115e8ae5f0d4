"""``simulate``: N intents through the engine and the three baselines, and the report's data.

>>> report = simulate(load_scenario(), intents=20, seed=7)   # doctest: +SKIP
>>> report.data["engine"]["shortfall_bps"]["mean"]           # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from execution.contracts import FillEvent
from execution.market_session import KST, KrxSessions, epoch_ns
from execution.settings import EngineLimits, load_engine_limits
from execution.sim.vclock import ClockKind
from execution.simulate.inputs import inputs_record
from execution.simulate.intents import intent_faults, intent_seed, make_intent
from execution.simulate.market import IntentSetup
from execution.simulate.metrics import reconciliation, stage_latency, strategy_report
from execution.simulate.outcome import Outcome
from execution.simulate.runner import STRATEGIES, run_intent
from execution.simulate.scenario import Scenario
from execution.simulate.targets import evaluate

DEFINITIONS = {
    "arrival_mid": "mid of the book when the intent arrives (the engine's PreCheck quote)",
    "slippage_bps": "side x (average fill price - arrival mid) / arrival mid, filled part only",
    "shortfall_bps": "implementation shortfall in bps of qty x arrival mid, positive = cost; "
                     "total = delay + impact + opportunity + fees",
    "delay": "filled qty x (mid when the first order reached the market - arrival mid)",
    "impact": "filled qty x (average fill price - that mid)",
    "opportunity": "unfilled qty x (mid at the end of the execution - arrival mid)",
    "fees": "commissions paid",
    "vwap_slippage_bps": "side x (average fill - market VWAP over the execution) / market VWAP, "
                         "for intents the engine split as VWAP",
    "stage_latency_us": "engine wall time spent in our own code per stage (not simulated waits)",
}


@dataclass(slots=True)
class SimReport:
    data: dict[str, Any]
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)


Progress = Callable[[int, int], None]


def simulate(scenario: Scenario, *, intents: int | None = None, seed: int | None = None,
             clock: ClockKind = "virtual", progress: Progress | None = None,
             chart: Path | None = None, limits: Path | None = None) -> SimReport:
    """Run the intents of ``scenario`` (``intents``/``seed`` override its own) and report.
    ``chart``/``limits`` replace the shipped chart and the scenario's limits; the report's
    ``inputs`` names the files used, with their content hashes."""
    count = intents if intents is not None else scenario.mix.count
    run_seed = seed if seed is not None else scenario.seed
    limits_path = limits if limits is not None else scenario.limits_path
    engine_limits = load_engine_limits(limits_path)
    started = time.perf_counter()
    outcomes = run_intents(scenario, count, run_seed, engine_limits, chart=chart, clock=clock,
                           progress=progress)
    wall_s = time.perf_counter() - started
    data = build_data(scenario, outcomes, run_seed, clock, wall_s)
    data["inputs"] = inputs_record(scenario.file, chart, limits_path)
    return SimReport(data, outcomes)


def run_intents(scenario: Scenario, count: int, seed: int, limits: EngineLimits, *,
                chart: Path | None = None, strategies: tuple[str, ...] = STRATEGIES,
                clock: ClockKind = "virtual",
                progress: Progress | None = None) -> dict[str, list[Outcome]]:
    """The outcomes of intents ``0 .. count - 1`` of a run with ``seed``, per strategy."""
    sessions = KrxSessions()
    warm = epoch_ns(scenario.start)
    sessions.is_open(warm)  # build the session table now, not inside the first PreCheck
    sessions.trading_day(warm)
    outcomes: dict[str, list[Outcome]] = {name: [] for name in strategies}
    # Every alert is in the report; the log would only repeat it.
    quiet = [logging.getLogger(name) for name in ("execution", "statecharts")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        for index in range(count):
            setup = IntentSetup(scenario, index, intent_seed(seed, index),
                                make_intent(scenario, seed, index),
                                intent_faults(scenario, seed, index), limits, sessions, chart,
                                run_seed=seed)
            for name, outcome in run_intent(setup, clock, strategies).items():
                outcomes[name].append(outcome)
            if progress is not None:
                progress(index + 1, count)
    finally:
        for logger, old in zip(quiet, levels, strict=True):
            logger.setLevel(old)
    return outcomes


def build_data(scenario: Scenario, outcomes: dict[str, list[Outcome]], seed: int,
               clock: ClockKind, wall_s: float) -> dict[str, object]:
    edges, horizon = scenario.mix.size_buckets, scenario.horizon_s
    reports = {name: strategy_report(outs, edges, horizon) for name, outs in outcomes.items()}
    engine = outcomes["engine"]
    recon = {name: reconciliation(outs) for name, outs in outcomes.items()}
    return {
        "scenario": {"name": scenario.name, "file": scenario.file,
                     "queue_model": scenario.book.queue_model.value,
                     "horizon_s": horizon, "symbols": sorted(scenario.symbols),
                     "start": scenario.start.isoformat(), "clock": clock,
                     "arrivals": None if scenario.arrivals is None
                     else [t.isoformat() for t in scenario.arrivals],
                     "sessions": scenario.sessions},
        "intents": len(engine),
        "seed": seed,
        "definitions": DEFINITIONS,
        "engine": reports["engine"],
        "baselines": {name: body for name, body in reports.items() if name != "engine"},
        "targets": evaluate(scenario.targets, reports, outcomes, recon),
        "reconciliation": recon,
        "per_intent": [per_intent(outcomes, i) for i in range(len(engine))],
        "stage_latency_us": stage_latency(engine),
        "timing": timing(outcomes, wall_s),
    }


def timing(outcomes: dict[str, list[Outcome]], wall_s: float) -> dict[str, float | int]:
    """Wall time and throughput: intents (three runs each) and market events a second."""
    events = sum(o.market_events for outs in outcomes.values() for o in outs)
    intents = len(outcomes["engine"])
    wall_s = max(wall_s, 1e-9)
    return {"wall_s": round(wall_s, 3), "intents_per_s": round(intents / wall_s, 2),
            "events_per_s": round(events / wall_s), "market_events": events}


def per_intent(outcomes: dict[str, list[Outcome]], index: int) -> dict[str, object]:
    first = outcomes["engine"][index]
    intent = first.intent
    row: dict[str, object] = {"index": index, "symbol": intent.symbol, "side": intent.side.value,
                              "qty": intent.qty, "urgency": intent.urgency.value,
                              "arrival_mid": str(first.arrival_mid)}
    for name, outs in outcomes.items():
        o = outs[index]
        slip = o.slippage_bps
        row[name] = {"state": o.final_state, "filled": o.filled_qty,
                     "slippage_bps": None if slip is None else round(slip, 4),
                     "shortfall_bps": round(o.shortfall()["total"], 4),
                     "codes": list(o.codes)}
    engine = row["engine"]
    assert isinstance(engine, dict)
    engine["fills"] = [fill_json(f) for f in first.fills]
    return row


def fill_json(fill: FillEvent) -> dict[str, object]:
    """One fill of the report: exchange time with its +09:00 offset, price, qty, phase."""
    when = datetime.fromtimestamp(fill.ts_ns / 1e9, tz=KST).isoformat(timespec="milliseconds")
    return {"ts": when, "price": str(fill.price), "qty": fill.filled_qty,
            "phase": None if fill.phase is None else fill.phase.value}
