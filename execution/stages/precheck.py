"""Stage 1, PreCheck: every pre-trade check, in order, stopping at the first hard failure.

Everything here is synchronous and cheap: the session table is computed once
per day, the quote is a dict lookup on the broker. Only a disconnected broker
needs a coroutine (one reconnect attempt), which runs as a task.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from execution.codes import Code
from execution.context import ExecutionContext, PrecheckFailure
from execution.contracts import MarketPhase, Side
from execution.market_session import KST
from execution.orders.phase import check_price_limits, plan_for_session
from execution.risk import Claim, cost_per_share
from statecharts.registry import RunView

EVENT = "checked"
EMITS = (EVENT,)


def precheck(ctx: ExecutionContext, run: RunView) -> str | None:
    if not ctx.services.broker.connected:
        ctx.spawn(_reconnect_then_check(ctx, ctx.visit()), "reconnect")
        return None
    run_checks(ctx)
    if ctx.resting_to_cancel and ctx.precheck_failure is None:
        ctx.spawn(_cancel_resting_then_go(ctx, ctx.visit()), "self-trade")
        return None
    return EVENT


async def _cancel_resting_then_go(ctx: ExecutionContext, visit: int) -> None:
    """Self-trade policy ``cancel_resting``: escape the live executions on the other side and
    wait until each has settled (its orders confirmed gone) before this one may trade."""
    services = ctx.services
    waits = []
    for other_id in ctx.resting_to_cancel:
        other = services.live.get(other_id)
        if other is None:
            continue
        if services.escape is not None:
            services.escape(other_id, f"self-trade: {ctx.id} on the other side")
        waits.append(other.done.wait())
    await asyncio.gather(*waits)
    ctx.dispatch(EVENT, visit)


async def _reconnect_then_check(ctx: ExecutionContext, visit: int) -> None:
    broker = ctx.services.broker
    for _ in range(ctx.limits.reconnect_attempts):
        if await broker.connect():
            break
    if broker.connected:
        run_checks(ctx)
    else:
        _fail(ctx, PrecheckFailure.BROKER_DISCONNECTED, "reconnect failed")
    ctx.dispatch(EVENT, visit)


def _fail(ctx: ExecutionContext, failure: PrecheckFailure, detail: str) -> None:
    """Refuse the intent. The details of GR070 are noted for every refusal: the chart
    raises them when no more specific code's guard takes the refusal."""
    ctx.precheck_failure = failure
    ctx.failure_detail = detail
    ctx.note(Code.GR070, check=failure.value, detail=detail)


def run_checks(ctx: ExecutionContext) -> None:
    """Fill in ``ctx.precheck_failure`` (None when every check passed) and ``ctx.qty``;
    when every check passed, claim what the execution may consume (atomically: nothing
    awaits between the checks and the claim)."""
    ctx.qty = ctx.intent.qty
    for check in _CHECKS:
        check(ctx)
        if ctx.precheck_failure is not None:
            return
    _claim(ctx)


def _claim(ctx: ExecutionContext) -> None:
    services, intent = ctx.services, ctx.intent
    assert ctx.arrival_price is not None
    cost = cost_per_share(intent.side, ctx.arrival_price, intent.limit_price,
                          ctx.limits.slippage_max_bps, ctx.limits.fee_bps)
    services.ledger.claim(Claim(
        ctx.id, intent.symbol, intent.side, ctx.qty, cost,
        services.sessions.trading_day(services.now_ns()),
        filled=lambda: ctx.fills.filled_qty, at_broker=lambda: held_at_broker(ctx)))


def held_at_broker(ctx: ExecutionContext) -> Decimal:
    """What the broker itself holds for this execution's live buy orders."""
    if ctx.intent.side is not Side.BUY:
        return Decimal(0)
    return sum(((c.price or Decimal(0)) * c.remaining for c in ctx.live_children()), Decimal(0))


def _bus(ctx: ExecutionContext) -> None:
    if ctx.services.bus.paused:
        depth = ctx.services.bus.p0_depth
        ctx.note(Code.FS095, p0_depth=depth, capacity=ctx.services.bus.p0_capacity)
        _fail(ctx, PrecheckFailure.P0_OVERFLOW, f"p0_depth={depth}")


def _safety(ctx: ExecutionContext) -> None:
    state = ctx.services.safety_state
    if not state.allows_trading:
        _fail(ctx, PrecheckFailure.SAFETY_STATE, state.value)


def _symbol(ctx: ExecutionContext) -> None:
    broker = ctx.services.broker
    if not broker.knows_symbol(ctx.intent.symbol):
        ctx.symbol_unknown = True
        ctx.note(Code.FS091, symbol=ctx.intent.symbol)
        _fail(ctx, PrecheckFailure.UNKNOWN_SYMBOL, f"symbol={ctx.intent.symbol}")
        return
    ctx.arrival = broker.quote(ctx.intent.symbol)
    ctx.arrival_price = ctx.arrival.mid


