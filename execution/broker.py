"""The broker boundary: a :class:`typing.Protocol` and its typed errors.

The simulated exchange is just another implementation; a real broker adapter
implements the same protocol. All calls are coroutines; fills are pushed to a
subscriber callback, and ``fills_since`` is the polling fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from execution.contracts import FillEvent, OrderAck, OrderRequest, Quote

FillCallback = Callable[[FillEvent], None]


class RejectReason(Enum):
    UNKNOWN_SYMBOL = "unknown_symbol"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    MARKET_CLOSED = "market_closed"
    INVALID_ORDER = "invalid_order"
    OTHER = "other"


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
        """Re-price (``None`` price = convert to market) or reduce an order in place."""
        ...

    async def cancel(self, broker_order_id: str) -> bool:
        """Cancel what is left of an order; False when it was already done."""
        ...

    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        """Push every fill of this session to ``callback``; returns an unsubscribe function."""
        ...

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        """Polling fallback: fills after cursor ``seq``, and the new cursor."""
        ...

    async def open_orders(self) -> list[str]:
        """Broker order ids that are still live."""
        ...
