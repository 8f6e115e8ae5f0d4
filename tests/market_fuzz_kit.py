"""The market fuzz's runs and the law checked on them (``test_market_fuzz``).

:func:`run_case` draws the case of a seed (:mod:`market_fuzz_gen`), writes its documents
to a folder and runs the scenario through ``simulate`` (the engine and the baselines),
bounded in wall time, with every exception that reaches an event loop recorded;
:func:`breaches` lists what broke the law:

- every fill the exchange made on its orders counted exactly once (and the position);
- no order live at the exchange that the engine did not report unconfirmed;
- a final state with a chart role and a reason; FAILED/ESCAPED with a code; nothing
  COMPLETE with nothing filled;
- no fill beyond the slippage cap against the engine's arrival price, nor past the
  intent's limit; no continuous-matching fill after 15:20 or inside a VI (any strategy);
- no overfill; no exception out of the run or into the loop; no hang: no run cut by the
  runner's guard that lived longer, outside the auctions holding it, than its limits'
  stage timeouts allow (:func:`unpaused_s`), each case bounded in wall time.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from market_fuzz_gen import limits_name, random_limits, random_scenario

from execution.contracts import Side
from execution.settings import load_engine_limits
from execution.sim.vclock import ClockKind, new_loop
from execution.simulate import runner
from execution.simulate.outcome import Outcome
from execution.simulate.run import SimReport, simulate
from execution.simulate.scenario import load_scenario
from execution.simulate.targets import session_violations

T = TypeVar("T")
WALL_S_PER_CASE = 120.0  # a case runs a few intents four ways: seconds; this is a hang
GUARD_REASON = "simulation guard"  # the runner cut an engine run (3 horizons + 60 s)
GUARD_FACTOR = runner._GUARD_FACTOR
_LIFE_SLACK_S = 30.0  # beyond the stage timeouts: adjust rounds, cancels, settlement
_STAGE_TIMEOUT_KEYS = ("precheck", "splitting", "sending", "monitoring", "adjusting",
                       "escaping")
_BPS = Decimal(10_000)


# -- the run and the law ---------------------------------------------------------------

@dataclass(slots=True)
class Case:
    seed: int
    text: str
    path: Path  # the document, for the replay line
    slippage_max_bps: Decimal = Decimal(50)  # the run's limits' cap
    joins_close: bool = False  # the run's limits join the closing auction
    life_s: float = 0.0  # the longest an engine run may live outside auctions
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
    raw = limits.raw
    assert raw is not None  # read from a file
    case.life_s = _LIFE_SLACK_S + limits.cancel_confirm_timeout_ms / 1000 + sum(
        float(raw.get(f"stage_timeouts.{key}_timeout_ms")) for key in _STAGE_TIMEOUT_KEYS
    ) / 1000
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


def _engine_breaches(o: Outcome, cap_bps: Decimal, joins_close: bool,
                     life_s: float) -> list[str]:
    found = []
    if o.exchange_filled_qty != o.filled_qty:
        found.append(f"counted {o.filled_qty}, the exchange filled {o.exchange_filled_qty}")
    if "FS092" not in o.codes and o.exchange_position != o.intent.side.sign * \
            o.exchange_filled_qty:
        found.append(f"position {o.exchange_position} vs filled {o.exchange_filled_qty}")
    if o.open_orders_left:
        found.append(f"{o.open_orders_left} order(s) live at the exchange, not reported")
    qty = min(o.qty, o.executed_qty or o.qty)  # (GR061 may have reduced it)
    if o.exchange_filled_qty > qty or o.filled_qty > qty:
        found.append(f"overfilled: {o.exchange_filled_qty} of {qty} (intent {o.qty})")
    if GUARD_REASON in o.result_reason and unpaused_s(o, joins_close) > life_s:
        found.append(f"no result in {GUARD_FACTOR:.0f} horizons + 60 s (the runner's guard), "
                     f"{unpaused_s(o, joins_close):.0f} s of it outside auctions (at most "
                     f"{life_s:.0f} s)")
    if o.role not in ("success", "escaped", "failed"):
        found.append(f"final state {o.final_state} has no role")
    if not o.result_reason.strip():
        found.append(f"final state {o.final_state} without a reason")
    if o.role in ("escaped", "failed") and not o.codes:  # every final state has its code
        found.append(f"{o.final_state} without a code: {o.result_reason}")
    if o.role == "success" and not o.filled_qty:
        found.append(f"{o.final_state} with nothing filled: {o.result_reason}")
    return found + _fill_breaches(o, cap_bps)


def unpaused_s(o: Outcome, joins_close: bool) -> float:
    """Seconds the engine run lived outside the call auctions holding it. The engine holds
    its orders through a VI without using up its fill timeout (GR067), and VIs may follow
    one another without limit; with ``session.closing_auction: join`` it rests to the
    close. Such time is not a hang; the rest of a run's life is bounded by its limits'
    stage timeouts."""
    end = o.end_ns
    if o.continuous_end_ns is not None and joins_close:  # the closing auction holds it
        end = min(end, max(o.arrival_ns, o.continuous_end_ns))
    held = sum(max(min(stop, end) - max(start, o.arrival_ns), 0)
               for start, stop in o.vi_windows)
    return (end - o.arrival_ns - held) / 1e9


def breaches(case: Case) -> list[str]:
    """Every breach of the law in ``case`` (empty: clean)."""
    found = [f"escaped the run: {case.crash}"] if case.crash else []
    found += [f"event loop: {e}" for e in case.loop_errors]
    if case.report is None:
        return found
    for o in case.engine:
        found += [f"intent {o.index} ({_describe(o)}): {b}"
                  for b in _engine_breaches(o, case.slippage_max_bps, case.joins_close,
                                            case.life_s)]
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


__all__ = ["Case", "breaches", "replay_note", "run_case"]
