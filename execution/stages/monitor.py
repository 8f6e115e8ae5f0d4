"""Stage 4, PartialFillMonitor: wait until nothing is left working, or an adjust round is due.

Fills are booked by :mod:`execution.orders.fills` in whatever state the execution is
(push or poll): escape never loses a fill. The chart only hears about the outcome:
``filled`` when every child is confirmed done, ``stalled`` after an adjust interval
without completion (one AdaptiveAdjust round).
"""

from __future__ import annotations

import asyncio

from execution.codes import Code
from execution.context import ExecutionContext
from execution.orders.sending import delayed_children
from statecharts.registry import RunView

EMITS = ("filled", "stalled")


def monitor(ctx: ExecutionContext, run: RunView) -> str | None:
    """Wait for fills; every adjust interval, check whether an adjust round is due."""
    if ctx.all_children_done:
        return "filled"
    visit = ctx.visit()
    ctx.on_done = lambda: _done(ctx, visit)
    if ctx.fill_window is None:  # the first visit: the fill timeout runs from here
        ctx.fill_window = (run.scheduler.time() if run.scheduler else 0.0,
                           run.timeouts_ms.get(run.state, 0.0))
    _arm(ctx, visit)
    return None


def _done(ctx: ExecutionContext, visit: int) -> None:
    if ctx.in_visit(visit) and ctx.all_children_done:
        ctx.dispatch("filled", visit)


def _arm(ctx: ExecutionContext, visit: int) -> None:
    ctx.after(ctx.limits.adjust_interval_ms, lambda: _reevaluate(ctx, visit))


def round_due(ctx: ExecutionContext, now: float) -> bool:
    """Is the next adjust round due (per the urgency's schedule over the fill timeout)?"""
    assert ctx.fill_window is not None
    started, timeout_ms = ctx.fill_window
    due_ms = ctx.limits.round_due_ms(ctx.intent.urgency, ctx.adjust_rounds + 1,
                                              timeout_ms)
    return (now - started) * 1000 >= due_ms


def _reevaluate(ctx: ExecutionContext, visit: int) -> None:
    """One more round if one is due and left; otherwise keep waiting for fills (or the fill
    timeout) and look again after the next interval."""
    limits = ctx.limits
    if not ctx.in_visit(visit):
        return
    if ctx.adjust_rounds >= limits.max_rounds:
        return  # nothing left to adjust with: fills or the fill timeout decide
    if not ctx.live_children() or not round_due(ctx, asyncio.get_running_loop().time()):
        _arm(ctx, visit)  # (slices still to come count: look again after the interval)
        return
    delayed = delayed_children(ctx)  # not warned yet: the round's transition says it
    ctx.delay_pending = [c.id for c in delayed]
    if delayed:
        now = ctx.services.now_ns()
        ctx.note(Code.GR064, children=",".join(ctx.delay_pending),
                 waited_ms=round((now - min(c.live_since_ns for c in delayed)) / 1e6),
                 warning_ms=limits.fill_delay_warning_ms)
    ctx.dispatch("stalled", visit)
    ctx.delay_flagged.update(ctx.delay_pending)
    ctx.delay_pending = []
