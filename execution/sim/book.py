"""An L2 order book for one symbol on the KRX tick ladder.

Each price level is a FIFO queue of blocks: anonymous liquidity of other
participants, and our own resting orders (one block per order). The market
moves in fixed steps of exchange time (``BookParams.step_ms``, on a grid from
the book's start), so its path does not depend on how often it is looked at:

1. a fair value takes a lognormal random-walk step (``daily_vol`` scaled to
   the step); the target touch is the tick below it and the tick above;
2. resting orders the fair value has moved *through* are swept (traded at
   their own price);
3. each of the first ``depth_levels`` levels per side is topped up toward the
   typical size; new liquidity at a price that crosses the other side trades
   against it first (so an order left at the far touch fills gradually);
4. other participants send marketable orders (Poisson arrivals, exponential
   sizes, biased toward the fair value) that consume levels in FIFO order,
   our blocks included at their queue position.

All randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from execution.contracts import Side
from execution.sim.symbols import SymbolSpec
from execution.ticks import add_ticks, snap, tick_size

_SESSION_SECONDS = 6.5 * 3600


@dataclass(frozen=True, slots=True)
class BookParams:
    """Knobs of the market model."""

    step_ms: float = 50.0
    depth_levels: int = 10
    replenish_tau_s: float = 2.0
    flow_rate_per_s: float = 1.0  # marketable arrivals per second and side
    flow_mean_frac: float = 0.1  # mean arrival size, as a fraction of typical_size
    flow_max_ticks: int = 2  # how far past the touch an arrival may walk
    max_catchup_s: float = 60.0  # longer gaps are collapsed into one step


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


@dataclass(slots=True)
class _Block:
    owner: str | None  # None: other participants
    qty: int


_Queue = deque[_Block]


class OrderBook:
    """Price levels with FIFO queues; see the module docstring for the dynamics."""

    def __init__(
        self, spec: SymbolSpec, rng: random.Random, start_ns: int, params: BookParams | None = None
    ) -> None:
        self.spec = spec
        self.params = params or BookParams()
        self._rng = rng
        self._step_ns = round(self.params.step_ms * 1e6)
        self._last_ns = start_ns
        self._lo = float(add_ticks(spec.lower_limit, 1))
        self._hi = float(add_ticks(spec.upper_limit, -1))
        self._fair = float(spec.ref_price)
        self._bids: dict[Decimal, _Queue] = {}
        self._asks: dict[Decimal, _Queue] = {}
        self._own: dict[str, tuple[Side, Decimal]] = {}
        self._ladder_key = Decimal(0)
        self._bid_ladder: list[Decimal] = []
        self._ask_ladder: list[Decimal] = []
        self._retarget()
        for i, price in enumerate(self._bid_ladder[: self.params.depth_levels]):
            self._bids[price] = deque([_Block(None, self._initial_size(i))])
        for i, price in enumerate(self._ask_ladder[: self.params.depth_levels]):
            self._asks[price] = deque([_Block(None, self._initial_size(i))])

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
        levels = self._side(side)
        prices = [p for p, q in levels.items() if q]
        if not prices:
            return None
        return max(prices) if side is Side.BUY else min(prices)

    def top(self) -> tuple[Decimal, int, Decimal, int]:
        """(bid, bid size, ask, ask size); an empty side shows its target price, size 0."""
        bid, ask = self.best(Side.BUY), self.best(Side.SELL)
        bid_size = _size(self._bids[bid]) if bid is not None else 0
        ask_size = _size(self._asks[ask]) if ask is not None else 0
        if bid is None:
            bid = self._bid_ladder[0] if ask is None else add_ticks(ask, -1)
        if ask is None:
            ask = add_ticks(bid, 1)
        return bid, bid_size, ask, ask_size

    def depth(self, levels: int) -> BookDepth:
        """The best ``levels`` price levels per side (sizes include our own orders)."""
        bids = sorted((p for p, q in self._bids.items() if q), reverse=True)[:levels]
        asks = sorted(p for p, q in self._asks.items() if q)[:levels]
        return BookDepth(
            self.symbol,
            tuple(Level(p, _size(self._bids[p])) for p in bids),
            tuple(Level(p, _size(self._asks[p])) for p in asks),
            self._last_ns,
        )

    def resting_qty(self, order_id: str) -> int:
        found = self._find(order_id)
        return found[1].qty if found else 0

    def queue_ahead(self, order_id: str) -> int | None:
        """Shares ahead of our order at its level, or None when it is not resting."""
        found = self._find(order_id)
        if found is None:
            return None
        ahead = 0
        for block in found[0]:
            if block is found[1]:
                return ahead
            ahead += block.qty
        return None  # pragma: no cover - the block is always in its queue

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
            queue = book[price]
            done = 0
            for block in queue:
                if block.owner is None and qty > done:
                    n = min(block.qty, qty - done)
                    block.qty -= n
                    done += n
            _compact(queue)
            if done:
                trades.append((price, done))
                qty -= done
        self._drop_empty(book)
        return trades

    def rest(self, order_id: str, side: Side, price: Decimal, qty: int) -> None:
        """Join the back of the queue at ``price`` (behind everything displayed there)."""
        if qty <= 0:
            raise ValueError(f"resting qty must be positive, got {qty}")
        if order_id in self._own:
            raise ValueError(f"order {order_id} already rests in the book")
        self._side(side).setdefault(price, deque()).append(_Block(order_id, qty))
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
        self._fair = min(self._hi, max(self._lo, self._fair * math.exp(self._rng.gauss(0, sigma))))
        self._retarget()
        bid_t, ask_t = self._bid_ladder[0], self._ask_ladder[0]
        # 2. sweep what the fair value moved through
        through_asks = sum(_size(q) for p, q in self._asks.items() if p < bid_t)
        if through_asks:
            self._others_take(Side.BUY, through_asks, bid_t, ts_ns, fills)
        through_bids = sum(_size(q) for p, q in self._bids.items() if p > ask_t)
        if through_bids:
            self._others_take(Side.SELL, through_bids, ask_t, ts_ns, fills)
        # 3. replenish toward the typical size
        keep = 1.0 - math.exp(-dt_s / self.params.replenish_tau_s)
        for side, ladder in ((Side.BUY, self._bid_ladder), (Side.SELL, self._ask_ladder)):
            for i, price in enumerate(ladder[: self.params.depth_levels]):
                self._replenish(side, price, i, keep, ts_ns, fills)
        # 4. marketable flow of other participants
        self._flow(dt_s, ts_ns, fills)
        self._prune()

    def _replenish(
        self, side: Side, price: Decimal, i: int, keep: float, ts_ns: int, fills: list[BookFill]
    ) -> None:
        queue = self._side(side).get(price)
        others = sum(b.qty for b in queue if b.owner is None) if queue else 0
        deficit = self._target_size(i) - others
        if deficit <= 0:
            return
        add = min(deficit, math.ceil(deficit * keep * self._rng.uniform(0.5, 1.5)))
        # New liquidity that crosses the other side trades first (fills our orders there).
        add -= self._others_take(side, add, price, ts_ns, fills)
        if add > 0:
            queue = self._side(side).setdefault(price, deque())
            if queue and queue[-1].owner is None:
                queue[-1].qty += add
            else:
                queue.append(_Block(None, add))

    def _flow(self, dt_s: float, ts_ns: int, fills: list[BookFill]) -> None:
        p = self.params
        bid, _, ask, _ = self.top()
        mid = float(bid + ask) / 2
        tilt = max(-0.8, min(0.8, (self._fair - mid) / float(ask - bid)))
        for side, weight in ((Side.BUY, 1 + tilt), (Side.SELL, 1 - tilt)):
            arrivals = _poisson(self._rng, p.flow_rate_per_s * weight * dt_s)
            for _ in range(arrivals):
                touch = self.best(side.opposite)
                if touch is None:
                    break
                mean = max(1.0, self.spec.typical_size * p.flow_mean_frac)
                qty = max(1, round(self._rng.expovariate(1 / mean)))
                limit = add_ticks(touch, p.flow_max_ticks * side.sign)
                self._others_take(side, qty, limit, ts_ns, fills)

    def _others_take(
        self, side: Side, qty: int, limit: Decimal, ts_ns: int, fills: list[BookFill]
    ) -> int:
        """Another participant's ``side`` order trading FIFO up to ``limit``; returns qty done."""
        book = self._side(side.opposite)
        done = 0
        for price in self._walk_prices(side, limit):
            queue = book[price]
            while queue and done < qty:
                block = queue[0]
                n = min(block.qty, qty - done)
                block.qty -= n
                done += n
                if block.owner is not None:
                    fills.append(BookFill(block.owner, price, n, ts_ns))
                if block.qty == 0:
                    queue.popleft()
                    if block.owner is not None:
                        del self._own[block.owner]
            if done == qty:
                break
        self._drop_empty(book)
        return done

    # ---------------------------------------------------------------- helpers

    def _side(self, side: Side) -> dict[Decimal, _Queue]:
        return self._bids if side is Side.BUY else self._asks

    def _walk_prices(self, side: Side, limit: Decimal | None) -> list[Decimal]:
        """Opposite-side prices a ``side`` order may trade at, best first."""
        book = self._side(side.opposite)
        if side is Side.BUY:
            return sorted(p for p in book if limit is None or p <= limit)
        return sorted((p for p in book if limit is None or p >= limit), reverse=True)

    def _find(self, order_id: str) -> tuple[_Queue, _Block] | None:
        where = self._own.get(order_id)
        if where is None:
            return None
        queue = self._side(where[0])[where[1]]
        for block in queue:
            if block.owner == order_id:
                return queue, block
        return None  # pragma: no cover - _own and the queues are kept in step

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
                for p, q in book.items()
                if (p < low or p > high) and all(b.owner is None for b in q)
            ]
            for p in far:
                del book[p]

    @staticmethod
    def _drop_empty(book: dict[Decimal, _Queue]) -> None:
        for price in [p for p, q in book.items() if not q]:
            del book[price]

    def _target_size(self, i: int) -> int:
        return round(self.spec.typical_size * (1 + 0.15 * i))

    def _initial_size(self, i: int) -> int:
        return max(1, round(self._target_size(i) * self._rng.uniform(0.6, 1.4)))


def _size(queue: _Queue) -> int:
    return sum(b.qty for b in queue)


def _compact(queue: _Queue) -> None:
    """Drop exhausted blocks of others (our blocks leave only through the book's methods)."""
    for block in [b for b in queue if b.qty == 0 and b.owner is None]:
        queue.remove(block)


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
