"""The final-state handler: cancel what is left (the FS093 partial case at COMPLETE) and
hand the remaining position off."""

from __future__ import annotations

from typing import Any

from execution.context import ExecutionContext
from execution.contracts import ChildStatus, Position
from execution.stages.escape import cancel_child


def finish(ctx: ExecutionContext, run: Any) -> None:
    ctx.stop_background()
    for child in ctx.pending_children():
        child.status = ChildStatus.CANCELLED
        child.reject_reason = f"cancelled: execution ended in {run.state}"
    for child in ctx.live_children():
        ctx.spawn(cancel_child(ctx, child), f"cancel-{child.sequence}")
    hand_off(ctx)


def hand_off(ctx: ExecutionContext) -> None:
    """Give the position that remains to the position listeners (the micro-risk loop)."""
    qty = ctx.fills.filled_qty
    if ctx.liquidation is not None and ctx.liquidation.status is ChildStatus.SENT:
        return  # flattened at market
    avg = ctx.fills.avg_price
    if qty <= 0 or avg is None:
        return
    position = Position(ctx.id, ctx.intent.symbol, ctx.intent.side, qty, avg,
                        ctx.fills.last_fill_ns)
    for listener in ctx.services.position_listeners:
        listener(position)
