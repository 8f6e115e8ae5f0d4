"""The simulated exchange's background driver (a mixin of ``SimulatedExchange``).

It advances the books whenever one of our orders may trade (each book knows
when), when a call auction of a symbol we have orders in ends or a forced VI
is due, and at least every ``driver_interval_ms`` while orders are live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Self

from execution.brokers.table import OrderRecord
from execution.sim.book import OrderBook
from execution.sim.orders import SimConfig
from execution.sim.sessions import SymbolSession


class Driver:
    """See the module docstring."""

    config: SimConfig
    _books: dict[str, OrderBook]
    _sessions: dict[str, SymbolSession]
    _orders: dict[str, OrderRecord]
    _driver: asyncio.Task[None] | None
    _drive_loop: asyncio.AbstractEventLoop | None
    _drive_timer: asyncio.TimerHandle | None
    now_ns: Callable[[], int]
    _sync: Callable[..., int]

    async def run(self) -> None:
        """Drive the market until cancelled (see the module docstring). An order that
        starts resting re-plans the next wake-up."""
        loop = asyncio.get_running_loop()
        self._drive_loop = loop
        self._plan_drive()
        try:
            await loop.create_future()  # the driving happens in timer callbacks
        finally:
            if self._drive_timer is not None:
                self._drive_timer.cancel()
            self._drive_loop = self._drive_timer = None

    def _drive(self) -> None:
        self._drive_timer = None
        self._sync()
        self._plan_drive()

    def _plan_drive(self) -> None:
        loop = self._drive_loop
        if loop is None:
            return
        if self._drive_timer is not None:
            self._drive_timer.cancel()
            self._drive_timer = None
        live = {o.request.symbol for o in self._orders.values() if o.live}
        if not live:
            return  # nothing can trade: the next order that rests re-plans
        delay = self.config.driver_interval_ms / 1000
        now = self.now_ns()
        horizon = now + round(delay * 1e9)  # the driver wakes by then anyway
        wakes = [w for code in live
                 if (w := self._books[code].next_wake_ns(horizon)) is not None]
        wakes += [w for code in live if (w := self._sessions[code].next_change()) is not None]
        if wakes:  # + 2 ns: the exchange clock truncates to whole nanoseconds
            delay = min(delay, max(0.0, (min(wakes) - now + 2) / 1e9))
        self._drive_timer = loop.call_later(delay, self._drive)

    def start(self) -> asyncio.Task[None]:
        """Start the background driver on the running loop (idempotent)."""
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self.run(), name="sim-exchange")
        return self._driver

    def stop(self) -> None:
        """Cancel the background driver (if any)."""
        if self._driver is not None:
            self._driver.cancel()
            self._driver = None

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        task = self._driver
        self.stop()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
