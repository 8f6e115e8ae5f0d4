"""One run of a compiled chart: dispatch with visible rejections, a trace, stage timeouts.

:class:`ChartRun` is the model object of its python-statemachine instance (the
library keeps the current state in ``run.state``). Every entered state is
recorded as a :class:`Step` with the scheduler's clock and the wall clock, so
the trace is a plain value that tests assert on, the renderer overlays and the
latency report reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from statemachine import StateChart
from statemachine.exceptions import TransitionNotAllowed

from statecharts.errors import EventRejected
from statecharts.spec import ERROR_EVENT, ChartSpec

log = logging.getLogger("statecharts.run")


class TimerHandle(Protocol):
    def cancel(self) -> None: ...

    def when(self) -> float: ...


class Scheduler(Protocol):
    """What the run needs to enforce stage timeouts (an asyncio loop fits)."""

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        ...

    def time(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Step:
    """The run entered ``state`` because of ``event`` (``""`` for the initial state)."""

    state: str
    event: str
    source: str
    at_ns: int  # scheduler clock
    wall_ns: int  # perf_counter, for engine-overhead figures
    guard: str = ""  # the guard expression of the transition taken, if it had one

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "event": self.event, "source": self.source,
                "guard": self.guard or None, "at_ns": self.at_ns}


class ChartRun:
    """One execution of a chart. ``ctx`` is the domain object handlers and guards see."""

    wall_ns = staticmethod(time.perf_counter_ns)
    state: str  # kept by python-statemachine (its model's state field); never pre-set it

    def __init__(self, chart: type[StateChart[Any]], spec: ChartSpec, ctx: Any = None, *,
                 scheduler: Scheduler | None = None,
                 timeouts_ms: Mapping[str, float] | None = None,
                 on_final: Callable[[ChartRun], None] | None = None,
                 on_code: Callable[[str, str], None] | None = None) -> None:
        self.spec = spec
        self.ctx = ctx
        self.scheduler = scheduler
        self.timeouts_ms = dict(timeouts_ms or {})
        self.on_final = on_final
        self.on_code = on_code
        self._guard = ""
        self._guard_error: Exception | None = None
        self._first_entry_ns: dict[str, int] = {}
        self.trace: list[Step] = []
        self.busy_ns: dict[str, int] = {}
        self.errors: list[tuple[str, BaseException]] = []
        self._finals = frozenset(spec.final_states)
        self._event = ""
        self._expected: tuple[str, str] | None = None
        self._timer: TimerHandle | None = None
        self._dispatching = False
        self.machine = chart(model=self)
        self._check_expected()

    def bind(self, ctx: Any, *, on_final: Callable[[ChartRun], None] | None = None,
             on_code: Callable[[str, str], None] | None = None) -> ChartRun:
        """Attach a pre-built run (see :class:`RunPool`) to its execution; the initial
        step is re-stamped so the trace starts now, not when the instance was built."""
        self.ctx = ctx
        self.on_final = on_final
        self.on_code = on_code
        self._first_entry_ns.clear()
        first = self.trace[0]
        now = int(self.scheduler.time() * 1e9) if self.scheduler else time.monotonic_ns()
        self.trace[0] = Step(first.state, first.event, first.source, now, self.wall_ns())
        self._first_entry_ns[first.state] = now
        return self

    def reset(self) -> ChartRun:
        """Put a finished run back in its initial state, as if it had just been built.

        The compiled chart's final states are absorbing, not terminal (see
        :mod:`statecharts.compiler`), so python-statemachine's documented
        ``current_state_value`` setter re-enters the initial state in a few
        microseconds where building an instance takes hundreds. The record of the
        finished run (trace, busy time, errors) is left to whoever holds it: this
        run starts new lists. Only for charts whose initial state has no entry handler
        (like :class:`RunPool`).
        """
        if self._dispatching or not self.done:
            raise RuntimeError(f"cannot reset a run in {self.state}: it has not finished")
        self.cancel_timers()
        self.ctx = self.on_final = self.on_code = None
        self._guard, self._guard_error, self._event, self._expected = "", None, "", None
        self._first_entry_ns = {}
        self.trace, self.busy_ns, self.errors = [], {}, []
        self.machine.current_state_value = self.spec.initial
        self.entered(self.spec.initial)
        return self

    def retire(self) -> FinishedRun:
        """A read-only copy of this finished run's record, for the execution that owned it
        (so that the run itself can go back to a pool, see :meth:`RunPool.give_back`)."""
        return FinishedRun(self)

    # -- called by the compiled chart -------------------------------------------------
    def entered(self, state: str) -> None:
        source = self.trace[-1].state if self.trace else ""
        now = int(self.scheduler.time() * 1e9) if self.scheduler else time.monotonic_ns()
        self.trace.append(Step(state, self._event, source, now, self.wall_ns(), self._guard))
        self._guard = ""
        self._expected = None
        self._first_entry_ns.setdefault(state, now)
        self._arm_timeout(state, now)

    def finished(self) -> None:
        """The final state's entry action has run: report the end of the run."""
        if self.on_final is not None:
            self.on_final(self)

    def expect(self, state: str, event: str) -> None:
        """A handler raised ``event``; if no transition takes it, the run reports it."""
        self._expected = (state, event)
        self._event = event

    def took(self, label: str, codes: tuple[tuple[str, str], ...]) -> None:
        """A guarded transition is being taken; each (code, guard name) it carries is
        reported to ``on_code``."""
        self._guard = label
        if self.on_code is not None:
            for code, guard in codes:
                self.on_code(code, guard)

    def guard_raised(self, guard: str, exc: Exception) -> None:
        """A guard raised: the chart will not run the next stage but take the error route."""
        self.note_error(self.state, exc)
        log.error("guard %s raised in %s", guard, self.state)
        self._guard_error = exc

    @property
    def dispatching(self) -> bool:
        """True while an event is being processed (a handler or guard is running)."""
        return self._dispatching

    @property
    def guard_failed(self) -> bool:
        return self._guard_error is not None

    def take_guard_error(self) -> Exception | None:
        error, self._guard_error = self._guard_error, None
        return error

    def note_error(self, state: str, exc: BaseException) -> None:
        self.errors.append((state, exc))
        log.error("handler of %s raised %s: %s", state, type(exc).__name__, exc)

    def error_routed(self, error: BaseException) -> None:
        """The run is taking its error route because of ``error``."""
        self._event = ERROR_EVENT
        state = self.trace[-1].state if self.trace else ""
        if not any(e is error for _, e in self.errors):
            self.errors.append((state, error))
            log.error("%s failed with %s: %s", state, type(error).__name__, error)

    def add_busy(self, state: str, ns: int) -> None:
        self.busy_ns[state] = self.busy_ns.get(state, 0) + ns

    # -- the public surface ------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.state in self._finals

    def dispatch(self, event: str, **kwargs: Any) -> str:
        """Send ``event``; return the new state or raise :class:`EventRejected`."""
        if self._dispatching:
            raise RuntimeError(f"re-entrant dispatch of {event!r}: return the event instead")
        before = self.state
        self._event = event
        self._dispatching = True
        try:
            self.machine.send(event, **kwargs)
        except TransitionNotAllowed as exc:
            raise EventRejected(before, event, "no enabled transition") from exc
        finally:
            self._dispatching = False
        self._check_expected()
        return self.state

    def fail(self, exc: BaseException) -> str:
        """Route an exception raised outside the chart (an async stage task) like a handler's."""
        if self.done:
            self.note_error(self.state, exc)
            return self.state
        self.note_error(self.state, exc)
        return self.dispatch(ERROR_EVENT, error=exc)

    def _check_expected(self) -> None:
        if self._expected is None:
            return
        state, event = self._expected
        self._expected = None
        if self.state == state and not self.done:
            rejected = EventRejected(state, event, "a handler raised an event no transition takes")
            self.fail(rejected)

    def _arm_timeout(self, state: str, now_ns: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        delay_ms = self.timeouts_ms.get(state)
        if delay_ms is None or self.scheduler is None:
            return
        timeout = self.spec.state(state).timeout
        if timeout is not None and timeout.since == "first_entry":
            delay_ms -= (now_ns - self._first_entry_ns[state]) / 1e6
        entries = len(self.trace)
        self._timer = self.scheduler.call_later(max(delay_ms, 0.0) / 1000, self._on_timeout,
                                                state, entries)

    def _on_timeout(self, state: str, entries: int) -> None:
        if self.state != state or len(self.trace) != entries:
            return  # the state was left (or re-entered) since the timer was armed
        log.warning("%s timed out after %.0f ms", state, self.timeouts_ms[state])
        try:
            self.dispatch(self.spec.timeout_event)
        except EventRejected as exc:
            self.fail(exc)

    def extend_timeout(self, extra_ms: float) -> None:
        """Push the current state's timeout ``extra_ms`` later (a pause that must not use
        up the state's time); its later entries see the longer timeout too."""
        state = self.state
        if state not in self.timeouts_ms or self.done:
            return
        self.timeouts_ms[state] += extra_ms
        if self._timer is not None and self.scheduler is not None:
            remaining_s = max(self._timer.when() - self.scheduler.time(), 0.0)
            self._timer.cancel()
            self._timer = self.scheduler.call_later(remaining_s + extra_ms / 1000,
                                                    self._on_timeout, state, len(self.trace))

    def cancel_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- derived figures ---------------------------------------------------------------
    def path(self) -> list[str]:
        return [step.state for step in self.trace]

    def time_in_state_us(self) -> dict[str, float]:
        """Microseconds between entering each state and leaving it (summed over visits)."""
        totals: dict[str, float] = {}
        for step, nxt in zip(self.trace, self.trace[1:], strict=False):
            totals[step.state] = totals.get(step.state, 0.0) + (nxt.at_ns - step.at_ns) / 1000
        return totals

    def busy_us(self) -> dict[str, float]:
        return {state: ns / 1000 for state, ns in self.busy_ns.items()}


class FinishedRun(ChartRun):
    """What stays with an execution when its chart instance went back to the pool: the
    final state and the record (trace, busy time, errors). Every event is rejected, as it
    is in a final state; an error reported late is recorded, as :meth:`ChartRun.fail` does.
    """

    def __init__(self, run: ChartRun) -> None:  # no chart instance: nothing to build
        if not run.done:
            raise RuntimeError(f"cannot retire a run in {run.state}: it has not finished")
        self.spec, self.ctx, self.scheduler = run.spec, run.ctx, None
        self.timeouts_ms, self.on_final, self.on_code = {}, None, None
        self.state = run.state
        self.trace, self.busy_ns, self.errors = run.trace, run.busy_ns, run.errors
        self._finals, self._first_entry_ns = run._finals, run._first_entry_ns
        self._guard, self._guard_error, self._event, self._expected = "", None, "", None
        self._timer, self._dispatching = None, False

    def dispatch(self, event: str, **kwargs: Any) -> str:
        raise EventRejected(self.state, event, "the run has finished")

    def reset(self) -> ChartRun:
        raise RuntimeError("a retired run has no chart instance to reset")


class RunPool:
    """Pre-built runs, so that building a python-statemachine instance (hundreds of
    microseconds) is not on the path from intent to first order.

    :meth:`take` hands out a pooled run (or builds one when the pool is empty, counted
    in ``misses``) and arms a deferred refill: ``refill_delay`` seconds later, missing
    runs are rebuilt one per loop turn, after the hot path of the execution that took
    one. A finished run handed back (:meth:`give_back`) is reset on the next loop turn
    (never inside its own last dispatch) and pooled again, up to ``size``: recycled
    runs are what the refill does not have to build (``recycled`` counts them). Only for
    charts whose initial state has no entry handler (a pooled run has entered it before
    it had a context).
    """

    def __init__(self, chart: type[StateChart[Any]], spec: ChartSpec, *, size: int,
                 scheduler: Scheduler | None = None,
                 timeouts_ms: Mapping[str, float] | None = None,
                 refill_delay: float = 0.005) -> None:
        if spec.state(spec.initial).entry:
            raise ValueError(f"cannot pool {spec.id}: its initial state has an entry handler")
        self.chart, self.spec, self.size = chart, spec, size
        self.scheduler = scheduler
        self.timeouts_ms = dict(timeouts_ms or {})
        self.refill_delay = refill_delay
        self.refill_enabled = True
        self._runs: list[ChartRun] = []
        self._refilling = False
        self.misses = 0
        self.recycled = 0

    def _build(self) -> ChartRun:
        return ChartRun(self.chart, self.spec, scheduler=self.scheduler,
                        timeouts_ms=self.timeouts_ms)

    def __len__(self) -> int:
        return len(self._runs)

    def fill(self) -> None:
        """Build the whole pool now (at start-up)."""
        while len(self._runs) < self.size:
            self._runs.append(self._build())

    def take(self) -> ChartRun:
        if self._runs:
            run = self._runs.pop()
        else:
            self.misses += 1
            run = self._build()
        if self.refill_enabled and not self._refilling and self.scheduler is not None:
            self._refilling = True
            self.scheduler.call_later(self.refill_delay, self._refill_one)
        return run

    def give_back(self, run: ChartRun) -> None:
        """Take back a finished run of this pool's chart; it is reset on the next loop turn
        (at once without a scheduler). Runs beyond ``size``, or of another chart, are
        dropped."""
        if isinstance(run, FinishedRun) or type(run.machine) is not self.chart:
            return
        if len(self._runs) >= self.size:
            return
        if self.scheduler is None:
            self._recycle(run)
        else:
            self.scheduler.call_later(0, self._recycle, run)

    def _recycle(self, run: ChartRun) -> None:
        if len(self._runs) < self.size and not run.dispatching and run.done:
            run.timeouts_ms = dict(self.timeouts_ms)  # a run may have changed its own
            self._runs.append(run.reset())
            self.recycled += 1

    def adopt(self, runs: list[ChartRun]) -> None:
        """Add runs reset elsewhere (another pool of the same chart): they take this pool's
        scheduler and timeouts."""
        for run in runs:
            if type(run.machine) is not self.chart or run.trace[1:] or run.ctx is not None:
                raise ValueError("only fresh or reset runs of this pool's chart can be adopted")
            run.scheduler, run.timeouts_ms = self.scheduler, dict(self.timeouts_ms)
            self._runs.append(run)

    def drain(self) -> list[ChartRun]:
        """Hand out every pooled run (to :meth:`adopt` them elsewhere); the pool is empty."""
        runs, self._runs = self._runs, []
        return runs

    def _refill_one(self) -> None:
        if len(self._runs) < self.size:
            self._runs.append(self._build())
        if len(self._runs) < self.size and self.scheduler is not None:
            self.scheduler.call_later(0, self._refill_one)
        else:
            self._refilling = False
