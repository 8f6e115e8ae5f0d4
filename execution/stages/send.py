"""Stage 3, AsyncSend: children due now go out concurrently; later ones at their time.

Sending itself (retries, reconnects, a lost answer resolved by asking the broker) is
:mod:`execution.orders.sending`. Scheduled children (TWAP/VWAP) are released by timers,
iceberg refills when the previous child is done.
"""

from __future__ import annotations

import functools

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder
from execution.orders.sending import release_next_iceberg, schedule_later, send_all
from execution.orders.settle import close_unsent
from statecharts.registry import RunView

EMITS = ("sent",)


def send(ctx: ExecutionContext, run: RunView) -> None:
    now = ctx.services.now_ns()
    ctx.send_started_ns = now
    if any(child.after_previous for child in ctx.children):
        ctx.on_child_done = functools.partial(release_next_iceberg, ctx)
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
    await send_all(ctx, due)
    ctx.first_wave_sent = True
    if ctx.balance_short:
        close_unsent(ctx, "insufficient balance")
    if ctx.sent_ok == 0 and not ctx.symbol_unknown:
        ctx.note(Code.FS090, children=len(due), failed=ctx.send_failed)
        if ctx.balance_short:  # FAILED carries FS090; say why the sends failed too
            ctx.alert(Code.GR061, **ctx.notes.get(Code.GR061, {}))
        close_unsent(ctx, "every send failed")
    elif ctx.sent_ok > 0:
        schedule_later(ctx, now)
    ctx.dispatch("sent", visit)
