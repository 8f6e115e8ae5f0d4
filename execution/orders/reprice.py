"""Re-pricing child orders: where the next adjust round puts a price, and the modify
itself (which may answer a new broker order id: a cancel-replace revise)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from execution.broker import BrokerError
from execution.codes import Code
from execution.context import AdjustOutcome, ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, Quote, Side, Urgency
from execution.journal.api import JournalError
from execution.orders.fills import register
from execution.orders.status import move, settle_pending
from execution.pricing import cap_to_limit, cap_to_slippage, entry_price, slippage_bps
from execution.settings import EngineLimits
from execution.ticks import add_ticks, snap

log = logging.getLogger("execution.orders")
_HUNDRED = Decimal(100)
_BPS = Decimal(10_000)


def entry_for(ctx: ExecutionContext, quote: Quote) -> Decimal:
    """A new child's first price from ``quote``: its urgency's touch (HIGH joins the near
    one only where the limits say), inside the intent's limit and the slippage cap."""
    intent, limits = ctx.intent, ctx.limits
    price = entry_price(intent.side, intent.urgency, quote, intent.limit_price,
                        limits.high_join_wide_tick_bps, high_passive=limits.high_passive)
    assert ctx.arrival_price is not None
    return cap_to_slippage(price, intent.side, ctx.arrival_price, limits.slippage_max_bps)


def next_price(side: Side, price: Decimal, original: Decimal, quote: Quote, arrival: Decimal,
               limit: Decimal | None, limits: EngineLimits,
               *, cross: bool = False) -> tuple[Decimal, AdjustOutcome]:
    """The next price of one child and how the round went for it: BREACH when the far
    touch it would chase lies beyond the slippage maximum. ``cross`` (HIGH urgency): the
    round goes to the far touch in one move, inside the same caps."""
    far, near = quote.touch(side), quote.touch(side.opposite)
    if cross:
        near = far  # "at least to the near touch" becomes "to the far touch"
    if slippage_bps(side, far, arrival) > limits.slippage_max_bps:
        return price, AdjustOutcome.BREACH
    step = price * limits.step_pct / _HUNDRED  # to the nearest tick, at least one tick:
    if side is Side.BUY:                       # rounding up could double a small step;
        # and at least to the fresh near touch (re-peg when the market moved away)
        target = min(max(snap(price + step), add_ticks(price, 1), near), far,
                     snap(original * (1 + limits.max_price_move_pct / _HUNDRED), "down"))
        warn_cap = snap(arrival * (1 + limits.slippage_warning_bps / _BPS), "down")
        capped = target > warn_cap
        target = max(min(target, warn_cap), price)
    else:
        target = max(min(snap(price - step), add_ticks(price, -1), near), far,
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
                                    ctx.intent.limit_price, ctx.limits,
                                    cross=ctx.intent.urgency is Urgency.HIGH)
        if outcome is AdjustOutcome.BREACH or moved == price:
            break
        price = moved
    return price


def crosses_own(ctx: ExecutionContext, price: Decimal) -> str:
    """The engine's own resting order (another execution, the other side of the symbol)
    that ``price`` would trade with; "" when none would (self-trade prevention)."""
    side, symbol = ctx.intent.side, ctx.intent.symbol
    for other in ctx.services.live.values():
        if other is ctx or other.intent.symbol != symbol or other.intent.side is side:
            continue
        for child in other.live_children():
            if child.price is not None and side.sign * (price - child.price) >= 0:
                return child.broker_order_id
    return ""


async def reprice_child(ctx: ExecutionContext, child: ChildOrder, price: Decimal) -> None:
    """Move a live child to ``price``. A revise that answers a new order id is adopted; the
    old id stays in the books (its late fills still count) until the broker confirms it
    over. A failed modify leaves the old price (the order may be filled or gone: the
    poller and settlement ask the broker)."""
    if ctx.escaping or child.status not in (ChildStatus.ACCEPTED, ChildStatus.PARTIALLY_FILLED):
        return
    crossed = crosses_own(ctx, price)
    if crossed:
        ctx.alert(Code.GR065, child=child.id, price=price, resting=crossed,
                  action="re-price skipped")
        return

    def priced() -> None:
        child.price = price

    await revise_order(ctx, child, price, None, f"re-price to {price}", priced)


async def revise_order(ctx: ExecutionContext, child: ChildOrder, price: Decimal | None,
                       qty: int | None, what: str, on_accept: Callable[[], None]) -> bool:
    """One revise of ``child``'s order: to ``price``, and to ``qty`` shares (the order's
    new total; None keeps it). Journaled ahead (write-ahead, as a send) and with its
    answer; the child is PENDING_REPLACE meanwhile. On an accepted answer ``on_accept``
    applies it to the child, then a new order id is adopted (the old id's late fills
    still count). True when the broker accepted; a failed or refused revise changes
    nothing on the child."""
    if not move(child, ChildStatus.PENDING_REPLACE, what):
        return False
    order_id, journal = child.broker_order_id, ctx.services.journal
    try:
        journal.revising(ctx.id, child, order_id, price, qty)
    except JournalError:
        settle_pending(child, ChildStatus.PENDING_REPLACE, f"{what} not journaled: not sent")
        raise
    accepted = False
    try:
        ack = await ctx.services.broker.modify(order_id, price, qty)
    except BrokerError as err:
        log.info("%s: %s not applied: %s", child.id, what, err)
        journal.revised(ctx.id, child, order_id, "", price, f"failed: {err}", qty)
    else:
        accepted = ack.accepted
        if accepted:
            on_accept()
            if ack.broker_order_id and ack.broker_order_id != order_id:
                register(ctx, child, ack.broker_order_id, "revise")
        journal.revised(ctx.id, child, order_id, ack.broker_order_id, price,
                        "accepted" if accepted else f"refused: {ack.reason}", qty)
    settle_pending(child, ChildStatus.PENDING_REPLACE, f"{what} answered")
    return accepted
