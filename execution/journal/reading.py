"""Reading the journal back: one execution's orders and fills as recorded, and the day's
trade count and positions (GR062 and the position cap survive a restart).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from execution.contracts import (
    ExecutionIntent,
    FillEvent,
    OrderRequest,
    PriceType,
    Side,
    SplitStrategy,
    Urgency,
)
from execution.journal.api import JournalError
from execution.journal.rows import EventRow, ExecutionRow, JournalStore


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def intent_of(data: dict[str, Any]) -> ExecutionIntent:
    return ExecutionIntent(data["symbol"], Side(data["side"]), int(data["qty"]),
                           _decimal(data.get("limit_price")), Urgency(data["urgency"]),
                           SplitStrategy(data["strategy"]), data.get("client_intent_id", ""))


def fill_of(event: EventRow) -> FillEvent:
    d = event.data
    return FillEvent(d["event_id"], event.order_id, d["symbol"], Side(d["side"]), int(d["qty"]),
                     Decimal(d["price"]), int(d["cumulative"]), int(d["remaining"]),
                     Decimal(d["fee"]), int(d["ts_ns"]))


@dataclass(slots=True)
class JournaledOrder:
    """One child order as the journal knows it."""

    child_id: str
    request: OrderRequest  # as last sent
    sequence: int
    liquidation: bool
    sent_wall_ns: int
    sent_exchange_ns: int
    attempts: int = 0
    order_ids: list[str] = field(default_factory=list)
    answered: bool = False  # the last attempt got an answer (an order id or a rejection)
    rejected: str = ""
    revise_pending: str = ""  # an order id whose revise got no recorded answer
    states: dict[str, str] = field(default_factory=dict)  # broker order id -> last state

    @property
    def in_doubt(self) -> bool:
        """Sent, but neither an order id nor a rejection was recorded: placed or not, only
        the broker can say."""
        return not self.order_ids and not self.rejected


@dataclass(slots=True)
class JournaledFill:
    child_id: str
    fill: FillEvent
    counted: int
    liquidation: bool


@dataclass(slots=True)
class JournaledExecution:
    row: ExecutionRow
    intent: ExecutionIntent
    path: list[tuple[str, str, str]] = field(default_factory=list)  # (source, event, target)
    orders: dict[str, JournaledOrder] = field(default_factory=dict)
    fills: list[JournaledFill] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    traded: bool = False
    unrecorded: bool = False  # its row was never written (rebuilt from its first record)

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def last_state(self) -> str:
        return self.path[-1][2] if self.path else ""

    def counted(self, liquidation: bool = False) -> int:
        return sum(f.counted for f in self.fills if f.liquidation is liquidation)


def _send(event: EventRow, orders: dict[str, JournaledOrder]) -> None:
    d = event.data
    request = OrderRequest(d["client_order_id"], d["symbol"], Side(d["side"]), int(d["qty"]),
                           _decimal(d.get("price")), PriceType(d["price_type"]),
                           d.get("display_qty"))
    order = orders.get(event.child_id)
    if order is None:
        order = orders[event.child_id] = JournaledOrder(
            event.child_id, request, int(d.get("sequence", 0)), bool(d.get("liquidation")),
            event.wall_ns, event.exchange_ns)
    order.request, order.sent_wall_ns = request, event.wall_ns
    order.sent_exchange_ns = event.exchange_ns
    order.attempts += 1
    order.answered = False


def _order(execution: JournaledExecution, event: EventRow) -> None:
    order = execution.orders.get(event.child_id)
    if order is None:
        return
    if event.kind == "order":
        if event.order_id not in order.order_ids:
            order.order_ids.append(event.order_id)
        order.answered = True
    elif event.kind == "send_failed":
        if event.data.get("outcome") in ("rejected", "never_placed"):
            order.rejected = str(event.data.get("detail") or event.data["outcome"])
            order.answered = True
    elif event.kind == "revise":
        order.revise_pending = event.order_id
    elif event.kind == "revised":
        order.revise_pending = ""
        child_qty = event.data.get("child_qty")
        if child_qty is not None and event.data.get("outcome") == "accepted":
            order.request = replace(order.request, qty=int(child_qty))  # a reduction
    elif event.kind == "order_state":
        order.states[event.order_id] = str(event.data.get("state", ""))


def _transition(execution: JournaledExecution, event: EventRow) -> None:
    d = event.data
    execution.path.append((d["source"], d["event"], d["target"]))


def _fill(execution: JournaledExecution, event: EventRow) -> None:
    execution.fills.append(JournaledFill(event.child_id, fill_of(event),
                                         int(event.data["counted"]),
                                         bool(event.data.get("liquidation"))))


def _other(execution: JournaledExecution, event: EventRow) -> None:
    if event.kind == "alert":
        execution.alerts.append(dict(event.data))
    elif event.kind == "result":
        execution.result = dict(event.data)
    elif event.kind == "trade":
        execution.traded = True


_APPLY: dict[str, Callable[[JournaledExecution, EventRow], None]] = {
    "transition": _transition, "send": lambda x, e: _send(e, x.orders),
    "plan": lambda x, e: _send(e, x.orders), "fill": _fill,
    "order": _order, "send_failed": _order, "revise": _order, "revised": _order,
    "order_state": _order, "alert": _other, "result": _other, "trade": _other,
}


def replay(row: ExecutionRow, events: list[EventRow]) -> JournaledExecution:
    """An execution rebuilt from its records, in order."""
    try:
        execution = JournaledExecution(row, intent_of(dict(row.intent)))
        for event in events:
            apply = _APPLY.get(event.kind)
            if apply is not None:
                apply(execution, event)
    except (KeyError, ValueError, TypeError, ArithmeticError) as err:
        raise JournalError(f"execution {row.id}: a damaged record in the journal: "
                           f"{type(err).__name__}: {err}") from None
    return execution


def load(store: JournalStore, row: ExecutionRow) -> JournaledExecution:
    return replay(row, store.events(row.id))


def row_of(event: EventRow) -> ExecutionRow:
    """The row of an execution a crashed session never wrote, from the first write-ahead
    record of it (which carries its intent)."""
    d = event.data
    try:
        intent = dict(d["intent"])
        return ExecutionRow(event.execution_id, event.session, str(d["day"]),
                            str(intent["symbol"]), str(intent["side"]), int(intent["qty"]),
                            intent, int(d["created_wall_ns"]))
    except (KeyError, ValueError, TypeError) as err:
        raise JournalError(f"execution {event.execution_id}: a damaged record in the "
                           f"journal: {type(err).__name__}: {err}") from None


def unrecorded(store: JournalStore, session: int | None) -> list[ExecutionRow]:
    return [row_of(event) for event in store.unrecorded(session)]


def unsettled(store: JournalStore, session: int | None = None) -> list[JournaledExecution]:
    """Executions whose result never went out, or went out with unconfirmed orders (those
    of crashed sessions too whose rows were never written; ``session``, the running one,
    aside)."""
    pending = [load(store, row) for row in store.executions(unsettled=True)]
    for row in unrecorded(store, session):
        execution = load(store, row)
        execution.unrecorded = True
        pending.append(execution)
    return pending


@dataclass(frozen=True, slots=True)
class DayState:
    trades: Counter[date]
    positions: Counter[str]


def day_state(store: JournalStore, day: date) -> DayState:
    """The trades counted on KRX trading day ``day`` (GR062) and the signed position per
    symbol from that day's fills (liquidations subtract)."""
    trades: Counter[date] = Counter()
    positions: Counter[str] = Counter()
    try:
        for execution, event in store.events_of_day(day.isoformat(), ("trade", "fill")):
            if event.kind == "trade":
                trades[date.fromisoformat(str(event.data["day"]))] += 1
                continue
            sign = Side(execution.side).sign * (-1 if event.data.get("liquidation") else 1)
            positions[execution.symbol] += sign * int(event.data["counted"])
    except (KeyError, ValueError) as err:
        raise JournalError(f"journal {store.name}: a damaged trade or fill record: {err}") from None
    return DayState(trades, positions)
