"""Matching in the simulated exchange: continuous trading, call auctions, VIs.

:class:`Matching` is a mixin of :class:`~execution.sim.exchange.SimulatedExchange`.
It moves each symbol's book through its :class:`~execution.sim.sessions.SymbolSession`:

- in continuous matching an incoming order of ours trades what is marketable
  (never beyond the VI bands: what would trade beyond starts a VI, and the rest
  of the order joins its auction), a limit remainder rests;
- at the start of a call auction (closing auction, VI) our resting orders leave
  the book for the auction; while it runs, our new orders are collected, nothing
  matches (the book collects others' marketable arrivals);
- at its end everything is matched at one price (:mod:`execution.sim.auction`);
  an auction whose price would trip a VI is extended once by the VI's length; what
  is left of a limit order rests again (a market order's rest is cancelled); after
  the closing auction what is left expires.

Every fill carries the phase it was made in.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from execution.broker import OrderState
from execution.brokers.table import OrderRecord, OrderTable
from execution.contracts import MarketPhase, Side
from execution.sim.account import Ledger
from execution.sim.auction import AuctionOrder
from execution.sim.book import OrderBook
from execution.sim.delivery import FillDelivery
from execution.sim.orders import SimConfig
from execution.sim.sessions import SymbolSession

_BPS = Decimal(10_000)
_COLLECTING = (MarketPhase.OPENING_AUCTION, MarketPhase.CLOSING_AUCTION, MarketPhase.VI_AUCTION)


class Matching:
    """See the module docstring."""

    config: SimConfig
    _books: dict[str, OrderBook]
    _sessions: dict[str, SymbolSession]
    _orders: dict[str, OrderRecord]
    _table: OrderTable
    _parties: dict[str, str]
    _party: Callable[[OrderRecord], str]
    _record_ledger: Callable[[OrderRecord], Ledger]
    _delivery: FillDelivery
    now_ns: Callable[[], int]
    _plan_drive: Callable[[], None]

    # ------------------------------------------------------------------ phases

    def phase(self, symbol: str) -> MarketPhase:
        return self._sessions[symbol].phase

    def _open_session(self, code: str, start_ns: int) -> None:
        """Put ``code`` in its phase at the exchange's start."""
        session = self._sessions[code]
        session.begin(start_ns)
        if session.phase in _COLLECTING:
            self._books[code].start_collecting()
        self._guard(code)

    def _guard(self, code: str) -> None:
        session, book = self._sessions[code], self._books[code]
        if session.phase is MarketPhase.CONTINUOUS and session.schedule is not None:
            book.set_guard(session.static_ref, session.vi_rates.static, session.dynamic_rate())
        else:
            book.set_guard(None, 0.0, 0.0)

    def _advance(self, code: str, now: int) -> None:
        """Advance ``code`` to ``now`` through every phase change on the way; book fills."""
        session, book = self._sessions[code], self._books[code]
        while True:
            change = session.next_change()
            stop = now if change is None or change > now else change
            for f in book.advance(stop):
                self._fill(self._orders[f.order_id], f.price, f.qty, f.ts_ns,
                           MarketPhase.CONTINUOUS)
            if book.halt_ns is not None:  # others' flow ran into a VI band
                at, book.halt_ns = book.halt_ns, None
                self._start_vi(code, at)
                continue
            if change is None or change > now:
                return
            if session.forced and session.forced[0] == change:
                session.forced.pop(0)
                self._force_vi(code, change)
            else:
                self._phase_ends(code, change)

    def _force_vi(self, code: str, at: int) -> None:
        session = self._sessions[code]
        if session.phase is MarketPhase.CONTINUOUS:
            self._start_vi(code, at)
        elif session.phase is MarketPhase.CLOSING_AUCTION and not session.extended:
            session.extend(at)

    def _start_vi(self, code: str, at: int) -> None:
        session = self._sessions[code]
        session.start_vi(at)
        self._to_auction(code, at)

    def _to_auction(self, code: str, at: int) -> None:
        """Our resting orders of ``code`` leave the book for the call auction."""
        book, session = self._books[code], self._sessions[code]
        book.start_collecting()
        self._guard(code)
        for order in self._orders.values():
            if order.live and order.request.symbol == code:
                qty = book.remove(order.broker_id)
                if qty:
                    session.ours[order.broker_id] = AuctionOrder(
                        order.broker_id, order.request.side, _whole(order.price), qty, at)

    def _phase_ends(self, code: str, at: int) -> None:
        session = self._sessions[code]
        phase = session.phase
        schedule = session.schedule
        assert schedule is not None
        if phase is MarketPhase.PRE_OPEN:
            session.begin(at)
            self._books[code].start_collecting()
        elif phase is MarketPhase.CONTINUOUS:  # 15:20: the closing auction
            session.begin(at)
            self._to_auction(code, at)
        elif phase in _COLLECTING:
            book = self._books[code]
            if phase is not MarketPhase.VI_AUCTION and not session.extended:
                price = book.auction_price(list(session.ours.values()),
                                           self._reference(code, phase))
                if price is not None and session.beyond_vi(price, book.last_price):
                    session.extend(at)
                    return
            if phase is MarketPhase.VI_AUCTION and at >= schedule.close_start:
                session.begin(at)  # a VI running into 15:20 becomes the closing auction
                return
            self._uncross(code, at, phase)
            session.extended = False
            session.begin(at)
            if session.phase is MarketPhase.CLOSED:
                self._expire(code)
            else:
                self._rest_leftovers(code)
        self._guard(code)

    def _uncross(self, code: str, at: int, phase: MarketPhase) -> None:
        session, book = self._sessions[code], self._books[code]
        result = book.uncross(list(session.ours.values()), self._reference(code, phase))
        session.auctions.append((phase, at, result.price))
        if result.price is None:
            return
        session.static_ref = result.price
        price = Decimal(result.price)
        for order, qty in result.fills:
            if order.owner is not None:
                self._fill(self._orders[order.owner], price, qty, at, phase)

    def _reference(self, code: str, phase: MarketPhase) -> int:
        """The auction's reference price: the base price for the opening, else the last
        trade (the static reference when there is none)."""
        session = self._sessions[code]
        if phase is MarketPhase.OPENING_AUCTION:
            return session.static_ref
        return self._books[code].last_price or session.static_ref

    def _rest_leftovers(self, code: str) -> None:
        session, book = self._sessions[code], self._books[code]
        for broker_id in list(session.ours):
            record = self._orders[broker_id]
            del session.ours[broker_id]
            if not record.live or record.remaining <= 0:
                continue
            if record.price is None:
                record.close(OrderState.CANCELLED)
            else:
                book.rest(broker_id, record.request.side, record.price, record.remaining)

    def _expire(self, code: str) -> None:
        self._sessions[code].ours.clear()
        book = self._books[code]
        for order in self._orders.values():
            if order.live and order.request.symbol == code:
                book.remove(order.broker_id)
                order.close(OrderState.EXPIRED)

    # ------------------------------------------------------------------ orders

    def _execute(self, order: OrderRecord, now: int) -> str:
        """Trade what is marketable; rest a limit remainder, cancel a market one. In a call
        auction the order is only collected."""
        code = order.request.symbol
        session, book = self._sessions[code], self._books[code]
        if session.phase in _COLLECTING:
            session.ours[order.broker_id] = AuctionOrder(
                order.broker_id, order.request.side, _whole(order.price), order.remaining, now)
            self._plan_drive()
            return ""
        side = order.request.side
        limit, vi_cap = order.price, book.vi_bound(side)
        if vi_cap is not None:
            cap = Decimal(vi_cap)
            limit = cap if limit is None else (min(limit, cap) if side is Side.BUY
                                               else max(limit, cap))
        for price, qty in book.take(side, order.remaining, limit, self._same_party(order)):
            self._fill(order, price, qty, now, MarketPhase.CONTINUOUS)
        for hit in book.drain_fills():  # another account's resting order on a shared market
            self._fill(self._orders[hit.order_id], hit.price, hit.qty, hit.ts_ns,
                       MarketPhase.CONTINUOUS)
        if order.remaining == 0:
            return ""
        beyond = book.best(side.opposite)
        if vi_cap is not None and beyond is not None and (
                beyond > vi_cap if side is Side.BUY else beyond < vi_cap) and (
                order.price is None or (beyond <= order.price if side is Side.BUY
                                        else beyond >= order.price)):
            self._start_vi(code, now)  # the rest would trade beyond the band: a VI
            session.ours[order.broker_id] = AuctionOrder(
                order.broker_id, side, _whole(order.price), order.remaining, now)
            self._plan_drive()
            return "volatility interruption: the rest joins the VI call auction"
        if order.price is None:
            order.close(OrderState.CANCELLED)
            return f"market order: unfilled {order.remaining} cancelled"
        book.rest(order.broker_id, side, order.price, order.remaining)
        self._plan_drive()
        return ""

    def _same_party(self, order: OrderRecord) -> Callable[[str], bool] | None:
        """Which resting orders an incoming ``order`` passes over: None (every one of ours)
        on a one-account market, else its own account's (self-trade within an account is
        left out, as before; orders of two accounts trade)."""
        if not self._parties:
            return None
        party = self._party(order)
        return lambda owner: self._party(self._orders[owner]) == party

    def _withdraw(self, order: OrderRecord) -> int:
        """Take ``order`` out of the book or the auction; the qty that was there."""
        code = order.request.symbol
        collected = self._sessions[code].ours.pop(order.broker_id, None)
        if collected is not None:
            return collected.qty
        return self._books[code].remove(order.broker_id)

    def _reduce(self, order: OrderRecord, qty: int) -> None:
        """Shrink a working order to ``qty`` left, keeping its time priority."""
        ours = self._sessions[order.request.symbol].ours
        collected = ours.get(order.broker_id)
        if collected is not None:
            ours[order.broker_id] = AuctionOrder(collected.owner, collected.side,
                                                 collected.price, qty, collected.seq)
        else:
            self._books[order.request.symbol].reduce(order.broker_id, qty)

    def _sync(self, symbol: str | None = None) -> int:
        """Advance to now the symbols we have live orders in (and ``symbol``); book our fills.

        A book nobody looks at and we have nothing in is left behind; it catches
        up, event by event (phase changes included), when next touched.
        """
        now = self.now_ns()
        codes = {o.request.symbol for o in self._orders.values() if o.live}
        if symbol in self._books:
            codes.add(symbol)
        for code in sorted(codes):
            self._advance(code, now)
        return now

    def _fill(self, order: OrderRecord, price: Decimal, qty: int, ts_ns: int,
              phase: MarketPhase) -> None:
        req = order.request
        fee = price * qty * self.config.fee_bps / _BPS
        self._record_ledger(order).book(req.symbol, req.side, price, qty, fee)
        event = self._table.fill(order, price, qty, fee, ts_ns, phase=phase)
        self._delivery.schedule(event, (self.now_ns() - ts_ns) / 1e9)


def _whole(price: Decimal | None) -> int | None:
    return None if price is None else int(price)

