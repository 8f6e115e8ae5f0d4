"""Push delivery of fill events: latency, in-order flushing, duplicate/reorder faults."""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
from collections.abc import Callable

from execution.broker import FillCallback
from execution.brokers.table import Subscribers
from execution.contracts import FillEvent
from execution.sim.faults import FaultConfig
from execution.sim.latency import LatencyModel

log = logging.getLogger(__name__)

REORDER_WINDOW_S = 0.005  # reorder fault: extra push delay drawn from 0..5 ms
DUP_GAP_S = 0.001  # duplicate fault: the copy follows 1 ms later


class FillDelivery:
    """Pushes fills to subscribers a notification latency after they happen.

    The latency is drawn per fill from ``latency`` (a model, or a constant in
    ms); the stream is FIFO like a real session, so a fill is never pushed
    before an earlier one (a random latency delays the ones behind it), unless
    the ``reorder_fills`` fault is on.

    Events due at the same loop time are pushed in the order they were
    scheduled (asyncio's timer heap alone does not promise that); with zero
    latency they go out on the next loop turn (``call_soon``), never inside
    the call that produced them. While the
    session is disconnected, pushes are dropped: the journal behind
    ``fills_since`` is the way to recover them. Outside a running loop,
    events are pushed synchronously.
    """

    def __init__(
        self,
        rng: random.Random,
        latency: LatencyModel | float,
        faults: FaultConfig,
        is_connected: Callable[[], bool],
        subscribers: Subscribers | None = None,
    ) -> None:
        self._rng = rng
        if not isinstance(latency, LatencyModel):
            latency = LatencyModel.constant(float(latency))
        self._latency = latency
        self._last_due = float("-inf")
        self._faults = faults
        self._is_connected = is_connected
        self.subscribers = subscribers if subscribers is not None else Subscribers()
        self._outbox: list[tuple[float, int, FillEvent]] = []
        self._seq = 0

    def subscribe(self, callback: FillCallback) -> Callable[[], None]:
        return self.subscribers.subscribe(callback)

    def schedule(self, event: FillEvent, age_s: float = 0.0) -> None:
        """Push ``event`` a latency after it happened, ``age_s`` seconds ago."""
        delay = self._latency.sample(self._rng) / 1000
        rate = self._faults.lost_push_rate
        if rate > 0 and self._rng.random() < rate:
            return  # never pushed: polling or an order-status query finds it
        if self._faults.reorder_fills:
            delay += self._rng.uniform(0.0, REORDER_WINDOW_S)
        delays = [delay]
        rate = self._faults.duplicate_fill_rate
        if rate > 0 and self._rng.random() < rate:
            delays.append(delay + DUP_GAP_S)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            for _ in delays:
                self._push(event)
            return
        now = loop.time()
        origin = now - max(0.0, age_s)
        for i, d in enumerate(delays):
            due = max(now, origin + d)
            if not self._faults.reorder_fills and i == 0:
                due = max(due, self._last_due)
                self._last_due = due
            d = due - now
            self._seq += 1
            heapq.heappush(self._outbox, (due, self._seq, event))
            if d > 0:
                loop.call_at(due, self._flush, loop)
            else:  # next loop turn, in scheduling order
                loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        while self._outbox and self._outbox[0][0] <= now:
            self._push(heapq.heappop(self._outbox)[2])

    def _push(self, event: FillEvent) -> None:
        if self._is_connected():
            self.subscribers.push(event)
