"""The simulated exchange's connection and its faults (a mixin of ``SimulatedExchange``):
disconnect windows, lost answers, latency."""

from __future__ import annotations

import asyncio
import random

from execution.broker import BrokerDisconnected, TransientBrokerError
from execution.sim.latency import LatencyModel, LatencyProfile
from execution.sim.orders import SimConfig


class Link:
    """See the module docstring."""

    config: SimConfig
    latency: LatencyProfile
    _t0: float
    _connected: bool
    _fault_rng: random.Random
    _entry_rng: random.Random

    # ------------------------------------------------------------ connection

    @property
    def connected(self) -> bool:
        return self._link_up()

    async def connect(self) -> bool:
        await self._delay(self.latency.entry, self._entry_rng)
        if self.config.faults.down_at(self._elapsed_s()):
            return False
        self._connected = True
        return True

    def _elapsed_s(self) -> float:
        return self.config.time_source() - self._t0

    def _link_up(self) -> bool:
        """The session's state now, disconnect windows included."""
        faults = self.config.faults
        if faults.disconnect_windows and faults.down_at(self._elapsed_s()):
            if not faults.auto_reconnect:
                self._connected = False
            return False
        return self._connected

    def _maybe_lose_answer(self, what: str) -> None:
        """The lost-answer fault: the exchange has acted, the reply never arrives."""
        rate = self.config.faults.lost_answer_rate
        if rate > 0 and self._fault_rng.random() < rate:
            raise TransientBrokerError(f"answer lost: {what} was carried out")

    def _require_connected(self) -> None:
        if not self._link_up():
            raise BrokerDisconnected("not connected; call connect()")

    async def _delay(self, model: LatencyModel, rng: random.Random, extra_ms: float = 0.0) -> None:
        ms = model.sample(rng) + extra_ms + self.config.faults.extra_latency_ms
        if ms > 0:
            await asyncio.sleep(ms / 1000)
