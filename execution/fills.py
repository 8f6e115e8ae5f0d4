"""Fill aggregation per child and per parent, outside the chart.

Fills are idempotent by ``event_id`` (duplicates ignored), order-independent
(increments are summed, so out-of-order delivery gives the same totals) and
never counted beyond a child's quantity (an overfill is flagged, not counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution.contracts import ChildOrder, ChildStatus, FillEvent


@dataclass(slots=True)
class FillOutcome:
    counted_qty: int = 0
    duplicate: bool = False
    overfill_qty: int = 0
    unknown_order: bool = False


@dataclass(slots=True)
class FillBook:
    """All fills of one execution."""

    fills: list[FillEvent] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    filled_qty: int = 0
    notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    overfill_qty: int = 0
    duplicates: int = 0
    last_fill_ns: int = 0

    def apply(self, fill: FillEvent, child: ChildOrder | None) -> FillOutcome:
        if fill.event_id in self.seen:
            self.duplicates += 1
            return FillOutcome(duplicate=True)
        self.seen.add(fill.event_id)
        if child is None:
            return FillOutcome(unknown_order=True)
        counted = min(fill.filled_qty, child.qty - child.filled_qty)
        over = fill.filled_qty - counted
        self.overfill_qty += over
        if counted > 0:
            child.filled_qty += counted
            self.filled_qty += counted
            self.notional += fill.price * counted
            self.fees += fill.fee * counted / fill.filled_qty
            self.fills.append(fill)
            self.last_fill_ns = max(self.last_fill_ns, fill.ts_ns)
        if child.filled_qty >= child.qty:
            child.status = ChildStatus.FILLED
        return FillOutcome(counted_qty=counted, overfill_qty=over)

    @property
    def avg_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return self.notional / self.filled_qty
