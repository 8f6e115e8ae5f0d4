"""A token bucket per app key, shared by every call made with that key.

KIS counts requests per app key, whatever the caller. Order calls (send, revise,
cancel) jump the queue ahead of inquiries, so a fill poll never delays an order.
Waiters are woken by one loop timer, never by polling.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import time
from collections.abc import Callable

URGENT, NORMAL = 0, 1


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` banked; :meth:`acquire` waits for one."""

    def __init__(self, rate: float, burst: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"need rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate, self.burst = rate, burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self.waited_s = 0.0  # total time callers spent waiting (for reports)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, priority: int = NORMAL) -> None:
        self._refill()
        if not self._waiters and self._tokens >= 1:
            self._tokens -= 1
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), future))
        started = self._clock()
        self._wake()
        try:
            await future
        finally:
            self.waited_s += self._clock() - started

    def _wake(self) -> None:
        self._timer = None
        self._refill()
        while self._waiters and self._tokens >= 1:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():  # a cancelled waiter gives its turn away
                self._tokens -= 1
                future.set_result(None)
        if self._waiters and self._timer is None:
            delay = (1 - self._tokens) / self.rate
            self._timer = asyncio.get_running_loop().call_later(max(delay, 0.0), self._wake)

    def penalize(self, seconds: float) -> None:
        """The server said we went too fast (EGW00201): spend the next ``seconds`` of
        tokens, so every caller with this key slows down, not just the one retrying."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate


_BUCKETS: dict[str, TokenBucket] = {}


def bucket_for(app_key: str, rate: float, burst: float) -> TokenBucket:
    """The process-wide bucket of ``app_key`` (keyed by a hash: the key is not kept)."""
    key = hashlib.sha256(app_key.encode("utf-8")).hexdigest()
    bucket = _BUCKETS.get(key)
    if bucket is None or bucket.rate != rate or bucket.burst != burst:
        bucket = _BUCKETS[key] = TokenBucket(rate, burst)
    return bucket
