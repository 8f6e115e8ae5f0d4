"""The engine: one compiled chart, one chart instance per execution, one event loop.

>>> engine = Engine(broker)                      # doctest: +SKIP
>>> result = await engine.execute(intent)        # doctest: +SKIP

``submit`` starts an execution and returns its handle at once; ``escape`` is
the micro-risk loop's trigger and may be called at any moment.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from execution import paths
from execution.broker import Broker, BrokerDisconnected, BrokerError
from execution.bus import EventBus
from execution.codes import Code
from execution.context import ExecutionContext, SafetyState
from execution.contracts import ExecutionIntent, ExecutionResult, PathStep, Position
from execution.gctune import freeze_long_lived
from execution.guards import REGISTRY
from execution.market_session import KrxSessions
from execution.pricing import slippage_bps
from execution.services import Services
from execution.settings import EngineLimits, load_engine_limits
from execution.volume_profile import VolumeProfile
from statecharts.compiler import compile_chart
from statecharts.errors import ChartInvalid, EventRejected
from statecharts.lint import lint
from statecharts.loader import load_chart
from statecharts.runtime import ChartRun, RunPool
from statecharts.spec import ChartSpec

log = logging.getLogger("execution.engine")
_IDS = itertools.count(1)


@dataclass(eq=False)
class Execution:
    """A handle on one execution: its context, its chart run and its result future."""

    ctx: ExecutionContext
    run: ChartRun
    result: asyncio.Future[ExecutionResult] = field(repr=False)

    @property
    def id(self) -> str:
        return self.ctx.id

    @property
    def state(self) -> str:
        return self.run.state


def load_product_chart(chart: Path | str | None, limits: EngineLimits) -> ChartSpec:
    """Load, lint (against the registry and the limits) and return the chart spec."""
    spec = load_chart(chart or paths.default_chart())
    problems = lint(spec, guards=REGISTRY.guards, handlers=REGISTRY.handlers,
                    limits=list(limits.raw.keys()) if limits.raw else None)
    if problems:
        raise ChartInvalid(problems)
    return spec


class Engine:
    def __init__(self, broker: Broker, *, limits: EngineLimits | None = None,
                 chart: Path | str | None = None, sessions: KrxSessions | None = None,
                 profile: VolumeProfile | None = None,
                 safety_state: SafetyState = SafetyState.NORMAL,
                 capital_krw: Decimal | None = None, id_prefix: str = "X",
                 stage_timeouts_ms: dict[str, float] | None = None,
                 pool_size: int = 64, retain_finished: int = 10_000) -> None:
        limits = limits or load_engine_limits()
        self.spec = load_product_chart(chart, limits)
        self.chart = compile_chart(self.spec, REGISTRY)
        self.timeouts_ms = limits.stage_timeouts_ms(self.spec) | (stage_timeouts_ms or {})
        self.services = Services(broker=broker, limits=limits, sessions=sessions or KrxSessions(),
                                 bus=EventBus(limits.p0_queue_capacity, auto_drain=True),
                                 profile=profile or VolumeProfile.load(),
                                 safety_state=safety_state, capital_krw=capital_krw)
        self.executions: dict[str, Execution] = {}
        self.retain_finished = retain_finished  # finished executions kept for lookups/late fills
        self._finished: deque[str] = deque()
        self._live = 0
        self._pools: dict[int, RunPool] = {}
        self.pool_size = pool_size
        self._prefix = id_prefix
        self._unsubscribe: Callable[[], None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._cursor = 0

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, *, freeze_gc: bool = False) -> None:
        """Subscribe to fills and build the pool of chart instances now rather than on the
        first intent; with ``freeze_gc``, then freeze the long-lived objects out of the
        garbage collector (see :mod:`execution.gctune`)."""
        self._ensure_started()
        self.pool().fill()
        if freeze_gc:
            freeze_long_lived()

    def _ensure_started(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.services.broker.subscribe_fills(self.services.router.route)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_fills())

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll_fills(self) -> None:
        """The polling fallback: catches fills whose push was lost (e.g. in a disconnect),
        then notices orders the broker no longer has open (cancelled or expired on its side),
        so an execution never waits for the fill timeout on an order that is gone."""
        interval = self.services.limits.fill_poll_interval_ms / 1000
        broker, router = self.services.broker, self.services.router
        while True:
            await asyncio.sleep(interval)
            if not self._live:
                continue
            try:
                fills, self._cursor = await broker.fills_since(self._cursor)
                for fill in fills:
                    router.route(fill)
                if router.live_orders:
                    router.reconcile(set(await broker.open_orders()))
            except BrokerDisconnected:
                log.warning("fill poll: broker disconnected, reconnecting")
                await broker.connect()
            except BrokerError as err:
                log.warning("fill poll failed: %s", err)

    # -- the public surface ---------------------------------------------------------------
    @property
    def safety_state(self) -> SafetyState:
        return self.services.safety_state

    @safety_state.setter
    def safety_state(self, value: SafetyState) -> None:
        self.services.safety_state = value

    @property
    def bus(self) -> EventBus:
        return self.services.bus

    def add_position_listener(self, listener: Callable[[Position], None]) -> None:
        self.services.position_listeners.append(listener)

    def submit(self, intent: ExecutionIntent) -> Execution:
        """Start executing ``intent``; returns at once with the execution's handle."""
        self._ensure_started()
        loop = asyncio.get_running_loop()
        execution_id = intent.client_intent_id or f"{self._prefix}{next(_IDS):06d}"
        if execution_id in self.executions:
            raise ValueError(f"execution id {execution_id!r} already used")
        ctx = ExecutionContext(execution_id, intent, self.services)
        run = self.pool(loop).take().bind(ctx, on_final=self._on_final,
                                          on_code=lambda code, guard: _code(ctx, code, guard))
        ctx.run = run
        execution = Execution(ctx, run, loop.create_future())
        self.executions[execution_id] = execution
        self.services.ledger.live[(intent.symbol, intent.side)] += 1
        self._live += 1
        run.dispatch("start")
        return execution

    def reload(self, *, chart: Path | str | None = None,
               limits: Path | str | None = None) -> None:
        """Load an edited chart and/or limits file for the executions submitted from now on.

        Everything is read, validated, linted and compiled before anything is swapped: a
        rejected edit raises :class:`ChartInvalid` and leaves the running configuration
        exactly as it was. Live executions finish on the chart instance they started with.
        """
        new_limits = load_engine_limits(limits) if limits else self.services.limits
        spec = load_product_chart(chart, new_limits) if chart else self.spec
        if not chart:  # a limits edit must still satisfy the chart's limit references
            problems = lint(spec, limits=list(new_limits.raw.keys()) if new_limits.raw else None)
            if problems:
                raise ChartInvalid(problems)
        compiled = compile_chart(spec, REGISTRY)
        timeouts = new_limits.stage_timeouts_ms(spec)
        self.spec, self.chart, self.timeouts_ms = spec, compiled, timeouts
        self.services.limits = new_limits
        self._pools.clear()  # pre-built instances of the old chart are dropped

    def pool(self, loop: asyncio.AbstractEventLoop | None = None) -> RunPool:
        """The pre-built chart instances for the running loop (built on first use)."""
        loop = loop or asyncio.get_running_loop()
        pool = self._pools.get(id(loop))
        if pool is None:
            self._pools = {id(loop): RunPool(self.chart, self.spec, size=self.pool_size,
                                             scheduler=loop, timeouts_ms=self.timeouts_ms)}
            pool = self._pools[id(loop)]
            pool.fill()
        return pool

    async def execute(self, intent: ExecutionIntent) -> ExecutionResult:
        return await self.submit(intent).result

    def escape(self, execution_id: str, reason: str) -> bool:
        """Emergency escape, from outside, at any moment. False when there was nothing to do
        (unknown id, already escaping or finished): escaping twice is harmless. Called while
        that execution's chart is busy (from a callback inside a stage), the escape runs as
        soon as the current step ends."""
        execution = self.executions.get(execution_id)
        if execution is None or execution.run.done or execution.ctx.escaping:
            return False
        if execution.ctx.escape_requested:
            return False
        if execution.run.dispatching:
            execution.ctx.escape_requested = True
            asyncio.get_running_loop().call_soon(self._escape_now, execution, reason)
            return True
        return self._escape_now(execution, reason)

    def _escape_now(self, execution: Execution, reason: str) -> bool:
        ctx = execution.ctx
        ctx.escape_requested = False
        if execution.run.done or ctx.escaping:
            return False
        previous, ctx.escape_reason = ctx.escape_reason, reason
        try:
            execution.run.dispatch(self.spec.escape_event)
        except EventRejected:
            ctx.escape_reason = previous
            return False
        return True

    def escape_all(self, reason: str) -> int:
        return sum(self.escape(eid, reason) for eid in list(self.executions))

    # -- completion -----------------------------------------------------------------------
    def _on_final(self, run: ChartRun) -> None:
        ctx: ExecutionContext = run.ctx
        run.cancel_timers()
        self.services.ledger.live[(ctx.intent.symbol, ctx.intent.side)] -= 1
        self._live -= 1
        if ctx.tasks or ctx.inflight:
            asyncio.get_running_loop().create_task(self._settle(ctx))
        else:
            self._resolve(ctx)

    async def _settle(self, ctx: ExecutionContext) -> None:
        """Wait for the final state's cancels (and any in-flight send), then resolve."""
        pending = set(ctx.tasks) | set(ctx.inflight)
        if pending:
            timeout = self.services.limits.cancel_confirm_timeout_ms / 1000
            await asyncio.wait(pending, timeout=timeout)
        self._resolve(ctx)

    def _resolve(self, ctx: ExecutionContext) -> None:
        execution = self.executions.get(ctx.id)
        if execution is not None and not execution.result.done():
            execution.result.set_result(build_result(ctx))
            self._retire(ctx.id)
            run = execution.run  # its record stays with the execution; the instance is reused
            execution.run = ctx.run = run.retire()
            self.pool().give_back(run)

    def _retire(self, execution_id: str) -> None:
        """Keep the last ``retain_finished`` finished executions (their late fills are still
        applied and flagged GR064); forget the older ones, so a long-running engine does not
        grow without bound."""
        self._finished.append(execution_id)
        while len(self._finished) > self.retain_finished:
            old = self.executions.pop(self._finished.popleft(), None)
            if old is not None:
                self.services.router.forget(old.ctx)


