"""Cancelling child orders until the broker confirms, and the escape's liquidation.

A cancel's answer is a hint: True, False, an error or no answer at all, the order is
then asked about (:func:`~execution.orders.confirm.confirm`) and the cancel retried with
backoff (reconnecting) until the broker reports it terminal or the deadline passes. An
order still not confirmed then is UNKNOWN: listed as unconfirmed, never assumed done.
"""

from __future__ import annotations

import asyncio
import logging

from execution.broker import BrokerDisconnected, BrokerError, UnknownOrder
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, PriceType
from execution.journal.api import JournalError
from execution.orders.confirm import confirm, reconnect, request_of
from execution.orders.fills import register
from execution.orders.status import move, settle_pending, working

log = logging.getLogger("execution.orders")
MAX_BACKOFF_S = 1.0


async def cancel_child(ctx: ExecutionContext, child: ChildOrder, deadline: float) -> bool:
    """Cancel ``child`` and confirm it with the broker; ``deadline`` is in loop time.
    True when the broker confirms the child terminal (filled, cancelled with its filled
    quantity known, rejected, expired, or never placed)."""
    loop = asyncio.get_running_loop()
    broker = ctx.services.broker
    backoff = max(ctx.limits.retry_backoff_ms / 1000, 0.001)
    if child.status is ChildStatus.PENDING:
        move(child, ChildStatus.CANCELLED, "never sent")
        child.reject_reason = f"cancelled before sending: {ctx.escape_reason or 'ended'}"
        return True
    while not child.status.is_terminal:
        try:  # a broker that never answers must not hold settlement past its deadline
            async with asyncio.timeout_at(max(deadline, loop.time())):
                if child.status.is_live:
                    await _cancel_once(ctx, child)
                if await confirm(ctx, child):  # (a send in flight: is it placed yet?)
                    return True
        except BrokerDisconnected:
            log.warning("%s: disconnected while cancelling; reconnecting", child.id)
            await reconnect(broker)
        except BrokerError as err:
            log.warning("%s: cancel or status query failed: %s", child.id, err)
        except TimeoutError:
            log.warning("%s: the broker did not answer before the deadline", child.id)
        settle_pending(child, ChildStatus.PENDING_CANCEL, "cancel not confirmed yet")
        if loop.time() + backoff > deadline:
            if not child.status.is_terminal and child.status is not ChildStatus.PENDING_SUBMIT:
                move(child, ChildStatus.UNKNOWN, "cancel not confirmed before the deadline")
            return child.status.is_terminal
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)
    return True


async def _cancel_once(ctx: ExecutionContext, child: ChildOrder) -> None:
    move(child, ChildStatus.PENDING_CANCEL, "cancel")
    ctx.services.journal.cancelling(ctx.id, child, child.broker_order_id)
    try:
        answered = await ctx.services.broker.cancel(child.broker_order_id)
    except UnknownOrder:
        answered = False
    if not answered:
        log.info("%s: cancel of %s answered False; asking the broker", child.id,
                 child.broker_order_id)


async def liquidate(ctx: ExecutionContext, deadline: float) -> int:
    """Flatten what was filled (and not yet liquidated) with one market order, when the
    limits say so. Returns the quantity sent."""
    qty = ctx.fills.filled_qty - ctx.liquidated_qty
    if not ctx.limits.liquidate_on_escape or qty <= 0 or ctx.liquidation is not None:
        return 0
    order = ChildOrder(id=f"{ctx.id}-L", parent_id=ctx.id, sequence=0, qty=qty, price=None,
                       price_type=PriceType.MARKET, scheduled_ns=ctx.services.now_ns(),
                       max_wait_ns=0, client_order_id=f"{ctx.id}-L")
    ctx.liquidation = order
    move(order, ChildStatus.PENDING_SUBMIT, "liquidation")
    request, journal = request_of(ctx, order), ctx.services.journal
    try:  # write-ahead, as every send
        journal.sending(ctx.id, order, request, attempt=1, liquidation=True)
    except JournalError as err:
        move(order, ChildStatus.REJECTED, f"not sent: {err}")
        order.reject_reason = f"not sent: {err}"
        raise
    try:
        ack = await ctx.services.broker.send(request)
    except BrokerError as err:
        journal.send_failed(ctx.id, order, "unanswered", str(err))
        ctx.alert(Code.FS092, liquidation="failed", error=err)
        move(order, ChildStatus.UNKNOWN, f"liquidation send failed: {err}")
        await _resolve_liquidation(ctx, order, deadline)
        return qty if order.order_ids else 0
    if not ack.accepted:
        journal.send_failed(ctx.id, order, "rejected", ack.reason)
        move(order, ChildStatus.REJECTED, ack.reason)
        return 0
    register(ctx, order, ack.broker_order_id, "ack")
    move(order, working(order), "liquidation accepted")
    await _resolve_liquidation(ctx, order, deadline)
    return qty


async def _resolve_liquidation(ctx: ExecutionContext, order: ChildOrder, deadline: float) -> None:
    """A market order fills (or its rest is cancelled) at once: ask until the broker says
    it is over, so the position handed off is the broker's; cancel what still works at the
    deadline."""
    loop = asyncio.get_running_loop()
    backoff = max(ctx.limits.retry_backoff_ms / 1000, 0.001)
    while loop.time() + backoff <= deadline:
        try:
            if await confirm(ctx, order):
                return
        except BrokerError as err:
            log.warning("%s: liquidation status unknown: %s", ctx.id, err)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF_S)
    await cancel_child(ctx, order, deadline)
