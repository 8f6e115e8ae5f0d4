"""The adapter's fill journal: pushed notices and polled totals, each fill counted once.

KIS pushes each trade once (``CNTG_QTY`` at ``CNTG_UNPR``, no running total, no trade
id) and its daily orders give per-order totals (``tot_ccld_qty`` at ``avg_prvs``).
Per order number the journal keeps the *level* it has counted; a fill event raises
it, and its id is ``ODNO:level``, so push and poll can never count a share twice and
the engine dedupes a fill delivered both by push and by ``fills_since``:

- a poll whose total exceeds the level books the difference (at the price that
  makes the order's average come out as KIS's ``avg_prvs``);
- a push raises the level to the sum pushed for that order. A push that does not
  raise it (its trade was already counted by a poll, or pushes were lost in a
  disconnect before it) books nothing and asks for a poll, which settles it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from execution.broker import FillCallback
from execution.brokers.table import Subscribers
from execution.contracts import FillEvent, Side

_BPS = Decimal(10_000)
_CENT = Decimal("0.01")


@dataclass(slots=True)
class _Level:
    counted: int = 0
    notional: Decimal = Decimal(0)
    pushed: int = 0


class FillJournal:
    def __init__(self, fee_bps: Decimal) -> None:
        self.fee_bps = fee_bps
        self.events: list[FillEvent] = []
        self.subscribers = Subscribers()
        self._levels: dict[str, _Level] = {}
        self.from_push = self.from_poll = self.unsettled_pushes = 0

    def subscribe(self, callback: FillCallback) -> Callable[[], None]:
        return self.subscribers.subscribe(callback)

    def since(self, seq: int) -> tuple[list[FillEvent], int]:
        return self.events[max(0, seq):], len(self.events)

    def filled(self, odno: str) -> int:
        level = self._levels.get(odno)
        return level.counted if level else 0

    def avg_price(self, odno: str) -> Decimal | None:
        level = self._levels.get(odno)
        return level.notional / level.counted if level and level.counted else None

    def prime(self, odno: str, counted: int, notional: Decimal) -> None:
        """What the engine counted on ``odno`` before a restart (from its journal): fills up
        to that level are not booked again; only what comes on top of it is new."""
        level = self._levels.setdefault(odno, _Level())
        if counted > level.counted:
            level.counted, level.notional = counted, notional
            level.pushed = max(level.pushed, counted)

    def on_push(self, odno: str, symbol: str, side: Side, qty: int, price: Decimal,
                ts_ns: int, order_qty: int) -> FillEvent | None:
        """One pushed trade; None when it did not raise the level (ask for a poll)."""
        level = self._levels.setdefault(odno, _Level())
        level.pushed += qty
        if level.pushed <= level.counted:
            self.unsettled_pushes += 1
            return None
        self.from_push += 1
        return self._book(odno, level, symbol, side, level.pushed - level.counted, price,
                          ts_ns, order_qty)

    def on_total(self, odno: str, symbol: str, side: Side, total: int, avg: Decimal,
                 ts_ns: int, order_qty: int) -> FillEvent | None:
        """A polled total; books what exceeds the level (None when nothing does)."""
        level = self._levels.setdefault(odno, _Level())
        if total <= level.counted:
            return None
        delta = total - level.counted
        price = avg if avg > 0 else (level.notional / level.counted if level.counted else avg)
        if avg > 0 and level.counted:
            price = ((avg * total - level.notional) / delta).quantize(_CENT)
        self.from_poll += 1
        return self._book(odno, level, symbol, side, delta, price, ts_ns, order_qty)

    def _book(self, odno: str, level: _Level, symbol: str, side: Side, qty: int,
              price: Decimal, ts_ns: int, order_qty: int) -> FillEvent:
        level.counted += qty
        level.notional += price * qty
        event = FillEvent(
            event_id=f"{odno}:{level.counted}", order_id=odno, symbol=symbol, side=side,
            filled_qty=qty, price=price, cumulative_qty=level.counted,
            remaining_qty=max(order_qty - level.counted, 0),
            fee=(price * qty * self.fee_bps / _BPS).quantize(_CENT), ts_ns=ts_ns)
        self.events.append(event)
        self.subscribers.push(event)
        return event
