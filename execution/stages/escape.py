"""Stage 6, EmergencyEscape: cancel every live child, optionally liquidate, emit P0.

Cancels of live children are issued at once on entry; sends still in flight
are awaited and whatever they placed is cancelled too. Fills keep being
applied throughout. Idempotent: the chart has no ESCAPING -> ESCAPING
transition and :meth:`Engine.escape` ignores executions already escaping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from execution.broker import BrokerError
from execution.bus import BusEvent, Priority
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, OrderRequest, PriceType

log = logging.getLogger("execution.escape")


def escape(ctx: ExecutionContext, run: Any) -> None:
    ctx.escaping = True
    if not ctx.escape_reason:
        last = run.trace[-1]
        ctx.escape_reason = f"{last.event} from {last.source}"
    ctx.stop_background()
    for child in ctx.pending_children():
        child.status = ChildStatus.CANCELLED
        child.reject_reason = "cancelled by escape"
    first_wave = [asyncio.ensure_future(cancel_child(ctx, c)) for c in ctx.live_children()]
    ctx.services.bus.publish(BusEvent(Priority.P0, "escape", ctx.id, {
        "reason": ctx.escape_reason, "symbol": ctx.intent.symbol,
        "live_children": len(first_wave)}))
    ctx.spawn(_finish_escape(ctx, first_wave, ctx.visit()), "escape")


async def cancel_child(ctx: ExecutionContext, child: ChildOrder) -> bool:
    """Cancel one child; True when the broker confirmed (or it was already done)."""
    if child.status is not ChildStatus.SENT:
        return True
    try:
        await ctx.services.broker.cancel(child.broker_order_id)
    except BrokerError as err:
        log.error("%s: cancel of %s failed: %s", ctx.id, child.id, err)
        return False
    if child.status is ChildStatus.SENT:
        child.status = ChildStatus.CANCELLED
    return True


async def _finish_escape(ctx: ExecutionContext, first_wave: Sequence[asyncio.Future[bool]],
                         visit: int) -> None:
    timeout = ctx.services.limits.cancel_confirm_timeout_ms / 1000
    confirmed = await _gather(first_wave, timeout)
    if ctx.inflight:
        await asyncio.wait(set(ctx.inflight), timeout=timeout)
        late = [asyncio.ensure_future(cancel_child(ctx, c)) for c in ctx.live_children()]
        confirmed += await _gather(late, timeout)
    ctx.unconfirmed_cancels = sum(1 for c in ctx.children if c.status is ChildStatus.SENT)
    liquidated = await _liquidate(ctx)
    ctx.escape_done = True
    ctx.note(Code.FS092, reason=ctx.escape_reason, cancelled=confirmed,
             unconfirmed=ctx.unconfirmed_cancels, filled=ctx.fills.filled_qty,
             liquidated=liquidated)
    ctx.dispatch("escaped", visit)


async def _gather(futures: Sequence[asyncio.Future[bool]], timeout: float) -> int:
    if not futures:
        return 0
    done, pending = await asyncio.wait(futures, timeout=timeout)
    for future in pending:
        future.cancel()
    return sum(1 for f in done if not f.cancelled() and f.exception() is None and f.result())


async def _liquidate(ctx: ExecutionContext) -> int:
    """Flatten what was filled with one market order, when the limits say so."""
    qty = ctx.fills.filled_qty
    if not ctx.services.limits.liquidate_on_escape or qty <= 0:
        return 0
    order = ChildOrder(id=f"{ctx.id}-L", parent_id=ctx.id, sequence=0, qty=qty, price=None,
                       price_type=PriceType.MARKET, scheduled_ns=ctx.services.now_ns(),
                       max_wait_ns=0, client_order_id=f"{ctx.id}-L")
    ctx.liquidation = order
    request = OrderRequest(order.client_order_id, ctx.intent.symbol, ctx.intent.side.opposite,
                           qty, None, PriceType.MARKET)
    try:
        ack = await ctx.services.broker.send(request)
    except BrokerError as err:
        ctx.alert(Code.FS092, liquidation="failed", error=err)
        return 0
    order.broker_order_id = ack.broker_order_id
    order.status = ChildStatus.SENT if ack.accepted else ChildStatus.REJECTED
    if ack.accepted:
        ctx.services.router.register_liquidation(ack.broker_order_id, ctx)
    return qty if ack.accepted else 0


