"""The journal that is on: typed records buffered, then written in batches.

Records are appended to an in-memory batch; the batch is written (one transaction) at
the next *write-ahead* record or ``flush_ms`` after its first record, whichever comes
first. The write-ahead records: a split's plan (every child order, with its client order
id, as it will be sent: one write however many children), a send that differs from its
plan (a retry, a re-priced slice, the escape's liquidation), a revise. So the path from
an intent to its first order pays for one commit, and nothing the broker was asked to do
is ever missing from the journal.

That commit carries only what recovery needs: the orders, and the intent (in the first
order's record while the execution's row is not written yet). Transitions and the row
follow with the next write nothing waits on; ``journal show`` orders records by time.

A failed write is sticky: from then on no new execution is accepted and no order is sent
(cancels still go out); the error says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from execution.codes import Alert
from execution.contracts import (
    Amendment,
    ChildOrder,
    ExecutionIntent,
    ExecutionResult,
    FillEvent,
    OrderRequest,
)
from execution.journal.api import JournalError, JournalIdTaken
from execution.journal.rows import Batch, ExecutionRow, JournalStore, PendingEvent

log = logging.getLogger("execution.journal")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def intent_json(intent: ExecutionIntent) -> dict[str, Any]:
    return {"symbol": intent.symbol, "side": intent.side.value, "qty": intent.qty,
            "limit_price": _money(intent.limit_price), "urgency": intent.urgency.value,
            "strategy": intent.strategy.value, "client_intent_id": intent.client_intent_id}


def _order_json(child: ChildOrder, request: OrderRequest, attempt: int,
                liquidation: bool) -> dict[str, Any]:
    return {"client_order_id": request.client_order_id, "sequence": child.sequence,
            "symbol": request.symbol, "side": request.side.value, "qty": request.qty,
            "price": _money(request.price), "price_type": request.price_type.value,
            "display_qty": request.display_qty, "attempt": attempt, "liquidation": liquidation}


def fill_json(fill: FillEvent) -> dict[str, Any]:
    return {"event_id": fill.event_id, "symbol": fill.symbol, "side": fill.side.value,
            "qty": fill.filled_qty, "price": str(fill.price), "cumulative": fill.cumulative_qty,
            "remaining": fill.remaining_qty, "fee": str(fill.fee), "ts_ns": fill.ts_ns}


class DurableJournal:
    """A :class:`~execution.journal.api.Journal` over a :class:`JournalStore`."""

    enabled = True

    def __init__(self, store: JournalStore, *, flush_ms: float = 5.0,
                 info: Mapping[str, Any] | None = None) -> None:
        self.store = store
        self.flush_s = flush_ms / 1000
        session_info = {"pid": os.getpid(), "host": socket.gethostname(), **(info or {})}
        self.session = store.begin_session(session_info, time.time_ns())
        self._batch = Batch()
        self._deferred: list[PendingEvent] = []  # transitions: not needed ahead of an order
        self._rows: dict[str, tuple[ExecutionIntent, date, int]] = {}  # intents not written
        self._claimed: set[str] = set()
        self._clock: Callable[[], int] = lambda: 0
        self._timer: asyncio.TimerHandle | None = None
        self._plans: dict[str, OrderRequest] = {}  # journaled ahead, by client order id
        self._plan_counts: dict[str, int] = {}  # children planned, per execution
        self.failure: JournalError | None = None
        self._dropped = 0
        self.writes = 0

    def attach(self, exchange_clock: Callable[[], int]) -> None:
        self._clock = exchange_clock

    # -- buffering ------------------------------------------------------------------------
    def _add(self, execution_id: str, kind: str, data: Mapping[str, Any], child_id: str = "",
             order_id: str = "") -> None:
        if self.failure is not None:
            self._dropped += 1
            return
        self._batch.events.append((self.session, time.time_ns(), self._clock(), execution_id,
                                   kind, child_id, order_id, data))
        if self._timer is None:
            self._schedule()

    def _defer(self, execution_id: str, kind: str, data: Mapping[str, Any]) -> None:
        """A record recovery does not need ahead of an order (a transition): written with
        the next batch that nothing waits on, in its order among its kind."""
        if self.failure is None:
            self._deferred.append((self.session, time.time_ns(), self._clock(), execution_id,
                                   kind, "", "", data))
            if self._timer is None:
                self._schedule()

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script, a test): write at once
            self._flush_quietly()
            return
        self._timer = loop.call_later(self.flush_s, self._flush_quietly)

    def _flush_quietly(self) -> None:
        """A flush nothing waits on (everything, the deferred records too): a failure is
        logged, kept, and raised by the next write-ahead record."""
        with contextlib.suppress(JournalError):
            self.flush()

    def flush(self, *, ahead: bool = False) -> None:
        """Write what is buffered now; JournalError (sticky) when it cannot be written.
        ``ahead`` (a write-ahead record waits): the deferred records stay buffered."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.failure is not None:
            raise self.failure
        if not ahead:
            if self._rows:
                self._batch.executions[:0] = [self._row(eid) for eid in self._rows]
                self._rows.clear()
            if self._deferred:
                self._batch.events[:0] = self._deferred  # (older than the write-ahead ones)
                self._deferred = []
        if not self._batch:
            if self._deferred or self._rows:
                self._schedule()
            return
        batch, self._batch = self._batch, Batch()
        try:
            self.store.write(batch)
        except JournalError as err:
            self.failure = err
            log.error("%s: nothing more is sent until the journal can be written", err)
            raise
        self.writes += 1
        if self._deferred or self._rows:
            self._schedule()

    def close(self) -> None:
        try:
            self.flush()
            self.store.end_session(self.session, time.time_ns())
        finally:
            self.store.close()

    def _row(self, execution_id: str) -> ExecutionRow:
        intent, day, created = self._rows[execution_id]
        return ExecutionRow(execution_id, self.session, day.isoformat(), intent.symbol,
                            intent.side.value, intent.qty, intent_json(intent), created)

    def _origin(self, execution_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """A write-ahead record of an execution whose row is not written yet carries its
        intent (recovery rebuilds the row from it: see JournalStore.unrecorded)."""
        pending = self._rows.get(execution_id)
        if pending is not None:
            intent, day, created = pending
            data["intent"] = intent_json(intent)
            data["day"] = day.isoformat()
            data["created_wall_ns"] = created
        return data

    def adopt(self, row: ExecutionRow) -> None:
        """Recovery: the row of an execution a crashed session never wrote."""
        self._batch.executions.append(row)

    # -- executions -----------------------------------------------------------------------
    def intent(self, execution_id: str, intent: ExecutionIntent, day: date, *,
               generated: bool = False) -> None:
        if self.failure is not None:
            raise self.failure
        if execution_id in self._claimed or (not generated
                                             and self.store.has_execution(execution_id)):
            raise JournalIdTaken(f"execution id {execution_id!r} is already in the journal "
                                 f"{self.store.name}")
        self._claimed.add(execution_id)
        # The intent's record is its row, written by the next flush nothing waits on (not
        # ahead of the first order: that record carries the intent instead, see _origin).
        self._rows[execution_id] = (intent, day, time.time_ns())
        if self._timer is None:
            self._schedule()

    def transition(self, execution_id: str, source: str, event: str, target: str,
                   guard: str) -> None:
        self._defer(execution_id, "transition",
                    {"source": source, "event": event, "target": target, "guard": guard})

    def result(self, execution_id: str, final_state: str, summary: Mapping[str, object], *,
               settled: bool) -> None:
        """Written at once (the execution's records with it): the next execution's first
        order then pays for its own records only."""
        if self.failure is None:
            self._batch.finished.append((execution_id, final_state, time.time_ns(), settled))
        self._add(execution_id, "result", {"final_state": final_state, **summary})
        if self._plan_counts.pop(execution_id, None):  # children never sent
            prefix = f"{execution_id}-"  # (client order ids: the execution's id, a number)
            for client_order_id in [c for c in self._plans if c.startswith(prefix)]:
                del self._plans[client_order_id]
        self._flush_quietly()  # the next execution's first write then carries its own only

    def settled(self, execution_id: str) -> None:
        if self.failure is None:
            self._batch.settled.append(execution_id)
        self._add(execution_id, "settled", {})

    def amendment(self, execution_id: str, amendment: Amendment) -> None:
        self._add(execution_id, "amendment", {
            "version": amendment.version, "fill": amendment.fill.event_id,
            "filled_qty": amendment.filled_qty, "avg_price": _money(amendment.avg_price)},
            order_id=amendment.fill.order_id)

    def alert(self, execution_id: str, alert: Alert) -> None:
        self._add(execution_id, "alert", {"code": alert.code.name, "message": alert.message,
                                          "details": dict(alert.details)})

    def trade(self, execution_id: str, day: date) -> None:
        self._add(execution_id, "trade", {"day": day.isoformat()})

    def note(self, execution_id: str, kind: str, data: Mapping[str, object]) -> None:
        self._add(execution_id, kind, dict(data))

    # -- orders ---------------------------------------------------------------------------
    def planned(self, execution_id: str, intent: ExecutionIntent,
                children: Sequence[ChildOrder]) -> None:
        """The child orders a split produced, each journaled as it will be sent, in one
        write (however many there are): the first send of each then needs no write of its
        own (see :meth:`sending`)."""
        start = self._plan_counts.get(execution_id, 0)
        if self.failure is not None or len(children) <= start:
            return
        for n, child in enumerate(children[start:]):
            request = OrderRequest(child.client_order_id, intent.symbol, intent.side,
                                   child.qty, child.price, child.price_type, child.display_qty)
            data = _order_json(child, request, 0, False)
            self._add(execution_id, "plan", self._origin(execution_id, data) if n == 0 else data,
                      child.id)
            self._plans[request.client_order_id] = request
        self._plan_counts[execution_id] = len(children)
        with contextlib.suppress(JournalError):  # (a failure stops the sends: see sending)
            self.flush(ahead=True)

    def sending(self, execution_id: str, child: ChildOrder, request: OrderRequest, *,
                attempt: int, liquidation: bool = False) -> None:
        if self.failure is not None:
            raise self.failure
        if attempt == 1 and self._plans.pop(request.client_order_id, None) == request:
            return  # journaled, as planned, and durable since
        self._add(execution_id, "send", self._origin(
            execution_id, _order_json(child, request, attempt, liquidation)), child.id)
        self.flush(ahead=True)

    def order_id(self, execution_id: str, child: ChildOrder, order_id: str, how: str) -> None:
        self._add(execution_id, "order", {"how": how, "client_order_id": child.client_order_id},
                  child.id, order_id)

    def send_failed(self, execution_id: str, child: ChildOrder, outcome: str,
                    detail: str) -> None:
        self._add(execution_id, "send_failed", {"outcome": outcome, "detail": detail},
                  child.id)

    def revising(self, execution_id: str, child: ChildOrder, order_id: str,
                 price: Decimal | None, qty: int | None = None) -> None:
        if self.failure is not None:
            raise self.failure
        data: dict[str, Any] = {"price": _money(price)}
        if qty is not None:  # a reduction: the order's new total
            data["qty"] = qty
        self._add(execution_id, "revise", data, child.id, order_id)
        self.flush(ahead=True)

    def revised(self, execution_id: str, child: ChildOrder, order_id: str, new_id: str,
                price: Decimal | None, outcome: str, qty: int | None = None) -> None:
        data: dict[str, Any] = {"new_id": new_id, "price": _money(price), "outcome": outcome}
        if qty is not None:  # a reduction: recovery rebuilds the child at its new quantity
            data["qty"], data["child_qty"] = qty, child.qty
        self._add(execution_id, "revised", data, child.id, order_id)

    def cancelling(self, execution_id: str, child: ChildOrder, order_id: str) -> None:
        self._add(execution_id, "cancel", {}, child.id, order_id)  # buffered: a cancel
        # goes out even when it cannot be recorded (it only lowers the risk), and recovery
        # asks the broker about every order of an unfinished execution anyway

    def order_state(self, execution_id: str, child: ChildOrder, order_id: str, state: str,
                    broker_filled: int) -> None:
        self._add(execution_id, "order_state", {"state": state, "broker_filled": broker_filled},
                  child.id, order_id)

    def fill(self, execution_id: str, child: ChildOrder, fill: FillEvent, counted: int, *,
             liquidation: bool = False) -> None:
        data = fill_json(fill)
        data["counted"] = counted
        data["liquidation"] = liquidation
        self._add(execution_id, "fill", data, child.id, fill.order_id)


def result_summary(result: ExecutionResult) -> dict[str, Any]:
    """What the journal keeps of a result (the full trace stays in the transitions)."""
    return {"filled_qty": result.filled_qty, "avg_price": _money(result.avg_price),
            "arrival_price": _money(result.arrival_price), "fees": str(result.fees),
            "liquidated_qty": result.liquidated_qty, "qty": result.qty,
            "reason": result.reason, "codes": result.codes(),
            "unconfirmed": list(result.unconfirmed), "adjust_rounds": result.adjust_rounds,
            "path": [step.state for step in result.path],
            "children": [child.to_json() for child in result.children]}
