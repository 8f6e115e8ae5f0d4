"""Per-execution state shared by the stage handlers and the guards, and the engine-wide
services every execution shares (broker, limits, sessions, bus, ledger, order index).

Handlers mutate an :class:`ExecutionContext`; guards only read it. Long waits
run as asyncio tasks owned by the context; a task reports back with
:meth:`ExecutionContext.dispatch`, bound to the state that started it, so a
late result of a preempted stage (say a send that returns after an escape)
is dropped instead of being applied to the wrong state. An exception in a task or
a timer callback routes the chart to its error target: it never vanishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from execution.broker import Broker
from execution.bus import EventBus
from execution.codes import Alert, Code
from execution.contracts import (
    Amendment,
    ChildOrder,
    ChildStatus,
    ExecutionIntent,
    FillEvent,
    Position,
    Quote,
    Side,
)
from execution.fillbook import FillBook
from execution.journal.api import NULL_JOURNAL, Journal
from execution.market_session import KrxSessions
from execution.risk import RiskBook
from execution.safety import SafetyState
from execution.settings import EngineLimits
from execution.split import SplitPlan
from execution.volume_profile import VolumeProfile
from statecharts.runtime import ChartRun

log = logging.getLogger("execution")
PositionListener = Callable[[Position], None]
AmendmentListener = Callable[[Amendment], None]
MAX_ORPHAN_ORDERS = 10_000


class PrecheckFailure(Enum):
    P0_OVERFLOW = "p0_overflow"
    SAFETY_STATE = "safety_state"
    DUPLICATE_INTENT = "duplicate_intent"
    POSITION_CAP = "position_cap"
    NO_CAPITAL = "no_capital"
    BROKER_DISCONNECTED = "broker_disconnected"
    MARKET_CLOSED = "market_closed"
    DAILY_LIMIT = "daily_limit"
    SPREAD_TOO_WIDE = "spread_too_wide"
    NOTIONAL_TOO_LARGE = "notional_too_large"
    SELF_TRADE = "self_trade"
    UNKNOWN_SYMBOL = "unknown_symbol"
    SESSION_PHASE = "session_phase"
    PRICE_LIMIT = "price_limit"


class AdjustOutcome(Enum):
    NONE = "none"
    ADJUSTED = "adjusted"
    CAPPED = "capped"  # GR063
    BREACH = "breach"  # FS094
    EXHAUSTED = "exhausted"


@dataclass(eq=False)
class ExecutionContext:
    id: str
    intent: ExecutionIntent
    services: Services
    limits: EngineLimits = field(init=False)  # the limits it started with, to its end
    qty: int = 0
    arrival: Quote | None = None
    arrival_price: Decimal | None = None
    precheck_failure: PrecheckFailure | None = None
    failure_detail: str = ""
    symbol_unknown: bool = False
    plan: SplitPlan | None = None
    children: list[ChildOrder] = field(default_factory=list)
    fills: FillBook = field(default_factory=FillBook)
    send_started_ns: int = 0
    sent_ok: int = 0
    send_failed: int = 0
    balance_short: bool = False
    first_wave_sent: bool = False  # the send stage reported; later slices go on their own
    adjust_rounds: int = 0
    adjust_outcome: AdjustOutcome = AdjustOutcome.NONE
    escape_reason: str = ""
    escape_done: bool = False
    unconfirmed_cancels: int = 0
    liquidation: ChildOrder | None = None
    liquidated_qty: int = 0
    liquidation_fills: FillBook = field(default_factory=FillBook)
    closed_orders: set[str] = field(default_factory=set)  # broker ids confirmed over
    on_child_done: Callable[[ChildOrder], None] | None = None  # e.g. an iceberg refill
    alerts: list[Alert] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)  # sends: never cancelled
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    escaping: bool = False
    escape_requested: bool = False  # an escape() waiting for the current chart step to end
    on_done: Callable[[], None] | None = None  # set by the stage waiting for "all done"
    fill_window: tuple[float, float] | None = None  # (loop time of first monitor, timeout ms)
    run: ChartRun | None = None
    counted_trade: bool = False
    notes: dict[Code, dict[str, object]] = field(default_factory=dict)
    unconfirmed: list[str] = field(default_factory=list)
    rejected_fills: list[FillEvent] = field(default_factory=list)
    settled: bool = False  # the result went out: later fills are amendments
    version: int = 1
    amendments: list[Amendment] = field(default_factory=list)
    resting_to_cancel: list[str] = field(default_factory=list)  # self-trade: cancel_resting
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set once settled
    delay_flagged: set[str] = field(default_factory=set)  # children warned of (GR064)
    delay_pending: list[str] = field(default_factory=list)  # to be warned by a transition
    phase_end_ns: int | None = None  # when continuous trading ends for this execution
    time_left_ms: float | None = None  # set when the horizon was shortened to it (GR066)
    paused_since: float | None = None  # loop time an auction / VI pause began (GR067)
    pause_checked: float = 0.0  # loop time the pause was last accounted for
    held_releases: set[str] = field(default_factory=set)  # slices held in a pause (GR067)
    owed_qty: int = 0  # shrink: cut from working children in a pause, owed back after it
    shrink_task: asyncio.Task[Any] | None = None  # the pause's reductions, while in flight
    waiting: set[str] = field(default_factory=set)  # children that waited in a round (GR069)
    # child id -> (loop time, price, shares ahead) when its queue was first seen at that price
    queue_seen: dict[str, tuple[float, Decimal, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limits = self.services.limits

    # -- alerts -----------------------------------------------------------------------
    def alert(self, code: Code, **details: object) -> Alert:
        entry = Alert.of(code, self.services.now_ns(), id=self.id, **details)
        self.alerts.append(entry)
        self.services.journal.alert(self.id, entry)
        level = logging.ERROR if code.is_fail_safe else logging.WARNING
        log.log(level, "%s", entry.message)
        return entry

    def note(self, code: Code, **details: object) -> None:
        """Details for ``code``, reported when the chart takes the transition carrying it."""
        self.notes[code] = details

    # -- children ---------------------------------------------------------------------
    def live_children(self) -> list[ChildOrder]:
        return [c for c in self.children if c.status.is_live]

    def pending_children(self) -> list[ChildOrder]:
        """Children not sent yet (and not being sent right now)."""
        return [c for c in self.children if c.status is ChildStatus.PENDING]

    def submitting(self) -> list[ChildOrder]:
        """Children whose send is in flight."""
        return [c for c in self.children if c.status is ChildStatus.PENDING_SUBMIT]

    def open_orders(self) -> list[ChildOrder]:
        """Every order of this execution not confirmed terminal (the liquidation included)."""
        orders = [c for c in self.children if not c.status.is_terminal
                  and c.status is not ChildStatus.PENDING]
        if self.liquidation is not None and not self.liquidation.status.is_terminal:
            orders.append(self.liquidation)
        return orders

    @property
    def all_children_done(self) -> bool:
        """Every child confirmed over, and nothing cut in a pause still owed (or being cut)."""
        return (bool(self.children) and self.owed_qty == 0 and self.shrink_task is None
                and all(c.status.is_terminal for c in self.children))

    @property
    def remaining_qty(self) -> int:
        return self.qty - self.fills.filled_qty

    # -- tasks --------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, *,
              inflight: bool = False) -> asyncio.Task[Any]:
        """Run ``coro`` as a task of this execution; an exception routes the chart to its
        error target (never lost). ``inflight`` tasks (broker sends) are never cancelled:
        a send cut off between the exchange's accept and our ack would orphan an order."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.id}:{name}")
        (self.inflight if inflight else self.tasks).add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        self.inflight.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s task %s failed: %r", self.id, task.get_name(), exc)
            self.fail(exc)

    def fail(self, exc: BaseException) -> None:
        """Route an exception raised outside a chart step (a task, a timer) like a
        handler's: into the chart's error route, or onto the record when it has ended."""
        if self.run is not None:
            self.run.fail(exc)

    def stop_background(self) -> None:
        """Cancel timers and every task but in-flight sends."""
        current = asyncio.current_task()
        self.stop_timers()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()

    def stop_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()

    def visit(self) -> int:
        """Identifies the current state visit: the number of states entered so far."""
        return len(self.run.trace) if self.run is not None else 0

    def in_visit(self, visit: int) -> bool:
        return self.run is not None and len(self.run.trace) == visit

    def dispatch(self, event: str, visit: int) -> bool:
        """Send ``event`` if the run is still in the state visit that asked for it (see
        :meth:`visit`); False when it has moved on (an escape preempted the stage)."""
        run = self.run
        if run is None or len(run.trace) != visit:
            log.debug("%s: dropped stale %r (state %s)", self.id, event,
                      run.state if run else None)
            return False
        run.dispatch(event)
        return True

    def after(self, delay_ms: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        """Run ``callback`` after ``delay_ms``; an exception in it takes the error route."""
        timer = asyncio.get_running_loop().call_later(delay_ms / 1000, self.guarded, callback)
        self.timers.append(timer)
        return timer

    def soon(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the next loop turn (after the current chart step)."""
        asyncio.get_running_loop().call_soon(self.guarded, callback)

    def guarded(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception as exc:
            log.error("%s: callback %r failed: %r", self.id, callback, exc)
            self.fail(exc)


class OrderIndex:
    """Broker order id -> the execution and child that own it, for every order the engine
    has placed and not forgotten; fills of ids not registered yet wait as orphans (a fill
    may overtake the ack that tells us the id)."""

    def __init__(self) -> None:
        self.orders: dict[str, tuple[ExecutionContext, ChildOrder]] = {}
        self.active: dict[str, tuple[ExecutionContext, ChildOrder]] = {}  # not confirmed done
        self.orphans: OrderedDict[str, list[FillEvent]] = OrderedDict()
        self.unknown_fills: list[FillEvent] = []  # fills no order of ours explains
        self.routed = 0

    def add(self, order_id: str, ctx: ExecutionContext, child: ChildOrder) -> None:
        self.orders[order_id] = self.active[order_id] = (ctx, child)

    def get(self, order_id: str) -> tuple[ExecutionContext, ChildOrder] | None:
        return self.orders.get(order_id)

    def hold_orphan(self, fill: FillEvent) -> None:
        self.orphans.setdefault(fill.order_id, []).append(fill)
        if len(self.orphans) > MAX_ORPHAN_ORDERS:
            _, dropped = self.orphans.popitem(last=False)
            self.unknown_fills.extend(dropped)

    def take_orphans(self, order_id: str) -> list[FillEvent]:
        return self.orphans.pop(order_id, [])

    def open_entries(self) -> Iterator[tuple[str, ExecutionContext, ChildOrder]]:
        """Orders not confirmed terminal (pruning the ones that are)."""
        for order_id, (ctx, child) in list(self.active.items()):
            if child.status.is_terminal or order_id != child.broker_order_id:
                del self.active[order_id]
            else:
                yield order_id, ctx, child

    @property
    def open_count(self) -> int:
        return sum(1 for _ in self.open_entries())

    def forget(self, ctx: ExecutionContext) -> None:
        children = list(ctx.children)
        if ctx.liquidation is not None:
            children.append(ctx.liquidation)
        for child in children:
            for order_id in child.order_ids:
                self.orders.pop(order_id, None)
                self.active.pop(order_id, None)


@dataclass(slots=True)
class Services:
    broker: Broker
    limits: EngineLimits
    sessions: KrxSessions
    bus: EventBus
    profile: VolumeProfile
    ledger: RiskBook = field(default_factory=RiskBook)
    safety_state: SafetyState = SafetyState.NORMAL
    capital_krw: Decimal | None = None
    position_listeners: list[PositionListener] = field(default_factory=list)
    amendment_listeners: list[AmendmentListener] = field(default_factory=list)
    index: OrderIndex = field(default_factory=OrderIndex)
    live: dict[str, ExecutionContext] = field(default_factory=dict)  # by execution id
    escape: Callable[[str, str], bool] | None = None  # the engine's escape(id, reason)
    journal: Journal = NULL_JOURNAL  # write-ahead records (execution.journal); off by default

    def now_ns(self) -> int:
        return self.broker.now_ns()

    def live_opposite(self, symbol: str, side: Side) -> list[str]:
        """Live executions on the other side of ``symbol`` (self-trade candidates)."""
        return [c.id for c in self.live.values()
                if c.intent.symbol == symbol and c.intent.side is side.opposite]

    def available_capital(self) -> Decimal | None:
        """The smaller of the engine's capital budget (less what fills spent) and the
        broker's available cash, each less what live executions have claimed and the
        budget does not already reflect. None when neither is known."""
        ledger = self.ledger
        budgets: list[Decimal] = []
        if self.capital_krw is not None:
            budgets.append(self.capital_krw - ledger.spent_krw - ledger.capital_claimed())
        broker_cash = getattr(self.broker, "available_cash", None)
        cash = broker_cash() if callable(broker_cash) else None
        if cash is not None:
            budgets.append(cash - ledger.capital_claimed_beyond_broker())
        return min(budgets) if budgets else None
