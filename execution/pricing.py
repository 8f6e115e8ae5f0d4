"""Child-order pricing on the tick ladder."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import Quote, Side, Urgency
from execution.ticks import snap, tick_size


def cap_to_limit(price: Decimal, side: Side, limit: Decimal | None) -> Decimal:
    """Never pay above a buy limit or sell below a sell limit (snapped inside the limit)."""
    if limit is None:
        return price
    if side is Side.BUY:
        return min(price, snap(limit, "down"))
    return max(price, snap(limit, "up"))


def entry_price(side: Side, urgency: Urgency, quote: Quote, limit: Decimal | None,
                wide_tick_bps: Decimal | None = None, *, high_passive: bool = False) -> Decimal:
    """HIGH urgency takes the far touch; otherwise join the near touch and let AdaptiveAdjust
    walk toward the far touch. Tick-aware (``wide_tick_bps`` given): where the spread is
    one tick and that tick is at least ``wide_tick_bps``, crossing it costs a large share
    of the slippage cap at once, so HIGH urgency joins the near touch too and its round
    schedule (``adjust.*_round_pct_of_timeout.high``) decides when to cross (GR069).
    ``high_passive``: HIGH urgency joins the near touch for a bounded wait
    (``adjust.high_passive_max_ms``), after which its first round crosses."""
    far = quote.touch(side)
    near = quote.touch(side.opposite)
    price = near if urgency is not Urgency.HIGH or high_joins_near(
        quote, wide_tick_bps, high_passive) else far
    return cap_to_limit(price, side, limit)


def high_joins_near(quote: Quote, wide_tick_bps: Decimal | None, high_passive: bool) -> bool:
    """Does a HIGH urgency order join the near touch rather than take the far one?"""
    return high_passive or joins_wide_tick(quote, wide_tick_bps)


def joins_wide_tick(quote: Quote, wide_tick_bps: Decimal | None) -> bool:
    """Is the spread one tick, and that tick at least ``wide_tick_bps`` of the price?"""
    if wide_tick_bps is None or quote.bid <= 0:
        return False
    tick = tick_size(quote.bid)
    return quote.ask - quote.bid == tick and tick / quote.bid * Decimal(10_000) >= wide_tick_bps


def slippage_bps(side: Side, price: Decimal, arrival: Decimal) -> Decimal:
    """Adverse distance of ``price`` from the arrival price, in bps (positive = worse)."""
    return (price - arrival) * side.sign / arrival * Decimal(10_000)


def cap_to_slippage(price: Decimal, side: Side, arrival: Decimal, max_bps: Decimal) -> Decimal:
    """Never place an order whose fill could cost more than ``max_bps`` against the arrival
    price (snapped inside the cap): this is what makes the slippage cap hold by construction,
    also for slices released after the market has moved."""
    if side is Side.BUY:
        return min(price, snap(arrival * (1 + max_bps / Decimal(10_000)), "down"))
    return max(price, snap(arrival * (1 - max_bps / Decimal(10_000)), "up"))
