"""The final-state handler: cancel what is left (the FS093 partial case at COMPLETE) and
hand the remaining position off."""

from __future__ import annotations

from typing import Any

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildStatus, Position
from execution.stages.escape import cancel_child


def finish(ctx: ExecutionContext, run: Any) -> None:
    ctx.stop_background()
    if ctx.escaping and not ctx.escape_done:
        # ESCAPED without the escape stage having finished (its timeout, or its error route):
        # the cancels it was still waiting for are unconfirmed; say so loudly (FS092).
        ctx.alert(Code.FS092, reason=ctx.escape_reason, escape="incomplete",
                  unconfirmed=len(ctx.live_children()) + len(ctx.sending),
                  filled=ctx.fills.filled_qty)
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
    errors: list[Exception] = []
    for listener in ctx.services.position_listeners:
        try:  # one failing listener must not keep the position from the others (risk loop)
            listener(position)
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]  # recorded as the final state's handler error
