"""Stage 3, AsyncSend: children due now go out concurrently; later ones at their time.

Transient errors are retried with backoff (a disconnect reconnects first);
rejects are not. The client order id is the child id, so a retried send can
never create a second order. Scheduled children (TWAP/VWAP) are released by
timers and iceberg refills when the previous child is done.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from execution.broker import BrokerDisconnected, OrderRejected, RejectReason, TransientBrokerError
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, OrderRequest
from execution.pricing import cap_to_slippage, entry_price
from execution.stages.adjust import price_at_level

log = logging.getLogger("execution.send")
EVENT = "sent"


def send(ctx: ExecutionContext, run: Any) -> None:
    now = ctx.services.now_ns()
    ctx.send_started_ns = now
    ctx.spawn(_send_due(ctx, _due(ctx, now), now, ctx.visit()), "send", inflight=True)


def _due(ctx: ExecutionContext, now: int) -> list[ChildOrder]:
    """Children due now; at least the first one, so an execution never starts idle."""
    due = [c for c in ctx.children if c.scheduled_ns <= now and not c.after_previous]
    if not due and ctx.children:
        due = [min(ctx.children, key=lambda c: (c.scheduled_ns, c.sequence))]
    return due


async def _send_due(ctx: ExecutionContext, due: list[ChildOrder], now: int,
                    visit: int) -> None:
    """Send the due children concurrently, then report ``sent``. This task is in-flight
    (never cancelled): cutting a send off after the broker placed the order would leave
    an order no escape knows about. A late ``sent`` after an escape is simply dropped."""
    if len(due) == 1:
        await send_child(ctx, due[0])
    elif due:
        await asyncio.wait([ctx.spawn(send_child(ctx, child), f"send-{child.sequence}",
                                      inflight=True) for child in due])
    if ctx.balance_short:
        for child in ctx.pending_children():
            child.status = ChildStatus.CANCELLED
            child.reject_reason = "cancelled: insufficient balance"
    if ctx.sent_ok == 0 and not ctx.symbol_unknown:
        ctx.note(Code.FS090, children=len(due), failed=ctx.send_failed)
        for child in ctx.pending_children():
            child.status = ChildStatus.CANCELLED
    elif ctx.sent_ok > 0:
        schedule_later(ctx, now)
    ctx.dispatch(EVENT, visit)


def schedule_later(ctx: ExecutionContext, now: int) -> None:
    """Arm a release timer for every child scheduled after ``now`` (TWAP/VWAP slices)."""
    for child in ctx.pending_children():
        if child.after_previous or child.scheduled_ns <= now:
            continue
        delay_ms = (child.scheduled_ns - now) / 1e6
        ctx.after(delay_ms, functools.partial(release, ctx, child))


def release(ctx: ExecutionContext, child: ChildOrder) -> None:
    """Send a child that was held back, priced from the current book at the parent's
    current adjust level."""
    if ctx.escaping or child.status is not ChildStatus.PENDING or ctx.run is None or ctx.run.done:
        return
    quote = ctx.services.broker.quote(ctx.intent.symbol)
    start = entry_price(ctx.intent.side, ctx.intent.urgency, quote, ctx.intent.limit_price)
    assert ctx.arrival_price is not None
    start = cap_to_slippage(start, ctx.intent.side, ctx.arrival_price,
                            ctx.services.limits.slippage_max_bps)
    child.original_price = start
    child.price = price_at_level(ctx, quote, start, ctx.adjust_rounds)
    ctx.spawn(send_child(ctx, child), f"send-{child.sequence}", inflight=True)


def release_next_iceberg(ctx: ExecutionContext) -> None:
    """Iceberg refill: the first held-back child once every earlier child is done."""
    for child in ctx.children:
        if child.status in (ChildStatus.SENT,):
            return
        if child.status is ChildStatus.PENDING:
            if child.after_previous:
                release(ctx, child)
            return


def _request(ctx: ExecutionContext, child: ChildOrder) -> OrderRequest:
    return OrderRequest(child.client_order_id, ctx.intent.symbol, ctx.intent.side, child.qty,
                        child.price, child.price_type, child.display_qty)


async def send_child(ctx: ExecutionContext, child: ChildOrder) -> bool:
    """Send one child with retries; True when the broker accepted it."""
    ctx.sending.add(child.id)
    try:
        return await _send_with_retries(ctx, child)
    finally:
        ctx.sending.discard(child.id)


async def _send_with_retries(ctx: ExecutionContext, child: ChildOrder) -> bool:
    broker, limits = ctx.services.broker, ctx.services.limits
    for attempt in range(1, limits.send_max_attempts + 1):
        if ctx.escaping and attempt > 1:
            break
        try:
            ack = await broker.send(_request(ctx, child))
        except OrderRejected as reject:
            _rejected(ctx, child, reject)
            return False
        except BrokerDisconnected:
            log.warning("%s: broker disconnected on attempt %d, reconnecting", child.id, attempt)
            await broker.connect()
        except TransientBrokerError as err:
            log.warning("%s: transient error on attempt %d: %s", child.id, attempt, err)
        else:
            if ack.accepted:
                ctx.services.router.register(ack.broker_order_id, ctx, child)
                ctx.sent_ok += 1
                _count_trade(ctx)
                return True
            _rejected(ctx, child, OrderRejected(RejectReason.OTHER, ack.reason))
            return False
        if attempt < limits.send_max_attempts:
            await asyncio.sleep(limits.retry_backoff_ms * attempt / 1000)
    child.status = ChildStatus.REJECTED
    child.reject_reason = "retries exhausted"
    ctx.send_failed += 1
    return False


def _rejected(ctx: ExecutionContext, child: ChildOrder, reject: OrderRejected) -> None:
    child.status = ChildStatus.REJECTED
    child.reject_reason = str(reject)
    ctx.send_failed += 1
    if reject.reason is RejectReason.UNKNOWN_SYMBOL:
        ctx.symbol_unknown = True
        ctx.note(Code.FS091, symbol=ctx.intent.symbol, child=child.id)
    elif reject.reason is RejectReason.INSUFFICIENT_BALANCE:
        ctx.balance_short = True
        ctx.note(Code.GR061, child=child.id, qty=child.qty)


def _count_trade(ctx: ExecutionContext) -> None:
    if not ctx.counted_trade:
        ctx.counted_trade = True
        services = ctx.services
        services.ledger.count_trade(services.sessions.trading_day(services.now_ns()))
