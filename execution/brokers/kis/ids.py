"""Our client order ids and KIS's order numbers.

KIS has no client order id. Each of our orders is known by the (``ODNO``,
``KRX_FWDG_ORD_ORGNO``) its send answered; a revise answers a *new* ODNO, which
joins the same client order's chain (the old one is REPLACED by it). A send whose
answer was lost is *in doubt* until the daily orders say whether it was placed; it
is never sent again before that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution.broker import OrderState, OrderStatus
from execution.brokers.kis.endpoints import OrderRef
from execution.contracts import OrderAck, OrderRequest


@dataclass(slots=True)
class KisOrder:
    """One KIS order number of ours (an original or a revise of it)."""

    request: OrderRequest
    ref: OrderRef
    qty: int
    price: Decimal | None
    placed_ns: int  # exchange time of the ack
    state: OrderState = OrderState.LIVE
    replaced_by: str = ""
    origin: str = ""  # the ODNO this one replaced
    confirmed: bool = False  # the daily orders have shown it in its final state

    @property
    def odno(self) -> str:
        return self.ref.odno

    @property
    def live(self) -> bool:
        return self.state is OrderState.LIVE

    def close(self, state: OrderState, replaced_by: str = "") -> None:
        if self.live or state is OrderState.REPLACED:
            self.state = state
        if replaced_by:
            self.replaced_by = replaced_by


@dataclass(frozen=True, slots=True)
class InDoubt:
    """A send that got no answer: placed or not, only the daily orders can say."""

    request: OrderRequest
    sent_ns: int  # exchange time when it was sent


@dataclass(slots=True)
class OrderRegistry:
    orders: dict[str, KisOrder] = field(default_factory=dict)
    by_client: dict[str, list[str]] = field(default_factory=dict)
    acks: dict[str, OrderAck] = field(default_factory=dict)
    in_doubt: dict[str, InDoubt] = field(default_factory=dict)

    def get(self, odno: str) -> KisOrder | None:
        return self.orders.get(odno)

    def add(self, request: OrderRequest, ref: OrderRef, placed_ns: int,
            reason: str = "") -> OrderAck:
        """A new order was placed for ``request`` as ``ref``: its ack (kept for resends)."""
        self.orders[ref.odno] = KisOrder(request, ref, request.qty, request.price, placed_ns)
        self.by_client.setdefault(request.client_order_id, []).append(ref.odno)
        self.in_doubt.pop(request.client_order_id, None)
        ack = OrderAck(request.client_order_id, ref.odno, True, placed_ns, reason)
        self.acks.setdefault(request.client_order_id, ack)
        return ack

    def replace(self, old: KisOrder, ref: OrderRef, qty: int, price: Decimal | None,
                placed_ns: int) -> KisOrder:
        """A revise moved what was left of ``old`` to the new order ``ref``."""
        existing = self.orders.get(ref.odno)
        if existing is not None:
            return existing
        new = KisOrder(old.request, ref, qty, price, placed_ns, origin=old.odno)
        self.orders[ref.odno] = new
        self.by_client.setdefault(old.request.client_order_id, []).append(ref.odno)
        old.close(OrderState.REPLACED, ref.odno)
        return new

    def claimed(self, odno: str) -> bool:
        return odno in self.orders

    def live(self) -> list[KisOrder]:
        return [o for o in self.orders.values() if o.live]

    def unsettled(self) -> list[KisOrder]:
        """Orders whose final fills the daily orders have yet to confirm."""
        return [o for o in self.orders.values() if o.live or not o.confirmed]

    def first(self, client_order_id: str) -> KisOrder | None:
        odnos = self.by_client.get(client_order_id)
        return self.orders[odnos[0]] if odnos else None

    def status(self, order: KisOrder, filled: int, avg: Decimal | None) -> OrderStatus:
        req = order.request
        return OrderStatus(order.odno, req.client_order_id, req.symbol, req.side, order.qty,
                           filled, avg, order.state, order.replaced_by)
