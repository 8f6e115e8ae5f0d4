"""Stage 2, OrderSplit: turn the (possibly reduced) quantity into child orders."""

from __future__ import annotations

from dataclasses import replace

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, PriceType, SplitStrategy, Urgency
from execution.orders.phase import fill_timeout_ms, split_horizon_ms
from execution.orders.reprice import entry_for
from execution.pricing import joins_wide_tick
from execution.split import choose_strategy, plan_split
from statecharts.registry import RunView

EVENT = "split"
EMITS = (EVENT,)


def split(ctx: ExecutionContext, run: RunView) -> str:
    services, intent = ctx.services, ctx.intent
    assert ctx.arrival is not None
    params = ctx.limits.split
    if ctx.time_left_ms is not None:  # planned for the time left in the session (GR066)
        params = replace(params, twap_horizon_ms=split_horizon_ms(ctx, params.twap_horizon_ms),
                         vwap_horizon_ms=split_horizon_ms(ctx, params.vwap_horizon_ms))
    touch_size = ctx.arrival.ask_size if intent.side.sign > 0 else ctx.arrival.bid_size
    strategy = intent.strategy
    if strategy is SplitStrategy.AUTO:
        strategy = choose_strategy(ctx.qty, touch_size, intent.urgency, params)
    now = services.now_ns()
    plan = plan_split(strategy, ctx.qty, params, touch_size=touch_size,
                      start_minute_of_day=services.sessions.minute_of_day_exact(now),
                      profile=services.profile)
    ctx.plan = plan
    if plan.capped:
        ctx.note(Code.GR060, requested=plan.requested_children, max=params.max_children,
                 strategy=plan.strategy.value)
    limits = ctx.limits
    price = entry_for(ctx, ctx.arrival)
    wide = limits.high_join_wide_tick_bps
    if intent.urgency is Urgency.HIGH and limits.high_passive:
        ctx.alert(Code.GR069, action="join", cross_after_ms=round(
            limits.high_passive_wait_ms(fill_timeout_ms(ctx))))
    elif intent.urgency is Urgency.HIGH and joins_wide_tick(ctx.arrival, wide):
        ctx.alert(Code.GR069, action="join", spread_ticks=1, wide_tick_bps=wide)
    max_wait_ns = int(params.child_max_wait_ms * 1e6)
    ctx.children = [
        ChildOrder(
            id=f"{ctx.id}-{seq}",
            parent_id=ctx.id,
            sequence=seq,
            qty=piece.qty,
            price=price,
            price_type=PriceType.LIMIT,
            scheduled_ns=now + int(piece.offset_ms * 1e6),
            max_wait_ns=max_wait_ns,
            client_order_id=f"{ctx.id}-{seq}",
            display_qty=piece.display_qty,
            after_previous=piece.after_previous,
            original_price=price,
        )
        for seq, piece in enumerate(plan.slices, start=1)
    ]
    return EVENT

