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

Level events touch one level only, so they are applied lazily: a level is
brought up to date (:meth:`OrderBook._flush`) just before anything reads or
trades it. The others, fewer, are applied in time order by :meth:`advance`.
Every stream draws from its own random stream, one event ahead, so the
exogenous market (fair-value path, arrival times and sizes) is the same
whatever we do in it and however often it is looked at: two strategies run on
the same seed see the same market and differ only through their own impact.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from execution.contracts import Side
from execution.sim import ladder as lad
from execution.sim import queues as q
from execution.sim.params import BookParams
from execution.sim.streams import FairPath, FlowStream, LevelStream
from execution.sim.symbols import SymbolSpec
from execution.ticks import add_ticks, tick_size

_BUY, _SELL = 0, 1  # side indices: bids, asks
_NO_ASK = 2**62


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
    return _BUY if side is Side.BUY else _SELL


class OrderBook:
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
            float(spec.ref_price + tick_size(spec.ref_price) / 2),  # mid-spread, not on a tick
            spec.daily_vol, round(p.step_ms * 1e6),
            float(add_ticks(spec.lower_limit, 1)), float(add_ticks(spec.upper_limit, -1)),
            start_ns)
        init_rng = random.Random(rng.getrandbits(64))
        self._flow = FlowStream(random.Random(rng.getrandbits(64)), 2 * p.flow_rate_per_s,
                                max(1.0, spec.typical_size * p.flow_size_frac),
                                p.flow_size_sigma, start_ns)
        seed = rng.getrandbits(64)
        mean_add = max(1.0, spec.typical_size * p.limit_size_frac)
        cancel_rate = 1 / (p.liquidity_tau_s * p.cancel_size_frac)
        self._streams = tuple(
            [LevelStream(random.Random(seed * 64 + 2 * i + s),
                         self._target_size(i) / (p.liquidity_tau_s * mean_add),
                         cancel_rate, mean_add, start_ns) for i in range(self._depth)]
            for s in (_BUY, _SELL))
        self._books: tuple[dict[int, q.Queue], dict[int, q.Queue]] = ({}, {})
        self._ladders: tuple[list[int], list[int]] = ([], [])
        self._key = self._ask_t = 0  # the target touch: bid and ask
        # How many target levels of each side cross the other side's best price: their new
        # liquidity trades first (at most the touch, but for our orders left behind).
        self._crossing = [0, 0]
        self._own: dict[str, tuple[int, int]] = {}  # order id -> (side index, price)
        self._own_bid, self._own_ask = 0, _NO_ASK  # our highest bid, lowest ask
        self._fills: list[BookFill] = []
        self.traded_qty = 0  # the tape: every trade, ours included
        self._notional = 0
        self.events = 0  # exogenous events applied so far (fair steps, arrivals, level events)
        self._retarget(self._fair.value)
        for s in (_BUY, _SELL):
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

    @property
    def traded_notional(self) -> Decimal:
        return Decimal(self._notional)

    def best(self, side: Side) -> Decimal | None:
        """Best price with displayed size on ``side`` (BUY: bid, SELL: ask)."""
        self._flush_all(self._last_ns)
        price = self._best(_s(side))
        return None if price is None else lad.dec(price)

    def top(self) -> tuple[Decimal, int, Decimal, int]:
        """(bid, bid size, ask, ask size); an empty side shows its target price, size 0."""
        self._flush_all(self._last_ns)
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
        self._flush_all(self._last_ns)
        found = self._find(order_id)
        return None if found is None else q.ahead_of(found[0], order_id)

    # --------------------------------------------------------------- our orders

    def take(self, side: Side, qty: int, limit: Decimal | None) -> list[tuple[Decimal, int]]:
        """Our marketable order: trade up to ``qty`` against others' displayed liquidity.

        Walks levels from the touch while the price is within ``limit`` (None:
        no limit). Our own resting orders are skipped (no self-trade).
        Returns (price, qty) per level traded; does not rest anything.
        """
        self._flush_all(self._last_ns)
        s = _s(side)
        book = self._books[1 - s]
        cap = None if limit is None else lad.whole(limit)
        if s == _BUY:
            prices = sorted(p for p in book if cap is None or p <= cap)
        else:
            prices = sorted((p for p in book if cap is None or p >= cap), reverse=True)
        trades: list[tuple[Decimal, int]] = []
        for price in prices:
            if qty == 0:
                break
            done, _ = q.take_fifo(book[price], qty, skip_own=True)
            if not book[price]:
                del book[price]
            if done:
                trades.append((lad.dec(price), done))
                self._tape(price, done)
                qty -= done
        self._update_crossing()
        return trades

    def rest(self, order_id: str, side: Side, price: Decimal, qty: int) -> None:
        """Join the back of the queue at ``price`` (behind everything displayed there)."""
        if qty <= 0:
            raise ValueError(f"resting qty must be positive, got {qty}")
        if order_id in self._own:
            raise ValueError(f"order {order_id} already rests in the book")
        self._flush_all(self._last_ns)
        s, p = _s(side), lad.whole(price)
        self._books[s].setdefault(p, deque()).append(q.Block(order_id, qty))
        self._own[order_id] = (s, p)
        self._own_changed()
        self._update_crossing()

    def reduce(self, order_id: str, qty: int) -> None:
        """Shrink a resting order in place, keeping its queue priority."""
        self._flush_all(self._last_ns)
        found = self._find(order_id)
        if found is None or not 0 < qty <= found[1].qty:
            raise ValueError(f"cannot reduce {order_id} to {qty}")
        found[1].qty = qty

    def remove(self, order_id: str) -> int:
        """Take our order out of the book; returns the qty that was resting."""
        self._flush_all(self._last_ns)
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

    # ------------------------------------------------------------------- time

    def advance(self, to_ns: int) -> list[BookFill]:
        """Run the market up to ``to_ns``; returns the fills of our resting orders."""
        if to_ns > self._last_ns:
            if to_ns - self._last_ns > self._catchup_ns:
                self._collapse(to_ns - self._catchup_ns)
            fair, flow, crossing = self._fair, self._flow, self._crossing
            while True:
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
            self._last_ns = to_ns
            if crossing[0] or crossing[1]:
                self._flush_crossing(to_ns)  # crossing liquidity may trade against our orders
        fills, self._fills = self._fills, []
        return fills

    def next_wake_ns(self) -> int | None:
        """The next moment one of our resting orders may trade (None when none rests).

        That is the next marketable arrival, a fair-value move that puts one of
        our orders through the target touch (or on the other side's target
        level), or, while liquidity crosses, the next level event.
        """
        if not self._own:
            return None
        wake = self._flow.next_ns
        bid_max, ask_min = self._own_bid, self._own_ask
        fair, key, ask_t = self._fair, self._key, self._ask_t
        if bid_max >= ask_t:  # new asks at or below our bid trade with it
            wake = min(wake, *(st.next_ns for st, price in zip(
                self._streams[_SELL], self._ladders[_SELL], strict=False) if price <= bid_max))
        if ask_min <= key:
            wake = min(wake, *(st.next_ns for st, price in zip(
                self._streams[_BUY], self._ladders[_BUY], strict=False) if price >= ask_min))
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

    # ----------------------------------------------------------------- events

    def _fair_step(self, at: int) -> None:
        self.events += 1
        value = self._fair.step()
        if not self._key <= value < self._ask_t:
            self._flush_all(at)
            self._retarget(value)
            self._sweep(at)
            self._prune()
            self._update_crossing()
        elif self._own_bid > self._ask_t or self._own_ask < self._key:
            self._flush_all(at)
            self._sweep(at)
            self._update_crossing()

    def _flow_event(self, at: int) -> None:
        self.events += 1
        flow, p = self._flow, self.params
        self._flush_touch(_BUY, at)
        self._flush_touch(_SELL, at)
        bid, ask = self._touch()
        tilt = 0.0
        if ask > bid:
            tilt = max(-p.max_tilt, min(p.max_tilt, (self._fair.value - (bid + ask) / 2)
                                        / (ask - bid)))
        s = _BUY if flow.side_draw * 2 < 1 + tilt else _SELL
        touch = self._best(1 - s)
        if touch is not None:
            limit = lad.up(touch, p.flow_max_ticks) if s == _BUY else lad.down(
                touch, p.flow_max_ticks)
            ladder, streams = self._ladders[1 - s], self._streams[1 - s]
            for i in range(self._depth):  # every target level the arrival may reach
                if (ladder[i] > limit) if s == _BUY else (ladder[i] < limit):
                    break
                if streams[i].next_ns <= at:
                    self._flush(1 - s, i, at)
            self._others_take(s, flow.size, limit, at, touch)
            if self._crossing[0] or self._crossing[1]:
                self._update_crossing()
        flow.draw()

    def _flush(self, s: int, i: int, to_ns: int) -> None:
        """Apply the level events of index ``i`` of side ``s`` up to ``to_ns``."""
        stream, book, price = self._streams[s][i], self._books[s], self._ladders[s][i]
        queue = book.get(price)
        if i < self._crossing[s] or (queue is not None and (len(queue) > 1 or queue[0].owner)):
            while stream.next_ns <= to_ns:  # the general case: the queue model decides
                self.events += 1
                if stream.size:
                    self._add(s, price, stream.size, stream.next_ns)
                else:
                    self._cancel(book, price, stream.frac, stream.point)
                stream.draw()
            return
        # Others only at this level: its size is all there is (the draws are LevelStream.draw's).
        size = queue[0].qty if queue else 0
        cut = 2 * self.params.cancel_size_frac
        rand, log = stream.random, math.log
        at, add, frac, point = stream.next_ns, stream.size, stream.frac, stream.point
        events = self.events
        scale, share, mean, cancel_scale = (stream.scale_ns, stream.share, stream.mean,
                                            stream.cancel_scale)
        while at <= to_ns:
            events += 1
            if add:
                size += add
            elif size:
                size -= round(size * frac * cut)
            at += int(-log(1.0 - rand()) * scale) + 1
            u = rand()
            if u < share:
                add = int(-log(1.0 - u / share) * mean + 0.5) or 1
            else:
                add, frac, point = 0, (u - share) * cancel_scale, rand()
        stream.next_ns, stream.size, stream.frac, stream.point = at, add, frac, point
        self.events = events
        if size:
            if queue is None:
                book[price] = deque([q.Block(None, size)])
            else:
                queue[0].qty = size
        elif queue is not None:
            del book[price]

    def _cancel(self, book: dict[int, q.Queue], price: int, frac: float, point: float) -> None:
        queue = book.get(price)
        if queue:
            cut = frac * 2 * self.params.cancel_size_frac
            q.cancel_others(queue, round(q.others(queue) * cut), self.params.queue_model, point)
            if not queue:
                del book[price]

    def _flush_all(self, to_ns: int) -> None:
        for s, streams in enumerate(self._streams):
            for i, stream in enumerate(streams):
                if stream.next_ns <= to_ns:
                    self._flush(s, i, to_ns)

    def _flush_touch(self, s: int, to_ns: int) -> None:
        """Bring side ``s`` up to date from its target touch down to its first displayed level."""
        streams, ladder, book = self._streams[s], self._ladders[s], self._books[s]
        for i in range(self._depth):
            if streams[i].next_ns <= to_ns:
                self._flush(s, i, to_ns)
            if ladder[i] in book:
                return

    def _add(self, s: int, price: int, qty: int, at: int) -> None:
        if self._crossing[s]:  # new liquidity that crosses the other side trades first
            qty -= self._others_take(s, qty, price, at)
            if qty <= 0:
                return
        queue = self._books[s].get(price)
        if queue is None:
            self._books[s][price] = deque([q.Block(None, qty)])
        else:
            q.add_others(queue, qty)

    def _others_take(self, s: int, qty: int, limit: int, at: int,
                     touch: int | None = None) -> int:
        """Another participant's order of side ``s`` trading FIFO up to ``limit``; qty done.

        With ``touch`` (the other side's best price) the levels are found by walking the
        ladder from it, tick by tick (a marketable arrival reaches a few ticks at most).
        """
        book = self._books[1 - s]
        if touch is not None:
            step = lad.up if s == _BUY else lad.down
            prices = [touch]
            while prices[-1] != limit:
                prices.append(step(prices[-1]))
        elif s == _BUY:
            prices = sorted(p for p in book if p <= limit)
        else:
            prices = sorted((p for p in book if p >= limit), reverse=True)
        done = 0
        for price in prices:
            queue = book.get(price)
            if not queue:
                continue
            if len(queue) == 1 and queue[0].owner is None:  # others only: no queue to walk
                n = min(queue[0].qty, qty - done)
                queue[0].qty -= n
                hits: list[q.Block] = []
            else:
                n, hits = q.take_fifo(queue, qty - done)
            if not queue or not queue[0].qty:
                del book[price]
            if n:
                self._tape(price, n)
            done += n
            for hit in hits:
                assert hit.owner is not None
                self._fills.append(BookFill(hit.owner, lad.dec(price), hit.qty, at))
                if self._find(hit.owner) is None:
                    del self._own[hit.owner]
                    self._own_changed()
            if done == qty:
                break
        return done

    def _sweep(self, at: int) -> None:
        """Trade the resting orders the target touch has moved through."""
        bids, asks = self._books
        if asks and min(asks) < self._key:
            through = sum(q.size(queue) for p, queue in asks.items() if p < self._key)
            self._others_take(_BUY, through, self._key, at)
        if bids and max(bids) > self._ask_t:
            through = sum(q.size(queue) for p, queue in bids.items() if p > self._ask_t)
            self._others_take(_SELL, through, self._ask_t, at)

    def _collapse(self, until_ns: int) -> None:
        """Collapse a gap longer than ``max_catchup_s`` into one move up to ``until_ns``.

        The fair value moves once over the whole gap, every level relaxes toward
        its target size (``liquidity_tau_s``), and the streams restart at the end.
        """
        self._flush_all(self._last_ns)
        decay = math.exp(-(until_ns - self._last_ns) / 1e9 / self.params.liquidity_tau_s)
        self._retarget(self._fair.jump(until_ns))
        self._last_ns = until_ns
        self._sweep(until_ns)
        self._update_crossing()
        self._flow.restart(until_ns)
        for s, streams in enumerate(self._streams):
            book = self._books[s]
            for i, stream in enumerate(streams):
                stream.restart(until_ns)
                price, target = self._ladders[s][i], self._target_size(i)
                queue = book.get(price)
                now = q.others(queue) if queue else 0
                change = round(target + (now - target) * decay) - now
                if change > 0:
                    self._add(s, price, change, until_ns)  # may trade with stale levels
                elif change < 0 and queue:
                    q.cancel_others(queue, -change, self.params.queue_model, 0.5)
                    if not queue:
                        del book[price]
        self._prune()
        self._update_crossing()

    # ---------------------------------------------------------------- helpers

    def _tape(self, price: int, qty: int) -> None:
        self.traded_qty += qty
        self._notional += price * qty

    def _best(self, s: int) -> int | None:
        book = self._books[s]
        if not book:
            return None
        return max(book) if s == _BUY else min(book)

    def _touch(self) -> tuple[int, int]:
        """Best bid and ask; an empty side shows its target price (or one tick off the other)."""
        bid, ask = self._best(_BUY), self._best(_SELL)
        if bid is None:
            bid = self._ladders[_BUY][0] if ask is None else lad.down(ask)
        if ask is None:
            ask = lad.up(bid)
        return bid, ask

    def _find(self, order_id: str) -> tuple[q.Queue, q.Block] | None:
        where = self._own.get(order_id)
        if where is None:
            return None
        queue = self._books[where[0]].get(where[1])
        for block in queue or ():
            if block.owner == order_id:
                return queue, block  # type: ignore[return-value]
        return None

    def _own_changed(self) -> None:
        own = self._own.values()
        self._own_bid = max((p for s, p in own if s == _BUY), default=0)
        self._own_ask = min((p for s, p in own if s == _SELL), default=_NO_ASK)

    def _update_crossing(self) -> None:
        bids, asks = self._books
        crossing, depth = self._crossing, self._depth
        crossing[_BUY] = crossing[_SELL] = 0
        if asks and (low := min(asks)) <= self._key:
            crossing[_BUY] = sum(1 for p in self._ladders[_BUY][:depth] if p >= low)
        if bids and (high := max(bids)) >= self._ask_t:
            crossing[_SELL] = sum(1 for p in self._ladders[_SELL][:depth] if p <= high)

    def _flush_crossing(self, to_ns: int) -> None:
        """Bring the crossing levels up to date (their events may trade with the other side)."""
        for s in (_BUY, _SELL):
            streams = self._streams[s]
            for i in range(self._crossing[s]):
                if streams[i].next_ns <= to_ns:
                    self._flush(s, i, to_ns)

    def _retarget(self, fair: float) -> None:
        """Recompute the target ladders around ``fair`` (their streams keep their index)."""
        bid_t = lad.snap_down(fair)
        bids, asks = [bid_t], [lad.up(bid_t)]
        for _ in range(self._depth + 4):
            bids.append(lad.down(bids[-1]))
            asks.append(lad.up(asks[-1]))
        self._ladders = (bids, asks)
        self._key, self._ask_t = bid_t, asks[0]

    def _prune(self) -> None:
        """Forget levels of others far outside the target window."""
        low, high = self._ladders[_BUY][-1], self._ladders[_SELL][-1]
        bids, asks = self._books
        if (not bids or min(bids) >= low) and (not asks or max(asks) <= high):
            return
        for book in self._books:
            far = [p for p, queue in book.items()
                   if (p < low or p > high) and all(b.owner is None for b in queue)]
            for p in far:
                del book[p]

    def _target_size(self, i: int) -> int:
        return round(self.spec.typical_size * (1 + 0.15 * i))
