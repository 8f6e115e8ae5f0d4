"""An L2 order book for one symbol on the KRX tick ladder.

Each price level is a FIFO queue of blocks (:mod:`execution.sim.queues`):
liquidity of other participants and our own resting orders. The market moves
in fixed steps of exchange time (``BookParams.step_ms``, on a grid from the
book's start), so its path does not depend on how often it is looked at:

1. a fair value takes a lognormal random-walk step (``daily_vol`` scaled to
   the step); the target touch is the tick below it and the tick above;
2. resting orders the fair value has moved *through* are swept (traded at
   their own price);
3. on each of the first ``depth_levels`` target levels per side, limit
   orders of others arrive and others cancel (where a cancel comes from in
   the queue is the queue model); new liquidity at a price that crosses the
   other side trades against it first (so an order left at the far touch of a
   moving market fills gradually);
4. other participants send marketable orders (Poisson arrivals, lognormal
   sizes, tilted toward the fair value) that consume levels in FIFO order,
   our blocks included at their queue position.

Randomness: three streams derived from the ``random.Random`` passed in, one
for the fair value, one for limit arrivals and cancels, one for marketable
flow. Each step draws the same number of variates whatever the book holds,
so the exogenous market (fair-value path, arrival times and sizes) is the
same whatever we do in it: two strategies run on the same seed see the same
market, and differ only through their own impact.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from execution.contracts import Side
from execution.sim import queues as q
from execution.sim.params import BookParams
from execution.sim.symbols import SymbolSpec
from execution.ticks import add_ticks, snap, tick_size

_SESSION_SECONDS = 6.5 * 3600


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    size: int


@dataclass(frozen=True, slots=True)
class BookDepth:
    symbol: str
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]  # best first
    ts_ns: int


@dataclass(frozen=True, slots=True)
class BookFill:
    """Part of one of our orders traded at ``price``."""

    order_id: str
    price: Decimal
    qty: int
    ts_ns: int


class OrderBook:
    """Price levels with FIFO queues; see the module docstring for the dynamics."""

    def __init__(
        self, spec: SymbolSpec, rng: random.Random, start_ns: int, params: BookParams | None = None
    ) -> None:
        self.spec = spec
        self.params = params or BookParams()
        self._fair_rng = random.Random(rng.getrandbits(64))
        self._liq_rng = random.Random(rng.getrandbits(64))
        self._flow_rng = random.Random(rng.getrandbits(64))
        self._step_ns = round(self.params.step_ms * 1e6)
        self._last_ns = start_ns
        self._lo = float(add_ticks(spec.lower_limit, 1))
        self._hi = float(add_ticks(spec.upper_limit, -1))
        # Start mid-spread: the fair value sits between the two touches, not on a tick.
        self._fair = float(spec.ref_price + tick_size(spec.ref_price) / 2)
        self._bids: dict[Decimal, q.Queue] = {}
        self._asks: dict[Decimal, q.Queue] = {}
        self._own: dict[str, tuple[Side, Decimal]] = {}
        self._ladder_key = Decimal(0)
        self._bid_ladder: list[Decimal] = []
        self._ask_ladder: list[Decimal] = []
        self.traded_qty = 0  # the tape: every trade, ours included
        self.traded_notional = Decimal(0)
        self._retarget()
        for i, price in enumerate(self._bid_ladder[: self.params.depth_levels]):
            self._bids[price] = deque([q.Block(None, self._initial_size(i))])
        for i, price in enumerate(self._ask_ladder[: self.params.depth_levels]):
            self._asks[price] = deque([q.Block(None, self._initial_size(i))])

    # ------------------------------------------------------------------ views

    @property
    def symbol(self) -> str:
        return self.spec.code

    @property
    def now_ns(self) -> int:
        """Exchange time the book has been advanced to."""
        return self._last_ns

    @property
    def fair_value(self) -> float:
        return self._fair

    def best(self, side: Side) -> Decimal | None:
        """Best price with displayed size on ``side`` (BUY: bid, SELL: ask)."""
        prices = [p for p, queue in self._side(side).items() if queue]
        if not prices:
            return None
        return max(prices) if side is Side.BUY else min(prices)

    def top(self) -> tuple[Decimal, int, Decimal, int]:
        """(bid, bid size, ask, ask size); an empty side shows its target price, size 0."""
        bid, ask = self.best(Side.BUY), self.best(Side.SELL)
        bid_size = q.size(self._bids[bid]) if bid is not None else 0
        ask_size = q.size(self._asks[ask]) if ask is not None else 0
        if bid is None:
            bid = self._bid_ladder[0] if ask is None else add_ticks(ask, -1)
        if ask is None:
            ask = add_ticks(bid, 1)
        return bid, bid_size, ask, ask_size

    def mid(self) -> Decimal:
        bid, _, ask, _ = self.top()
        return (bid + ask) / 2

    def depth(self, levels: int) -> BookDepth:
        """The best ``levels`` price levels per side (sizes include our own orders)."""
        bids = sorted((p for p, queue in self._bids.items() if queue), reverse=True)[:levels]
        asks = sorted(p for p, queue in self._asks.items() if queue)[:levels]
        return BookDepth(
            self.symbol,
            tuple(Level(p, q.size(self._bids[p])) for p in bids),
            tuple(Level(p, q.size(self._asks[p])) for p in asks),
            self._last_ns,
        )

    def resting_qty(self, order_id: str) -> int:
        found = self._find(order_id)
        return found[1].qty if found else 0

    def queue_ahead(self, order_id: str) -> int | None:
        """Shares ahead of our order at its level, or None when it is not resting."""
        found = self._find(order_id)
        return None if found is None else q.ahead_of(found[0], order_id)

    # --------------------------------------------------------------- our orders

    def take(self, side: Side, qty: int, limit: Decimal | None) -> list[tuple[Decimal, int]]:
        """Our marketable order: trade up to ``qty`` against others' displayed liquidity.

        Walks levels from the touch while the price is within ``limit`` (None:
        no limit). Our own resting orders are skipped (no self-trade).
        Returns (price, qty) per level traded; does not rest anything.
        """
        trades: list[tuple[Decimal, int]] = []
        book = self._side(side.opposite)
        for price in self._walk_prices(side, limit):
            if qty == 0:
                break
            done, _ = q.take_fifo(book[price], qty, skip_own=True)
            if done:
                trades.append((price, done))
                self._tape(price, done)
                qty -= done
        self._drop_empty(book)
        return trades

    def rest(self, order_id: str, side: Side, price: Decimal, qty: int) -> None:
        """Join the back of the queue at ``price`` (behind everything displayed there)."""
        if qty <= 0:
            raise ValueError(f"resting qty must be positive, got {qty}")
        if order_id in self._own:
            raise ValueError(f"order {order_id} already rests in the book")
        self._side(side).setdefault(price, deque()).append(q.Block(order_id, qty))
        self._own[order_id] = (side, price)

    def reduce(self, order_id: str, qty: int) -> None:
        """Shrink a resting order in place, keeping its queue priority."""
        found = self._find(order_id)
        if found is None or not 0 < qty <= found[1].qty:
            raise ValueError(f"cannot reduce {order_id} to {qty}")
        found[1].qty = qty

    def remove(self, order_id: str) -> int:
        """Take our order out of the book; returns the qty that was resting."""
        found = self._find(order_id)
        if found is None:
            return 0
        queue, block = found
        queue.remove(block)
        q.compact(queue, keep_own_empty=True)
        side, price = self._own.pop(order_id)
        if not queue:
            del self._side(side)[price]
        return block.qty

    # ------------------------------------------------------------------- time

    def advance(self, to_ns: int) -> list[BookFill]:
        """Run the market up to ``to_ns``; returns the fills of our resting orders."""
        steps = (to_ns - self._last_ns) // self._step_ns
        if steps <= 0:
            return []
        fills: list[BookFill] = []
        max_steps = max(1, int(self.params.max_catchup_s * 1000 / self.params.step_ms))
        if steps > max_steps:
            jump = steps - max_steps + 1
            self._last_ns += jump * self._step_ns
            self._step(self._last_ns, jump * self.params.step_ms / 1000, fills)
            steps = max_steps - 1
        for _ in range(steps):
            self._last_ns += self._step_ns
            self._step(self._last_ns, self.params.step_ms / 1000, fills)
        return fills

    def _step(self, ts_ns: int, dt_s: float, fills: list[BookFill]) -> None:
        sigma = self.spec.daily_vol * math.sqrt(dt_s / _SESSION_SECONDS)
        step = math.exp(sigma * self._fair_rng.gauss(0, 1))
        self._fair = min(self._hi, max(self._lo, self._fair * step))
        self._retarget()
        bid_t, ask_t = self._bid_ladder[0], self._ask_ladder[0]
        # 2. sweep what the fair value moved through
        through_asks = sum(q.size(queue) for p, queue in self._asks.items() if p < bid_t)
        if through_asks:
            self._others_take(Side.BUY, through_asks, bid_t, ts_ns, fills)
        through_bids = sum(q.size(queue) for p, queue in self._bids.items() if p > ask_t)
        if through_bids:
            self._others_take(Side.SELL, through_bids, ask_t, ts_ns, fills)
        # 3. limit arrivals and cancels of others
        for side, ladder in ((Side.BUY, self._bid_ladder), (Side.SELL, self._ask_ladder)):
            for i, price in enumerate(ladder[: self.params.depth_levels]):
                self._liquidity(side, price, i, dt_s, ts_ns, fills)
        # 4. marketable flow of other participants
        self._flow(dt_s, ts_ns, fills)
        self._prune()

    def _liquidity(
        self, side: Side, price: Decimal, i: int, dt_s: float, ts_ns: int, fills: list[BookFill]
    ) -> None:
        p, rng = self.params, self._liq_rng
        mean_add = max(1.0, self.spec.typical_size * p.limit_size_frac)
        add_rate = self._target_size(i) / (p.liquidity_tau_s * mean_add)
        add = sum(max(1, round(rng.expovariate(1 / mean_add)))
                  for _ in range(_poisson(rng, add_rate * dt_s)))
        cancels = [(rng.random(), rng.random())
                   for _ in range(_poisson(rng, dt_s / (p.liquidity_tau_s * p.cancel_size_frac)))]
        if add:
            # New liquidity that crosses the other side trades first (fills our orders there).
            add -= self._others_take(side, add, price, ts_ns, fills)
            if add > 0:
                q.add_others(self._side(side).setdefault(price, deque()), add)
        queue = self._side(side).get(price)
        for frac, point in cancels:
            if not queue:
                break
            n = round(q.others(queue) * frac * 2 * p.cancel_size_frac)
            q.cancel_others(queue, n, p.queue_model, point)
        if queue is not None and not queue:
            del self._side(side)[price]

    def _flow(self, dt_s: float, ts_ns: int, fills: list[BookFill]) -> None:
        p, rng = self.params, self._flow_rng
        bid, _, ask, _ = self.top()
        mid = float(bid + ask) / 2
        tilt = max(-p.max_tilt, min(p.max_tilt, (self._fair - mid) / float(ask - bid)))
        median = max(1.0, self.spec.typical_size * p.flow_size_frac)
        peak = 1 + p.max_tilt  # thinning: draw at the peak rate, keep with weight / peak
        for side, weight in ((Side.BUY, 1 + tilt), (Side.SELL, 1 - tilt)):
            arrivals = [
                (rng.random(), rng.lognormvariate(math.log(median), p.flow_size_sigma))
                for _ in range(_poisson(rng, p.flow_rate_per_s * peak * dt_s))
            ]
            for keep, size in arrivals:
                touch = self.best(side.opposite)
                if touch is None or keep * peak >= weight:
                    continue
                limit = add_ticks(touch, p.flow_max_ticks * side.sign)
                self._others_take(side, max(1, round(size)), limit, ts_ns, fills)

    def _others_take(
        self, side: Side, qty: int, limit: Decimal, ts_ns: int, fills: list[BookFill]
    ) -> int:
        """Another participant's ``side`` order trading FIFO up to ``limit``; returns qty done."""
        book = self._side(side.opposite)
        done = 0
        for price in self._walk_prices(side, limit):
            n, hits = q.take_fifo(book[price], qty - done)
            if n:
                self._tape(price, n)
            done += n
            for hit in hits:
                assert hit.owner is not None
                fills.append(BookFill(hit.owner, price, hit.qty, ts_ns))
                if self._find(hit.owner) is None:
                    del self._own[hit.owner]
            if done == qty:
                break
        self._drop_empty(book)
        return done

    # ---------------------------------------------------------------- helpers

    def _tape(self, price: Decimal, qty: int) -> None:
        self.traded_qty += qty
        self.traded_notional += price * qty

    def _side(self, side: Side) -> dict[Decimal, q.Queue]:
        return self._bids if side is Side.BUY else self._asks

    def _walk_prices(self, side: Side, limit: Decimal | None) -> list[Decimal]:
        """Opposite-side prices a ``side`` order may trade at, best first."""
        book = self._side(side.opposite)
        if side is Side.BUY:
            return sorted(p for p in book if limit is None or p <= limit)
        return sorted((p for p in book if limit is None or p >= limit), reverse=True)

    def _find(self, order_id: str) -> tuple[q.Queue, q.Block] | None:
        where = self._own.get(order_id)
        if where is None:
            return None
        queue = self._side(where[0]).get(where[1])
        for block in queue or ():
            if block.owner == order_id:
                return queue, block  # type: ignore[return-value]
        return None

    def _retarget(self) -> None:
        """Recompute the target ladders when the fair value left the current tick."""
        if self._bid_ladder and float(self._ladder_key) <= self._fair < float(self._ask_ladder[0]):
            return
        bid_t = snap(Decimal(repr(self._fair)), "down")
        self._ladder_key = bid_t
        n = self.params.depth_levels + 5
        self._bid_ladder = [bid_t]
        self._ask_ladder = [add_ticks(bid_t, 1)]
        for _ in range(n - 1):
            low = self._bid_ladder[-1]
            self._bid_ladder.append(low - tick_size(low - 1))
            high = self._ask_ladder[-1]
            self._ask_ladder.append(high + tick_size(high))

    def _prune(self) -> None:
        """Forget levels of others far outside the target window."""
        low, high = self._bid_ladder[-1], self._ask_ladder[-1]
        for book in (self._bids, self._asks):
            far = [
                p
                for p, queue in book.items()
                if (p < low or p > high) and all(b.owner is None for b in queue)
            ]
            for p in far:
                del book[p]

    @staticmethod
    def _drop_empty(book: dict[Decimal, q.Queue]) -> None:
        for price in [p for p, queue in book.items() if not queue]:
            del book[price]

    def _target_size(self, i: int) -> int:
        return round(self.spec.typical_size * (1 + 0.15 * i))

    def _initial_size(self, i: int) -> int:
        return max(1, round(self._target_size(i) * self._fair_rng.uniform(0.6, 1.4)))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; fine for the small rates of one step (capped for long gaps)."""
    if lam <= 0:
        return 0
    lam = min(lam, 50.0)
    threshold, k, prod = math.exp(-lam), 0, rng.random()
    while prod > threshold:
        k += 1
        prod *= rng.random()
    return k
