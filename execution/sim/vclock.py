"""A virtual-time asyncio event loop: waiting costs no wall time.

:class:`VirtualTimeLoop` is a :class:`asyncio.SelectorEventLoop` whose
``time()`` is a virtual clock. Its selector never blocks on a timeout: when
nothing is ready and the earliest timer is due in ``t`` seconds, the clock
jumps forward by ``t`` and the loop carries on at once. Everything the engine
and the simulated exchange do is driven by ``loop.time()``, ``call_later``,
``asyncio.sleep`` and ``wait_for``, so a 60 s fill wait runs in microseconds,
and a run on a virtual loop is a pure function of its inputs (no wall clock).

Real I/O still works (the selector is polled with a zero timeout); a loop with
nothing scheduled and nothing ready would wait forever on a real clock, and
here raises :class:`VirtualDeadlock` instead.

>>> run_virtual(asyncio.sleep(3600, "done"))
'done'
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
ClockKind = Literal["real", "virtual"]


class VirtualDeadlock(RuntimeError):
    """Nothing is ready, no timer is scheduled: a real loop would block forever."""


#: With only the loop's own wake-up pipe registered, the real selector is polled once
#: every this many turns (nothing ever waits on it here: polling each turn would be a
#: system call per loop turn for nothing).
POLL_EVERY = 64


class _JumpingSelector(selectors.BaseSelector):
    """Wraps a real selector; a positive timeout advances the virtual clock instead."""

    def __init__(self, inner: selectors.BaseSelector, clock: VirtualClock) -> None:
        self._inner = inner
        self._clock = clock
        self._registered = 0
        self._unpolled = 0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = self._inner.register(fileobj, events, data)
        self._registered += 1
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        key = self._inner.unregister(fileobj)
        self._registered -= 1
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self._registered > 1 or self._unpolled >= POLL_EVERY or timeout is None:
            self._unpolled = 0
            ready = self._inner.select(0)
            if ready:
                return ready
        else:
            self._unpolled += 1  # only the loop's wake-up pipe: see POLL_EVERY
        if timeout is None:
            # Only a loop that is stopping may have no work at all; anything else is a hang.
            raise VirtualDeadlock("the virtual-time loop has nothing scheduled and nothing ready")
        if timeout > 0:
            self._clock.advance(timeout)
        return []

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()


class VirtualClock:
    """Seconds since an arbitrary origin; only ever moves forward."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on a :class:`VirtualClock` (see the module docstring)."""

    def __init__(self, start: float = 0.0) -> None:
        self.clock = VirtualClock(start)
        super().__init__(_JumpingSelector(selectors.DefaultSelector(), self.clock))
        # Timers due within this window of "now" run in the current turn; keep it tiny
        # so the order of timers is exactly the order of their due times.
        self._clock_resolution = 1e-9

    def time(self) -> float:
        return self.clock.now


def new_loop(clock: ClockKind = "virtual") -> asyncio.AbstractEventLoop:
    """A fresh event loop on the virtual clock, or a plain one on the real clock."""
    if clock == "virtual":
        return VirtualTimeLoop()
    if clock == "real":
        return asyncio.new_event_loop()
    raise ValueError(f"unknown clock {clock!r}: expected 'real' or 'virtual'")


def run_on(coro: Coroutine[Any, Any, T], clock: ClockKind = "virtual") -> T:
    """``asyncio.run`` on a fresh loop of the given clock; the loop is closed afterwards."""
    loop = new_loop(clock)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeLoop`."""
    return run_on(coro, "virtual")


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
