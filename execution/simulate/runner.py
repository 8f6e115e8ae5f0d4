"""Run one intent four ways on the same market: the engine and the three baselines.

- ``engine``: the statechart engine, as ``scalpchart run`` builds it;
- ``market``: one marketable (market) order for the whole quantity at arrival;
- ``passive``: one limit order at the near touch at arrival (buy on the bid,
  sell on the ask), never adjusted, cancelled at the horizon;
- ``peg_cross``: join the near touch, re-peg when it moves away (at most once a second),
  cross at half the horizon, capped at the slippage maximum
  (:mod:`execution.simulate.pegcross`).

Each run gets a fresh exchange built from the intent's seed on its own event
loop (virtual time by default), so the four runs meet the same order flow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from execution.broker import BrokerError, OrderRejected, OrderState
from execution.contracts import FillEvent, OrderRequest, PriceType
from execution.sim.exchange import SimulatedExchange
from execution.sim.vclock import ClockKind, run_on
from execution.simulate.market import IntentSetup, Observation, unique_fills
from execution.simulate.outcome import Outcome
from execution.simulate.pegcross import run_peg_cross
from statecharts.runtime import ChartRun

STRATEGIES = ("engine", "market", "passive", "peg_cross")
# Chart instances reset after an intent's execution, per chart class, for the next intent's
# engine (building one costs hundreds of microseconds, resetting one a few).
_SPARE_RUNS: dict[type[Any], list[ChartRun]] = {}
_SETTLE_S = 2.0  # after the horizon: cancels and in-flight pushes settle
_CHASE_S = 60.0  # at most this long for the chase of unconfirmed orders (then compared)
_CHASE_LOOK_S = 0.1
_GUARD_FACTOR = 3.0  # an engine run longer than this many horizons is cut (a bug, reported)


async def run_engine(setup: IntentSetup) -> Outcome:
    from execution.engine import Engine

    exchange = setup.exchange()
    engine = Engine(exchange, limits=setup.limits, sessions=setup.sessions, chart=setup.chart,
                    capital_krw=setup.scenario.capital_krw, id_prefix="S", pool_size=0)
    pool = engine.pool()  # one execution per engine: one chart instance, reused across intents
    pool.size, pool.refill_enabled = 1, False
    spares = _SPARE_RUNS.setdefault(engine.chart, [])
    if spares:
        pool.adopt([spares.pop()])
    obs = Observation.start(exchange, setup.intent.symbol)
    async with exchange:
        execution = engine.submit(setup.intent)
        try:
            result = await asyncio.wait_for(asyncio.shield(execution.result),
                                            setup.horizon_s * _GUARD_FACTOR + 60)
        except TimeoutError:
            engine.escape(execution.id, "simulation guard: no result in time")
            # A run that does not settle even after an escape is an engine bug: fail loudly
            # rather than let the exchange driver spin virtual time forever.
            result = await asyncio.wait_for(execution.result, setup.horizon_s)
        done_ns = exchange.now_ns()
        # Orders the result listed unconfirmed (FS096) are chased in the background until
        # the broker answers (after a disconnect, once the poller's backoff reaches it):
        # the exchange's truth is compared once that chase is over (or given up on).
        loop = asyncio.get_running_loop()
        chase_until = loop.time() + _CHASE_S
        while next(engine.unsettled(), None) is not None and loop.time() < chase_until:
            await asyncio.sleep(_CHASE_LOOK_S)
        # Let late pushes and cancels land, to see what the exchange did after the result.
        await asyncio.sleep(_SETTLE_S)
    await engine.close()
    spares.extend(pool.drain())  # reset by the pool once the execution ended
    counted = result.fills + [a.fill for a in execution.amendments]  # late fills amend
    fills = [f for f in counted if f.side is setup.intent.side]
    out = obs.finish(exchange, setup, "engine", fills, result.final_state)
    unconfirmed = set(result.unconfirmed)
    out.open_orders_left = sum(1 for o in exchange.records() if o.state is OrderState.LIVE
                               and o.broker_order_id not in unconfirmed)
    out.end_ns = done_ns
    out.codes = result.codes()
    out.adjust_rounds = result.adjust_rounds
    out.role = engine.spec.role_of(result.final_state) or ""
    out.result_reason = result.reason
    out.arrival_price = result.arrival_price
    out.precheck_failure = result.precheck_failure or ""
    out.executed_qty = result.qty
    out.escape_reason = result.reason if out.role == "escaped" else ""
    if out.role in ("failed", "escaped"):
        precheck = result.precheck_failure
        out.reason = f"{precheck}: {result.reason}" if precheck else result.reason
    plan = execution.ctx.plan
    out.split_strategy = plan.strategy.value if plan is not None else ""
    out.stage_busy_us = dict(result.stage_busy_us)
    out.late_fill_qty = sum(f.filled_qty for f in exchange.journal
                            if f.side is setup.intent.side and f.ts_ns > done_ns)
    return out


async def _one_order(setup: IntentSetup, strategy: str) -> Outcome:
    """The market and passive baselines: one order at arrival, no adjustment, no retry."""
    intent = setup.intent
    exchange = setup.exchange()
    pushed: list[FillEvent] = []
    exchange.subscribe_fills(pushed.append)
    obs = Observation.start(exchange, intent.symbol)
    quote = exchange.quote(intent.symbol)
    if strategy == "market":
        price, kind = None, PriceType.MARKET
    else:
        price, kind = quote.touch(intent.side.opposite), PriceType.LIMIT
        if intent.limit_price is not None:
            price = min(price, intent.limit_price) if intent.side.sign > 0 else max(
                price, intent.limit_price)
    request = OrderRequest(f"{intent.client_intent_id}-{strategy}", intent.symbol, intent.side,
                           intent.qty, price, kind)
    codes: list[str] = []
    async with exchange:
        state = await _place_and_wait(exchange, setup, request, pushed)
        if state == "EXPIRED":
            codes.append("FS093")
        await asyncio.sleep(0.5)  # the last pushes
    fills = unique_fills(pushed)
    if state in ("EXPIRED", "DISCONNECTED"):  # pushes may have been lost: take the journal
        fills = [f for f in exchange.journal if f.side is intent.side]
    out = obs.finish(exchange, setup, strategy, fills, _state(state, fills, intent.qty))
    out.codes = codes
    return out


async def _place_and_wait(exchange: SimulatedExchange, setup: IntentSetup,
                          request: OrderRequest, pushed: list[FillEvent]) -> str:
    """Send, then wait until the pushed fills cover the order or the horizon ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + setup.horizon_s
    try:
        ack = await exchange.send(request)
    except OrderRejected:
        return "REJECTED"
    except BrokerError:
        return "DISCONNECTED"
    if request.price_type is PriceType.MARKET and ack.reason:
        return "FILLED"  # the unfilled rest of a market order was cancelled
    outcome: asyncio.Future[str] = loop.create_future()

    def check(_: FillEvent | None = None) -> None:
        if not outcome.done() and sum(f.filled_qty for f in unique_fills(pushed)) >= request.qty:
            outcome.set_result("FILLED")

    def expire() -> None:
        if not outcome.done():
            outcome.set_result("EXPIRED")

    unsubscribe = exchange.subscribe_fills(check)  # after ``pushed.append``: sees the fill
    timer = loop.call_at(deadline, expire)
    check()
    try:
        state = await outcome
    finally:
        timer.cancel()
        unsubscribe()
    if state == "EXPIRED":
        with contextlib.suppress(BrokerError):
            await exchange.cancel(ack.broker_order_id)
    return state


def _state(state: str, fills: list[FillEvent], qty: int) -> str:
    filled = sum(f.filled_qty for f in fills)
    if state in ("REJECTED", "DISCONNECTED") and not filled:
        return state
    if filled >= qty:
        return "FILLED"
    return "PARTIAL" if filled else "UNFILLED"


async def run_market(setup: IntentSetup) -> Outcome:
    return await _one_order(setup, "market")


async def run_passive(setup: IntentSetup) -> Outcome:
    return await _one_order(setup, "passive")


RUNNERS: dict[str, Callable[[IntentSetup], Coroutine[Any, Any, Outcome]]] = {
    "engine": run_engine,
    "market": run_market,
    "passive": run_passive,
    "peg_cross": run_peg_cross,
}


def run_intent(setup: IntentSetup, clock: ClockKind = "virtual",
               strategies: tuple[str, ...] = STRATEGIES) -> dict[str, Outcome]:
    """The runs of one intent (by default all four), each on its own loop and exchange."""
    return {name: run_on(RUNNERS[name](setup), clock) for name in strategies}
