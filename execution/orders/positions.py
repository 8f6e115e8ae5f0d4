"""Handing an execution's position to the position listeners (the micro-risk loop)."""

from __future__ import annotations

import logging

from execution.context import ExecutionContext
from execution.contracts import Amendment, FillEvent, Position

log = logging.getLogger("execution.orders")


def position_of(ctx: ExecutionContext) -> Position | None:
    """What the execution leaves open: its fills less what the escape liquidated."""
    qty = ctx.fills.filled_qty - ctx.liquidated_qty
    avg = ctx.fills.avg_price
    if qty <= 0 or avg is None:
        return None
    return Position(ctx.id, ctx.intent.symbol, ctx.intent.side, qty, avg,
                    ctx.fills.first_fill_ns, ctx.version)


def hand_off(ctx: ExecutionContext) -> list[Exception]:
    """Give the open position to every listener; one failing listener never keeps it from
    the others (the risk loop). Returns the listeners' errors (each is also logged)."""
    position = position_of(ctx)
    if position is None:
        return []
    errors: list[Exception] = []
    for listener in ctx.services.position_listeners:
        try:
            listener(position)
        except Exception as exc:
            log.error("%s: position listener %r failed: %r", ctx.id, listener, exc)
            errors.append(exc)
    return errors


def amend(ctx: ExecutionContext, fill: FillEvent) -> Amendment:
    """A fill counted after the result went out: a new version of the result's totals, to
    the amendment listeners and (as the new position) to the position listeners."""
    ctx.version += 1
    amendment = Amendment(ctx.id, ctx.version, fill, ctx.fills.filled_qty, ctx.fills.avg_price)
    ctx.amendments.append(amendment)
    ctx.services.journal.amendment(ctx.id, amendment)
    for listener in ctx.services.amendment_listeners:
        try:
            listener(amendment)
        except Exception as exc:
            log.error("%s: amendment listener %r failed: %r", ctx.id, listener, exc)
    hand_off(ctx)
    return amendment
