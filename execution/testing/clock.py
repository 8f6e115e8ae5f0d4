"""The test exchange's clock: a fixed KRX trading moment that advances with the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from execution.market_session import KST, default_sim_start, epoch_ns

#: 10:00 KST on Monday 2024-06-03, a KRX trading day (fixed: tests never read the wall clock).
START = default_sim_start(datetime(2024, 6, 3, 12, 0, tzinfo=KST))
START_NS = epoch_ns(START)
DAY_NS = 86_400 * 1_000_000_000


class LoopClock:
    """``start_ns`` plus the running loop's elapsed time plus any :meth:`advance` jumps."""

    def __init__(self, start_ns: int = START_NS,
                 time_source: Callable[[], float] | None = None) -> None:
        self.start_ns = start_ns
        self.offset_ns = 0
        self._time_source = time_source
        self._t0: float | None = None

    def _elapsed_ns(self) -> int:
        source = self._time_source
        if source is None:
            try:
                source = asyncio.get_running_loop().time
            except RuntimeError:
                return 0
            self._time_source = source
        now = source()
        if self._t0 is None:
            self._t0 = now
        return int((now - self._t0) * 1e9)

    def now_ns(self) -> int:
        return self.start_ns + self.offset_ns + self._elapsed_ns()

    def advance(self, ms: float) -> None:
        """Jump forward by ``ms`` (the loop clock is untouched)."""
        self.offset_ns += int(ms * 1e6)
