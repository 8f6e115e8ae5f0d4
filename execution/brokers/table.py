"""The order-table core every in-process broker shares.

The simulated exchange, the scriptable test broker and the benchmark broker all keep the
same books: order records by broker id, the first ack per client order id (a resend is
answered with it, never placed twice), the fill journal behind ``fills_since``, the
order status behind ``order_status``/``find_order``, and the fill subscribers. They
differ only in *when* orders fill and how fills are delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from execution.broker import FillCallback, OrderState, OrderStatus, UnknownOrder
from execution.contracts import FillEvent, MarketPhase, OrderAck, OrderRequest

log = logging.getLogger("execution.brokers")


@dataclass(slots=True)
class OrderRecord:
    """One order as the broker keeps it."""

    broker_id: str
    request: OrderRequest
    price: Decimal | None
    qty: int
    filled: int = 0
    notional: Decimal = Decimal(0)
    state: OrderState = OrderState.LIVE
    replaced_by: str = ""
    fills: list[FillEvent] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.state is OrderState.LIVE

    @property
    def remaining(self) -> int:
        return self.qty - self.filled

    def close(self, state: OrderState) -> None:
        """End a live order (``state`` is terminal); an order already ended keeps its state."""
        if self.live:
            self.state = state

    def status(self) -> OrderStatus:
        avg = self.notional / self.filled if self.filled else None
        return OrderStatus(self.broker_id, self.request.client_order_id, self.request.symbol,
                           self.request.side, self.qty, self.filled, avg, self.state,
                           self.replaced_by, tuple(self.fills))


class Subscribers:
    """The fill subscribers of one broker session; one failing callback never stops the
    others (it is logged)."""

    def __init__(self) -> None:
        self._callbacks: list[FillCallback] = []

    def subscribe(self, callback: FillCallback) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def push(self, event: FillEvent) -> None:
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:
                log.exception("fill subscriber %r failed on %s", callback, event.event_id)

    def __len__(self) -> int:
        return len(self._callbacks)


class OrderTable:
    """Orders, acks and fills of one broker account (see the module docstring)."""

    def __init__(self, id_prefix: str = "B", fill_prefix: str = "F", id_width: int = 6) -> None:
        self.orders: dict[str, OrderRecord] = {}
        self.acks: dict[str, OrderAck] = {}  # the first ack, by client order id
        self.by_client: dict[str, list[str]] = {}  # client order id -> broker ids placed
        self.journal: list[FillEvent] = []
        self.subscribers = Subscribers()
        self._id_prefix, self._fill_prefix, self._width = id_prefix, fill_prefix, id_width
        self._serial = 0

    # -- orders ---------------------------------------------------------------------
    def ack_for(self, client_order_id: str) -> OrderAck | None:
        """The first ack of ``client_order_id``: a resend is answered with it."""
        return self.acks.get(client_order_id)

    def next_id(self) -> str:
        self._serial += 1
        return f"{self._id_prefix}{self._serial:0{self._width}d}"

    def place(self, request: OrderRequest, ts_ns: int, reason: str = "") -> OrderRecord:
        """Record a new accepted order and its ack (kept for resends)."""
        record = OrderRecord(self.next_id(), request, request.price, request.qty)
        self.orders[record.broker_id] = record
        self.by_client.setdefault(request.client_order_id, []).append(record.broker_id)
        self.acks[request.client_order_id] = OrderAck(request.client_order_id, record.broker_id,
                                                      True, ts_ns, reason)
        return record

    def replace(self, record: OrderRecord, price: Decimal | None, qty: int) -> OrderRecord:
        """Cancel-replace (a KRX revise): the rest of ``record`` moves to a new order of
        ``qty`` shares at ``price``; the old order ends REPLACED and keeps its fills."""
        new = OrderRecord(self.next_id(), record.request, price, qty)
        self.orders[new.broker_id] = new
        self.by_client[record.request.client_order_id].append(new.broker_id)
        record.state, record.replaced_by = OrderState.REPLACED, new.broker_id
        return new

    def get(self, broker_id: str) -> OrderRecord:
        record = self.orders.get(broker_id)
        if record is None:
            raise UnknownOrder(broker_id)
        return record

    def live_ids(self) -> list[str]:
        return [oid for oid, record in self.orders.items() if record.live]

    def status(self, broker_id: str) -> OrderStatus:
        return self.get(broker_id).status()

    def find(self, request: OrderRequest) -> OrderStatus | None:
        """The order first placed for ``request``'s client order id (None: never placed)."""
        ids = self.by_client.get(request.client_order_id)
        return self.orders[ids[0]].status() if ids else None

    # -- fills ----------------------------------------------------------------------
    def fill(self, record: OrderRecord, price: Decimal, qty: int, fee: Decimal, ts_ns: int,
             *, event_id: str | None = None, phase: MarketPhase | None = None) -> FillEvent:
        """Book ``qty`` at ``price`` on ``record`` (FILLED when nothing remains) and journal
        the event; delivering it is the caller's business (see :meth:`push`)."""
        record.filled += qty
        record.notional += price * qty
        if record.remaining <= 0 and record.live:
            record.state = OrderState.FILLED
        req = record.request
        event = FillEvent(
            event_id=event_id or f"{self._fill_prefix}{len(self.journal) + 1:08d}",
            order_id=record.broker_id, symbol=req.symbol, side=req.side, filled_qty=qty,
            price=price, cumulative_qty=record.filled,
            remaining_qty=max(record.remaining, 0), fee=fee, ts_ns=ts_ns, phase=phase)
        record.fills.append(event)
        self.journal.append(event)
        return event

    def since(self, seq: int) -> tuple[list[FillEvent], int]:
        return self.journal[max(0, seq):], len(self.journal)

    def subscribe(self, callback: FillCallback) -> Callable[[], None]:
        return self.subscribers.subscribe(callback)

    def push(self, event: FillEvent) -> None:
        self.subscribers.push(event)
