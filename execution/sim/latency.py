"""Latency models for order entry, modify/cancel and fill notification.

``LatencyModel.constant(5)`` always takes 5 ms; ``LatencyModel.lognormal(20,
0.5)`` draws ``median * exp(sigma * N(0, 1))`` ms, capped at ``cap_ms``. Each
draw comes from the ``random.Random`` the caller passes (one stream per use in
the exchange), so a seeded exchange draws the same latencies every run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

LatencyKind = Literal["constant", "lognormal"]


@dataclass(frozen=True, slots=True)
class LatencyModel:
    kind: LatencyKind = "constant"
    ms: float = 0.0  # the constant, or the lognormal median
    sigma: float = 0.0  # lognormal shape
    cap_ms: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "lognormal"):
            raise ValueError(f"unknown latency model {self.kind!r}")
        if not self.ms >= 0 or not self.sigma >= 0:
            raise ValueError(f"latency ms and sigma must be >= 0, got {self.ms}, {self.sigma}")
        if self.cap_ms is not None and not self.cap_ms >= self.ms:
            raise ValueError(f"cap_ms {self.cap_ms} is below the median {self.ms}")

    @classmethod
    def constant(cls, ms: float) -> LatencyModel:
        return cls("constant", ms)

    @classmethod
    def lognormal(cls, median_ms: float, sigma: float, cap_ms: float | None = None) -> LatencyModel:
        return cls("lognormal", median_ms, sigma, cap_ms)

    @classmethod
    def legacy(cls, ms: float, jitter: float) -> LatencyModel:
        """The exchange's older (ms, jitter) pair: lognormal around ``ms`` when jittered."""
        return cls.lognormal(ms, jitter) if ms > 0 and jitter > 0 else cls.constant(ms)

    @property
    def mean_ms(self) -> float:
        if self.kind == "constant":
            return self.ms
        return self.ms * math.exp(self.sigma**2 / 2)

    def sample(self, rng: random.Random) -> float:
        """One latency in ms (a lognormal model draws one variate, a constant none)."""
        if self.kind == "constant" or self.ms == 0:
            return self.ms
        value = self.ms * math.exp(self.sigma * rng.gauss(0.0, 1.0))
        return value if self.cap_ms is None else min(value, self.cap_ms)


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """The three latencies of a broker session."""

    entry: LatencyModel = LatencyModel()
    modify: LatencyModel = LatencyModel()
    fill: LatencyModel = LatencyModel()
