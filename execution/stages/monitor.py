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
    """Wait for fills; every adjust interval, check whether an adjust round is due."""
    if ctx.all_children_done:
        return "filled"
    visit = ctx.monitor_visit = ctx.visit()
    if ctx.fill_window is None:  # the first visit: the fill timeout runs from here
        ctx.fill_window = (run.scheduler.time() if run.scheduler else 0.0,
                           run.timeouts_ms.get(run.state, 0.0))
    _arm(ctx, visit)
    return None


def _arm(ctx: ExecutionContext, visit: int) -> None:
    ctx.after(ctx.services.limits.adjust_interval_ms, lambda: _reevaluate(ctx, visit))


def round_due(ctx: ExecutionContext, now: float) -> bool:
    """Is the next adjust round due (per the urgency's schedule over the fill timeout)?"""
    assert ctx.fill_window is not None
    started, timeout_ms = ctx.fill_window
    due_ms = ctx.services.limits.round_due_ms(ctx.intent.urgency, ctx.adjust_rounds + 1,
                                              timeout_ms)
    return (now - started) * 1000 >= due_ms


def _reevaluate(ctx: ExecutionContext, visit: int) -> None:
    """One more round if one is due and left; otherwise keep waiting for fills (or the fill
    timeout) and look again after the next interval."""
    run, limits = ctx.run, ctx.services.limits
    if run is None or len(run.trace) != visit:
        return
    if ctx.adjust_rounds >= limits.max_rounds:
        return  # nothing left to adjust with: fills or the fill timeout decide
    if not ctx.live_children() or not round_due(ctx, asyncio.get_running_loop().time()):
        _arm(ctx, visit)  # (slices still to come count: look again after the interval)
        return
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
