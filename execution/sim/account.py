"""Cash, positions and fees of the simulated account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from execution.broker import OrderRejected, RejectReason
from execution.brokers.table import OrderRecord
from execution.contracts import Side


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    cash: Decimal | None  # None: unlimited
    available: Decimal | None  # cash less what live buy orders reserve
    positions: Mapping[str, int]  # signed shares, non-zero only
    fees_paid: Decimal


class Ledger:
    """Books fills: buys pay price*qty + fee, sells receive price*qty - fee."""

    def __init__(self, cash: Decimal | None) -> None:
        self.cash = cash
        self.fees = Decimal(0)
        self._positions: dict[str, int] = {}

    def book(self, symbol: str, side: Side, price: Decimal, qty: int, fee: Decimal) -> None:
        self.fees += fee
        self._positions[symbol] = self._positions.get(symbol, 0) + qty * side.sign
        if self.cash is not None:
            self.cash -= price * qty * side.sign + fee

    def position(self, symbol: str) -> int:
        return self._positions.get(symbol, 0)

    def snapshot(self, reserved: Decimal) -> AccountSnapshot:
        positions = MappingProxyType({s: q for s, q in self._positions.items() if q})
        available = None if self.cash is None else self.cash - reserved
        return AccountSnapshot(self.cash, available, positions, self.fees)


class AccountView:
    """The account as the exchange shows it (a mixin of ``SimulatedExchange``): live buy
    orders reserve cash at their price."""

    _orders: dict[str, OrderRecord]
    _ledger: Ledger

    def _reserved(self) -> Decimal:
        return sum(
            (
                (o.price or Decimal(0)) * o.remaining
                for o in self._orders.values()
                if o.live and o.request.side is Side.BUY
            ),
            Decimal(0),
        )

    def available_cash(self) -> Decimal | None:
        """Cash less what live buy orders reserve; None when cash is unlimited."""
        return None if self._ledger.cash is None else self._ledger.cash - self._reserved()

    @property
    def account(self) -> AccountSnapshot:
        return self._ledger.snapshot(self._reserved())

    def position(self, symbol: str) -> int:
        """Signed shares held in ``symbol`` after the fills so far."""
        return self._ledger.position(symbol)

    def _check_cash(self, need: Decimal) -> None:
        available = self.available_cash()
        if available is not None and need > available:
            raise OrderRejected(RejectReason.INSUFFICIENT_BALANCE,
                                f"needs {need} KRW, {available} available")
