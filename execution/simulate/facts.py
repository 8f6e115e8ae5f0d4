"""Stylized facts of the simulated market, measured from the outside of :class:`OrderBook`.

The figures a trader would check before trusting a market simulator, per
symbol of a scenario: the spread distribution, the trade rate and size, the
volatility of the mid over the horizon, the displayed depth at the touch, and
how a passive order joining the touch fills. They are measured only through
the book's public surface (``advance``, ``top``, ``rest``, the tape), so the
same measurement runs against any version of the book; that is how
``tests/sim/test_stylized_facts.py`` compares the market model before and
after a change (its expected figures were measured with this module).

>>> facts = measure(load_scenario(), "005930", paths=20)     # doctest: +SKIP
>>> facts["spread_mean_ticks"]                               # doctest: +SKIP
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from execution.contracts import Side
from execution.sim.book import OrderBook
from execution.sim.params import BookParams
from execution.sim.symbols import SymbolSpec
from execution.ticks import tick_size

if TYPE_CHECKING:
    from execution.simulate.scenario import Scenario

START_NS = 1_717_376_400_000_000_000  # 2024-06-03 10:00 KST
SESSION_S = 6.5 * 3600
PASSIVE_FRACTION = 0.05  # the passive probe: this fraction of typical_size at the near touch
_OWN = "facts-probe"


class _TapeBook(OrderBook):
    """An order book that also keeps every print of its tape (price, qty)."""

    def __init__(self, spec: SymbolSpec, params: BookParams, seed: str) -> None:
        self.prints: list[int] = []
        super().__init__(spec, random.Random(seed), START_NS, params)

    def _tape(self, price: Any, qty: int) -> None:
        super()._tape(price, qty)
        self.prints.append(qty)


@dataclass(slots=True)
class _Path:
    spreads: list[float]
    depths: list[float]
    log_return: float
    prints: list[int]


def _market_path(spec: SymbolSpec, params: BookParams, seed: str, horizon_s: float,
                 obs_ms: float) -> _Path:
    book = _TapeBook(spec, params, seed)
    first_mid = float(book.mid())
    spreads, depths = [], []
    steps = round(horizon_s * 1000 / obs_ms)
    for k in range(1, steps + 1):
        book.advance(START_NS + round(k * obs_ms * 1e6))
        bid, bid_size, ask, ask_size = book.top()
        spreads.append(float((ask - bid) / tick_size(bid)))
        depths.append((bid_size + ask_size) / 2)
    return _Path(spreads, depths, math.log(float(book.mid()) / first_mid), book.prints)


def _passive_path(spec: SymbolSpec, params: BookParams, seed: str, horizon_s: float,
                  obs_ms: float) -> tuple[float, float | None]:
    """(filled fraction at the horizon, time to the full fill or None)."""
    book = _TapeBook(spec, params, seed)
    qty = max(1, round(spec.typical_size * PASSIVE_FRACTION))
    book.rest(_OWN, Side.BUY, book.top()[0], qty)
    filled = 0
    steps = round(horizon_s * 1000 / obs_ms)
    for k in range(1, steps + 1):
        for fill in book.advance(START_NS + round(k * obs_ms * 1e6)):
            filled += fill.qty
        if filled >= qty:
            return 1.0, k * obs_ms / 1000
    return filled / qty, None


def _quantile(data: list[float], q: float) -> float:
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_book(spec: SymbolSpec, params: BookParams, *, paths: int = 100,
                 horizon_s: float = 60.0, obs_ms: float = 200.0,
                 seed: str = "facts") -> dict[str, float]:
    """The stylized facts of ``paths`` independent paths of ``horizon_s`` seconds each."""
    spreads: list[float] = []
    depths: list[float] = []
    returns: list[float] = []
    prints: list[int] = []
    fractions: list[float] = []
    times: list[float] = []
    for p in range(paths):
        path = _market_path(spec, params, f"{seed}/{p}", horizon_s, obs_ms)
        spreads += path.spreads
        depths += path.depths
        returns.append(path.log_return)
        prints += path.prints
        fraction, done = _passive_path(spec, params, f"{seed}/passive/{p}", horizon_s, obs_ms)
        fractions.append(fraction)
        if done is not None:
            times.append(done)
    span_s = paths * horizon_s
    sigma = spec.daily_vol * math.sqrt(horizon_s / SESSION_S)
    rms = math.sqrt(sum(r * r for r in returns) / len(returns))
    return {
        "spread_mean_ticks": statistics.fmean(spreads),
        "spread_one_tick_share": sum(s <= 1.0 for s in spreads) / len(spreads),
        "spread_p99_ticks": _quantile(spreads, 0.99),
        "trades_per_s": len(prints) / span_s,
        "volume_per_s": sum(prints) / span_s,
        "trade_size_mean": statistics.fmean(prints) if prints else 0.0,
        "trade_size_median": float(statistics.median(prints)) if prints else 0.0,
        "mid_vol_ratio": rms / sigma,
        "touch_depth_ratio": statistics.fmean(depths) / spec.typical_size,
        "passive_filled_fraction": statistics.fmean(fractions),
        "passive_full_fill_share": len(times) / paths,
    }


def measure(scenario: Scenario, symbol: str, *, paths: int = 100,
            obs_ms: float = 200.0, seed: str = "facts") -> dict[str, float]:
    """:func:`measure_book` for one symbol of a scenario, over the scenario's horizon."""
    return measure_book(scenario.symbols[symbol], scenario.book, paths=paths,
                        horizon_s=scenario.horizon_s, obs_ms=obs_ms, seed=seed)


def expected_from_parameters(spec: SymbolSpec, params: BookParams) -> dict[str, float]:
    """What the parameters alone say about the facts (first-order, no book interaction).

    - marketable orders of others: ``2 x flow rate`` a second (the tilt moves flow
      from one side to the other, never the total); each prints at least once;
    - their size: lognormal with median ``typical x flow_size_frac``, so a mean of
      ``median x exp(sigma^2 / 2)``; a print is at most one order's size;
    - the fair value's volatility over the horizon is ``daily_vol x sqrt(h / session)``,
      which :func:`measure_book` divides the mid's by (the ratio is 1 plus tick noise);
    - each level relaxes toward ``typical x (1 + 0.15 i)``: the touch toward ``typical``.
    """
    median = max(1.0, spec.typical_size * params.flow_size_frac)
    return {
        "orders_per_s": 2 * params.flow_rate_per_s,
        "order_size_mean": median * math.exp(params.flow_size_sigma ** 2 / 2),
        "order_size_median": median,
        "mid_vol_ratio": 1.0,
        "touch_depth_ratio": 1.0,
    }
