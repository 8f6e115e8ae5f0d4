"""Stage 4, PartialFillMonitor: aggregate fills, decide when the execution is filled.

Fills arrive by push (the broker subscription) or by the engine's polling
fallback and are applied by :func:`on_fill` in whatever state the execution
is: escape never loses a fill. The chart only hears about the outcome:
``filled`` when nothing is left working, ``stalled`` after an adjust interval
without completion (one AdaptiveAdjust round).
"""

from __future__ import annotations

import asyncio
from typing import Any

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, FillEvent
from execution.stages.send import release_next_iceberg


def monitor(ctx: ExecutionContext, run: Any) -> str | None:
    """Arm this visit's adjust timer; fills decide completion as they come (no task waits)."""
    if ctx.all_children_done:
        return "filled"
    visit = ctx.monitor_visit = ctx.visit()
    ctx.after(ctx.services.limits.adjust_interval_ms, lambda: _adjust_due(ctx, visit))
    return None


def _adjust_due(ctx: ExecutionContext, visit: int) -> None:
    """An adjust interval passed in this visit without completion: one more round, if any
    is left (otherwise keep waiting for fills or the fill timeout)."""
    run, limits = ctx.run, ctx.services.limits
    if run is None or len(run.trace) != visit:
        return
    if ctx.adjust_rounds < limits.max_rounds and ctx.live_children():
        since = max(ctx.fills.last_fill_ns, ctx.send_started_ns)
        ctx.note(Code.GR064, waited_ms=round((ctx.services.now_ns() - since) / 1e6),
                 warning_ms=limits.fill_delay_warning_ms)
        ctx.dispatch("stalled", visit)


def check_done(ctx: ExecutionContext) -> None:
    """Dispatch ``filled`` once nothing is left working (after a fill or a status change)."""
    run, visit = ctx.run, ctx.monitor_visit
    if run is None or len(run.trace) != visit or not ctx.all_children_done:
        return
    if run.dispatching:  # a fill delivered from inside a chart step: finish it first
        asyncio.get_running_loop().call_soon(ctx.dispatch, "filled", visit)
    else:
        ctx.dispatch("filled", visit)


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
    check_done(ctx)


def order_finished(ctx: ExecutionContext, child: ChildOrder) -> None:
    """The broker reports a child as no longer live (cancelled by it, or expired)."""
    if child.status is ChildStatus.SENT:
        child.status = ChildStatus.CANCELLED
    check_done(ctx)
