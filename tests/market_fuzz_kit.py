"""Random markets for the engine, and the law checked on every run (``test_market_fuzz``).

:func:`random_scenario` draws a plausible scenario document from a seed: a price in any
KRX tick band on any board, calm to violent, thin to deep books, slow and lossy brokers,
starts across the day (the pre-open auction, right before 15:20, the closing auction),
forced VIs, prices near the static VI band and the +-30 % limits, and a few intents of
every urgency, split strategy and size (limits beyond the price limits too). It is YAML
text, read by the real loader, so the scenario schema is exercised as well.

:func:`run_case` runs it through ``simulate`` (the engine and the baselines), bounded in
wall time, with every exception that reaches an event loop recorded, and :func:`breaches`
lists what broke the law on the engine's outcomes:

- every fill the exchange made on its orders counted exactly once (and the position);
- no order live at the exchange that the engine did not report unconfirmed;
- a final state with a chart role and a reason; FAILED/ESCAPED with a code; nothing
  COMPLETE with nothing filled;
- no fill beyond the slippage cap against the engine's arrival price, nor past the
  intent's limit; no continuous-matching fill after 15:20 or inside a VI (any strategy);
- no overfill; no exception out of the run or into the loop; no hang: no run cut by the
  runner's guard (unless an auction held it, :func:`held_by_auction`), each case bounded in
  wall time.
"""

from __future__ import annotations

import asyncio
import gc
import math
import random
import signal
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import yaml

from execution import paths
from execution.contracts import Side
from execution.settings import load_engine_limits
from execution.sim.vclock import ClockKind, new_loop
from execution.simulate import runner
from execution.simulate.outcome import Outcome
from execution.simulate.run import SimReport, simulate
from execution.simulate.scenario import load_scenario
from execution.simulate.targets import session_violations
from execution.ticks import snap

T = TypeVar("T")
WALL_S_PER_CASE = 120.0  # a case runs a few intents four ways: seconds; this is a hang
GUARD_REASON = "simulation guard"  # the runner cut an engine run (3 horizons + 60 s)
GUARD_FACTOR = runner._GUARD_FACTOR
_VI_SLACK_NS = 5_000_000_000  # the guard's escape takes a moment to settle
_BPS = Decimal(10_000)
DAY = "2024-06-03"  # a Monday, a trading day


# -- the generator ---------------------------------------------------------------------

def _loguniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _price(value: float) -> int:
    return int(snap(Decimal(str(max(value, 1.0))).quantize(Decimal(1))))


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _latency(rng: random.Random, slow: bool) -> dict[str, Any]:
    if rng.random() < 0.25:
        return {"model": "constant", "ms": rng.choice([0, 1, 5, 20, 80, 400 if slow else 30])}
    median = _loguniform(rng, 2, 400 if slow else 40)
    body: dict[str, Any] = {"model": "lognormal", "median_ms": round(median, 1),
                            "sigma": round(rng.uniform(0, 1.5 if slow else 0.8), 2)}
    if rng.random() < 0.7:
        body["cap_ms"] = round(median * rng.uniform(2, 40), 1)
    return body


