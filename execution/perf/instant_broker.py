"""A zero-latency in-process broker for measuring the engine's own overhead.

Acks come back without suspending; fills are pushed on the next loop turn.
``fill_on`` decides when an order fills completely: ``"send"`` at once,
``"modify"`` only after its first re-price (so an execution takes exactly
one AdaptiveAdjust round), ``"never"`` not at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from execution import broker as brk
from execution.brokers.table import OrderRecord, OrderTable
from execution.contracts import FillEvent, OrderAck, OrderRequest, Quote

FillOn = Literal["send", "modify", "never"]
_NO_FEE = Decimal(0)


class InstantBroker:
    def __init__(self, start_ns: int, *, fill_on: FillOn = "send",
                 bid: Decimal = Decimal(74_900), ask: Decimal = Decimal(75_000),
                 symbols: tuple[str, ...] = ("005930",), fills_per_order: int = 1) -> None:
        self.start_ns = start_ns
        self.fill_on = fill_on
        self.fills_per_order = fills_per_order
        self._loop_t0: float | None = None
        self._quotes = {s: Quote(s, bid, ask, 50_000, 50_000, start_ns) for s in symbols}
        self._table = OrderTable(id_prefix="I", id_width=1)
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
            raise brk.OrderRejected(brk.RejectReason.UNKNOWN_SYMBOL, symbol) from None

    async def send(self, order: OrderRequest) -> OrderAck:
        parent = order.client_order_id.rsplit("-", 1)[0]
        self.first_send_ns.setdefault(parent, time.perf_counter_ns())
        first = self._table.ack_for(order.client_order_id)
        if first is not None:
            return first
        self.quote(order.symbol)
        record = self._table.place(order, self.now_ns())
        self.sent += 1
        if self.fill_on == "send":
            self._fill_later(record.broker_id)
        return self._table.acks[order.client_order_id]

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        record = self._live(broker_order_id)
        self.modified += 1
        record.price = price
        if self.fill_on == "modify":
            self._fill_later(broker_order_id)
        return OrderAck(record.request.client_order_id, broker_order_id, True, self.now_ns())

    async def cancel(self, broker_order_id: str) -> bool:
        self.last_cancel_ns = time.perf_counter_ns()
        record = self._table.get(broker_order_id)
        if not record.live:
            return False
        self.cancelled += 1
        record.close(brk.OrderState.CANCELLED)
        return True

    def _live(self, broker_order_id: str) -> OrderRecord:
        record = self._table.get(broker_order_id)
        if not record.live:
            raise brk.UnknownOrder(f"{broker_order_id} is no longer live")
        return record

    def fill_all(self) -> int:
        """The fill storm of the concurrency benchmark: every live order filled in
        ``fills_per_order`` pieces, each piece its own loop callback, round-robin over the
        orders (piece 1 of every order, then piece 2, ...), as a busy feed would deliver."""
        loop = asyncio.get_running_loop()
        live = self._table.live_ids()
        for piece in range(self.fills_per_order):
            for broker_id in live:
                loop.call_soon(self._fill_piece, broker_id, piece)
        return len(live)

    def _fill_piece(self, broker_id: str, piece: int) -> None:
        record = self._table.orders[broker_id]
        pieces_left = self.fills_per_order - piece
        qty = record.remaining // pieces_left
        if qty <= 0 or not record.live:
            return
        self._book(record, qty)

    def _book(self, record: OrderRecord, qty: int) -> None:
        req = record.request
        price = record.price if record.price is not None else self.quote(req.symbol).ask
        fill = self._table.fill(record, price, qty, _NO_FEE, self.now_ns())
        self.fill_qty_sent += qty
        self.fill_events += 1
        if record.remaining == 0:
            self.last_fill_ns[req.client_order_id.rsplit("-", 1)[0]] = time.perf_counter_ns()
        self._table.push(fill)

    def _fill_later(self, broker_id: str) -> None:
        asyncio.get_running_loop().call_soon(self._fill, broker_id)

    def _fill(self, broker_id: str) -> None:
        record = self._table.orders[broker_id]
        if not record.live:
            return
        pieces = max(1, min(self.fills_per_order, record.remaining))
        for i in range(pieces):
            self._book(record, record.remaining // (pieces - i))

    def subscribe_fills(self, callback: brk.FillCallback) -> Callable[[], None]:
        return self._table.subscribe(callback)

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        return self._table.since(seq)

    async def open_orders(self) -> list[str]:
        return self._table.live_ids()

    async def order_status(self, broker_order_id: str) -> brk.OrderStatus:
        return self._table.status(broker_order_id)

    async def find_order(self, order: OrderRequest) -> brk.OrderStatus | None:
        return self._table.find(order)