def _position(ctx: ExecutionContext) -> None:
    intent, ledger = ctx.intent, ctx.services.ledger
    if ledger.live[(intent.symbol, intent.side)] > 1:  # this execution counts itself
        _fail(ctx, PrecheckFailure.DUPLICATE_INTENT, f"live {intent.side.value} on {intent.symbol}")
        return
    if ledger.live[(intent.symbol, intent.side.opposite)] > 0:
        _self_trade(ctx)
        if ctx.precheck_failure is not None:
            return
    after = ledger.position_claimed(intent.symbol) + intent.side.sign * intent.qty
    cap = ctx.limits.position_cap_shares
    if abs(after) > cap:
        _fail(ctx, PrecheckFailure.POSITION_CAP, f"position_after={after} cap={cap}")


def _self_trade(ctx: ExecutionContext) -> None:
    """A live execution on the other side of the same symbol: the two could trade with each
    other (a wash trade). The limits' policy decides: refuse this intent (the default), or
    cancel the resting one first (``cancel_resting``: escape it, then go on)."""
    intent = ctx.intent
    others = [o for o in ctx.services.live_opposite(intent.symbol, intent.side)]
    ctx.note(Code.GR065, symbol=intent.symbol, policy=ctx.limits.self_trade_policy,
             resting=",".join(others))
    if ctx.limits.self_trade_policy != "cancel_resting":
        _fail(ctx, PrecheckFailure.SELF_TRADE, f"live {intent.side.opposite.value} on "
              f"{intent.symbol}: {','.join(others)}")
        return
    ctx.alert(Code.GR065, symbol=intent.symbol, policy="cancel_resting", cancelled=",".join(others))
    ctx.resting_to_cancel = others


def reference_price(ctx: ExecutionContext) -> Decimal:
    """The price the notional check uses: the limit, else the far touch."""
    assert ctx.arrival is not None
    touch = ctx.arrival.touch(ctx.intent.side)
    limit = ctx.intent.limit_price
    if limit is None:
        return touch
    return min(limit, touch) if ctx.intent.side is Side.BUY else max(limit, touch)


def _capital(ctx: ExecutionContext) -> None:
    """Buys only: what capital (the engine's budget and the broker's cash, less what live
    executions have claimed) pays for at the worst price the execution may reach, fees
    included; the quantity is reduced to that (GR061), or the intent fails."""
    capital = ctx.services.available_capital()
    if ctx.intent.side is not Side.BUY or capital is None:
        return
    assert ctx.arrival_price is not None
    cost = cost_per_share(ctx.intent.side, ctx.arrival_price, ctx.intent.limit_price,
                          ctx.limits.slippage_max_bps, ctx.limits.fee_bps)
    affordable = max(int(capital // cost), 0)
    if affordable >= ctx.qty:
        return
    if affordable <= 0:
        ctx.note(Code.GR061, capital=capital, cost_per_share=round(cost, 2), qty=ctx.qty)
        _fail(ctx, PrecheckFailure.NO_CAPITAL, f"capital={capital} cost_per_share={cost:.2f}")
        return
    ctx.note(Code.GR061, capital=capital, requested=ctx.qty, reduced_to=affordable)
    ctx.qty = affordable


def _session(ctx: ExecutionContext) -> None:
    """Outside continuous trading's session (before 09:00, the opening auction included,
    or after the close) the intent is refused with GR066: the engine trades continuous
    sessions and the closing auction only (``session.closing_auction: join``)."""
    now = ctx.services.now_ns()
    if not ctx.services.sessions.is_open(now):
        at = datetime.fromtimestamp(now / 1e9, KST).isoformat(timespec="milliseconds")
        quote = ctx.arrival
        opening = quote is not None and quote.phase is MarketPhase.OPENING_AUCTION
        ctx.note(Code.GR066, phase="opening_auction" if opening else "closed",
                 exchange_time=at)
        _fail(ctx, PrecheckFailure.MARKET_CLOSED, f"exchange_time={at}")


def _daily_limit(ctx: ExecutionContext) -> None:
    services = ctx.services
    day = services.sessions.trading_day(services.now_ns())
    used = services.ledger.trades_claimed(day)  # live executions' trades count already
    if used >= ctx.limits.daily_trade_limit:
        ctx.note(Code.GR062, day=day, used=used, limit=ctx.limits.daily_trade_limit)
        _fail(ctx, PrecheckFailure.DAILY_LIMIT, f"day={day} used={used}")


def _risk(ctx: ExecutionContext) -> None:
    assert ctx.arrival is not None
    limits = ctx.limits
    spread = ctx.arrival.spread_bps
    if spread > limits.max_spread_bps:
        _fail(ctx, PrecheckFailure.SPREAD_TOO_WIDE, f"spread_bps={spread:.1f}")
        return
    notional = reference_price(ctx) * ctx.qty
    if notional > limits.max_notional_krw:
        _fail(ctx, PrecheckFailure.NOTIONAL_TOO_LARGE, f"notional={notional}")


def _phase(ctx: ExecutionContext) -> None:
    """The day's price limits (GR068), then the time left in continuous trading (GR066):
    last, so that an intent refused by another check is not re-planned first."""
    check_price_limits(ctx)
    if ctx.precheck_failure is None:
        plan_for_session(ctx)


# The spec's order, except that the symbol is resolved before anything needs its price.
_CHECKS = (_bus, _safety, _symbol, _position, _capital, _session, _daily_limit, _risk, _phase)
