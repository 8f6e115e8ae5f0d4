"""The final-state handler: stop the stage's timers and tasks, and say it loudly when the
escape did not finish. Cancelling what is left, confirming every order with the broker
and handing the position off happen at settlement (:mod:`execution.orders.settle`), after
the chart has reached its final state."""

from __future__ import annotations

from execution.codes import Code
from execution.context import ExecutionContext
from execution.orders.shrink import drop_owed
from statecharts.registry import RunView

EMITS: tuple[str, ...] = ()


def finish(ctx: ExecutionContext, run: RunView) -> None:
    ctx.stop_background()
    ctx.on_done = None
    drop_owed(ctx, ctx.escape_reason or f"ended in {run.state}")  # (shrink: never sent)
    if ctx.escaping and not ctx.escape_done:
        # ESCAPED without the escape stage having finished (its timeout, or its error route):
        # the cancels it was still waiting for are not confirmed yet; say so loudly (FS092).
        ctx.alert(Code.FS092, reason=ctx.escape_reason, escape="incomplete",
                  open_orders=len(ctx.open_orders()), filled=ctx.fills.filled_qty)
