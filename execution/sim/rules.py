"""The KRX rules the simulated exchange applies: session times, price limits, VI rates.

The numbers are configuration (a scenario may override each): their defaults are
KRX's published ones (``../shared/spec/krx-market-rules.md``: the "Trading" and
"Volatility Interruption" pages of global.krx.co.kr).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from execution.contracts import MarketPhase

BOARDS = ("kospi200", "kospi", "kosdaq")


@dataclass(frozen=True, slots=True)
class ViRates:
    """Volatility-interruption thresholds of one symbol, as fractions of the reference.

    ``dynamic`` per phase (continuous, closing auction), against the last trade;
    ``static`` against the last single-price auction price (before the open: the base).
    """

    static: float
    dynamic_continuous: float
    dynamic_closing: float

    def dynamic(self, phase: MarketPhase) -> float:
        return self.dynamic_closing if phase is MarketPhase.CLOSING_AUCTION else (
            self.dynamic_continuous)


#: KRX's table: dynamic VI 3 % / 2 % for KOSPI 200 constituents, 6 % / 4 % for other
#: KOSPI and KOSDAQ stocks (continuous / closing auction); static 10 % for all.
DEFAULT_VI: MappingProxyType[str, ViRates] = MappingProxyType({
    "kospi200": ViRates(0.10, 0.03, 0.02),
    "kospi": ViRates(0.10, 0.06, 0.04),
    "kosdaq": ViRates(0.10, 0.06, 0.04),
})


@dataclass(frozen=True, slots=True)
class MarketRules:
    """Session phases and VI mechanics (per exchange; VI rates are per symbol).

    Times are relative to the day's session bounds from the calendar (``open`` is
    09:00 on a normal day, 10:00 on a CSAT day; ``close`` 15:30 / 16:30): orders are
    collected from ``open - opening_auction_s``; the closing auction starts
    ``closing_auction_s`` before ``close``; each call auction ends at a random moment
    up to ``random_end_s`` after its nominal end; a VI is a ``vi_s`` call auction.
    """

    opening_auction_s: float = 30 * 60.0
    closing_auction_s: float = 10 * 60.0
    random_end_s: float = 30.0
    vi_s: float = 120.0
    price_limit: float = 0.30
    vi_rates: MappingProxyType[str, ViRates] = field(default_factory=lambda: DEFAULT_VI)

    def __post_init__(self) -> None:
        for name in ("opening_auction_s", "closing_auction_s", "vi_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.random_end_s < 0:
            raise ValueError(f"random_end_s must be >= 0, got {self.random_end_s}")
        if not 0 < self.price_limit < 1:
            raise ValueError(f"price_limit must be within (0, 1), got {self.price_limit}")
