"""Fill accounting of one execution: every broker fill counted exactly once.

A fill is identified three ways, and any one of them marks a repeat: its event id; its
order id with its cumulative quantity (the same trade pushed again under a new event id,
or once by push and once by polling); and a cumulative quantity at or below what the
broker has already confirmed for that order (a fill the engine booked from the order's
status before its push arrived). Increments are summed, so delivery order does not
matter; nothing beyond a child's quantity is counted (an overfill is flagged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution.contracts import ChildOrder, FillEvent


@dataclass(slots=True)
class FillOutcome:
    counted_qty: int = 0
    duplicate: bool = False
    overfill_qty: int = 0


@dataclass(slots=True)
class OrderCount:
    """What the engine has counted on one broker order id."""

    counted: int = 0
    notional: Decimal = Decimal(0)
    cumulative: set[int] = field(default_factory=set)
    confirmed: int = 0  # the broker's total for this order, already accounted for


@dataclass(slots=True)
class FillBook:
    """All fills of one execution."""

    fills: list[FillEvent] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    per_order: dict[str, OrderCount] = field(default_factory=dict)
    filled_qty: int = 0
    notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    overfill_qty: int = 0
    duplicates: int = 0
    first_fill_ns: int = 0
    last_fill_ns: int = 0

    def order(self, order_id: str) -> OrderCount:
        count = self.per_order.get(order_id)
        if count is None:
            count = self.per_order[order_id] = OrderCount()
        return count

    def is_duplicate(self, fill: FillEvent) -> bool:
        if fill.event_id in self.seen:
            return True
        count = self.per_order.get(fill.order_id)
        if count is None or fill.cumulative_qty <= 0:
            return False
        return fill.cumulative_qty in count.cumulative or fill.cumulative_qty <= count.confirmed

    def apply(self, fill: FillEvent, child: ChildOrder) -> FillOutcome:
        """Count ``fill`` on ``child`` unless it is a repeat (see the module docstring)."""
        if self.is_duplicate(fill):
            self.duplicates += 1
            self.seen.add(fill.event_id)
            return FillOutcome(duplicate=True)
        self.seen.add(fill.event_id)
        count = self.order(fill.order_id)
        if fill.cumulative_qty > 0:
            count.cumulative.add(fill.cumulative_qty)
        counted = min(fill.filled_qty, child.qty - child.filled_qty)
        over = fill.filled_qty - counted
        self.overfill_qty += over
        if counted > 0:
            child.filled_qty += counted
            count.counted += counted
            count.notional += fill.price * counted
            self.filled_qty += counted
            self.notional += fill.price * counted
            self.fees += fill.fee * counted / fill.filled_qty
            self.fills.append(fill)
            self.first_fill_ns = min(self.first_fill_ns or fill.ts_ns, fill.ts_ns)
            self.last_fill_ns = max(self.last_fill_ns, fill.ts_ns)
        return FillOutcome(counted_qty=counted, overfill_qty=over)

    def missing(self, order_id: str, broker_total: int) -> int:
        """Shares the broker says it filled on ``order_id`` that the engine has not counted."""
        return max(broker_total - self.order(order_id).counted, 0)

    def confirm(self, order_id: str, broker_total: int) -> None:
        """Everything up to ``broker_total`` on ``order_id`` is now accounted for: a push of
        one of those fills arriving later is a repeat."""
        count = self.order(order_id)
        count.confirmed = max(count.confirmed, broker_total)

    @property
    def avg_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return self.notional / self.filled_qty
