"""The engine: one compiled chart, one chart instance per execution, one event loop.

>>> engine = Engine(broker)                      # doctest: +SKIP
>>> result = await engine.execute(intent)        # doctest: +SKIP

``submit`` starts an execution and returns its handle at once; ``escape`` is
the micro-risk loop's trigger and may be called at any moment. An execution's result
goes out once it has *settled*: every order it placed confirmed terminal by the broker,
or listed as unconfirmed (FS096). A fill that arrives later amends it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from execution import paths
from execution.broker import Broker
from execution.bus import EventBus
from execution.codes import Code
from execution.context import AmendmentListener, ExecutionContext, PositionListener, Services
from execution.contracts import MAX_AMOUNT_KRW, Amendment, ExecutionIntent, ExecutionResult
from execution.gctune import freeze_long_lived
from execution.guards import REGISTRY
from execution.ids import IdSource
from execution.journal.api import JournalError
from execution.journal.recorder import DurableJournal, result_summary
from execution.market_session import KrxSessions
from execution.orders.fills import route
from execution.orders.polling import FillPoller
from execution.orders.positions import hand_off
from execution.orders.settle import needs_broker, settle
from execution.recovery import RecoveryRefused, RecoveryReport, recover
from execution.recovery.day import needs_recovery, restore_day
from execution.results import build_result
from execution.safety import SafetyState
from execution.settings import EngineLimits, load_engine_limits
from execution.volume_profile import VolumeProfile
from statecharts.compiler import compile_chart
from statecharts.errors import ChartInvalid, EventRejected
from statecharts.lint import lint
from statecharts.loader import load_chart
from statecharts.runtime import ChartRun, RunPool
from statecharts.spec import ChartSpec

log = logging.getLogger("execution.engine")


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

    @property
    def amendments(self) -> list[Amendment]:
        """Fills counted after the result went out, each a new version of its totals."""
        return self.ctx.amendments


def load_product_chart(chart: Path | str | None, limits: EngineLimits) -> ChartSpec:
    """Load, lint (against the registry and the limits) and return the chart spec."""
    spec = load_chart(chart or paths.default_chart())
    problems = lint(spec, guards=REGISTRY.guards, handlers=REGISTRY.handlers,
                    limits=list(limits.raw.keys()) if limits.raw else None)
    if problems:
        raise ChartInvalid(problems)
    return spec


class EngineBusy(RuntimeError):
    """``close(escape_live=False)`` with executions still live."""


class RecoveryNeeded(RuntimeError):
    """The journal holds executions of an earlier run that are not finished: ``recover()``
    first (their orders may still be working at the broker)."""


class Engine:
    def __init__(self, broker: Broker, *, limits: EngineLimits | None = None,
                 chart: Path | str | None = None, sessions: KrxSessions | None = None,
                 profile: VolumeProfile | None = None,
                 safety_state: SafetyState = SafetyState.NORMAL,
                 capital_krw: Decimal | None = None, id_prefix: str = "X",
                 stage_timeouts_ms: dict[str, float] | None = None,
                 pool_size: int = 64, retain_finished: int = 10_000,
                 journal: DurableJournal | None = None) -> None:
        limits = limits or load_engine_limits()
        if capital_krw is not None and not (capital_krw.is_finite() and
                                            0 <= capital_krw <= MAX_AMOUNT_KRW):
            raise ValueError(f"capital_krw must be a finite amount in 0..{MAX_AMOUNT_KRW}, "
                             f"got {capital_krw}")
        self.spec = load_product_chart(chart, limits)
        self.chart = compile_chart(self.spec, REGISTRY)
        self._timeout_overrides = dict(stage_timeouts_ms or {})  # kept across reloads
        self.timeouts_ms = limits.stage_timeouts_ms(self.spec) | self._timeout_overrides
        self.services = Services(broker=broker, limits=limits, sessions=sessions or KrxSessions(),
                                 bus=EventBus(limits.p0_queue_capacity, auto_drain=True),
                                 profile=profile or VolumeProfile.load(),
                                 safety_state=safety_state, capital_krw=capital_krw)
        self.executions: dict[str, Execution] = {}
        self.retain_finished = retain_finished  # finished executions kept for lookups/late fills
        self._finished: deque[str] = deque()
        self._live = 0
        self._unconfirmed: dict[str, ExecutionContext] = {}  # settled, orders unconfirmed
        self._pools: dict[int, RunPool] = {}
        self.pool_size = pool_size
        self._ids = IdSource(id_prefix)  # unique across restarts and processes
        self._unsubscribe: Callable[[], None] | None = None
        self.poller = FillPoller(self.services, lambda: self._live, self._unconfirmed)
        self._poll_task: asyncio.Task[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()
        self.services.escape = self.escape
        self.journal = journal
        self.recovery_pending = False
        if journal is not None:
            self._open_journal(journal)

    def _open_journal(self, journal: DurableJournal) -> None:
        """Journal on: everything is recorded there; the day's trade count (GR062) and
        positions come back from it; its unfinished executions must be recovered first."""
        self.services.journal = journal
        journal.attach(self.services.now_ns)
        restore_day(self.services, journal)
        self.recovery_pending = needs_recovery(journal)

    async def recover(self, *, policy: str = "escape", in_doubt_wait_s: float = 5.0,
                      order_timeout_s: float | None = None) -> RecoveryReport:
        """Bring every execution the journal shows unfinished to an end against the broker
        (see :mod:`execution.recovery`); call it at start, before ``submit``. Idempotent.
        ``in_doubt_wait_s``: how long a send whose answer was never journaled may still
        reach the broker after the crash (before "not found" means "never placed");
        ``order_timeout_s``: how long each order may take to be confirmed over."""
        if self.journal is None:
            raise RecoveryRefused("recover needs a journal: Engine(broker, journal=...)")
        if self._unsubscribe is None:  # fills pushed meanwhile reach the recovered orders
            self._unsubscribe = self.services.broker.subscribe_fills(
                functools.partial(route, self.services))
        report = await recover(self.services, self.journal, self.spec, policy=policy,
                               in_doubt_wait_s=in_doubt_wait_s,
                               order_timeout_s=order_timeout_s)
        if report.changed:  # the day's count and positions, with what recovery settled
            restore_day(self.services, self.journal)
        self.recovery_pending = False
        return report

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
            self._unsubscribe = self.services.broker.subscribe_fills(
                functools.partial(route, self.services))
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = asyncio.get_running_loop().create_task(self.poller.run(),
                                                                      name="fill-poller")

    async def close(self, *, escape_live: bool = True, timeout_s: float | None = None) -> None:
        """Stop the engine without blinding a live execution: escape every live one (or,
        with ``escape_live=False``, refuse with :class:`EngineBusy`), wait until each has
        settled, then unsubscribe and stop polling. ``timeout_s`` bounds the wait (the
        executions still unsettled then are logged)."""
        live = [e for e in self.executions.values() if not e.result.done()]
        if live and not escape_live:
            raise EngineBusy(f"{len(live)} execution(s) live: " + ", ".join(e.id for e in live))
        for execution in live:
            self.escape(execution.id, "engine closing")
        pending = {asyncio.ensure_future(asyncio.shield(e.result)) for e in live}
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout_s)
            for future in late:
                future.cancel()
            if late:
                log.error("close: %d execution(s) not settled in %.1f s", len(late),
                          timeout_s or 0.0)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._poll_task is not None:
            self._poll_task.cancel()
            self._poll_task = None
        try:
            self.services.journal.flush()
        except JournalError as err:
            log.error("close: %s", err)

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

    def add_position_listener(self, listener: PositionListener) -> None:
        self.services.position_listeners.append(listener)

    def add_amendment_listener(self, listener: AmendmentListener) -> None:
        self.services.amendment_listeners.append(listener)

    def submit(self, intent: ExecutionIntent) -> Execution:
        """Start executing ``intent``; returns at once with the execution's handle.
        With a journal, the intent is recorded first (JournalError: not accepted)."""
        if self.recovery_pending:
            raise RecoveryNeeded("the journal holds unfinished executions of an earlier run: "
                                 "await engine.recover() first")
        self._ensure_started()
        loop = asyncio.get_running_loop()
        execution_id = intent.client_intent_id or self._ids.next()
        if execution_id in self.executions:
            raise ValueError(f"execution id {execution_id!r} already used")
        journal = self.services.journal
        if journal.enabled:
            journal.intent(execution_id, intent,
                           self.services.sessions.trading_day(self.services.now_ns()),
                           generated=not intent.client_intent_id)
        ctx = ExecutionContext(execution_id, intent, self.services)
        run = self.pool(loop).take().bind(ctx, on_final=self._on_final,
                                          on_code=lambda code, guard: _code(ctx, code, guard))
        ctx.run = run
        execution = Execution(ctx, run, loop.create_future())
        self.executions[execution_id] = execution
        self.services.live[execution_id] = ctx
        self.services.ledger.live[(intent.symbol, intent.side)] += 1
        self._live += 1
        run.dispatch(REGISTRY.start_event or "start")
        return execution

    def reload(self, *, chart: Path | str | None = None,
               limits: Path | str | None = None) -> None:
        """Load an edited chart and/or limits file for the executions submitted from now on.

        Everything is read, validated, linted and compiled before anything is swapped: a
        rejected edit raises :class:`ChartInvalid` and leaves the running configuration
        exactly as it was. Live executions keep the chart and limits they started with,
        to their end; the constructor's stage-timeout overrides are kept.
        """
        new_limits = load_engine_limits(limits) if limits else self.services.limits
        spec = load_product_chart(chart, new_limits) if chart else self.spec
        if not chart:  # a limits edit must still satisfy the chart's limit references
            problems = lint(spec, limits=list(new_limits.raw.keys()) if new_limits.raw else None)
            if problems:
                raise ChartInvalid(problems)
        compiled = compile_chart(spec, REGISTRY)
        timeouts = new_limits.stage_timeouts_ms(spec) | self._timeout_overrides
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
        soon as the current step ends. Each execution escapes by its own chart's event."""
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
            execution.run.dispatch(execution.run.spec.escape_event)
        except EventRejected:
            ctx.escape_reason = previous
            return False
        return True

    def escape_all(self, reason: str) -> int:
        return sum(self.escape(eid, reason) for eid in list(self.executions))

    def unsettled(self) -> Iterator[Execution]:
        """Settled executions with orders the broker has not confirmed (FS096)."""
        return (self.executions[i] for i in self._unconfirmed if i in self.executions)

    # -- completion -----------------------------------------------------------------------
    def _on_final(self, run: ChartRun) -> None:
        ctx: ExecutionContext = run.ctx
        run.cancel_timers()
        self.services.ledger.live[(ctx.intent.symbol, ctx.intent.side)] -= 1
        self.services.live.pop(ctx.id, None)
        self._live -= 1
        if needs_broker(ctx):
            task = asyncio.get_running_loop().create_task(self._settle(ctx),
                                                          name=f"{ctx.id}:settle")
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)
        else:
            self._finalize(ctx)

    async def _settle(self, ctx: ExecutionContext) -> None:
        try:
            await settle(ctx, ctx.limits.cancel_confirm_timeout_ms / 1000)
        except Exception as exc:  # never lose the result: record, then finalize
            log.exception("%s: settlement failed", ctx.id)
            if ctx.run is not None:
                ctx.run.note_error(ctx.run.state, exc)
        self._finalize(ctx)

    def _finalize(self, ctx: ExecutionContext) -> None:
        """Hand the position off, send the result out, keep chasing unconfirmed orders."""
        for exc in hand_off(ctx):
            if ctx.run is not None:
                ctx.run.note_error(ctx.run.state, exc)
        if ctx.unconfirmed:
            self._unconfirmed[ctx.id] = ctx
        self.services.ledger.release(ctx.id)  # fills stay; the unused claim goes
        ctx.settled = True
        ctx.done.set()
        result = build_result(ctx)
        journal = self.services.journal
        if journal.enabled:
            journal.result(ctx.id, result.final_state, result_summary(result),
                           settled=not ctx.unconfirmed)
        execution = self.executions.get(ctx.id)
        if execution is not None and not execution.result.done():
            execution.result.set_result(result)
            self._retire(ctx.id)
            run = execution.run  # its record stays with the execution; the instance is reused
            execution.run = ctx.run = run.retire()
            self.pool().give_back(run)

    def _retire(self, execution_id: str) -> None:
        """Keep the last ``retain_finished`` finished executions (their late fills are still
        counted, as amendments); forget the older ones, so a long-running engine does not
        grow without bound. Executions with unconfirmed orders are never forgotten."""
        self._finished.append(execution_id)
        while len(self._finished) > self.retain_finished:
            old_id = self._finished.popleft()
            if old_id in self._unconfirmed:
                self._finished.append(old_id)
                break
            old = self.executions.pop(old_id, None)
            if old is not None:
                self.services.index.forget(old.ctx)


def _code(ctx: ExecutionContext, code: str, guard: str) -> None:
    """A code the chart raised as it took a transition: under its guard's name, or for a
    state's own timeout code, the state and its time limit."""
    member, run = Code[code], ctx.run
    if run is not None and guard == run.spec.timeout_event:
        ctx.alert(member, timeout=run.state, after_ms=round(run.timeouts_ms.get(run.state, 0)),
                  **ctx.notes.get(member, {}))
        return
    ctx.alert(member, guard=guard, **ctx.notes.get(member, {}))
