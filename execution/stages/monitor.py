"""Stage 4, PartialFillMonitor: aggregate fills, decide when the execution is filled.

Fills arrive by push (the broker subscription) or by the engine's polling
fallback and are applied by :func:`on_fill` in whatever state the execution
is: escape never loses a fill. The chart only hears about the outcome:
``filled`` when nothing is left working, ``stalled`` after an adjust interval
without completion (one AdaptiveAdjust round).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, FillEvent
from execution.stages.send import release_next_iceberg

STATE = "MONITORING"


def monitor(ctx: ExecutionContext, run: Any) -> str | None:
    if ctx.all_children_done:
        return "filled"
    ctx.stop_watch()
    ctx.progress = ctx.progress or asyncio.Event()
    ctx.watch = ctx.spawn(_watch(ctx, len(run.trace)), "watch")
    return None


async def _watch(ctx: ExecutionContext, visit: int) -> None:
    assert ctx.progress is not None and ctx.run is not None
    loop = asyncio.get_running_loop()
    limits = ctx.services.limits
    adjust_at = loop.time() + limits.adjust_interval_ms / 1000
    while ctx.run.state == STATE and len(ctx.run.trace) == visit:
        if ctx.all_children_done:
            ctx.dispatch("filled", STATE)
            return
        wait = adjust_at - loop.time()
        if wait <= 0 and ctx.adjust_rounds < limits.max_rounds and ctx.live_children():
            ctx.dispatch("stalled", STATE)
            return
        ctx.progress.clear()
        timeout = wait if wait > 0 else None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctx.progress.wait(), timeout)


def on_fill(ctx: ExecutionContext, child: ChildOrder, fill: FillEvent) -> None:
    """Apply one fill (push or poll, any state). Duplicates and overfills are absorbed."""
    outcome = ctx.fills.apply(fill, child)
    if outcome.duplicate:
        return
    if outcome.overfill_qty:
        ctx.alert(Code.GR064, child=child.id, overfill=outcome.overfill_qty,
                  note="overfill not counted")
    if outcome.counted_qty:
        ctx.services.ledger.apply_fill(ctx.intent.symbol, ctx.intent.side, outcome.counted_qty)
        # reported if the fill timeout comes with this partial fill (FS093 -> COMPLETE)
        ctx.note(Code.FS093, filled=ctx.fills.filled_qty, qty=ctx.qty,
                 cancelled=max(ctx.remaining_qty, 0))
    run = ctx.run
    if run is not None and run.done:
        ctx.alert(Code.GR064, child=child.id, qty=fill.filled_qty, late_after=run.state)
    if child.status is ChildStatus.FILLED and not ctx.escaping:
        release_next_iceberg(ctx)
    ctx.wake()


def order_finished(ctx: ExecutionContext, child: ChildOrder) -> None:
    """The broker reports a child as no longer live (cancelled by it, or expired)."""
    if child.status is ChildStatus.SENT:
        child.status = ChildStatus.CANCELLED
    ctx.wake()
