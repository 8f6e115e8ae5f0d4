"""Stage 4, PartialFillMonitor: wait until nothing is left working, or an adjust round is due.

Fills are booked by :mod:`execution.orders.fills` in whatever state the execution is
(push or poll): escape never loses a fill. The chart only hears about the outcome:
``filled`` when every child is confirmed done, ``stalled`` after an adjust interval
without completion (one AdaptiveAdjust round).

In a call auction or a volatility interruption the rounds pause (GR067): the working
orders are kept at their prices (no chase into the auction price), or with
``session.auction_policy: shrink`` cut down to ``auction_keep_pct`` % of their rest
(:mod:`execution.orders.shrink`: the cut goes back out after it), and the pause is
not counted: the fill timeout and the round schedule move back by its length
(:func:`execution.orders.phase.hold_pause`). When continuous trading resumes, every
working child re-quotes at its urgency's entry price on the fresh book (inside the
intent's limit and the slippage cap), without using an adjust round, before the schedule
goes on.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from execution.broker import BrokerError
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import Quote
from execution.orders.phase import hold_pause, in_auction, observe_queues
from execution.orders.reprice import entry_for, reprice_child
from execution.orders.sending import delayed_children
from execution.orders.shrink import WORKING, restore_owed, start_shrink
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
        if ctx.fills.filled_qty == 0:  # FS099's details, should the chart take that way
            ends = Counter(c.status.value for c in ctx.children)
            ctx.note(Code.FS099, filled=0, orders=len(ctx.children),
                     ended=",".join(f"{state}:{n}" for state, n in sorted(ends.items())))
        ctx.dispatch("filled", visit)


#: With no adjust round left, the monitor still looks for an auction this often (at most):
#: its pause must hold the fill timeout back, but nothing else is left to re-evaluate.
AUCTION_LOOK_MS = 1000.0


def _arm(ctx: ExecutionContext, visit: int, *, idle: bool = False) -> None:
    interval = ctx.limits.adjust_interval_ms
    if idle:
        interval = max(interval, AUCTION_LOOK_MS)
    ctx.after(interval, lambda: _reevaluate(ctx, visit))


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
    now = asyncio.get_running_loop().time()
    quote = _quote(ctx)  # (none: no book to judge by, the schedule goes on)
    if quote is not None and _paused(ctx, quote, now):
        _arm(ctx, visit)
        return
    if quote is not None:
        observe_queues(ctx, quote, now)  # the queues ahead of resting children (GR069)
    if ctx.adjust_rounds >= limits.max_rounds:
        _arm(ctx, visit, idle=True)  # nothing left to adjust with: fills or the fill
        return  # timeout decide (still looking: an auction must hold the fill timeout)
    if not ctx.live_children() or not round_due(ctx, now):
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


def _quote(ctx: ExecutionContext) -> Quote | None:
    try:
        return ctx.services.broker.quote(ctx.intent.symbol)
    except BrokerError:
        return None


def _paused(ctx: ExecutionContext, quote: Quote, now: float) -> bool:
    """Is the symbol in a call auction or a VI (GR067)? When one has just ended, the
    working children re-quote from the fresh book (and this look is spent on that)."""
    if in_auction(quote):
        if ctx.paused_since is None:
            ctx.paused_since = ctx.pause_checked = now
            ends = quote.phase_ends_ns
            ctx.alert(Code.GR067, action="pause", phase=quote.phase.value,
                      ends_in_ms="unknown" if ends is None
                      else round((ends - ctx.services.now_ns()) / 1e6),
                      working=len(ctx.live_children()))
            if ctx.limits.auction_policy == "shrink":
                start_shrink(ctx)
        else:
            hold_pause(ctx, now)
        return True
    if ctx.paused_since is None:
        if ctx.owed_qty > 0:  # (a restore that could not go out at the resume: again)
            restore_owed(ctx)
        return False
    hold_pause(ctx, now)
    paused_ms = round((now - ctx.paused_since) * 1000)
    ctx.paused_since = None
    moved = _requote(ctx, quote)
    ctx.alert(Code.GR067, action="resume", phase=quote.phase.value, paused_ms=paused_ms,
              bid=quote.bid, ask=quote.ask, requoted=moved)
    restore_owed(ctx)  # (shrink: what was cut goes back out at the fresh book)
    return True


def _requote(ctx: ExecutionContext, quote: Quote) -> int:
    """Move every working child to its urgency's entry price on the fresh book (the near
    touch; the far touch for HIGH urgency, which a pause must not turn passive), inside the
    intent's limit and the slippage cap."""
    price = entry_for(ctx, quote)
    moved = 0
    for child in ctx.live_children():  # (not one whose revise or cancel is on its way)
        if child.status in WORKING and child.price is not None and child.price != price:
            ctx.spawn(reprice_child(ctx, child, price), f"requote-{child.sequence}",
                      inflight=True)
            moved += 1
    return moved
