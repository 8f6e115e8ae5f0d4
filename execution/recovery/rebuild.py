"""An unfinished execution from the journal, rebuilt as a context the order operations
can work on: its orders with their client and broker ids, and its fills counted again
into fresh fill books (so a fill the broker reports that the journal has is a repeat)."""

from __future__ import annotations

from decimal import Decimal

from execution.broker import KnownOrder
from execution.context import ExecutionContext, Services
from execution.contracts import ChildOrder, ChildStatus
from execution.journal.reading import JournaledExecution, JournaledOrder
from execution.orders.status import working

RECOVERY_REASON = "recovery after a restart"


def _child(execution_id: str, order: JournaledOrder) -> ChildOrder:
    request = order.request
    child = ChildOrder(id=order.child_id, parent_id=execution_id, sequence=order.sequence,
                       qty=request.qty, price=request.price, price_type=request.price_type,
                       scheduled_ns=0, max_wait_ns=0,
                       client_order_id=request.client_order_id,
                       display_qty=request.display_qty, original_price=request.price)
    child.order_ids = list(order.order_ids)
    if order.rejected:
        child.status, child.reject_reason = ChildStatus.REJECTED, order.rejected
    elif order.in_doubt:
        child.status = ChildStatus.UNKNOWN  # only the broker can say whether it was placed
    else:
        child.status = ChildStatus.ACCEPTED
    return child


def rebuild(services: Services, journaled: JournaledExecution) -> ExecutionContext:
    """The execution's context: not bound to a chart run, escaping (nothing new is sent)."""
    ctx = ExecutionContext(journaled.id, journaled.intent, services)
    ctx.qty = journaled.intent.qty
    ctx.escaping, ctx.escape_reason = True, RECOVERY_REASON
    ctx.counted_trade = journaled.traded
    children: dict[str, ChildOrder] = {}
    for order in sorted(journaled.orders.values(), key=lambda o: (o.liquidation, o.sequence)):
        child = children[order.child_id] = _child(journaled.id, order)
        if order.liquidation:
            ctx.liquidation = child
        else:
            ctx.children.append(child)
    for entry in journaled.fills:
        owner = children.get(entry.child_id)
        if owner is None:
            continue  # (a fill is journaled only for an order that was sent)
        book = ctx.liquidation_fills if entry.liquidation else ctx.fills
        book.apply(entry.fill, owner)
    ctx.liquidated_qty = ctx.liquidation_fills.filled_qty
    for child in children.values():
        if child.status is ChildStatus.ACCEPTED:
            child.status = working(child)
        for order_id in child.order_ids:
            services.index.add(order_id, ctx, child)
    return ctx


def orders_of(ctx: ExecutionContext) -> list[ChildOrder]:
    return ctx.children + ([ctx.liquidation] if ctx.liquidation is not None else [])


def known_orders(journaled: JournaledExecution) -> list[KnownOrder]:
    """What a broker with an in-memory order registry needs to answer for these orders."""
    counted: dict[str, list[tuple[int, Decimal]]] = {}
    for entry in journaled.fills:
        counted.setdefault(entry.fill.order_id, []).append(
            (entry.counted, entry.fill.price * entry.counted))
    known = []
    for order in journaled.orders.values():
        if order.rejected:
            continue
        per_order = tuple((oid, sum(q for q, _ in counted.get(oid, [])),
                           sum((n for _, n in counted.get(oid, [])), Decimal(0)))
                          for oid in order.order_ids)
        known.append(KnownOrder(order.request, order.sent_exchange_ns,
                                tuple(order.order_ids), per_order))
    return known
