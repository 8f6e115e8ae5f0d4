"""Recovery after a crash: every execution the journal shows unfinished is brought to an
end against the broker's truth.

For each one (policy ``escape``): its orders are asked about by the ids the journal holds
(a send whose answer was never journaled is looked up by its client order id, or its
details, once it can no longer be in flight); fills the broker reports that the journal
lacks are counted, exactly once; whatever still works is cancelled until the broker
confirms it; the fills stay, and the position goes to the position listeners. Then the
execution is final in the journal. Orders at the broker that the journal does not know
are reported and never touched. Run twice, the second run finds nothing to do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date

from execution.broker import (
    BrokerDisconnected,
    BrokerError,
    ListsOrders,
    OrderState,
    OrderStatus,
    RestoresOrders,
    UnknownOrder,
)
from execution.codes import Code
from execution.context import ExecutionContext, Services
from execution.contracts import ChildOrder, ChildStatus
from execution.journal.reading import JournaledExecution, unsettled
from execution.journal.recorder import DurableJournal
from execution.orders.cancelling import cancel_child
from execution.orders.confirm import confirm, reconnect
from execution.orders.positions import hand_off, position_of
from execution.recovery.rebuild import RECOVERY_REASON, known_orders, orders_of, rebuild
from execution.recovery.report import RecoveredExecution, RecoveryReport
from statecharts.spec import ChartSpec

log = logging.getLogger("execution.recovery")
POLICIES = ("escape", "resume")
RESUME_REFUSED = (
    "--policy resume is not available: continuing an execution needs its chart restarted "
    "in a working state with its stage timers, adjust schedule and fill window, which were "
    "measured against a market that has moved on since the crash; recover with --policy "
    "escape (cancel what works, keep the fills) and submit what remains as a new intent")


class RecoveryRefused(ValueError):
    """A recovery that cannot be run as asked (the policy, no journal)."""


def escape_route(spec: ChartSpec) -> tuple[str, str, str, str]:
    """(escape event, escape target, its closing event, the final state it leads to): the
    chart's own way out, so that a recovered execution ends as an escaped one does."""
    target = spec.escape_target
    for transition in spec.transitions:
        if transition.source == target and transition.target in spec.final_states:
            return spec.escape_event, target, transition.event, transition.target
    fallback = spec.error_route(target)
    if fallback is None or fallback not in spec.final_states:
        raise RecoveryRefused(f"chart {spec.id}: the escape target {target} leads to no "
                              "final state")
    return spec.escape_event, target, "error.execution", fallback


@dataclass(slots=True)
class _Case:
    """One unfinished execution being recovered, with what the journal had counted."""

    journaled: JournaledExecution
    ctx: ExecutionContext
    fills: dict[str, int]  # fill events per book ("fills", "liquidation")
    filled: dict[str, int] = field(default_factory=dict)  # shares per child

    def __post_init__(self) -> None:
        self.filled = {c.id: c.filled_qty for c in orders_of(self.ctx)}


def _counts(ctx: ExecutionContext) -> dict[str, int]:
    return {"fills": len(ctx.fills.fills), "liquidation": len(ctx.liquidation_fills.fills)}


