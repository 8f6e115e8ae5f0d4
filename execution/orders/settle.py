"""Settlement: an execution's result goes out only once the broker has confirmed every one
of its orders terminal, or the engine has given up on some and says so (FS096)."""

from __future__ import annotations

import asyncio
import logging

from execution.bus import BusEvent, Priority
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus
from execution.orders.cancelling import cancel_child
from execution.orders.status import cancel_unsent, move

log = logging.getLogger("execution.orders")


def needs_broker(ctx: ExecutionContext) -> bool:
    """Is anything left to ask the broker (or wait for) before the result can go out?"""
    return any(not task.done() for task in ctx.inflight) or any(
        not c.status.is_terminal and c.status is not ChildStatus.PENDING
        for c in _orders(ctx))


def _orders(ctx: ExecutionContext) -> list[ChildOrder]:
    return ctx.children + ([ctx.liquidation] if ctx.liquidation is not None else [])


def close_unsent(ctx: ExecutionContext, why: str) -> None:
    cancel_unsent(ctx.pending_children(), why)


async def settle(ctx: ExecutionContext, timeout_s: float) -> None:
    """Wait for sends and revises in flight, cancel what still works, confirm everything
    with the broker; what the broker has not confirmed by ``timeout_s`` is unconfirmed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    if ctx.inflight:  # half the time for sends and revises to answer; then ask the broker
        await asyncio.wait(set(ctx.inflight), timeout=timeout_s / 2)
    run = ctx.run
    close_unsent(ctx, f"execution ended in {run.state if run else '?'}")
    open_orders = [c for c in _orders(ctx) if not c.status.is_terminal]
    if open_orders:
        await asyncio.gather(*(cancel_child(ctx, c, deadline) for c in open_orders))
    mark_unconfirmed(ctx)


def mark_unconfirmed(ctx: ExecutionContext) -> None:
    """List (and alert, P0) the orders the broker has not confirmed terminal."""
    missing = [c for c in _orders(ctx) if not c.status.is_terminal
               and c.status is not ChildStatus.PENDING]
    ctx.unconfirmed = [c.broker_order_id or c.client_order_id for c in missing]
    if not missing:
        return
    for child in missing:
        move(child, ChildStatus.UNKNOWN, "not confirmed by the broker at settlement")
    ctx.alert(Code.FS096, orders=",".join(ctx.unconfirmed), filled=ctx.fills.filled_qty)
    ctx.services.bus.publish(BusEvent(Priority.P0, "unconfirmed", ctx.id, {
        "orders": list(ctx.unconfirmed), "symbol": ctx.intent.symbol}))


def resolve_unconfirmed(ctx: ExecutionContext) -> bool:
    """After a later confirmation: drop the orders now confirmed; True when none is left."""
    ctx.unconfirmed = [c.broker_order_id or c.client_order_id for c in _orders(ctx)
                       if not c.status.is_terminal and c.status is not ChildStatus.PENDING]
    return not ctx.unconfirmed
