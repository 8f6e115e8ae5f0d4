"""Call auctions and volatility-interruption guards of the order book.

:class:`CallAuctions` is a mixin of :class:`~execution.sim.book.OrderBook`:

- **collecting** (:meth:`start_collecting`): during a call auction the book keeps
  moving (the fair value, others' limit orders and cancels around it) but nothing
  trades: the marketable arrivals of others are collected as auction orders at
  their limit (the touch they saw plus ``flow_max_ticks``), and others' quotes that
  the fair value moves through are re-quoted, not printed. :meth:`uncross` then
  matches others' resting levels, the collected arrivals and our auction orders at
  one price (:mod:`execution.sim.auction`), takes what traded out of the levels and
  prints it once on the tape;
- **guard** (:meth:`set_guard`): in continuous matching, a trade of others beyond the
  static band (the last single-price auction price +- the static rate) or the dynamic
  band (the last trade +- the dynamic rate) does not happen: the book stops
  (``halt_ns``) at that event and the exchange starts a VI. Our own orders are held
  to :meth:`vi_bound` by the exchange before they trade.
"""

from __future__ import annotations

import math

from execution.contracts import Side
from execution.sim import ladder as lad
from execution.sim import queues as q
from execution.sim.auction import AuctionOrder, AuctionResult, clearing_price, match
from execution.sim.events import BUY, SELL, BookEvents


class CallAuctions(BookEvents):
    """Collecting for a call auction, single-price matching, and the VI guard."""

    _collected: list[tuple[int, int, int, int]] | None  # (side, limit, qty, at)
    _guard: tuple[float, float, float] | None  # (static low, static high, dynamic rate)
    last_price: int  # the last trade (0: none yet)
    halt_ns: int | None  # when a trade of others would have crossed the guard

    def _init_calls(self) -> None:
        self._collected = None
        self._guard = None
        self.last_price = 0
        self.halt_ns = None

    @property
    def collecting(self) -> bool:
        return self._collected is not None

    def start_collecting(self) -> None:
        """From now on nothing trades; others' marketable arrivals are collected."""
        self._flush_all(self._last_ns)
        self._collected = []

    def set_guard(self, static_ref: int | None, static_rate: float,
                  dynamic_rate: float) -> None:
        """Guard continuous trading with the VI bands (``static_ref`` None: no guard)."""
        if static_ref is None:
            self._guard = None
        else:
            self._guard = (static_ref * (1 - static_rate), static_ref * (1 + static_rate),
                           dynamic_rate)

    def breaks_guard(self, price: int) -> bool:
        """Would a trade at ``price`` cross the static or the dynamic VI band?"""
        guard = self._guard
        if guard is None:
            return False
        if price < guard[0] or price > guard[1]:
            return True
        last = self.last_price
        return last > 0 and abs(price - last) > guard[2] * last

    def vi_bound(self, side: Side) -> int | None:
        """The furthest price an incoming order of ``side`` may trade at without a VI."""
        guard = self._guard
        if guard is None:
            return None
        last = self.last_price
        if side is Side.BUY:
            high = guard[1] if last <= 0 else min(guard[1], last * (1 + guard[2]))
            return lad.snap_down(high)
        low = guard[0] if last <= 0 else max(guard[0], last * (1 - guard[2]))
        price = lad.snap_down(low)
        return price if price >= low else lad.up(price)

    def _collect(self, s: int, limit: int, qty: int, at: int) -> None:
        assert self._collected is not None
        self._collected.append((s, limit, qty, at))

    def auction_orders(self, ours: list[AuctionOrder]) -> list[AuctionOrder]:
        """Everything the auction would match now: others' levels, arrivals, ours."""
        self._flush_all(self._last_ns)
        orders: list[AuctionOrder] = []
        for s, book in enumerate(self._books):
            side = Side.BUY if s == BUY else Side.SELL
            for price, queue in book.items():
                size = q.others(queue)
                if size:
                    orders.append(AuctionOrder(None, side, price, size, 0))  # resting: first
        for s, limit, qty, at in self._collected or ():
            orders.append(AuctionOrder(None, Side.BUY if s == BUY else Side.SELL, limit, qty, at))
        return orders + ours

    def auction_price(self, ours: list[AuctionOrder], reference: int) -> int | None:
        """The price the auction would match at now (None: nothing crosses)."""
        return clearing_price(self.auction_orders(ours), reference)[0]

    def uncross(self, ours: list[AuctionOrder], reference: int) -> AuctionResult:
        """End the auction: match at one price, take it out of the book; trading resumes."""
        orders = self.auction_orders(ours)
        result = match(orders, reference)
        self._collected = None
        if result.price is None:
            self._after_uncross()
            return result
        for order, qty in result.fills:
            if order.owner is None and order.seq == 0 and order.price is not None:
                s = BUY if order.side is Side.BUY else SELL
                queue = self._books[s].get(order.price)
                if queue:
                    q.cancel_others(queue, qty, self.params.queue_model, 0.0)
                    if not queue:
                        del self._books[s][order.price]
        self.traded_qty += result.volume
        self._notional += result.price * result.volume
        self.last_price = result.price
        self._after_uncross()
        return result

    def _after_uncross(self) -> None:
        self._prune()
        self._update_crossing()

    # ------------------------------------------------------------------ catch-up

    def _collapse(self, until_ns: int) -> None:
        """Collapse a gap longer than ``max_catchup_s`` into one move up to ``until_ns``.

        The fair value moves once over the whole gap, every level relaxes toward
        its target size (``liquidity_tau_s``), and the streams restart at the end.
        """
        self._flush_all(self._last_ns)
        decay = math.exp(-(until_ns - self._last_ns) / 1e9 / self.params.liquidity_tau_s)
        for streams in self._streams:  # the gap's own events are not drawn, only its effect
            for stream in streams:
                stream.restart(until_ns, stream.add_rate)
        self._retarget(self._fair.jump(until_ns), until_ns)
        self._last_ns = until_ns
        self._sweep(until_ns)
        self._update_crossing()
        self._flow.restart(until_ns)
        for s, streams in enumerate(self._streams):
            book = self._books[s]
            for i, stream in enumerate(streams):
                stream.restart(until_ns, self._add_rates[i])
                queue = book.get(stream.price)
                now = q.others(queue) if queue else 0
                change = round(self._target_size(i) + (now - self._target_size(i)) * decay) - now
                if change > 0:
                    self._add(s, stream.price, change, until_ns)  # may trade with stale levels
                elif change < 0 and queue:
                    q.cancel_others(queue, -change, self.params.queue_model, 0.5)
                    if not queue:
                        del book[stream.price]
        self._prune()
        self._update_crossing()