class Recovery:
    def __init__(self, services: Services, journal: DurableJournal, spec: ChartSpec, *,
                 in_doubt_wait_s: float, order_timeout_s: float) -> None:
        self.services, self.journal, self.spec = services, journal, spec
        self.in_doubt_wait_s, self.order_timeout_s = in_doubt_wait_s, order_timeout_s
        self.report = RecoveryReport("escape", journal.store.name)

    async def run(self) -> RecoveryReport:
        pending = unsettled(self.journal.store, self.journal.session)
        today = self.services.sessions.trading_day(self.services.now_ns())
        cases = []  # each indexed by its orders' ids before the broker is asked anything
        for journaled in pending:
            if journaled.unrecorded:  # its row, as its first record told it
                self.journal.adopt(journaled.row)
            ctx = rebuild(self.services, journaled)
            cases.append(_Case(journaled, ctx, _counts(ctx)))
        current = [j for j in pending if j.row.day == today.isoformat()]
        if current:
            await self._restore(current)
        for case in cases:
            await self._one(case, today)
        self.journal.flush()
        self.journal.store.end_crashed(self.journal.session, time.time_ns())
        self.report.unknown_orders = await self._unknown_orders(today)
        return self.report

    async def _restore(self, pending: list[JournaledExecution]) -> None:
        broker = self.services.broker
        if isinstance(broker, RestoresOrders):
            await broker.restore_orders([k for j in pending for k in known_orders(j)])

    # -- one execution --------------------------------------------------------------------
    async def _one(self, case: _Case, today: date) -> None:
        journaled, ctx = case.journaled, case.ctx
        out = RecoveredExecution(journaled.id, None, ctx.fills.filled_qty, None)
        self.report.executions.append(out)
        if journaled.row.day != today.isoformat():
            self._previous_day(ctx, journaled.row.day, out)
        else:
            await self._wait_for_sends_in_flight(journaled)
            unconfirmed = await self._settle_orders(case, out)
            out.broker_filled_qty = _broker_filled(ctx)
            if unconfirmed:
                self._unconfirmed(ctx, out, unconfirmed)
                return
        self.report.fills_added += sum(_counts(ctx).values()) - sum(case.fills.values())
        self._finish(ctx, journaled, out)

    async def _wait_for_sends_in_flight(self, journaled: JournaledExecution) -> None:
        """A send whose answer was never journaled may still reach the broker for a moment
        after the crash: wait until it cannot, before taking "not found" for "not placed"."""
        sent = [o.sent_wall_ns for o in journaled.orders.values() if o.in_doubt]
        if sent:
            wait_s = (max(sent) - time.time_ns()) / 1e9 + self.in_doubt_wait_s
            if wait_s > 0:
                log.info("%s: a send in doubt: waiting %.1f s before asking", journaled.id,
                         wait_s)
                await asyncio.sleep(wait_s)

    async def _settle_orders(self, case: _Case, out: RecoveredExecution) -> list[ChildOrder]:
        """Ask about every order, book what was missed, cancel what works; the orders the
        broker would not confirm over."""
        ctx = case.ctx
        loop = asyncio.get_running_loop()
        unconfirmed = []
        for child in orders_of(ctx):
            if child.status is ChildStatus.REJECTED:
                continue
            deadline = loop.time() + self.order_timeout_s  # (each order its own time)
            ids_before = list(case.journaled.orders[child.id].order_ids)
            filled_before = case.filled.get(child.id, 0)
            await self._ask(ctx, child, deadline, out)
            live = child.status.is_live
            if not child.status.is_terminal and not await cancel_child(ctx, child, deadline):
                unconfirmed.append(child)
            cancelled = live and child.status.is_terminal
            self._describe(ctx, child, ids_before, filled_before, cancelled, out)
            if cancelled:
                self.report.orphans_cancelled.append(child.broker_order_id)
        return unconfirmed

    async def _ask(self, ctx: ExecutionContext, child: ChildOrder, deadline: float,
                   out: RecoveredExecution) -> None:
        """:func:`confirm` until the broker answers (reconnecting), or the deadline."""
        loop, broker = asyncio.get_running_loop(), self.services.broker
        backoff = max(ctx.limits.retry_backoff_ms / 1000, 0.001)
        while True:
            try:
                async with asyncio.timeout_at(max(deadline, loop.time())):
                    await confirm(ctx, child)
                return
            except BrokerDisconnected:
                await reconnect(broker)
                error = "disconnected"
            except BrokerError as err:
                error = str(err)
            except TimeoutError:
                error = "no answer"
            if loop.time() + backoff > deadline:
                out.act("ask_failed", child=child.id, error=error)
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def _describe(self, ctx: ExecutionContext, child: ChildOrder, ids_before: list[str],
                  filled_before: int, cancelled: bool, out: RecoveredExecution) -> None:
        for order_id in child.order_ids:
            if order_id not in ids_before:
                how = "found" if not ids_before else "revise_found"
                out.act(how, child=child.id, order=order_id)
        if not child.order_ids and child.status is ChildStatus.CANCELLED:
            out.act("never_placed", child=child.id, client_order_id=child.client_order_id)
        added = child.filled_qty - filled_before
        if added:
            out.act("fills_added", child=child.id, qty=added)
        if cancelled:
            out.act("cancelled", child=child.id, order=child.broker_order_id,
                    state=child.status.value)
        elif child.order_ids and child.status.is_terminal:
            out.act("confirmed", child=child.id, order=child.broker_order_id,
                    state=child.status.value)

    def _previous_day(self, ctx: ExecutionContext, day: str, out: RecoveredExecution) -> None:
        """KRX orders live for one trading day: an execution from an earlier day has no
        order working any more, and brokers answer for today's orders only."""
        out.act("previous_day", day=day,
                note="its orders ended at that day's close; fills after the crash unverified")
        for child in orders_of(ctx):
            if not child.status.is_terminal:
                child.status = ChildStatus.EXPIRED

    def _unconfirmed(self, ctx: ExecutionContext, out: RecoveredExecution,
                     children: list[ChildOrder]) -> None:
        for child in children:
            order = child.broker_order_id or child.client_order_id
            self.report.unconfirmed.append({"execution": ctx.id, "child": child.id,
                                            "order": order})
            out.act("unconfirmed", child=child.id, order=order)
        ctx.alert(Code.FS096, orders=",".join(c.broker_order_id or c.client_order_id
                                               for c in children), filled=ctx.fills.filled_qty)
        self.services.index.forget(ctx)

    def _finish(self, ctx: ExecutionContext, journaled: JournaledExecution,
                out: RecoveredExecution) -> None:
        journal, services = self.journal, self.services
        placed = any(c.order_ids for c in orders_of(ctx) if c is not ctx.liquidation)
        if placed and not journaled.traded:  # its trade record was lost in the crash
            day = date.fromisoformat(journaled.row.day)
            services.ledger.count_trade(day, ctx.id)
            journal.trade(ctx.id, day)
        final = journaled.last_state
        if final not in self.spec.final_states:
            event, target, closing, final = escape_route(self.spec)
            journal.transition(ctx.id, journaled.last_state, event, target, "")
            journal.transition(ctx.id, target, closing, final, "")
            ctx.alert(Code.FS092, reason=RECOVERY_REASON, filled=ctx.fills.filled_qty,
                      liquidated=ctx.liquidated_qty)
        out.final_state, out.filled_qty = final, ctx.fills.filled_qty
        out.liquidated_qty = ctx.liquidated_qty
        position = position_of(ctx)
        if position is not None:
            out.act("position", symbol=position.symbol, side=position.side.value,
                    qty=position.qty, avg_price=str(round(position.avg_price, 2)))
        avg = ctx.fills.avg_price
        journal.result(ctx.id, final, {
            "filled_qty": ctx.fills.filled_qty, "liquidated_qty": ctx.liquidated_qty,
            "avg_price": None if avg is None else str(avg), "fees": str(ctx.fills.fees),
            "broker_filled_qty": out.broker_filled_qty, "reason": RECOVERY_REASON,
            "recovered": True, "actions": out.actions,
            "children": [c.to_json() for c in orders_of(ctx)]}, settled=True)
        for exc in hand_off(ctx):
            out.act("listener_failed", error=repr(exc))
        services.index.forget(ctx)

    # -- the broker's other orders --------------------------------------------------------
    async def _unknown_orders(self, today: date) -> list[OrderStatus]:
        """Working orders at the broker that no record of the journal names (KRX orders
        live for a day: today's executions' orders are the ones to compare with)."""
        known = {e.order_id for _, e in self.journal.store.events_of_day(today.isoformat(),
                                                                         ("order",))}
        try:
            working = await _working_orders(self.services)
        except BrokerError as err:
            log.error("cannot list the broker's orders: %s", err)
            return []
        return [s for s in working if s.broker_order_id not in known]


