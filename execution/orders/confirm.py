"""Asking the broker: an order's status and fill totals decide, never our assumptions.

"Cancel returned False", "the order vanished from the open orders", "the ack never
came": each means :func:`confirm` — query the order (or look the send up by its client
order id), book whatever the broker filled that we have not counted, and take the
status the broker reports.
"""

from __future__ import annotations

import logging

from execution.broker import Broker, OrderState, OrderStatus
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, OrderRequest
from execution.orders.fills import book_fill, count, register, synthesize
from execution.orders.status import move, working

log = logging.getLogger("execution.orders")

_TERMINAL = {OrderState.FILLED: ChildStatus.FILLED, OrderState.CANCELLED: ChildStatus.CANCELLED,
             OrderState.EXPIRED: ChildStatus.EXPIRED, OrderState.REJECTED: ChildStatus.REJECTED}


def request_of(ctx: ExecutionContext, child: ChildOrder) -> OrderRequest:
    side = ctx.intent.side.opposite if child is ctx.liquidation else ctx.intent.side
    return OrderRequest(child.client_order_id, ctx.intent.symbol, side, child.qty,
                        child.price, child.price_type, child.display_qty)


async def reconnect(broker: Broker) -> bool:
    """One reconnect attempt that never raises (a failing connect is logged)."""
    try:
        return await broker.connect()
    except Exception as exc:
        log.warning("reconnect failed: %r", exc)
        return False


def apply_status(ctx: ExecutionContext, child: ChildOrder, status: OrderStatus) -> None:
    """Book what the broker filled on ``status``'s order and we missed; take its state."""
    book = ctx.liquidation_fills if child is ctx.liquidation else ctx.fills
    for fill in status.fills:
        book_fill(ctx, child, fill)
    missing = book.missing(status.broker_order_id, status.filled_qty)
    if missing > 0:
        log.warning("%s: the broker filled %d more on %s than we counted; booking them",
                    child.id, missing, status.broker_order_id)
        count(ctx, child, synthesize(ctx, child, status.broker_order_id, missing,
                                     status.filled_qty, status.avg_price))
    book.confirm(status.broker_order_id, status.filled_qty)
    if status.state.is_terminal:
        ctx.services.journal.order_state(ctx.id, child, status.broker_order_id,
                                         status.state.value, status.filled_qty)
    if status.broker_order_id != child.broker_order_id:
        return  # an earlier order of a revise chain: its fills are all that matters
    if status.state is OrderState.LIVE:
        if not child.status.is_live:
            move(child, working(child), f"broker: {status.broker_order_id} live")
    elif status.state is not OrderState.REPLACED:
        end = ChildStatus.FILLED if child.remaining <= 0 else _TERMINAL[status.state]
        move(child, end, f"broker: {status.broker_order_id} {status.state.value}")


async def confirm(ctx: ExecutionContext, child: ChildOrder) -> bool:
    """Ask the broker about every order of ``child`` not known to be over (following a
    revise's new id), book missed fills, take the broker's status. True when the child is
    confirmed terminal. Broker errors propagate to the caller (who retries)."""
    broker = ctx.services.broker
    if not child.order_ids:
        found = await broker.find_order(request_of(ctx, child))
        if found is None:
            # Only once no send is in flight: one still on its way may yet be placed.
            if child.status is ChildStatus.UNKNOWN:
                move(child, ChildStatus.CANCELLED, "the broker never placed it")
                child.reject_reason = "never placed (confirmed by the broker)"
                ctx.services.journal.send_failed(ctx.id, child, "never_placed",
                                                 child.reject_reason)
            return child.status.is_terminal
        register(ctx, child, found.broker_order_id, "found")
    done = ctx.closed_orders
    for order_id in list(child.order_ids):
        if order_id in done:
            continue
        status = await broker.order_status(order_id)
        apply_status(ctx, child, status)
        replaced_by = status.replaced_by if status.state is OrderState.REPLACED else ""
        if replaced_by and replaced_by not in child.order_ids:
            register(ctx, child, replaced_by, "replaced")
            return await confirm(ctx, child)
        if status.state.is_terminal:
            done.add(order_id)
    return child.status.is_terminal
