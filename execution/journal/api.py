"""What the engine and the order operations tell the journal, and the journal that is off.

The engine calls a :class:`Journal` held on its services; :class:`NullJournal` (the
default) does nothing, so the code paths are the same with the journal on or off. The
*write-ahead* calls (:meth:`Journal.sending`, :meth:`Journal.revising`; a send journaled
ahead by :meth:`Journal.planned` needs no second write) return only once the order's
record is durable, and raise :class:`JournalError` when it cannot be made durable; the
order operations then do not call the broker. Every other record is buffered and made
durable within a few milliseconds, or with the next write-ahead record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from execution.codes import Alert
from execution.contracts import Amendment, ChildOrder, ExecutionIntent, FillEvent, OrderRequest


class JournalError(RuntimeError):
    """The journal cannot be read, or cannot record: nothing is sent without it."""


class JournalIdTaken(JournalError, ValueError):
    """An execution id the journal already holds (from this run or an earlier one)."""


class Journal(Protocol):
    """The records of an execution's life, in the order they happen."""

    @property
    def enabled(self) -> bool: ...

    def attach(self, exchange_clock: Callable[[], int]) -> None:
        """The broker's clock, stamped on every record beside the wall clock."""

    def intent(self, execution_id: str, intent: ExecutionIntent, day: date, *,
               generated: bool = False) -> None:
        """A new execution; :class:`JournalIdTaken` when its id was used before (an id the
        engine ``generated`` is unique by construction and not looked up)."""

    def transition(self, execution_id: str, source: str, event: str, target: str,
                   guard: str) -> None: ...

    def planned(self, execution_id: str, intent: ExecutionIntent,
                children: Sequence[ChildOrder]) -> None:
        """The children a split produced (the new ones since the last call): journaled
        ahead, each as it will be sent; its first send then only waits for that record."""

    def sending(self, execution_id: str, child: ChildOrder, request: OrderRequest, *,
                attempt: int, liquidation: bool = False) -> None:
        """Write-ahead: the order, with its client order id, before the broker call."""

    def order_id(self, execution_id: str, child: ChildOrder, order_id: str, how: str) -> None:
        """A broker order id now works for ``child`` (a send's ack, a lookup that found a
        send whose answer was lost, a revise's new id)."""

    def send_failed(self, execution_id: str, child: ChildOrder, outcome: str,
                    detail: str) -> None:
        """A send attempt ended without an order id: ``rejected`` or ``unanswered``."""

    def revising(self, execution_id: str, child: ChildOrder, order_id: str,
                 price: Decimal | None, qty: int | None = None) -> None:
        """Write-ahead: a re-price of ``order_id`` (or a reduction to ``qty`` shares, the
        order's new total), before the broker call."""

    def revised(self, execution_id: str, child: ChildOrder, order_id: str, new_id: str,
                price: Decimal | None, outcome: str, qty: int | None = None) -> None:
        """The revise's answer; for an accepted reduction also the child's new quantity."""

    def cancelling(self, execution_id: str, child: ChildOrder, order_id: str) -> None:
        """A cancel request (best effort: a cancel goes out even when this cannot be
        recorded, since it only ever lowers the risk)."""

    def order_state(self, execution_id: str, child: ChildOrder, order_id: str, state: str,
                    broker_filled: int) -> None:
        """What the broker said of an order when it reported it over (or live)."""

    def fill(self, execution_id: str, child: ChildOrder, fill: FillEvent, counted: int, *,
             liquidation: bool = False) -> None:
        """A fill counted (``counted`` shares of it: an overfill's excess is not)."""

    def trade(self, execution_id: str, day: date) -> None:
        """The execution placed its first order: one of the day's trades (GR062)."""

    def alert(self, execution_id: str, alert: Alert) -> None: ...

    def result(self, execution_id: str, final_state: str, summary: Mapping[str, object], *,
               settled: bool) -> None:
        """The execution's result went out; ``settled`` when every order was confirmed."""

    def amendment(self, execution_id: str, amendment: Amendment) -> None: ...

    def settled(self, execution_id: str) -> None:
        """The orders a result listed as unconfirmed are now confirmed over."""

    def note(self, execution_id: str, kind: str, data: Mapping[str, object]) -> None:
        """Anything else worth an audit line (recovery's actions)."""

    def flush(self) -> None:
        """Make everything recorded so far durable now."""


class NullJournal:
    """The journal when it is off: every call does nothing."""

    enabled = False

    def attach(self, exchange_clock: Callable[[], int]) -> None:
        pass

    def intent(self, execution_id: str, intent: ExecutionIntent, day: date, *,
               generated: bool = False) -> None:
        pass

    def transition(self, execution_id: str, source: str, event: str, target: str,
                   guard: str) -> None:
        pass

    def planned(self, execution_id: str, intent: ExecutionIntent,
                children: Sequence[ChildOrder]) -> None:
        pass

    def sending(self, execution_id: str, child: ChildOrder, request: OrderRequest, *,
                attempt: int, liquidation: bool = False) -> None:
        pass

    def order_id(self, execution_id: str, child: ChildOrder, order_id: str, how: str) -> None:
        pass

    def send_failed(self, execution_id: str, child: ChildOrder, outcome: str,
                    detail: str) -> None:
        pass

    def revising(self, execution_id: str, child: ChildOrder, order_id: str,
                 price: Decimal | None, qty: int | None = None) -> None:
        pass

    def revised(self, execution_id: str, child: ChildOrder, order_id: str, new_id: str,
                price: Decimal | None, outcome: str, qty: int | None = None) -> None:
        pass

    def cancelling(self, execution_id: str, child: ChildOrder, order_id: str) -> None:
        pass

    def order_state(self, execution_id: str, child: ChildOrder, order_id: str, state: str,
                    broker_filled: int) -> None:
        pass

    def fill(self, execution_id: str, child: ChildOrder, fill: FillEvent, counted: int, *,
             liquidation: bool = False) -> None:
        pass

    def trade(self, execution_id: str, day: date) -> None:
        pass

    def alert(self, execution_id: str, alert: Alert) -> None:
        pass

    def result(self, execution_id: str, final_state: str, summary: Mapping[str, object], *,
               settled: bool) -> None:
        pass

    def amendment(self, execution_id: str, amendment: Amendment) -> None:
        pass

    def settled(self, execution_id: str) -> None:
        pass

    def note(self, execution_id: str, kind: str, data: Mapping[str, object]) -> None:
        pass

    def flush(self) -> None:
        pass


NULL_JOURNAL = NullJournal()
