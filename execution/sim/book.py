"""An L2 order book for one symbol on the KRX tick ladder, advanced event by event.

Each price level is a FIFO queue of blocks (:mod:`execution.sim.queues`):
liquidity of other participants and our own resting orders. The market is
three kinds of exogenous events (:mod:`execution.sim.streams`); the book
jumps from one to the next instead of stepping through time:

1. the fair value takes a lognormal random-walk step every ``step_ms``
   (``daily_vol`` scaled to the step); the target touch is the tick below it
   and the tick above. When it leaves the current tick, resting orders it has
   moved *through* are swept (traded at their own price);
2. on each of the first ``depth_levels`` target levels per side, limit orders
   of others arrive and others cancel (Poisson events, one stream per level
   index; where a cancel comes from in the queue is the queue model). New
   liquidity at a price that crosses the other side trades against it first
   (so an order left at the far touch of a moving market fills gradually);
3. other participants send marketable orders (Poisson arrivals, lognormal
   sizes, tilted toward the fair value) that consume levels in FIFO order, our
   blocks included at their queue position.

Level events touch one level only, so they are applied lazily (see
:mod:`execution.sim.events`): a level is brought up to date just before
anything reads or trades it, and a level nobody looks at costs nothing. The
other events, fewer, are applied in time order by :meth:`OrderBook.advance`;
fair-value steps that stay within the tick are skipped in one scan. Every
stream draws from its own random stream, one event ahead, so the exogenous
market (fair-value path, arrival times and sizes) is the same whatever we do in
it and however often it is looked at: two strategies run on the same seed see
the same market and differ only through their own impact.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from execution.contracts import Side
from execution.sim import ladder as lad
from execution.sim import queues as q
from execution.sim.book_calls import CallAuctions
from execution.sim.events import BUY, NO_ASK, SELL
from execution.sim.params import BookParams
from execution.sim.streams import FairPath, FlowStream, LevelStream
from execution.sim.symbols import SymbolSpec
from execution.ticks import add_ticks, tick_size


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


def _s(side: Side) -> int:
    return BUY if side is Side.BUY else SELL


class OrderBook(CallAuctions):
    """Price levels with FIFO queues; see the module docstring for the dynamics."""

    def __init__(
        self, spec: SymbolSpec, rng: random.Random, start_ns: int, params: BookParams | None = None
    ) -> None:
        self.spec = spec
        self.params = p = params or BookParams()
        self._depth = p.depth_levels
        self._last_ns = start_ns
        self._catchup_ns = round(p.max_catchup_s * 1e9)
        self._fair = FairPath(
            rng.getrandbits(64),
            float(spec.price_at_start + tick_size(spec.price_at_start) / 2),  # mid-spread
            spec.daily_vol, round(p.step_ms * 1e6),
            float(add_ticks(spec.lower_limit, 1)), float(add_ticks(spec.upper_limit, -1)),
            start_ns, spec.drift_per_hour)
        init_rng = random.Random(rng.getrandbits(64))
        self._flow = FlowStream(rng.getrandbits(64), 2 * p.flow_rate_per_s,
                                max(1.0, spec.typical_size * p.flow_size_frac),
                                p.flow_size_sigma, start_ns)
        self._seed = rng.getrandbits(64)
        self._mean_add = max(1.0, spec.typical_size * p.limit_size_frac)
        self._cancel_rate = 1 / (p.liquidity_tau_s * p.cancel_size_frac)
        self._add_rates = [self._target_size(i) / (p.liquidity_tau_s * self._mean_add)
                           for i in range(self._depth)]
        self._streams: tuple[list[LevelStream], list[LevelStream]] = ([], [])
        self._dormant: tuple[dict[int, LevelStream], dict[int, LevelStream]] = ({}, {})
        self._books: tuple[dict[int, q.Queue], dict[int, q.Queue]] = ({}, {})
        self._crossing = [0, 0]
        self._own: dict[str, tuple[int, int]] = {}
        self._own_bid, self._own_ask = 0, NO_ASK
        self._fills: list[tuple[str, int, int, int]] = []
        self.traded_qty = 0  # the tape: every trade, ours included
        self._notional = 0
        self.events = 0  # exogenous events applied so far (fair steps, arrivals, level events)
        self._init_calls()
        self.last_price = int(spec.price_at_start)  # the dynamic VI's first reference
        self._retarget(self._fair.value, start_ns)
        for s in (BUY, SELL):
            for i, price in enumerate(self._ladders[s][: self._depth]):
                size = max(1, round(self._target_size(i) * init_rng.uniform(0.6, 1.4)))
                self._books[s][price] = deque([q.Block(None, size)])

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
        return self._fair.value

    def best(self, side: Side) -> Decimal | None:
        """Best price with displayed size on ``side`` (BUY: bid, SELL: ask)."""
        self._flush_touch(_s(side), self._last_ns)
        price = self._best(_s(side))
        return None if price is None else lad.dec(price)

    def top(self) -> tuple[Decimal, int, Decimal, int]:
        """(bid, bid size, ask, ask size); an empty side shows its target price, size 0."""
        self._flush_touch(BUY, self._last_ns)
        self._flush_touch(SELL, self._last_ns)
        bid, ask = self._touch()
        bids, asks = self._books
        bid_size = q.size(bids[bid]) if bid in bids else 0
        ask_size = q.size(asks[ask]) if ask in asks else 0
        return lad.dec(bid), bid_size, lad.dec(ask), ask_size

    def mid(self) -> Decimal:
        bid, _, ask, _ = self.top()
        return (bid + ask) / 2

    def depth(self, levels: int) -> BookDepth:
        """The best ``levels`` price levels per side (sizes include our own orders)."""
        self._flush_all(self._last_ns)
        bids, asks = self._books
        return BookDepth(
            self.symbol,
            tuple(Level(lad.dec(p), q.size(bids[p])) for p in sorted(bids, reverse=True)[:levels]),
            tuple(Level(lad.dec(p), q.size(asks[p])) for p in sorted(asks)[:levels]),
            self._last_ns,
        )

    def resting_qty(self, order_id: str) -> int:
        found = self._find(order_id)
        return found[1].qty if found else 0

    def queue_ahead(self, order_id: str) -> int | None:
        """Shares ahead of our order at its level, or None when it is not resting."""
        where = self._own.get(order_id)
        if where is not None:
            self._flush_price(*where)
        found = self._find(order_id)
        return None if found is None else q.ahead_of(found[0], order_id)

    # --------------------------------------------------------------- our orders

    def take(self, side: Side, qty: int, limit: Decimal | None,
             skip: Callable[[str], bool] | None = None) -> list[tuple[Decimal, int]]:
        """Our marketable order: trade up to ``qty`` against others' displayed liquidity.

        Walks levels from the touch while the price is within ``limit`` (None:
        no limit). Our own resting orders are skipped (no self-trade); with ``skip``
        only those it answers True for, the others (another account's, on a shared
        market) trade like anyone's: their fills are collected by :meth:`drain_fills`.
        Returns (price, qty) per level traded; does not rest anything.
        """
        s = _s(side)
        cap = None if limit is None else lad.whole(limit)
        for stream in self._streams[1 - s]:  # the levels this order may reach
            if cap is not None and (stream.price > cap if s == BUY else stream.price < cap):
                break
            self._flush(stream, self._last_ns)
        book = self._books[1 - s]
        if s == BUY:
            prices = sorted(p for p in book if cap is None or p <= cap)
        else:
            prices = sorted((p for p in book if cap is None or p >= cap), reverse=True)
        trades: list[tuple[Decimal, int]] = []
        for price in prices:
            if qty == 0:
                break
            done, hits = q.take_fifo(book[price], qty, skip_own=True if skip is None else skip)
            if not book[price]:
                del book[price]
            if done:
                trades.append((lad.dec(price), done))
                self._tape(price, done)
                qty -= done
            if hits:
                self._own_hits(hits, price, self._last_ns)
        self._update_crossing()
        return trades

    def rest(self, order_id: str, side: Side, price: Decimal, qty: int) -> None:
        """Join the back of the queue at ``price`` (behind everything displayed there)."""
        if qty <= 0:
            raise ValueError(f"resting qty must be positive, got {qty}")
        if order_id in self._own:
            raise ValueError(f"order {order_id} already rests in the book")
        s, p = _s(side), lad.whole(price)
        self._flush_price(s, p)
        for stream in self._streams[1 - s]:  # other-side levels our order may cross from now on
            if stream.price > p if s == BUY else stream.price < p:
                break
            self._flush(stream, self._last_ns)
        self._books[s].setdefault(p, deque()).append(q.Block(order_id, qty))
        self._own[order_id] = (s, p)
        self._own_changed()
        self._update_crossing()

    def reduce(self, order_id: str, qty: int) -> None:
        """Shrink a resting order in place, keeping its queue priority."""
        where = self._own.get(order_id)
        if where is not None:
            self._flush_price(*where)
        found = self._find(order_id)
        if found is None or not 0 < qty <= found[1].qty:
            raise ValueError(f"cannot reduce {order_id} to {qty}")
        found[1].qty = qty

    def remove(self, order_id: str) -> int:
        """Take our order out of the book; returns the qty that was resting."""
        where = self._own.get(order_id)
        if where is not None:
            self._flush_price(*where)
        found = self._find(order_id)
        if found is None:
            return 0
        queue, block = found
        queue.remove(block)
        q.compact(queue, keep_own_empty=True)
        s, price = self._own.pop(order_id)
        self._own_changed()
        if not queue:
            del self._books[s][price]
        self._prune()
        self._update_crossing()
        return block.qty

    def _flush_price(self, s: int, price: int) -> None:
        """Bring the level at ``price`` up to date (when it is a target level)."""
        for stream in self._streams[s]:
            if stream.price == price:
                self._flush(stream, self._last_ns)
                return

    def _arrival_misses_us(self, at: int) -> bool:
        """True when the marketable arrival at ``at`` certainly hits the side where none of
        our orders rests, so the driver need not wake for it.

        Decidable only in a quiet book: our orders on one side, no crossing, both target
        touch levels displayed (then no event before ``at`` moves a best price: a cancel
        never empties a level when ``cancel_size_frac < 0.25``, an add lands at or behind
        the touch), and the fair value staying within the tick until then. The arrival's
        side is then the one its draw and the tilt at ``at`` give.
        """
        own_bid, own_ask = self._own_bid > 0, self._own_ask != NO_ASK
        if own_bid == own_ask or self._crossing[BUY] or self._crossing[SELL]:
            return False
        key, ask_t, fair = self._key, self._ask_t, self._fair
        bids, asks = self._books
        if (key not in bids or ask_t not in asks or self.params.cancel_size_frac >= 0.25
                or max(bids) != key or min(asks) != ask_t):
            return False
        steps = (at - fair.next_ns) // fair.step_ns + 1 if at >= fair.next_ns else 0
        if steps and fair.first_exit(key, ask_t, steps) is not None:
            return False  # the ladder moves first
        value = fair.ahead(steps - 1) if steps else fair.value
        max_tilt = self.params.max_tilt
        tilt = max(-max_tilt, min(max_tilt, (value - (key + ask_t) / 2) / (ask_t - key)))
        buys = self._flow.side_draw * 2 < 1 + tilt  # a buy takes asks, a sell takes bids
        return buys if own_bid else not buys

    # ------------------------------------------------------------------- time

    def advance(self, to_ns: int) -> list[BookFill]:
        """Run the market up to ``to_ns``; returns the fills of our resting orders."""
        if to_ns > self._last_ns:
            if to_ns - self._last_ns > self._catchup_ns:
                self._collapse(to_ns - self._catchup_ns)
            fair, flow, crossing = self._fair, self._flow, self._crossing
            while self.halt_ns is None:  # halted: a VI, the exchange takes over from there
                horizon = min(flow.next_ns, to_ns)  # a step at the arrival's time comes first
                if fair.next_ns <= horizon:
                    steps = (horizon - fair.next_ns) // fair.step_ns + 1
                    if self._own_bid > self._ask_t or self._own_ask < self._key:
                        quiet: int | None = 0  # our order is through: swept at the next step
                    else:
                        quiet = fair.first_exit(self._key, self._ask_t, steps)
                    if quiet is None:  # the fair value stays within the tick: nothing happens
                        fair.skip(steps)
                        self.events += steps
                        continue
                    fair.skip(quiet)
                    self.events += quiet
                    if crossing[0] or crossing[1]:
                        self._flush_crossing(fair.next_ns)
                    self._fair_step(fair.next_ns)
                    continue
                if flow.next_ns > to_ns:
                    break
                if crossing[0] or crossing[1]:
                    self._flush_crossing(flow.next_ns)
                self._flow_event(flow.next_ns)
            self._last_ns = to_ns if self.halt_ns is None else max(self._last_ns, self.halt_ns)
            if crossing[0] or crossing[1]:
                self._flush_crossing(self._last_ns)  # crossing liquidity may trade with ours
        return self.drain_fills()

    def drain_fills(self) -> list[BookFill]:
        """The fills of our resting orders not yet returned (by :meth:`advance`)."""
        fills, self._fills = self._fills, []
        return [BookFill(oid, lad.dec(price), qty, ts) for oid, price, qty, ts in fills]

    def _arrival_wake(self, horizon_ns: int | None) -> int:
        """The next marketable arrival that may hit one of our orders (or the horizon)."""
        wake = self._flow.next_ns
        if horizon_ns is not None and wake > horizon_ns:
            return horizon_ns
        if self._arrival_misses_us(wake):
            wake = self._flow.following_ns()
            if horizon_ns is not None:
                wake = min(wake, horizon_ns)
        return wake

    def next_wake_ns(self, horizon_ns: int | None = None) -> int | None:
        """The next moment one of our resting orders may trade (None when none rests).

        That is the next marketable arrival, a fair-value move that puts one of
        our orders through the target touch (or on the other side's target
        level), or, while liquidity crosses one of our orders, the next level event.
        With ``horizon_ns`` the search stops there: a later moment is answered as the
        horizon (without others' flow, ``rate_per_s: 0``, the next arrival never comes).
        """
        if not self._own:
            return None
        wake = self._arrival_wake(horizon_ns)
        bid_max, ask_min = self._own_bid, self._own_ask
        fair, key, ask_t = self._fair, self._key, self._ask_t
        for s, crossed in ((SELL, bid_max >= ask_t), (BUY, ask_min <= key)):
            if not crossed:
                continue
            for stream in self._streams[s]:  # new liquidity at or beyond our order trades
                if stream.price > bid_max if s == SELL else stream.price < ask_min:
                    break
                self._flush(stream, self._last_ns)  # its next event is then exactly known
                wake = min(wake, stream.next_ns)
        at, k = fair.next_ns, 0
        while at < wake:
            if bid_max > ask_t or ask_min < key:
                return at  # swept at the next step
            value = fair.ahead(k)
            if not key <= value < ask_t:
                key = lad.snap_down(value)
                ask_t = lad.up(key)
                if bid_max >= ask_t or ask_min <= key:
                    return at
            at += fair.step_ns
            k += 1
        return wake

