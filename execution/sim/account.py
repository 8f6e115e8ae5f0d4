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
        self.cash = self.initial_cash = cash
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
    """The accounts as the exchange shows them (a mixin of ``SimulatedExchange``): live buy
    orders reserve cash at their price.

    One exchange is one market; by default it holds one account (party ``""``). A market
    shared by several accounts (the paper exchange) tags each order with its party when it
    is sent: each party has its own cash, positions and fees (a ledger each, starting with
    the same cash), and an incoming order passes over its own party's resting orders only.
    """

    _orders: dict[str, OrderRecord]
    _ledger: Ledger  # party "" (the only one unless orders are sent for a party)
    _ledgers: dict[str, Ledger]
    _parties: dict[str, str]  # client order id -> party (parties other than "" only)

    def party_of(self, broker_order_id: str) -> str:
        """The party (account) an order was sent for (``""``: the exchange's own account)."""
        record = self._orders.get(broker_order_id)
        return "" if record is None else self._party(record)

    def _party(self, record: OrderRecord) -> str:
        return self._parties.get(record.request.client_order_id, "")

    def _ledger_of(self, party: str) -> Ledger:
        ledger = self._ledgers.get(party)
        if ledger is None:
            ledger = self._ledgers[party] = Ledger(self._ledger.initial_cash)
        return ledger

    def _record_ledger(self, record: OrderRecord) -> Ledger:
        return self._ledger_of(self._party(record)) if self._parties else self._ledger

    def _reserved(self, party: str = "") -> Decimal:
        return sum(
            (
                (o.price or Decimal(0)) * o.remaining
                for o in self._orders.values()
                if o.live and o.request.side is Side.BUY
                and (not self._parties or self._party(o) == party)
            ),
            Decimal(0),
        )

    def available_cash(self, party: str = "") -> Decimal | None:
        """Cash less what live buy orders reserve; None when cash is unlimited."""
        cash = self._ledger_of(party).cash
        return None if cash is None else cash - self._reserved(party)

    @property
    def account(self) -> AccountSnapshot:
        return self.account_of("")

    def account_of(self, party: str) -> AccountSnapshot:
        """Cash, positions and fees of ``party``'s account."""
        return self._ledger_of(party).snapshot(self._reserved(party))

    def position(self, symbol: str, party: str = "") -> int:
        """Signed shares held in ``symbol`` after the fills so far."""
        return self._ledger_of(party).position(symbol)

    def _check_cash(self, need: Decimal, party: str = "") -> None:
        available = self.available_cash(party)
        if available is not None and need > available:
            raise OrderRejected(RejectReason.INSUFFICIENT_BALANCE,
                                f"needs {need} KRW, {available} available")
