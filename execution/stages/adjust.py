"""Stage 5, AdaptiveAdjust: one re-pricing round toward the touch.

Each round moves every live child one step (``step_pct``, at least one tick)
toward the far touch and never through it, never past the intent's limit,
and never more than ``max_price_move_pct`` from the child's first price.
Slippage against the arrival price is checked on the new price: beyond the
warning level the move is capped there (GR063); when the far touch itself lies
beyond the maximum, chasing it would breach the cap and the execution escapes
(FS094). Re-pricing goes through
the broker's ``modify``, so a child is never live twice.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from execution.broker import BrokerError
from execution.codes import Code
from execution.context import AdjustOutcome, ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, Quote, Side
from execution.pricing import cap_to_limit, slippage_bps
from execution.settings import EngineLimits
from execution.ticks import snap, tick_size

log = logging.getLogger("execution.adjust")
_HUNDRED = Decimal(100)
_BPS = Decimal(10_000)


def adjust(ctx: ExecutionContext, run: Any) -> str:
    limits = ctx.services.limits
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
    for child in ctx.live_children():
        assert child.price is not None and child.original_price is not None
        price, child_outcome = next_price(ctx.intent.side, child.price, child.original_price,
                                          quote, ctx.arrival_price, ctx.intent.limit_price,
                                          limits)
        if child_outcome is AdjustOutcome.CAPPED:
            outcome = AdjustOutcome.CAPPED
        if price != child.price:
            moves.append((child, price))
    if outcome is AdjustOutcome.CAPPED:
        ctx.note(Code.GR063, round=ctx.adjust_rounds, warning_bps=limits.slippage_warning_bps)
    ctx.adjust_outcome = outcome
    for child, price in moves:
        ctx.spawn(_modify(ctx, child, price), f"modify-{child.sequence}")
    return "adjusted"


def next_price(side: Side, price: Decimal, original: Decimal, quote: Quote, arrival: Decimal,
               limit: Decimal | None, limits: EngineLimits) -> tuple[Decimal, AdjustOutcome]:
    """The next price of one child and how the round went for it: BREACH when the far
    touch it would chase lies beyond the slippage maximum."""
    far = quote.touch(side)
    if slippage_bps(side, far, arrival) > limits.slippage_max_bps:
        return price, AdjustOutcome.BREACH
    step = max(price * limits.step_pct / _HUNDRED, tick_size(price))
    if side is Side.BUY:
        target = min(snap(price + step, "up"), far,
                     snap(original * (1 + limits.max_price_move_pct / _HUNDRED), "down"))
        warn_cap = snap(arrival * (1 + limits.slippage_warning_bps / _BPS), "down")
        capped = target > warn_cap
        target = max(min(target, warn_cap), price)
    else:
        target = max(snap(price - step, "down"), far,
                     snap(original * (1 - limits.max_price_move_pct / _HUNDRED), "up"))
        warn_cap = snap(arrival * (1 - limits.slippage_warning_bps / _BPS), "up")
        capped = target < warn_cap
        target = min(max(target, warn_cap), price)
    target = cap_to_limit(target, side, limit)
    return target, AdjustOutcome.CAPPED if capped else AdjustOutcome.ADJUSTED


def price_at_level(ctx: ExecutionContext, quote: Quote, start: Decimal, rounds: int) -> Decimal:
    """Where a child starting at ``start`` stands after ``rounds`` adjust rounds on ``quote``:
    children released late (TWAP/VWAP slices, iceberg refills) join the parent's level."""
    assert ctx.arrival_price is not None
    price = start
    for _ in range(rounds):
        moved, outcome = next_price(ctx.intent.side, price, start, quote, ctx.arrival_price,
                                    ctx.intent.limit_price, ctx.services.limits)
        if outcome is AdjustOutcome.BREACH or moved == price:
            break
        price = moved
    return price


async def _modify(ctx: ExecutionContext, child: ChildOrder, price: Decimal) -> None:
    if child.status is not ChildStatus.SENT or ctx.escaping:
        return
    try:
        ack = await ctx.services.broker.modify(child.broker_order_id, price, None)
    except BrokerError as err:  # already filled/cancelled, or rejected: keep the old price
        log.info("%s: modify to %s not applied: %s", child.id, price, err)
        return
    if ack.accepted:
        child.price = price
