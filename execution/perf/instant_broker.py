"""A zero-latency in-process broker for measuring the engine's own overhead.

Acks come back without suspending; fills are pushed on the next loop turn.
``fill_on`` decides when an order fills completely: ``"send"`` at once,
``"modify"`` only after its first re-price (so an execution takes exactly
one AdaptiveAdjust round), ``"never"`` not at all.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from execution.broker import FillCallback, OrderRejected, RejectReason, UnknownOrder
from execution.contracts import FillEvent, OrderAck, OrderRequest, Quote

FillOn = Literal["send", "modify", "never"]


class InstantBroker:
    def __init__(self, start_ns: int, *, fill_on: FillOn = "send",
                 bid: Decimal = Decimal(74_900), ask: Decimal = Decimal(75_000),
                 symbols: tuple[str, ...] = ("005930",), fills_per_order: int = 1) -> None:
        self.start_ns = start_ns
        self.fill_on = fill_on
        self.fills_per_order = fills_per_order
        self._loop_t0: float | None = None
        self._quotes = {s: Quote(s, bid, ask, 50_000, 50_000, start_ns) for s in symbols}
        self._orders: dict[str, tuple[OrderRequest, int]] = {}
        self._by_client: dict[str, OrderAck] = {}
        self._subscribers: list[FillCallback] = []
        self._journal: list[FillEvent] = []
        self._ids = itertools.count(1)
        self._fill_ids = itertools.count(1)
        self.sent = self.modified = self.cancelled = 0
        self.first_send_ns: dict[str, int] = {}  # client order id prefix -> perf_counter_ns
        self.last_cancel_ns = 0
        self.fill_qty_sent = 0
        self.fill_events = 0
        self.last_fill_ns: dict[str, int] = {}  # parent id -> when its last fill was pushed

    @property
    def connected(self) -> bool:
        return True

    async def connect(self) -> bool:
        return True

    def now_ns(self) -> int:
        loop = asyncio.get_running_loop()
        if self._loop_t0 is None:
            self._loop_t0 = loop.time()
        return self.start_ns + int((loop.time() - self._loop_t0) * 1e9)

    def knows_symbol(self, symbol: str) -> bool:
        return symbol in self._quotes

    def quote(self, symbol: str) -> Quote:
        try:
            return self._quotes[symbol]
        except KeyError:
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, symbol) from None

    async def send(self, order: OrderRequest) -> OrderAck:
        parent = order.client_order_id.rsplit("-", 1)[0]
        self.first_send_ns.setdefault(parent, time.perf_counter_ns())
        if order.client_order_id in self._by_client:
            return self._by_client[order.client_order_id]
        self.quote(order.symbol)
        broker_id = f"I{next(self._ids)}"
        ack = OrderAck(order.client_order_id, broker_id, True, self.now_ns())
        self._by_client[order.client_order_id] = ack
        self._orders[broker_id] = (order, 0)
        self.sent += 1
        if self.fill_on == "send":
            self._fill_later(broker_id)
        return ack

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        order, _ = self._live(broker_order_id)
        self.modified += 1
        if self.fill_on == "modify":
            self._fill_later(broker_order_id)
        return OrderAck(order.client_order_id, broker_order_id, True, self.now_ns())

    async def cancel(self, broker_order_id: str) -> bool:
        self.last_cancel_ns = time.perf_counter_ns()
        order, filled = self._live(broker_order_id)
        self.cancelled += 1
        del self._orders[broker_order_id]
        return filled < order.qty

    def _live(self, broker_order_id: str) -> tuple[OrderRequest, int]:
        try:
            return self._orders[broker_order_id]
        except KeyError:
            raise UnknownOrder(broker_order_id) from None

    def fill_all(self) -> int:
        """The fill storm of the concurrency benchmark: every live order filled in
        ``fills_per_order`` pieces, each piece its own loop callback, round-robin over the
        orders (piece 1 of every order, then piece 2, ...), as a busy feed would deliver."""
        loop = asyncio.get_running_loop()
        live = list(self._orders)
        for piece in range(self.fills_per_order):
            for broker_id in live:
                loop.call_soon(self._fill_piece, broker_id, piece)
        return len(live)

    def _fill_piece(self, broker_id: str, piece: int) -> None:
        order, filled = self._orders[broker_id]
        pieces_left = self.fills_per_order - piece
        qty = (order.qty - filled) // pieces_left
        if qty <= 0:
            return
        filled += qty
        self._orders[broker_id] = (order, filled)
        price = order.price if order.price is not None else self.quote(order.symbol).ask
        fill = FillEvent(f"F{next(self._fill_ids)}", broker_id, order.symbol, order.side, qty,
                         price, filled, order.qty - filled, Decimal(0), self.now_ns())
        self._journal.append(fill)
        self.fill_qty_sent += qty
        self.fill_events += 1
        if filled == order.qty:
            self.last_fill_ns[order.client_order_id.rsplit("-", 1)[0]] = time.perf_counter_ns()
        for callback in self._subscribers:
            callback(fill)

    def _fill_later(self, broker_id: str) -> None:
        asyncio.get_running_loop().call_soon(self._fill, broker_id)

    def _fill(self, broker_id: str) -> None:
        entry = self._orders.get(broker_id)
        if entry is None:
            return
        order, filled = entry
        price = order.price if order.price is not None else self.quote(order.symbol).ask
        pieces = max(1, min(self.fills_per_order, order.qty - filled))
        for i in range(pieces):
            qty = (order.qty - filled) // (pieces - i)
            filled += qty
            fill = FillEvent(f"F{next(self._fill_ids)}", broker_id, order.symbol, order.side, qty,
                             price, filled, order.qty - filled, Decimal(0), self.now_ns())
            self._journal.append(fill)
            self.fill_qty_sent += qty
            self.fill_events += 1
            for callback in self._subscribers:
                callback(fill)
        del self._orders[broker_id]

    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        return self._journal[seq:], len(self._journal)

    async def open_orders(self) -> list[str]:
        return list(self._orders)
