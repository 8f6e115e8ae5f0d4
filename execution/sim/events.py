"""The market events of :class:`~execution.sim.book.OrderBook` (see its module docstring).

:class:`BookEvents` holds the book's state and applies its events: fair-value
steps (retargets and sweeps), marketable arrivals, and the level events of
each price's :class:`~execution.sim.streams.LevelStream`, applied lazily
(:meth:`BookEvents._flush`) just before anything reads or trades that level.
The rule that keeps lazy application exact: whatever changes a level, or
whether new liquidity there crosses the other side, first brings that level's
stream up to the moment of the change.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal

from execution.sim import ladder as lad
from execution.sim import queues as q
from execution.sim.params import BookParams
from execution.sim.streams import FairPath, FlowStream, LevelStream
from execution.sim.symbols import SymbolSpec

BUY, SELL = 0, 1  # side indices: bids, asks
NO_ASK = 2**62


class BookEvents:
    """The state of an order book and the events that change it (``OrderBook`` builds the
    state and adds the public surface). Prices are ``int`` won; sides are ``BUY``/``SELL``."""

    spec: SymbolSpec
    params: BookParams
    traded_qty: int
    events: int
    _depth: int
    _last_ns: int
    _seed: int
    _mean_add: float
    _cancel_rate: float
    _add_rates: list[float]  # per ladder index
    _fair: FairPath
    _flow: FlowStream
    _streams: tuple[list[LevelStream], list[LevelStream]]  # per side, by ladder index
    _dormant: tuple[dict[int, LevelStream], dict[int, LevelStream]]  # off the ladder, by price
    _books: tuple[dict[int, q.Queue], dict[int, q.Queue]]
    _ladders: tuple[list[int], list[int]]
    _key: int  # the target bid
    _ask_t: int  # the target ask
    _crossing: list[int]  # per side: how many target levels cross the other side's best
    _own: dict[str, tuple[int, int]]  # order id -> (side index, price)
    _own_bid: int  # our highest bid (0: none)
    _own_ask: int  # our lowest ask (NO_ASK: none)
    _fills: list[tuple[str, int, int, int]]  # (order id, price, qty, ts_ns)
    _notional: int
    _collected: list[tuple[int, int, int, int]] | None  # a call auction's arrivals
    last_price: int
    halt_ns: int | None

    def breaks_guard(self, price: int) -> bool:
        raise NotImplementedError

    # ---------------------------------------------------------------- global events

    def _fair_step(self, at: int) -> None:
        self.events += 1
        value = self._fair.step()
        if not self._key <= value < self._ask_t:
            self._retarget(value, at)
            self._sweep(at)
            self._prune()
            self._update_crossing()
        elif self._own_bid > self._ask_t or self._own_ask < self._key:
            self._flush_all(at)
            self._sweep(at)
            self._update_crossing()

    def _flow_event(self, at: int) -> None:
        self.events += 1
        flow, p, books = self._flow, self.params, self._books
        for side in (BUY, SELL):  # both touches, up to date: the tilt reads them
            for stream in self._streams[side]:
                if stream.next_ns <= at or stream.changes:
                    self._flush(stream, at)
                if stream.price in books[side]:
                    break
        bids, asks = books
        best_bid = max(bids) if bids else None
        best_ask = min(asks) if asks else None
        bid = best_bid if best_bid is not None else (
            self._ladders[BUY][0] if best_ask is None else lad.down(best_ask))
        ask = best_ask if best_ask is not None else lad.up(bid)
        tilt = 0.0
        if ask > bid:
            tilt = max(-p.max_tilt, min(p.max_tilt, (self._fair.value - (bid + ask) / 2)
                                        / (ask - bid)))
        s = BUY if flow.side_draw * 2 < 1 + tilt else SELL
        touch = best_ask if s == BUY else best_bid
        if touch is not None:
            step = lad.up if s == BUY else lad.down
            prices = [touch]  # every price the arrival may reach, best first
            for _ in range(p.flow_max_ticks):
                prices.append(step(prices[-1]))
            limit = prices[-1]
            for stream in self._streams[1 - s]:  # the target levels among them
                if (stream.price > limit) if s == BUY else (stream.price < limit):
                    break
                if stream.next_ns <= at or stream.changes:
                    self._flush(stream, at)
            self._arrival(s, flow.size, limit, at, prices)
            if self._crossing[0] or self._crossing[1]:
                self._update_crossing()
        flow.draw()

    # ------------------------------------------------------------------ level events

    def _flush(self, stream: LevelStream, to_ns: int) -> None:
        """Apply the events of ``stream`` up to ``to_ns`` (rate changes included)."""
        if stream.random is None:
            if stream.next_ns > to_ns:
                return
            stream.start()
        while stream.changes and stream.changes[0][0] <= to_ns:
            self._apply(stream, stream.changes[0][0])
            stream.change_rates()
        if stream.next_ns <= to_ns:
            self._apply(stream, to_ns)

    def _apply(self, stream: LevelStream, to_ns: int) -> None:
        s, price = stream.side, stream.price
        book = self._books[s]
        queue = book.get(price)
        if (queue is not None and (len(queue) > 1 or queue[0].owner)) or (
                self._crossing[s] and self._crosses(s, price)):
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
        assert rand is not None
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

    def _crosses(self, s: int, price: int) -> bool:
        """Would new liquidity of side ``s`` at ``price`` trade with the other side?"""
        if not self._crossing[s]:
            return False
        other = self._books[1 - s]
        return bool(other) and (min(other) <= price if s == BUY else max(other) >= price)

    def _cancel(self, book: dict[int, q.Queue], price: int, frac: float, point: float) -> None:
        queue = book.get(price)
        if queue:
            cut = frac * 2 * self.params.cancel_size_frac
            q.cancel_others(queue, round(q.others(queue) * cut), self.params.queue_model, point)
            if not queue:
                del book[price]

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

    def _flush_all(self, to_ns: int) -> None:
        for streams in self._streams:
            for stream in streams:
                if stream.next_ns <= to_ns or stream.changes:
                    self._flush(stream, to_ns)

    def _flush_touch(self, s: int, to_ns: int) -> None:
        """Bring side ``s`` up to date from its target touch down to its first displayed level."""
        book = self._books[s]
        for stream in self._streams[s]:
            if stream.next_ns <= to_ns or stream.changes:
                self._flush(stream, to_ns)
            if stream.price in book:
                return

    def _flush_crossing(self, to_ns: int) -> None:
        """Bring the crossing levels up to date (their events may trade with the other side)."""
        for s in (BUY, SELL):
            streams = self._streams[s]
            for i in range(self._crossing[s]):
                if streams[i].next_ns <= to_ns or streams[i].changes:
                    self._flush(streams[i], to_ns)

    # ------------------------------------------------------------------ trading

    def _arrival(self, s: int, qty: int, limit: int, at: int, prices: list[int]) -> None:
        if self._collected is not None:  # a call auction: collected, not matched
            self._collected.append((s, limit, qty, at))
        else:
            self._others_take(s, qty, limit, at, prices)

    def _others_take(self, s: int, qty: int, limit: int, at: int,
                     prices: list[int] | None = None) -> int:
        """Another participant's order of side ``s`` trading FIFO up to ``limit``; qty done.

        ``prices``: the prices it may reach, best first, when the caller knows them (a
        marketable arrival walks a few ticks from the touch); else every level in reach.
        """
        book = self._books[1 - s]
        if prices is not None:
            pass
        elif s == BUY:
            prices = sorted(p for p in book if p <= limit)
        else:
            prices = sorted((p for p in book if p >= limit), reverse=True)
        done = 0
        for price in prices:
            queue = book.get(price)
            if not queue:
                continue
            if self.breaks_guard(price):  # a VI: the trade does not happen, matching stops
                if self.halt_ns is None:
                    self.halt_ns = at
                break
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
            if hits:
                self._own_hits(hits, price, at)
            if done == qty:
                break
        return done

    def _own_hits(self, hits: list[q.Block], price: int, at: int) -> None:
        for hit in hits:
            assert hit.owner is not None
            self._fills.append((hit.owner, price, hit.qty, at))
            if self._find(hit.owner) is None:
                del self._own[hit.owner]
                self._own_changed()

    def _sweep(self, at: int) -> None:
        """Trade the resting orders the target touch has moved through."""
        bids, asks = self._books
        if asks and min(asks) < self._key:
            through = sum(q.size(queue) for p, queue in asks.items() if p < self._key)
            self._others_take(BUY, through, self._key, at)
        if bids and max(bids) > self._ask_t:
            through = sum(q.size(queue) for p, queue in bids.items() if p > self._ask_t)
            self._others_take(SELL, through, self._ask_t, at)

    def _tape(self, price: int, qty: int) -> None:
        if self._collected is None:  # in a call auction others re-quote, nothing prints
            self.traded_qty += qty
            self._notional += price * qty
            self.last_price = price

    # ------------------------------------------------------------------ the ladder

    def _retarget(self, fair: float, at: int) -> None:
        """Move the target ladders around ``fair`` from ``at`` on: a price that stays a
        target level keeps its stream (at its new place's rate), one that leaves applies
        its last events, one that enters starts a stream."""
        bid_t = lad.snap_down(fair)
        bids, asks = [bid_t], [lad.up(bid_t)]
        for _ in range(self._depth + 4):
            bids.append(lad.down(bids[-1]))
            asks.append(lad.up(asks[-1]))
        self._ladders = (bids, asks)
        self._key, self._ask_t = bid_t, asks[0]
        rebuilt: list[list[LevelStream]] = []
        for s, ladder in enumerate(self._ladders):
            old = {stream.price: stream for stream in self._streams[s]}
            dormant = self._dormant[s]
            streams = []
            for i, price in enumerate(ladder[: self._depth]):
                stream = old.pop(price, None)
                if stream is not None:
                    stream.schedule(at, self._add_rates[i])
                elif (stream := dormant.pop(price, None)) is not None:
                    stream.restart(at, self._add_rates[i])  # back: its random stream goes on
                else:
                    stream = self._new_stream(s, price, i, at)
                streams.append(stream)
            for gone in old.values():  # off the ladder: its last events, then it rests
                self._flush(gone, at)
                dormant[gone.price] = gone
            rebuilt.append(streams)
        self._streams = (rebuilt[0], rebuilt[1])

    def _new_stream(self, s: int, price: int, index: int, at: int) -> LevelStream:
        seed = (self._seed << 34) ^ (price << 1) ^ s  # one stream per price and side
        return LevelStream(seed, s, price, self._add_rates[index], self._cancel_rate,
                           self._mean_add, at)

    def _prune(self) -> None:
        """Forget levels of others far outside the target window."""
        low, high = self._ladders[BUY][-1], self._ladders[SELL][-1]
        bids, asks = self._books
        if (not bids or min(bids) >= low) and (not asks or max(asks) <= high):
            return
        for book in self._books:
            far = [p for p, queue in book.items()
                   if (p < low or p > high) and all(b.owner is None for b in queue)]
            for p in far:
                del book[p]

    def _update_crossing(self) -> None:
        bids, asks = self._books
        crossing, depth = self._crossing, self._depth
        crossing[BUY] = crossing[SELL] = 0
        if asks and (low := min(asks)) <= self._key:
            crossing[BUY] = sum(1 for p in self._ladders[BUY][:depth] if p >= low)
        if bids and (high := max(bids)) >= self._ask_t:
            crossing[SELL] = sum(1 for p in self._ladders[SELL][:depth] if p <= high)

    # ------------------------------------------------------------------ helpers

    def _best(self, s: int) -> int | None:
        book = self._books[s]
        if not book:
            return None
        return max(book) if s == BUY else min(book)

    def _touch(self) -> tuple[int, int]:
        """Best bid and ask; an empty side shows its target price (or one tick off the other)."""
        bid, ask = self._best(BUY), self._best(SELL)
        if bid is None:
            bid = self._ladders[BUY][0] if ask is None else lad.down(ask)
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
        self._own_bid = max((p for s, p in own if s == BUY), default=0)
        self._own_ask = min((p for s, p in own if s == SELL), default=NO_ASK)

    def _target_size(self, i: int) -> int:
        return round(self.spec.typical_size * (1 + 0.15 * i))

    @property
    def traded_notional(self) -> Decimal:
        return Decimal(self._notional)
