"""The knobs of the market model (see :mod:`execution.sim.book`)."""

from __future__ import annotations

from dataclasses import dataclass

from execution.sim.queues import QueueModel


@dataclass(frozen=True, slots=True)
class BookParams:
    """Market-model parameters; sizes are relative to the symbol's ``typical_size``.

    Depth follows a Cont-Stoikov-Talreja style balance per level: limit
    orders of others arrive (Poisson) with exponential sizes, and cancel
    events (Poisson) each remove a uniform fraction of the level's others'
    volume, so a level relaxes toward its target size with time constant
    ``liquidity_tau_s``. Marketable orders of others arrive per side (Poisson)
    with lognormal sizes.
    """

    step_ms: float = 50.0
    depth_levels: int = 10
    liquidity_tau_s: float = 10.0  # relaxation time of a level toward its target size
    limit_size_frac: float = 0.02  # mean size of an arriving limit order
    cancel_size_frac: float = 0.05  # mean fraction of a level's others' volume per cancel
    flow_rate_per_s: float = 3.0  # marketable arrivals per second and side (before the tilt)
    flow_size_frac: float = 0.0025  # median marketable size (lognormal)
    flow_size_sigma: float = 1.2  # lognormal shape of marketable sizes
    flow_max_ticks: int = 2  # how far past the touch an arrival may walk
    max_tilt: float = 0.8  # flow imbalance toward the fair value, at most this
    queue_model: QueueModel = QueueModel.PROBABILISTIC
    max_catchup_s: float = 60.0  # longer gaps are collapsed into one step

    def __post_init__(self) -> None:
        positive = ("step_ms", "liquidity_tau_s", "limit_size_frac", "cancel_size_frac",
                    "flow_size_frac", "max_catchup_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.cancel_size_frac <= 0.5:
            raise ValueError(
                f"cancel_size_frac must be within (0, 0.5], got {self.cancel_size_frac}")
        if self.depth_levels < 1:
            raise ValueError(f"depth_levels must be >= 1, got {self.depth_levels}")
        if self.flow_rate_per_s < 0 or self.flow_size_sigma < 0 or self.flow_max_ticks < 0:
            raise ValueError("flow parameters must be >= 0")
        if not 0 <= self.max_tilt < 1:
            raise ValueError(f"max_tilt must be within [0, 1), got {self.max_tilt}")
