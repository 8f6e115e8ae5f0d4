"""Stage 1, PreCheck: every pre-trade check, in order, stopping at the first hard failure.

Everything here is synchronous and cheap: the session table is computed once
per day, the quote is a dict lookup on the broker. Only a disconnected broker
needs a coroutine (one reconnect attempt), which runs as a task.
"""

from __future__ import annotations

from decimal import Decimal

from execution.codes import Code
from execution.context import ExecutionContext, PrecheckFailure
from execution.contracts import Side
from statecharts.registry import RunView

EVENT = "checked"
EMITS = (EVENT,)


def precheck(ctx: ExecutionContext, run: RunView) -> str | None:
    if not ctx.services.broker.connected:
        ctx.spawn(_reconnect_then_check(ctx, ctx.visit()), "reconnect")
        return None
    run_checks(ctx)
    return EVENT


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
    ctx.precheck_failure = failure
    ctx.failure_detail = detail


def run_checks(ctx: ExecutionContext) -> None:
    """Fill in ``ctx.precheck_failure`` (None when every check passed) and ``ctx.qty``."""
    ctx.qty = ctx.intent.qty
    for check in _CHECKS:
        check(ctx)
        if ctx.precheck_failure is not None:
            return


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
    after = ledger.positions[intent.symbol] + intent.side.sign * intent.qty
    cap = ctx.limits.position_cap_shares
    if abs(after) > cap:
        _fail(ctx, PrecheckFailure.POSITION_CAP, f"position_after={after} cap={cap}")


def reference_price(ctx: ExecutionContext) -> Decimal:
    """The price the capital and notional checks use: the limit, else the far touch."""
    assert ctx.arrival is not None
    touch = ctx.arrival.touch(ctx.intent.side)
    limit = ctx.intent.limit_price
    if limit is None:
        return touch
    return min(limit, touch) if ctx.intent.side is Side.BUY else max(limit, touch)


def _capital(ctx: ExecutionContext) -> None:
    capital = ctx.services.available_capital()
    if ctx.intent.side is not Side.BUY or capital is None:
        return
    price = reference_price(ctx)
    affordable = int(capital // price)
    if affordable >= ctx.qty:
        return
    if affordable <= 0:
        ctx.note(Code.GR061, capital=capital, price=price, qty=ctx.qty)
        _fail(ctx, PrecheckFailure.NO_CAPITAL, f"capital={capital} price={price}")
        return
    ctx.note(Code.GR061, capital=capital, requested=ctx.qty, reduced_to=affordable)
    ctx.qty = affordable


def _session(ctx: ExecutionContext) -> None:
    now = ctx.services.now_ns()
    if not ctx.services.sessions.is_open(now):
        _fail(ctx, PrecheckFailure.MARKET_CLOSED, f"exchange_time_ns={now}")


def _daily_limit(ctx: ExecutionContext) -> None:
    services = ctx.services
    day = services.sessions.trading_day(services.now_ns())
    used = services.ledger.trades_per_day[day]
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


# The spec's order, except that the symbol is resolved before anything needs its price.
_CHECKS = (_bus, _safety, _symbol, _position, _capital, _session, _daily_limit, _risk)
