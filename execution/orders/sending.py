"""Sending child orders: retries, and a send's outcome resolved by asking the broker.

The client order id is the child id, so a resend can never create a second order at a
broker that keeps client ids; and after any send whose answer was lost (a timeout, a
disconnect), the order is looked up by client order id (``find_order``) before it is ever
sent again, for brokers that keep none. A send whose outcome stays unknown leaves the
child UNKNOWN: listed as unconfirmed, and looked up again until the broker answers.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from execution.broker import (
    BrokerDisconnected,
    BrokerError,
    OrderRejected,
    OrderStatus,
    RejectReason,
    TransientBrokerError,
)
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, OrderRequest
from execution.journal.api import JournalError
from execution.orders.confirm import apply_status, reconnect, request_of
from execution.orders.fills import register
from execution.orders.phase import holds_release
from execution.orders.reprice import entry_for, price_at_level
from execution.orders.status import cancel_unsent, move, working

log = logging.getLogger("execution.orders")


async def send_all(ctx: ExecutionContext, children: list[ChildOrder]) -> None:
    """Send ``children`` concurrently (each an in-flight task: never cancelled)."""
    if len(children) == 1:
        await send_child(ctx, children[0])
    elif children:
        await asyncio.wait([ctx.spawn(send_child(ctx, child), f"send-{child.sequence}",
                                      inflight=True) for child in children])


async def send_child(ctx: ExecutionContext, child: ChildOrder) -> bool:
    """Send one child with retries; True when the broker holds it."""
    if not move(child, ChildStatus.PENDING_SUBMIT, "send"):
        return False
    try:
        return await _send(ctx, child)
    finally:
        if child.status is ChildStatus.PENDING_SUBMIT:  # left by an unexpected error
            move(child, ChildStatus.UNKNOWN, "send ended without an answer")


async def _send(ctx: ExecutionContext, child: ChildOrder) -> bool:
    broker, limits, journal = ctx.services.broker, ctx.limits, ctx.services.journal
    unknown = False  # did a failed attempt perhaps place the order?
    for attempt in range(1, limits.send_max_attempts + 1):
        if unknown:
            found = await _lookup(ctx, child)
            if found is not None:
                return _adopt(ctx, child, found)
        if ctx.escaping and attempt > 1:
            break
        request = request_of(ctx, child)
        _write_ahead(ctx, child, request, attempt, unknown)
        try:
            ack = await broker.send(request)
        except OrderRejected as reject:
            journal.send_failed(ctx.id, child, "rejected", str(reject))
            rejected(ctx, child, reject)
            return False
        except BrokerDisconnected:
            log.warning("%s: broker disconnected on attempt %d, reconnecting", child.id, attempt)
            journal.send_failed(ctx.id, child, "unanswered", "disconnected")
            unknown = True
            await reconnect(broker)
        except TransientBrokerError as err:
            log.warning("%s: transient error on attempt %d: %s", child.id, attempt, err)
            journal.send_failed(ctx.id, child, "unanswered", str(err))
            unknown = True
        else:
            if ack.accepted:
                register(ctx, child, ack.broker_order_id, "ack")
                if child.status in (ChildStatus.PENDING_SUBMIT, ChildStatus.UNKNOWN):
                    move(child, working(child), "accepted")  # (unless settlement got there)
                _counted_send(ctx, child)
                return True
            journal.send_failed(ctx.id, child, "rejected", ack.reason)
            rejected(ctx, child, OrderRejected(RejectReason.OTHER, ack.reason))
            return False
        if attempt < limits.send_max_attempts:
            await asyncio.sleep(limits.retry_wait_ms(attempt) / 1000)
    return await _give_up(ctx, child, unknown)


def _write_ahead(ctx: ExecutionContext, child: ChildOrder, request: OrderRequest,
                 attempt: int, unknown: bool) -> None:
    """Journal the order before the broker hears of it. When the journal cannot record
    it, it is not sent: REJECTED when no earlier attempt may have placed it (otherwise it
    stays in doubt and the broker is asked), and the JournalError goes on up."""
    try:
        ctx.services.journal.sending(ctx.id, child, request, attempt=attempt)
    except JournalError as err:
        log.error("%s: not sent: %s", child.id, err)
        if not unknown:
            move(child, ChildStatus.REJECTED, f"not sent: {err}")
            child.reject_reason = f"not sent: {err}"
            ctx.send_failed += 1
        raise


async def _lookup(ctx: ExecutionContext, child: ChildOrder) -> OrderStatus | None:
    """Did an earlier attempt place the order? None when the broker says no, or cannot
    say now (the caller then treats the outcome as still unknown)."""
    broker = ctx.services.broker
    try:
        return await broker.find_order(request_of(ctx, child))
    except BrokerDisconnected:
        await reconnect(broker)
    except BrokerError as err:
        log.warning("%s: lookup failed: %s", child.id, err)
    return None


def _adopt(ctx: ExecutionContext, child: ChildOrder, found: OrderStatus) -> bool:
    log.warning("%s: an earlier send was placed as %s; adopting it", child.id,
                found.broker_order_id)
    register(ctx, child, found.broker_order_id, "found")
    move(child, working(child), "found by client order id")
    apply_status(ctx, child, found)
    _counted_send(ctx, child)
    return True


async def _give_up(ctx: ExecutionContext, child: ChildOrder, unknown: bool) -> bool:
    """No attempt was answered: ask once more; REJECTED only when the broker confirms it
    never placed the order, UNKNOWN (unconfirmed) when it cannot say."""
    if unknown:
        broker = ctx.services.broker
        try:
            found = await broker.find_order(request_of(ctx, child))
        except BrokerError as err:
            log.error("%s: send outcome unknown (lookup failed: %s)", child.id, err)
            move(child, ChildStatus.UNKNOWN, "send outcome unknown")
            ctx.send_failed += 1
            return False
        if found is not None:
            return _adopt(ctx, child, found)
    move(child, ChildStatus.REJECTED, "retries exhausted")
    child.reject_reason = "retries exhausted"
    ctx.services.journal.send_failed(ctx.id, child, "never_placed", "retries exhausted")
    ctx.send_failed += 1
    return False


def rejected(ctx: ExecutionContext, child: ChildOrder, reject: OrderRejected) -> None:
    move(child, ChildStatus.REJECTED, str(reject))
    child.reject_reason = str(reject)
    ctx.send_failed += 1
    if reject.reason is RejectReason.UNKNOWN_SYMBOL:
        ctx.symbol_unknown = True
        ctx.note(Code.FS091, symbol=ctx.intent.symbol, child=child.id)
    elif reject.reason is RejectReason.INSUFFICIENT_BALANCE:
        ctx.balance_short = True
        ctx.note(Code.GR061, child=child.id, qty=child.qty)
        if ctx.first_wave_sent:  # a later slice: no chart transition will say it
            unsent = ctx.pending_children()
            cancel_unsent(unsent, "insufficient balance")
            ctx.alert(Code.GR061, child=child.id, qty=child.qty, cancelled=len(unsent))


def _counted_send(ctx: ExecutionContext, child: ChildOrder) -> None:
    ctx.sent_ok += 1
    child.live_since_ns = ctx.services.now_ns()
    ctx.after(ctx.limits.fill_delay_warning_ms, functools.partial(_first_fill_due, ctx, child))
    if not ctx.counted_trade:
        ctx.counted_trade = True
        services = ctx.services
        day = services.sessions.trading_day(services.now_ns())
        services.ledger.count_trade(day, ctx.id)
        services.journal.trade(ctx.id, day)


def delayed_children(ctx: ExecutionContext) -> list[ChildOrder]:
    """Live children still waiting for their first fill past the fill-delay warning, not
    warned about yet (GR064)."""
    now, warning_ns = ctx.services.now_ns(), ctx.limits.fill_delay_warning_ms * 1e6
    return [c for c in ctx.live_children() if c.filled_qty == 0
            and c.id not in ctx.delay_flagged and now - c.live_since_ns >= warning_ns]


def _first_fill_due(ctx: ExecutionContext, child: ChildOrder) -> None:
    """GR064 as soon as a child has waited the fill-delay warning for its first fill
    (whatever the adjust schedule)."""
    if child in delayed_children(ctx):
        ctx.delay_flagged.add(child.id)
        waited = round((ctx.services.now_ns() - child.live_since_ns) / 1e6)
        ctx.alert(Code.GR064, child=child.id, waited_ms=waited,
                  warning_ms=ctx.limits.fill_delay_warning_ms)


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
    limits = ctx.limits
    if holds_release(ctx, quote):  # no new slice into a call auction or a VI (GR067)
        if child.id not in ctx.held_releases:
            ctx.held_releases.add(child.id)
            ctx.alert(Code.GR067, action="hold", child=child.id, phase=quote.phase.value)
        ctx.after(limits.adjust_interval_ms, functools.partial(release, ctx, child))
        return
    start = entry_for(ctx, quote)
    child.original_price = start
    child.price = price_at_level(ctx, quote, start, ctx.adjust_rounds)
    ctx.spawn(send_child(ctx, child), f"send-{child.sequence}", inflight=True)


def release_next_iceberg(ctx: ExecutionContext, _done: ChildOrder | None = None) -> None:
    """Iceberg refill: the first held-back child once every earlier child is done."""
    for child in ctx.children:
        if not child.status.is_terminal and child.status is not ChildStatus.PENDING:
            return
        if child.status is ChildStatus.PENDING:
            if child.after_previous:
                release(ctx, child)
            return