async def _working_orders(services: Services) -> list[OrderStatus]:
    broker = services.broker
    if isinstance(broker, ListsOrders):
        return await broker.working_orders()
    statuses = []
    for order_id in await broker.open_orders():
        try:
            status = await broker.order_status(order_id)
        except UnknownOrder:
            continue
        if status.state is OrderState.LIVE:
            statuses.append(status)
    return statuses


def _broker_filled(ctx: ExecutionContext) -> int | None:
    """The broker's own total over the execution's orders (the liquidation aside), from
    the answers recovery just got; None when an order was not answered for."""
    total = 0
    for child in ctx.children:
        for order_id in child.order_ids:
            count = ctx.fills.per_order.get(order_id)
            if count is None or order_id not in ctx.closed_orders:
                return None
            total += count.confirmed
    return total


async def recover(services: Services, journal: DurableJournal, spec: ChartSpec, *,
                  policy: str = "escape", in_doubt_wait_s: float = 5.0,
                  order_timeout_s: float | None = None) -> RecoveryReport:
    """Recover every unfinished execution of ``journal`` (see the module docstring).
    ``order_timeout_s``: how long each order may take to be confirmed over (default: the
    cancel-confirm limit, at least 10 s: recovery is no race, and a broker may be slow)."""
    if policy == "resume":
        raise RecoveryRefused(RESUME_REFUSED)
    if policy not in POLICIES:
        raise RecoveryRefused(f"unknown policy {policy!r} (escape or resume)")
    if order_timeout_s is None:
        order_timeout_s = max(services.limits.cancel_confirm_timeout_ms / 1000, 10.0)
    return await Recovery(services, journal, spec, in_doubt_wait_s=in_doubt_wait_s,
                          order_timeout_s=order_timeout_s).run()
