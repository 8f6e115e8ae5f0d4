"""Stage 6, EmergencyEscape: cancel every live child, optionally liquidate, emit P0.

Cancels of live children are issued at once on entry and retried until the broker
confirms them (or the ESCAPING timeout nears); sends and revises still in flight are
awaited and whatever they placed is cancelled too. Liquidation waits for every cancel to
be confirmed, so it sells exactly what the broker filled. Fills keep being applied
throughout. Idempotent: the chart has no ESCAPING -> ESCAPING transition and
:meth:`Engine.escape` ignores executions already escaping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from execution.bus import BusEvent, Priority
from execution.codes import Code
from execution.context import ExecutionContext
from execution.orders.cancelling import cancel_child, liquidate
from execution.orders.settle import close_unsent
from statecharts.registry import RunView

log = logging.getLogger("execution.escape")
EMITS = ("escaped",)
_MARGIN = 0.9  # of the ESCAPING timeout: leave the chart time to record the outcome


def escape(ctx: ExecutionContext, run: RunView) -> None:
    ctx.escaping = True
    if not ctx.escape_reason:
        last = run.trace[-1]
        ctx.escape_reason = f"{last.event} from {last.source}"
    ctx.stop_background()
    close_unsent(ctx, f"escape: {ctx.escape_reason}")
    loop = asyncio.get_running_loop()
    timeout_ms = run.timeouts_ms.get(run.state, ctx.limits.cancel_confirm_timeout_ms)
    deadline = loop.time() + timeout_ms / 1000 * _MARGIN
    first_wave = [asyncio.ensure_future(cancel_child(ctx, c, deadline))
                  for c in ctx.live_children()]
    ctx.services.bus.publish(BusEvent(Priority.P0, "escape", ctx.id, {
        "reason": ctx.escape_reason, "symbol": ctx.intent.symbol,
        "live_children": len(first_wave)}))
    ctx.spawn(_finish_escape(ctx, first_wave, deadline, ctx.visit()), "escape")


async def _finish_escape(ctx: ExecutionContext, first_wave: Sequence[asyncio.Future[bool]],
                         deadline: float, visit: int) -> None:
    loop = asyncio.get_running_loop()
    confirmed = await _gather(first_wave)
    if ctx.inflight:
        await asyncio.wait(set(ctx.inflight), timeout=max(deadline - loop.time(), 0.0))
    late = [c for c in ctx.open_orders() if c is not ctx.liquidation]
    confirmed += await _gather([asyncio.ensure_future(cancel_child(ctx, c, deadline))
                                for c in late])
    ctx.unconfirmed_cancels = sum(1 for c in ctx.open_orders())
    liquidated = 0
    if not ctx.unconfirmed_cancels:  # sell exactly what the broker confirmed filled
        liquidated = await liquidate(ctx, deadline)
    ctx.escape_done = True
    ctx.note(Code.FS092, reason=ctx.escape_reason, cancelled=confirmed,
             unconfirmed=ctx.unconfirmed_cancels, filled=ctx.fills.filled_qty,
             liquidated=liquidated)
    ctx.dispatch("escaped", visit)


async def _gather(futures: Sequence[asyncio.Future[bool]]) -> int:
    if not futures:
        return 0
    results = await asyncio.gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("cancel failed: %r", result)
    return sum(1 for r in results if r is True)
