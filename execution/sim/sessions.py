"""The matching phase of one symbol over a KRX trading day, and its VI state.

A :class:`SymbolSession` knows the day's schedule (from the calendar's session
bounds and :class:`~execution.sim.rules.MarketRules`), the random ends of its
call auctions, a VI in progress, the static VI reference, the forced VIs still
to come, and our orders collected for the current auction. It only keeps the
state; the exchange (:mod:`execution.sim.matching`) moves the book through it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from execution.contracts import MarketPhase
from execution.market_session import KrxSessions
from execution.sim.auction import AuctionOrder
from execution.sim.orders import SimConfig
from execution.sim.rules import MarketRules, ViRates
from execution.sim.symbols import SymbolSpec

_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class DaySchedule:
    """The nominal times of one trading day (epoch ns)."""

    collect_from: int  # the opening call auction starts collecting orders
    open_ns: int  # nominal opening price; continuous matching from then (+ random end)
    close_start: int  # continuous matching ends: the closing call auction
    close_ns: int  # nominal closing price (+ random end)

    @classmethod
    def of_day(cls, sessions: KrxSessions, ts_ns: int, rules: MarketRules) -> DaySchedule | None:
        bounds = sessions.session_bounds(KrxSessions.trading_day(ts_ns))
        if bounds is None:
            return None
        open_ns, close_ns = bounds
        return cls(open_ns - round(rules.opening_auction_s * _NS), open_ns,
                   close_ns - round(rules.closing_auction_s * _NS), close_ns)


@dataclass(slots=True)
class SymbolSession:
    """Where one symbol's matching is at (see the module docstring)."""

    rules: MarketRules
    vi_rates: ViRates
    schedule: DaySchedule | None  # None: always continuous (no phases simulated)
    rng: random.Random
    static_ref: int  # the last single-price auction price (before the open: the base)
    forced: list[int] = field(default_factory=list)  # forced VI times still to come, sorted
    phase: MarketPhase = MarketPhase.CONTINUOUS
    ends_ns: int | None = None  # when the phase really ends (random end included)
    nominal_end_ns: int | None = None  # what the market is told
    extended: bool = False  # the current scheduled auction was extended by a VI
    ours: dict[str, AuctionOrder] = field(default_factory=dict)  # our orders in the auction
    vi_windows: list[tuple[int, int]] = field(default_factory=list)
    auctions: list[tuple[MarketPhase, int, int | None]] = field(default_factory=list)
    trading_day: bool = True  # False: the calendar says the market does not open today

    def __post_init__(self) -> None:
        self.forced.sort()

    def _random_end(self, nominal: int) -> int:
        return nominal + round(self.rng.uniform(0.0, self.rules.random_end_s) * _NS)

    def begin(self, now: int) -> None:
        """The phase at ``now`` from the schedule (no VI in progress)."""
        s = self.schedule
        self.phase, self.ends_ns, self.nominal_end_ns = MarketPhase.CLOSED, None, None
        if self.trading_day and s is None:  # no sessions: continuous all day
            self.phase = MarketPhase.CONTINUOUS
        elif self.trading_day and s is not None:  # the day's first phase not over yet
            for until, phase in ((s.collect_from, MarketPhase.PRE_OPEN),
                                 (s.open_ns, MarketPhase.OPENING_AUCTION),
                                 (s.close_start, MarketPhase.CONTINUOUS),
                                 (s.close_ns, MarketPhase.CLOSING_AUCTION)):
                if now < until:  # (a call auction ends at a random moment after ``until``)
                    self.phase, self.nominal_end_ns = phase, until
                    self.ends_ns = self._random_end(until) if phase.is_auction else until
                    break
        vi_ns = round(self.rules.vi_s * _NS)
        while self.forced and self.forced[0] < now:
            at = self.forced.pop(0)  # a forced VI before the run started
            if self.phase is MarketPhase.CONTINUOUS and at + vi_ns > now:
                self.start_vi(at)  # ... still running when it starts

    def next_change(self) -> int | None:
        """The next moment something happens by itself: a phase end or a forced VI."""
        times = [t for t in (self.ends_ns, self.forced[0] if self.forced else None)
                 if t is not None]
        return min(times) if times else None

    def start_vi(self, at: int) -> None:
        """A VI from ``at``: a call auction of ``vi_s`` (continuous matching stops)."""
        nominal = at + round(self.rules.vi_s * _NS)
        end = self._random_end(nominal)
        if self.schedule is not None and at < self.schedule.close_start < end:
            end = self.schedule.close_start  # at 15:20 it becomes the closing auction
        self.phase, self.ends_ns, self.nominal_end_ns = MarketPhase.VI_AUCTION, end, nominal
        self.vi_windows.append((at, end))

    def extend(self, at: int) -> None:
        """A VI in a scheduled call auction extends it to ``vi_s`` after ``at`` (once); one
        early in the auction never ends it before its scheduled end."""
        nominal = at + round(self.rules.vi_s * _NS)
        end = self._random_end(nominal)
        if self.ends_ns is None or end > self.ends_ns:
            self.ends_ns, self.nominal_end_ns = end, nominal
        self.extended = True
        self.vi_windows.append((at, end))

    def dynamic_rate(self) -> float:
        return self.vi_rates.dynamic(self.phase)

    def beyond_vi(self, price: int, last: int) -> bool:
        """Would an auction at ``price`` trip a VI (static, or dynamic against ``last``)?"""
        rates = self.vi_rates
        if abs(price - self.static_ref) > rates.static * self.static_ref:
            return True
        if self.phase is not MarketPhase.CLOSING_AUCTION:
            return False  # the opening auction has only the static VI
        return last > 0 and abs(price - last) > self.dynamic_rate() * last

    def continuous_end_ns(self) -> int | None:
        return None if self.schedule is None else self.schedule.close_start


def make_sessions(cfg: SimConfig, specs: Mapping[str, SymbolSpec]) -> dict[str, SymbolSession]:
    """Each symbol's phases; without ``cfg.sessions`` every symbol trades continuously."""
    rules = cfg.rules or MarketRules()
    schedule = None if cfg.sessions is None else DaySchedule.of_day(cfg.sessions,
                                                                   cfg.start_ns, rules)
    out = {}
    for code, spec in specs.items():
        forced = [at for at, symbol in cfg.forced_vi if symbol == code]
        out[code] = SymbolSession(rules, spec.vi_rates, schedule,
                                  random.Random(f"{cfg.seed}/session/{code}"),
                                  int(spec.static_ref), forced,
                                  trading_day=cfg.sessions is None or schedule is not None)
    return out