def _code(ctx: ExecutionContext, code: str, guard: str) -> None:
    member = Code[code]
    ctx.alert(member, guard=guard, **ctx.notes.get(member, {}))


def build_result(ctx: ExecutionContext) -> ExecutionResult:
    run = ctx.run
    assert run is not None
    avg = ctx.fills.avg_price
    slip = None
    if avg is not None and ctx.arrival_price:
        slip = float(slippage_bps(ctx.intent.side, avg, ctx.arrival_price))
    reason = ctx.escape_reason
    if ctx.precheck_failure is not None:
        reason = f"{ctx.precheck_failure.value}: {ctx.failure_detail}"
    if run.errors:
        state, exc = run.errors[-1]
        reason = f"{type(exc).__name__} in {state}: {exc}"
    elif not reason:
        fail_safes = [a for a in ctx.alerts if a.code.is_fail_safe]
        reason = fail_safes[-1].message if fail_safes else ""
    return ExecutionResult(
        execution_id=ctx.id,
        intent=ctx.intent,
        final_state=run.state,
        path=[PathStep(s.state, s.event, s.at_ns) for s in run.trace],
        children=list(ctx.children),
        fills=list(ctx.fills.fills),
        filled_qty=ctx.fills.filled_qty,
        avg_price=avg,
        arrival_price=ctx.arrival_price,
        slippage_bps=slip,
        alerts=list(ctx.alerts),
        stage_latency_us=run.time_in_state_us(),
        reason=reason,
        fees=ctx.fills.fees,
        extra={"stage_busy_us": run.busy_us(), "precheck_failure":
               ctx.precheck_failure.value if ctx.precheck_failure else None,
               "adjust_rounds": ctx.adjust_rounds, "qty": ctx.qty,
               "liquidated_qty": ctx.liquidated_qty,
               "trace": [s.to_json() for s in run.trace]},
    )
