"""Per-execution state shared by the stage handlers and the guards.

Handlers mutate an :class:`ExecutionContext`; guards only read it. Long waits
run as asyncio tasks owned by the context; a task reports back with
:meth:`ExecutionContext.dispatch`, bound to the state that started it, so a
late result of a preempted stage (say a send that returns after an escape)
is dropped instead of being applied to the wrong state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from execution.codes import Alert, Code
from execution.contracts import ChildOrder, ChildStatus, ExecutionIntent, Quote
from execution.fills import FillBook
from execution.split import SplitPlan

if TYPE_CHECKING:
    from execution.services import Services
    from statecharts.runtime import ChartRun

log = logging.getLogger("execution")


class SafetyState(Enum):
    NORMAL = "NORMAL"
    WARNING = "WARNING"
    FAIL = "FAIL"
    LOCKDOWN = "LOCKDOWN"

    @property
    def allows_trading(self) -> bool:
        return self in (SafetyState.NORMAL, SafetyState.WARNING)


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
    UNKNOWN_SYMBOL = "unknown_symbol"


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
    qty: int = 0
    arrival: Quote | None = None
    arrival_price: Decimal | None = None
    precheck_failure: PrecheckFailure | None = None
    failure_detail: str = ""
    symbol_unknown: bool = False
    plan: SplitPlan | None = None
    children: list[ChildOrder] = field(default_factory=list)
    by_order: dict[str, ChildOrder] = field(default_factory=dict)
    fills: FillBook = field(default_factory=FillBook)
    send_started_ns: int = 0
    sent_ok: int = 0
    send_failed: int = 0
    balance_short: bool = False
    first_send_wall_ns: int = 0
    adjust_rounds: int = 0
    adjust_outcome: AdjustOutcome = AdjustOutcome.NONE
    escape_reason: str = ""
    escape_done: bool = False
    unconfirmed_cancels: int = 0
    liquidation: ChildOrder | None = None
    liquidated_qty: int = 0
    alerts: list[Alert] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)  # sends: never cancelled
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    escaping: bool = False
    escape_requested: bool = False  # an escape() waiting for the current chart step to end
    monitor_visit: int = -1  # the state visit in which the fill monitor is waiting
    fill_window: tuple[float, float] | None = None  # (loop time of first monitor, timeout ms)
    sending: set[str] = field(default_factory=set)  # child ids with a send in flight
    run: ChartRun | None = None
    counted_trade: bool = False
    notes: dict[Code, dict[str, object]] = field(default_factory=dict)

    # -- alerts -----------------------------------------------------------------------
    def alert(self, code: Code, **details: object) -> Alert:
        entry = Alert.of(code, self.services.now_ns(), id=self.id, **details)
        self.alerts.append(entry)
        level = logging.ERROR if code.is_fail_safe else logging.WARNING
        log.log(level, "%s", entry.message)
        return entry

    def note(self, code: Code, **details: object) -> None:
        """Details for ``code``, reported when the chart takes the transition carrying it."""
        self.notes[code] = details

    # -- children ---------------------------------------------------------------------
    def live_children(self) -> list[ChildOrder]:
        return [c for c in self.children if c.status is ChildStatus.SENT]

    def pending_children(self) -> list[ChildOrder]:
        """Children not sent yet (and not being sent right now)."""
        return [c for c in self.children
                if c.status is ChildStatus.PENDING and c.id not in self.sending]

    @property
    def all_children_done(self) -> bool:
        return bool(self.children) and not self.sending and not any(
            c.status in (ChildStatus.PENDING, ChildStatus.SENT) for c in self.children)

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
        if exc is not None and self.run is not None:
            log.error("%s task %s failed: %r", self.id, task.get_name(), exc)
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
        timer = asyncio.get_running_loop().call_later(delay_ms / 1000, callback)
        self.timers.append(timer)
        return timer
