"""Stage 5, AdaptiveAdjust: one re-pricing round toward the touch.

Each round moves every live child one step (``step_pct``, at least one tick)
toward the far touch and never through it, never past the intent's limit,
and never more than ``max_price_move_pct`` from the child's first price.
Slippage against the arrival price is checked on the new price: beyond the
warning level the move is capped there (GR063); when the far touch itself lies
beyond the maximum, chasing it would breach the cap and the execution escapes
(FS094). Tick-aware: where one tick is a large share of the cap, a child at the near
touch with a short queue ahead and much of its window left waits instead (GR069,
:func:`execution.orders.phase.should_wait`). Re-pricing goes through
the broker's ``modify`` (:func:`execution.orders.reprice.reprice_child`), so a child is
never live twice.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from execution.codes import Code
from execution.context import AdjustOutcome, ExecutionContext
from execution.contracts import ChildOrder, Urgency
from execution.orders.phase import should_wait
from execution.orders.reprice import next_price, reprice_child
from execution.pricing import slippage_bps
from statecharts.registry import RunView

log = logging.getLogger("execution.adjust")
EMITS = ("adjusted", "exhausted")


def adjust(ctx: ExecutionContext, run: RunView) -> str:
    limits = ctx.limits
    if run.trace[-1].event == run.spec.timeout_event or ctx.adjust_rounds >= limits.max_rounds:
        ctx.note(Code.FS093, filled=ctx.fills.filled_qty, qty=ctx.qty, rounds=ctx.adjust_rounds)
        ctx.adjust_outcome = AdjustOutcome.EXHAUSTED
        return "exhausted"
    ctx.adjust_rounds += 1
    quote = ctx.services.broker.quote(ctx.intent.symbol)
    assert ctx.arrival_price is not None
    far = quote.touch(ctx.intent.side)
    far_bps = slippage_bps(ctx.intent.side, far, ctx.arrival_price)
    if far_bps > limits.slippage_max_bps:  # chasing the market would breach the maximum
        ctx.note(Code.FS094, far_touch=far, slippage_bps=round(far_bps, 1),
                 max_bps=limits.slippage_max_bps)
        ctx.adjust_outcome = AdjustOutcome.BREACH
        return "adjusted"
    outcome = AdjustOutcome.ADJUSTED
    moves: list[tuple[ChildOrder, Decimal]] = []
    elapsed, live = _elapsed_pct(ctx), ctx.live_children()
    waited = 0
    now = asyncio.get_running_loop().time()
    for child in live:
        wait, figures = should_wait(ctx, child, quote, elapsed, now)
        if wait:
            waited += 1
            action = str(figures.pop("action", "wait"))
            key = child.id if action == "wait" else f"{child.id}:{action}"
            if key not in ctx.waiting:  # said once per child and kind of wait
                ctx.waiting.add(key)
                ctx.alert(Code.GR069, child=child.id, round=ctx.adjust_rounds, action=action,
                          **figures)
            continue
        assert child.price is not None and child.original_price is not None
        price, child_outcome = next_price(ctx.intent.side, child.price, child.original_price,
                                          quote, ctx.arrival_price, ctx.intent.limit_price,
                                          limits, cross=ctx.intent.urgency is Urgency.HIGH)
        if child_outcome is AdjustOutcome.CAPPED:
            outcome = AdjustOutcome.CAPPED
        if price != child.price:
            moves.append((child, price))
    if outcome is AdjustOutcome.CAPPED:
        ctx.note(Code.GR063, round=ctx.adjust_rounds, warning_bps=limits.slippage_warning_bps)
    ctx.adjust_outcome = outcome
    if live and waited == len(live):
        ctx.adjust_rounds -= 1  # every child waited: not a round (time left bounds the wait)
    for child, price in moves:  # in flight: a revise cut off could orphan its new order id
        ctx.spawn(reprice_child(ctx, child, price), f"modify-{child.sequence}", inflight=True)
    return "adjusted"


def _elapsed_pct(ctx: ExecutionContext) -> float:
    """How much of the fill window has gone, in % (100 when unknown)."""
    if ctx.fill_window is None:
        return 100.0
    started, timeout_ms = ctx.fill_window
    if timeout_ms <= 0:
        return 100.0
    return (asyncio.get_running_loop().time() - started) * 1000 / timeout_ms * 100
