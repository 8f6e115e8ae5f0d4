"""The broker's clock, learnt from the ``Date`` header of the server's answers.

The engine asks ``broker.now_ns()`` for exchange time (is the session open? which
trading day?). KIS's servers keep KST wall time; the local paper exchange keeps the
simulated exchange's time. Each answer bounds the server's clock: it was at or after
``Date`` and before ``Date + 1 s`` somewhere between our send and our receipt, so the
offset lies in ``[Date - received, Date + 1 - sent]``. Intersecting those intervals
over answers narrows the estimate to about a round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime


class ServerClock:
    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._lo, self._hi = float("-inf"), float("inf")
        self.samples = 0

    @property
    def known(self) -> bool:
        return self.samples > 0

    @property
    def offset_s(self) -> float:
        """Server minus local wall time, in seconds (0 before any answer)."""
        if not self.known:
            return 0.0
        return (self._lo + self._hi) / 2

    def observe(self, date_header: str | None, sent: float, received: float) -> None:
        """Narrow the offset with one answer's ``Date`` (sent/received: local wall time)."""
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError):
            return
        lo, hi = server - received, server + 1.0 - sent
        if lo > self._hi or hi < self._lo:  # the server's clock jumped: start over
            self._lo, self._hi = lo, hi
        else:
            self._lo, self._hi = max(self._lo, lo), min(self._hi, hi)
        self.samples += 1

    def now_ns(self) -> int:
        return int((self._wall() + self.offset_s) * 1e9)
