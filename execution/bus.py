"""An in-process event bus with priorities P0 (highest) to P3 and a bounded P0 queue.

P0 carries what must never wait: emergency escapes and risk triggers. When
the P0 queue is full, :meth:`EventBus.publish` refuses the event and the bus
reports an overflow (FS095); the engine takes no new executions until the P0
queue has drained.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

log = logging.getLogger("execution.bus")


class Priority(IntEnum):
    P0 = 0
    P1 = 1
    P2 = 2
    P3 = 3


@dataclass(frozen=True, slots=True)
class BusEvent:
    priority: Priority
    kind: str
    execution_id: str
    payload: dict[str, Any]


Subscriber = Callable[[BusEvent], None]


class EventBus:
    """Set ``auto_drain`` to deliver queued events on the next loop turn after a publish
    (what the engine does); without it the owner calls :meth:`drain`."""

    def __init__(self, p0_capacity: int = 100, *, auto_drain: bool = False) -> None:
        self.p0_capacity = p0_capacity
        self.auto_drain = auto_drain
        self._drain_scheduled = False
        self._queues: tuple[deque[BusEvent], ...] = tuple(deque() for _ in Priority)
        self._subscribers: list[Subscriber] = []
        self.overflows = 0
        self.delivered = 0
        self._overflowing = False

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, event: BusEvent) -> bool:
        """Queue ``event``; False (and an overflow counted) when the P0 queue is full."""
        queue = self._queues[event.priority]
        if event.priority is Priority.P0 and len(queue) >= self.p0_capacity:
            self.overflows += 1
            self._overflowing = True
            log.error("FS095: P0 queue full (capacity=%d), event %s dropped",
                      self.p0_capacity, event.kind)
            return False
        queue.append(event)
        if self.auto_drain and not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_drain)
        return True

    def _scheduled_drain(self) -> None:
        self._drain_scheduled = False
        self.drain()

    @property
    def p0_depth(self) -> int:
        return len(self._queues[Priority.P0])

    @property
    def paused(self) -> bool:
        """True from a P0 overflow until the P0 queue has drained completely."""
        return self._overflowing or self.p0_depth >= self.p0_capacity

    def drain(self, limit: int | None = None) -> int:
        """Deliver queued events, highest priority first; returns how many were delivered."""
        count = 0
        for queue in self._queues:
            while queue and (limit is None or count < limit):
                event = queue.popleft()
                for subscriber in self._subscribers:
                    try:
                        subscriber(event)
                    except Exception:
                        log.exception("bus subscriber failed on %s", event.kind)
                count += 1
        self.delivered += count
        if not self._queues[Priority.P0]:
            self._overflowing = False
        return count
