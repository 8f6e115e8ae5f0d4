"""The broker boundary: a :class:`typing.Protocol` and its typed errors.

The simulated exchange is just another implementation; a real broker adapter
implements the same protocol. All calls are coroutines; fills are pushed to a
subscriber callback, and ``fills_since`` is the polling fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from execution.contracts import FillEvent, OrderAck, OrderRequest, Quote, Side

FillCallback = Callable[[FillEvent], None]


class RejectReason(Enum):
    UNKNOWN_SYMBOL = "unknown_symbol"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    MARKET_CLOSED = "market_closed"
    INVALID_ORDER = "invalid_order"
    OTHER = "other"


class OrderState(Enum):
    """An order's status as the broker reports it."""

    LIVE = "live"            # accepted and working (possibly partly filled)
    FILLED = "filled"
    CANCELLED = "cancelled"  # cancelled (by us or by the broker) with ``filled_qty`` done
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"    # a revise moved the rest to a new order: ``replaced_by``

    @property
    def is_terminal(self) -> bool:
        return self is not OrderState.LIVE


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """What the broker says of one order: the truth the engine reconciles against.

    ``filled_qty`` and ``avg_price`` are the broker's totals for this order id. Brokers
    that list individual trades give them in ``fills``; others (KIS's daily-orders query
    gives totals only) leave it empty and the engine books the difference between the
    broker's total and its own count.
    """

    broker_order_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: int
    filled_qty: int
    avg_price: Decimal | None
    state: OrderState
    replaced_by: str = ""
    fills: tuple[FillEvent, ...] = ()

    @property
    def remaining(self) -> int:
        return 0 if self.state.is_terminal else self.qty - self.filled_qty


class BrokerError(Exception):
    """Root of every broker failure."""


class TransientBrokerError(BrokerError):
    """Worth retrying: a timeout, a throttle, a dropped request."""


class BrokerDisconnected(TransientBrokerError):
    """The session is down; reconnect, then retry."""


class OrderRejected(BrokerError):
    """The broker refused the order; never retried."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class UnknownOrder(BrokerError):
    """Modify or cancel of an order the broker does not know (or no longer has live)."""


@runtime_checkable
class Broker(Protocol):
    """What the engine needs from a broker."""

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> bool:
        """Try to (re)connect once; True when connected afterwards."""
        ...

    def now_ns(self) -> int:
        """The broker's clock (exchange time), in ns."""
        ...

    def knows_symbol(self, symbol: str) -> bool: ...

    def quote(self, symbol: str) -> Quote:
        """Current top of book; raises OrderRejected(UNKNOWN_SYMBOL) for an unknown symbol."""
        ...

    async def send(self, order: OrderRequest) -> OrderAck:
        """Place an order. Idempotent on ``client_order_id``: a resend returns the first ack."""
        ...

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        """Re-price (``None`` price = convert to market) or reduce an order.

        The ack's ``broker_order_id`` may be a *new* id (cancel-replace, as KRX brokers
        do: the old order becomes the new one's original order); the old id then reports
        ``OrderState.REPLACED`` with ``replaced_by`` set."""
        ...

    async def cancel(self, broker_order_id: str) -> bool:
        """Cancel what is left of an order; False when it was not live any more (filled,
        cancelled, replaced). False is a hint, not the truth: ask :meth:`order_status`."""
        ...

    async def order_status(self, broker_order_id: str) -> OrderStatus:
        """The order's state and fill totals now; raises UnknownOrder when the broker has
        no such order."""
        ...

    async def find_order(self, order: OrderRequest) -> OrderStatus | None:
        """The order placed for ``order`` (a send whose answer was lost), or None when the
        broker never placed it. By client order id where the broker keeps one; by the
        order's details (symbol, side, qty, price, time) where it does not."""
        ...

    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        """Push every fill of this session to ``callback``; returns an unsubscribe function."""
        ...

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        """Polling fallback: fills after cursor ``seq``, and the new cursor."""
        ...

    async def open_orders(self) -> list[str]:
        """Broker order ids that are still live (a snapshot: confirm with order_status)."""
        ...


@dataclass(frozen=True, slots=True)
class KnownOrder:
    """An order an earlier engine process placed, or may have placed, as its journal knows
    it. ``order_ids`` is the revise chain, oldest first; empty when the send's answer was
    lost. ``counted`` is what the engine counted per order id: (id, shares, notional)."""

    request: OrderRequest
    sent_ns: int  # exchange time of the last send attempt
    order_ids: tuple[str, ...] = ()
    counted: tuple[tuple[str, int, Decimal], ...] = ()


@runtime_checkable
class RestoresOrders(Protocol):
    """A broker that keeps its own record of our orders in memory (KIS has no client order
    id): recovery hands it the journal's orders before asking about them."""

    async def restore_orders(self, orders: Sequence[KnownOrder]) -> None: ...


@runtime_checkable
class ListsOrders(Protocol):
    """A broker that can list every working order of the account, ours or not (recovery
    reports the ones the journal does not know). Without it: ``open_orders``."""

    async def working_orders(self) -> list[OrderStatus]: ...