def _faults(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.3:  # a well-behaved broker
        return {"reject_rate": 0.002, "auto_reconnect": True}
    faults: dict[str, Any] = {
        "reject_rate": round(rng.choice([0, 0.002, 0.02, 0.1, 0.3]), 3),
        "duplicate_fill_rate": round(rng.choice([0, 0, 0.05, 0.3]), 2),
        "reorder_fills": rng.random() < 0.4,
        "replace_on_modify": rng.random() < 0.4,
        "lost_answer_rate": round(rng.choice([0, 0, 0.05, 0.2]), 2),
        "lost_push_rate": round(rng.choice([0, 0, 0.1, 0.3]), 2),
        "auto_reconnect": rng.random() < 0.6,
    }
    if rng.random() < 0.5:
        faults["slow_ack"] = {"rate": round(rng.uniform(0, 0.5), 2),
                              "extra_ms": rng.choice([100, 400, 2000, 8000])}
    if rng.random() < 0.4:
        lo = rng.uniform(0, 20)
        faults["disconnect"] = {"probability": round(rng.uniform(0.1, 1.0), 2),
                                "start_s": [round(lo, 1), round(lo + rng.uniform(0, 20), 1)],
                                "duration_s": round(_loguniform(rng, 0.2, 30), 2)}
    if rng.random() < 0.2:
        start = rng.uniform(0, 30)
        faults["windows"] = [[round(start, 1), round(start + rng.uniform(0.5, 10), 1)]]
    return faults


def _symbol(rng: random.Random) -> dict[str, Any]:
    board = rng.choice(["kospi200", "kospi", "kosdaq"])
    kind = rng.random()
    if kind < 0.25:  # a few ticks either side of a tick band's edge
        edge = rng.choice([2_000, 5_000, 20_000, 50_000, 200_000, 500_000])
        base = _price(edge * (1 + rng.uniform(-0.01, 0.01)))
    elif kind < 0.3:  # a penny stock: one tick is tens of bps
        base = _price(rng.uniform(150, 1_000))
    else:
        base = _price(_loguniform(rng, 1_000, 900_000))  # every tick band
    body: dict[str, Any] = {"weight": 1, "board": board, "base_price": base,
                            "typical_size": round(_loguniform(rng, 20, 60_000)),
                            "daily_vol": round(_loguniform(rng, 0.005, 0.15), 4)}
    auction = base
    if rng.random() < 0.5:  # opened away from the base
        auction = _price(base * (1 + rng.uniform(-0.15, 0.15)))
        body["auction_price"] = auction
    where = rng.random()
    if where < 0.25:  # near the static VI band (10 % from the auction price)
        start = auction * (1 + rng.choice([-1, 1]) * rng.uniform(0.085, 0.099))
    elif where < 0.4:  # near the daily price limits (+-30 % from the base)
        start = base * (1 + rng.choice([-1, 1]) * rng.uniform(0.27, 0.299))
    elif where < 0.6:
        start = auction * (1 + rng.uniform(-0.05, 0.05))
    else:
        start = 0
    if start:
        body["start_price"] = _price(start)
    if rng.random() < 0.2:
        body["drift_per_hour"] = round(rng.uniform(-0.1, 0.1), 3)
    if rng.random() < 0.15:
        body["vi"] = {"static": round(rng.uniform(0.02, 0.2), 3),
                      "dynamic_continuous": round(rng.uniform(0.005, 0.08), 3)}
    return body


def _start_s(rng: random.Random) -> int:
    """Seconds after midnight (KST): the pre-open auction, the day, right before 15:20,
    the closing auction."""
    kind = rng.random()
    if kind < 0.15:
        return rng.randint(8 * 3600 + 30 * 60, 9 * 3600 - 1)
    if kind < 0.3:
        return rng.randint(15 * 3600 + 17 * 60, 15 * 3600 + 20 * 60 - 1)
    if kind < 0.4:
        return rng.randint(15 * 3600 + 20 * 60, 15 * 3600 + 29 * 60 + 50)
    if kind < 0.45:
        return rng.randint(9 * 3600, 9 * 3600 + 120)
    return rng.randint(9 * 3600, 15 * 3600 + 17 * 60)


def _intents(rng: random.Random, typical: int, price: int) -> dict[str, Any]:
    urgencies = rng.sample(["low", "normal", "high"], rng.randint(1, 3))
    strategies = rng.sample(["auto", "single", "vwap", "twap", "iceberg"], rng.randint(1, 5))
    size_max = max(1, round(typical * _loguniform(rng, 0.001, 20)))  # 1 share to 20 levels
    if rng.random() < 0.85:  # mostly within the engine's risk limits (10,000 shares, 500M)
        size_max = min(size_max, 10_000, max(1, int(5e8 // price)))
    size_min = rng.randint(1, size_max)
    body: dict[str, Any] = {
        "count": rng.randint(2, 6),
        "sides": rng.choice([{"buy": 1}, {"sell": 1}, {"buy": 1, "sell": 1}]),
        "urgency": {u: rng.randint(1, 3) for u in urgencies},
        "strategy": {s: 1 for s in strategies},
        "size": {"min": min(size_min, size_max), "max": size_max,
                 "distribution": rng.choice(["loguniform", "uniform"])},
    }
    if rng.random() < 0.35:  # a limit from inside the spread to beyond the +-30 % limits
        body["limit_offset_bps"] = round(rng.choice([0, 5, 30, 100, 800, 3500]) *
                                         rng.uniform(0.5, 1.5), 1)
    if rng.random() < 0.4:
        body["max_notional_krw"] = max(1, round(_loguniform(rng, 1e6, 6e8)))
    return body


def random_limits(seed: int) -> str | None:
    """The engine's limits for the case of ``seed``: the shipped ones (None) half of the
    time, else a copy with the session, auction, urgency and timing knobs drawn."""
    rng = random.Random(f"limits/{seed}")
    if rng.random() < 0.5:
        return None
    doc: dict[str, Any] = yaml.safe_load(paths.default_limits().read_text(encoding="utf-8"))
    session, adjust = doc["session"], doc["adjust"]
    session["closing_auction"] = rng.choice(["refuse", "join"])
    session["auction_policy"] = rng.choice(["keep", "shrink"])
    session["auction_keep_pct"] = rng.choice([0, 25, 50, 100])
    session["end_margin_ms"] = rng.choice([500, 2000, 5000])
    adjust["max_rounds"] = rng.randint(1, 5)
    adjust["high_urgency_joins_wide_tick"] = rng.random() < 0.5
    adjust["high_passive_max_ms"] = rng.choice([0, 0, 500, 5000])
    doc["escape"]["liquidate_on_escape"] = rng.random() < 0.3
    doc["monitor"]["adjust_interval_ms"] = rng.choice([100, 250, 1000, 2000])
    doc["stage_timeouts"]["monitoring_timeout_ms"] = rng.choice([5000, 20000, 60000])
    doc["split"]["iceberg_display_pct"] = rng.choice([5, 20, 50])
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False)


def limits_name(seed: int) -> str:
    return f"fuzz-{seed}-limits.yaml"


def random_scenario(seed: int) -> str:
    """A random but plausible scenario document (YAML text) drawn from ``seed``; its
    ``engine.limits`` names :func:`limits_name` when :func:`random_limits` draws some."""
    rng = random.Random(seed)
    code = "FZ0001"
    symbol = _symbol(rng)
    start = _start_s(rng)
    # The engine's own timeouts do not scale with the horizon, and a VI lasts two minutes:
    # the runner's guard (three horizons + 60 s) would cut a shorter one in a VI.
    horizon = rng.choice([60, 60, 90, 120])
    doc: dict[str, Any] = {
        "version": 1, "name": f"fuzz-{seed}", "description": "random market (market fuzz)",
        "seed": seed, "start": f"{DAY} {_hms(start)[:5]}", "horizon_s": horizon,
    }
    if rng.random() < 0.6:  # to the second, and spread over up to two minutes
        lo = start
        doc["arrivals"] = {"from": _hms(lo), "to": _hms(lo + rng.randint(1, 120))}
    flow = {"rate_per_s": round(_loguniform(rng, 0.05, 10), 3),
            "size_frac": round(_loguniform(rng, 0.001, 0.2), 4),
            "size_sigma": round(rng.uniform(0.3, 1.8), 2),
            "max_ticks": rng.randint(0, 4), "max_tilt": round(rng.uniform(0, 0.9), 2)}
    doc["market"] = {
        "step_ms": rng.choice([20, 50, 50, 100]),
        "queue_model": rng.choice(["conservative", "probabilistic"]),
        "depth_levels": rng.randint(1, 15),
        "liquidity_tau_s": round(_loguniform(rng, 3, 90), 1),
        "limit_size_frac": round(_loguniform(rng, 0.002, 0.2), 4),
        "cancel_size_frac": round(_loguniform(rng, 0.002, 0.2), 4),
        "flow": flow, "symbols": {code: symbol},
    }
    if rng.random() < 0.35:  # a forced VI during the intents
        doc["events"] = [{"at": _hms(start + rng.randint(0, horizon + 30)), "symbol": code,
                          "event": "vi"} for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.1:
        doc["sessions"] = False  # continuous all day (the paper exchange's market)
        doc.pop("events", None)  # a VI needs the phases (the loader says so)
    doc["engine"] = {}
    if rng.random() < 0.15:
        doc["engine"]["capital_krw"] = round(_loguniform(rng, 1e5, 1e9))
    if random_limits(seed) is not None:
        doc["engine"]["limits"] = limits_name(seed)
    if rng.random() < 0.2:
        # (KRX's VI is 2 minutes; the engine holds its orders through one, so a longer
        # one would only outlast the runner's guard)
        doc["rules"] = {"vi_s": rng.choice([10, 60, 120]),
                        "random_end_s": rng.choice([0, 5, 30])}
    slow = rng.random() < 0.35
    doc["latency"] = {"order_entry": _latency(rng, slow), "modify_cancel": _latency(rng, slow),
                      "fill_notification": _latency(rng, slow)}
    doc["faults"] = _faults(rng)
    doc["intents"] = _intents(rng, int(symbol["typical_size"]),
                              int(symbol.get("start_price", symbol["base_price"])))
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False)


class _Dumper(yaml.SafeDumper):
    """Strings quoted (YAML 1.1 would read an unquoted ``08:53:42`` as a number)."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style='"'))


# -- the run and the law ---------------------------------------------------------------

@dataclass(slots=True)
class Case:
    seed: int
    text: str
    path: Path  # the document, for the replay line
    slippage_max_bps: Decimal = Decimal(50)  # the run's limits' cap
    joins_close: bool = False  # the run's limits join the closing auction
    report: SimReport | None = None
    crash: str = ""  # an exception out of simulate (or the wall-time bound)
    loop_errors: list[str] = field(default_factory=list)

    @property
    def engine(self) -> list[Outcome]:
        return [] if self.report is None else self.report.outcomes["engine"]


class _Hang(KeyboardInterrupt):
    """The wall-time bound ran out. A KeyboardInterrupt, so that the event loop passes it
    on instead of handing it to its exception handler (and running on)."""


@contextmanager
def _wall_bound(seconds: float) -> Iterator[None]:
    def fire(_sig: int, _frame: object) -> None:
        raise _Hang(f"no end after {seconds:.0f} s of wall time")

    # pytest-timeout may have its own alarm running: it is put back afterwards.
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if outer_left:
            left = outer_left - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def _recording_run_on(errors: list[str]) -> Callable[..., Any]:
    """``run_on`` whose loops record every exception handed to their handler."""

    def run_on(coro: Coroutine[Any, Any, T], clock: ClockKind = "virtual") -> T:
        loop = new_loop(clock)
        loop.set_exception_handler(
            lambda _loop, context: errors.append(f"{context.get('message')}: "
                                                 f"{context.get('exception')!r}"))
        try:
            asyncio.set_event_loop(loop)
            return loop.run_until_complete(coro)
        finally:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            gc.collect()  # "exception was never retrieved" is reported on collection
            loop.close()

    return run_on


def run_case(seed: int, folder: Path, wall_s: float = WALL_S_PER_CASE) -> Case:
    """The scenario of ``seed`` (written to ``folder``) through ``simulate``: its report,
    or what escaped."""
    case = Case(seed, random_scenario(seed), folder / f"fuzz-{seed}.yaml")
    case.path.write_text(case.text, encoding="utf-8")
    drawn = random_limits(seed)
    if drawn is not None:
        (folder / limits_name(seed)).write_text(drawn, encoding="utf-8")
    scenario = load_scenario(case.path, text=case.text)
    limits = load_engine_limits(scenario.limits_path)
    case.slippage_max_bps = limits.slippage_max_bps
    case.joins_close = limits.closing_auction == "join"
    recording = mock.patch.object(runner, "run_on", _recording_run_on(case.loop_errors))
    try:
        with recording, _wall_bound(wall_s):
            case.report = simulate(scenario)
    except (Exception, _Hang) as exc:  # what escaped is the finding
        case.crash = f"{type(exc).__name__}: {exc}"
    return case


def _fill_breaches(o: Outcome, cap_bps: Decimal) -> list[str]:
    found = []
    arrival, sign, limit = o.arrival_price, o.intent.side.sign, o.intent.limit_price
    for f in o.fills:
        if arrival is None:
            found.append(f"fill {f.filled_qty}@{f.price} without an arrival price")
            continue
        bps = (f.price - arrival) * sign / arrival * _BPS
        if bps > cap_bps:
            found.append(f"fill {f.filled_qty}@{f.price} is {bps:.1f} bps past arrival "
                         f"{arrival} (cap {cap_bps})")
        if limit is not None and (f.price - limit) * sign > 0:
            found.append(f"fill {f.filled_qty}@{f.price} past the limit {limit}")
    return found


def _engine_breaches(o: Outcome, cap_bps: Decimal, joins_close: bool) -> list[str]:
    found = []
    if o.exchange_filled_qty != o.filled_qty:
        found.append(f"counted {o.filled_qty}, the exchange filled {o.exchange_filled_qty}")
    if "FS092" not in o.codes and o.exchange_position != o.intent.side.sign * \
            o.exchange_filled_qty:
        found.append(f"position {o.exchange_position} vs filled {o.exchange_filled_qty}")
    if o.open_orders_left:
        found.append(f"{o.open_orders_left} order(s) live at the exchange, not reported")
    if o.exchange_filled_qty > o.qty or o.filled_qty > o.qty:
        found.append(f"overfilled: {o.exchange_filled_qty} of {o.qty}")
    if GUARD_REASON in o.result_reason and not held_by_auction(o, joins_close):
        found.append(f"no result in {GUARD_FACTOR:.0f} horizons + 60 s (the runner's guard)")
    if o.role not in ("success", "escaped", "failed"):
        found.append(f"final state {o.final_state} has no role")
    if not o.result_reason.strip():
        found.append(f"final state {o.final_state} without a reason")
    if o.role in ("escaped", "failed") and not (o.codes or o.precheck_failure):
        found.append(f"{o.final_state} without a code: {o.result_reason}")
    if o.role == "success" and not o.filled_qty:
        found.append(f"{o.final_state} with nothing filled: {o.result_reason}")
    return found + _fill_breaches(o, cap_bps)


def held_by_auction(o: Outcome, joins_close: bool) -> bool:
    """Was a call auction holding the run when the runner's guard cut it? The engine holds
    its orders through a VI without using up its fill timeout (GR067), and VIs may follow
    one another without limit; with ``session.closing_auction: join`` it rests to the
    close. Such a run outlasts the guard's fixed bound by design (not counted). Anything
    else the guard cuts is a hang."""
    if joins_close and o.continuous_end_ns is not None and o.end_ns >= o.continuous_end_ns:
        return True
    return any(start <= o.end_ns <= end + _VI_SLACK_NS for start, end in o.vi_windows)


def breaches(case: Case) -> list[str]:
    """Every breach of the law in ``case`` (empty: clean)."""
    found = [f"escaped the run: {case.crash}"] if case.crash else []
    found += [f"event loop: {e}" for e in case.loop_errors]
    if case.report is None:
        return found
    for o in case.engine:
        found += [f"intent {o.index} ({_describe(o)}): {b}"
                  for b in _engine_breaches(o, case.slippage_max_bps, case.joins_close)]
    for name, outs in case.report.outcomes.items():
        found += [f"{name} intent {v['index']}: continuous fill {v['why']} (qty {v['qty']})"
                  for v in session_violations(outs)]
    return found


def _describe(o: Outcome) -> str:
    i = o.intent
    side = "buy" if i.side is Side.BUY else "sell"
    limit = "" if i.limit_price is None else f" limit {i.limit_price}"
    return (f"{side} {i.qty}{limit} {i.urgency.value} {i.strategy.value} -> "
            f"{o.final_state}, filled {o.filled_qty}")


def replay_note(case: Case, problems: list[str]) -> str:
    """What broke, the failing document's file (its limits beside it), how to replay it,
    and the documents."""
    path = case.path
    lines = "\n  ".join(problems)
    drawn = random_limits(case.seed)
    limits = "" if drawn is None else f"--- {limits_name(case.seed)} ---\n{drawn}"
    return (f"market fuzz seed {case.seed}: {len(problems)} breach(es)\n  {lines}\n"
            f"scenario: {path}\nreplay: scalpchart simulate --scenario {path} "
            f"--seed {case.seed}\n--- scenario ---\n{case.text}{limits}")


__all__ = ["Case", "breaches", "random_limits", "random_scenario", "replay_note",
           "run_case"]
