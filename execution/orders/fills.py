"""Booking broker fills onto child orders: validated, counted exactly once, routed by
broker order id (fills that overtake their ack wait as orphans), and after settlement
turned into amendments instead of vanishing."""

from __future__ import annotations

import logging
from decimal import Decimal

from execution.codes import Code
from execution.context import ExecutionContext, Services
from execution.contracts import ChildOrder, FillEvent
from execution.orders.positions import amend
from execution.orders.status import after_fill, move
from execution.ticks import is_on_ladder

log = logging.getLogger("execution.orders")


def route(services: Services, fill: FillEvent) -> None:
    """The broker's fill callback (push) and the poller's: find the owner, book it."""
    entry = services.index.get(fill.order_id)
    if entry is None:
        services.index.hold_orphan(fill)
        return
    services.index.routed += 1
    book_fill(entry[0], entry[1], fill)


def register(ctx: ExecutionContext, child: ChildOrder, order_id: str, how: str = "ack") -> None:
    """``order_id`` now works for ``child`` (its ack, or the new id of a revise; ``how``
    says which, for the journal): index it and book the fills that arrived before we
    knew it."""
    if order_id not in child.order_ids:
        child.order_ids.append(order_id)
        ctx.services.journal.order_id(ctx.id, child, order_id, how)
    index = ctx.services.index
    index.add(order_id, ctx, child)
    for fill in index.take_orphans(order_id):
        book_fill(ctx, child, fill)


def problem_with(ctx: ExecutionContext, child: ChildOrder, fill: FillEvent) -> str:
    """Why ``fill`` cannot be one of ``child``'s fills ("" when it can)."""
    side = ctx.intent.side.opposite if child is ctx.liquidation else ctx.intent.side
    if fill.filled_qty <= 0:
        return f"qty {fill.filled_qty}"
    if fill.price <= 0 or not fill.price.is_finite():
        return f"price {fill.price}"
    if not is_on_ladder(fill.price):
        return f"price {fill.price} off the tick ladder"
    if fill.symbol != ctx.intent.symbol:
        return f"symbol {fill.symbol}, order is {ctx.intent.symbol}"
    if fill.side is not side:
        return f"side {fill.side.value}, order is {side.value}"
    return ""


def book_fill(ctx: ExecutionContext, child: ChildOrder, fill: FillEvent) -> int:
    """Validate and count one fill (push, poll or status query; any state, after the end
    too). Returns the shares counted (0 for a repeat or a rejected fill)."""
    problem = problem_with(ctx, child, fill)
    if problem:
        if fill.event_id not in {f.event_id for f in ctx.rejected_fills}:
            ctx.rejected_fills.append(fill)
            ctx.alert(Code.FS097, order=fill.order_id, fill=fill.event_id, problem=problem)
        return 0
    return count(ctx, child, fill)


def count(ctx: ExecutionContext, child: ChildOrder, fill: FillEvent) -> int:
    if child is ctx.liquidation:
        return _count_liquidation(ctx, child, fill)
    outcome = ctx.fills.apply(fill, child)
    if outcome.duplicate:
        return 0
    if outcome.overfill_qty:
        ctx.alert(Code.GR064, child=child.id, overfill=outcome.overfill_qty,
                  note="overfill not counted")
    if not outcome.counted_qty:
        return 0
    ctx.services.journal.fill(ctx.id, child, fill, outcome.counted_qty)
    fee = fill.fee * outcome.counted_qty / fill.filled_qty
    ctx.services.ledger.apply_fill(ctx.intent.symbol, ctx.intent.side, outcome.counted_qty,
                                   fill.price, fee)
    # reported if the fill timeout comes with this partial fill (FS093 -> COMPLETE)
    ctx.note(Code.FS093, filled=ctx.fills.filled_qty, qty=ctx.qty,
             cancelled=max(ctx.remaining_qty, 0))
    move(child, after_fill(child), f"fill {fill.event_id}")
    run = ctx.run
    if ctx.settled:
        ctx.alert(Code.GR064, child=child.id, qty=outcome.counted_qty, late_after="settlement")
        amend(ctx, fill)
    elif run is not None and run.done:
        ctx.alert(Code.GR064, child=child.id, qty=outcome.counted_qty, late_after=run.state)
    if child.remaining <= 0 and ctx.on_child_done is not None and not ctx.escaping:
        ctx.on_child_done(child)
    notify(ctx)
    return outcome.counted_qty



def _count_liquidation(ctx: ExecutionContext, child: ChildOrder, fill: FillEvent) -> int:
    """The escape's liquidation order: its fills flatten the position; they are not fills
    of the execution."""
    book = ctx.liquidation_fills
    outcome = book.apply(fill, child)
    if outcome.counted_qty:
        ctx.services.journal.fill(ctx.id, child, fill, outcome.counted_qty, liquidation=True)
        ctx.liquidated_qty = book.filled_qty
        ctx.services.ledger.apply_fill(ctx.intent.symbol, ctx.intent.side.opposite,
                                       outcome.counted_qty, fill.price, fill.fee)
        move(child, after_fill(child), f"fill {fill.event_id}")
        if ctx.settled:
            amend(ctx, fill)
    return outcome.counted_qty


def synthesize(ctx: ExecutionContext, child: ChildOrder, order_id: str, qty: int,
               broker_total: int, broker_avg: Decimal | None) -> FillEvent:
    """A fill the broker reports in an order's totals that no event of ours carried (KIS's
    daily-orders query gives totals only): booked at the price that makes our average the
    broker's. It has no cumulative quantity of its own (0): the broker's total may equal
    the cumulative of a later push already counted, which would make it look like that
    push again; the total is recorded by the caller (``FillBook.confirm``) instead."""
    book = ctx.liquidation_fills if child is ctx.liquidation else ctx.fills
    counted = book.order(order_id)
    if broker_avg is not None:
        price = (broker_avg * broker_total - counted.notional) / qty
    else:
        price = child.price or Decimal(0)
    side = ctx.intent.side.opposite if child is ctx.liquidation else ctx.intent.side
    return FillEvent(f"{order_id}/status/{broker_total}", order_id, ctx.intent.symbol, side,
                     qty, price, 0, 0, Decimal(0), ctx.services.now_ns())


def notify(ctx: ExecutionContext) -> None:
    """Tell the stage waiting for it that nothing is left working (after a fill or a
    status change); from inside a chart step, on the next loop turn."""
    callback = ctx.on_done
    if callback is None or not ctx.all_children_done:
        return
    if ctx.run is not None and ctx.run.dispatching:
        ctx.soon(callback)
    else:
        ctx.guarded(callback)
