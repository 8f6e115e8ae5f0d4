"""The symbols the simulated exchange lists, with the few numbers the book needs.

Reference prices are on the KRX tick ladder and double as the previous close
that anchors the daily price band (KRX: ±30 % of the previous close).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from execution.sim.rules import DEFAULT_VI, ViRates
from execution.ticks import snap

PRICE_BAND = Decimal("0.30")


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One listed symbol.

    ``typical_size`` is the displayed size (shares) of a level near the touch;
    ``daily_vol`` is the standard deviation of the daily log return;
    ``drift_per_hour`` the fair value's trend (log return an hour, 0: none).
    ``ref_price`` is the day's base price (the previous close): the price limits
    and the static VI before the open are measured from it. ``board`` is the VI
    class (``kospi200``, ``kospi``, ``kosdaq``); ``vi`` its rates (None: the
    board's defaults).
    """

    code: str
    name: str
    ref_price: Decimal
    typical_size: int
    daily_vol: float
    board: str = "kospi200"
    vi: ViRates | None = None
    drift_per_hour: float = 0.0
    price_band: Decimal = PRICE_BAND
    start_price: Decimal | None = None  # the price when the run starts (None: ref_price)
    auction_price: Decimal | None = None  # the day's last single-price auction (static VI)

    @property
    def price_at_start(self) -> Decimal:
        return self.ref_price if self.start_price is None else self.start_price

    @property
    def static_ref(self) -> Decimal:
        """The static VI reference at the start: the last auction price, else the base."""
        return self.ref_price if self.auction_price is None else self.auction_price

    @property
    def vi_rates(self) -> ViRates:
        return self.vi if self.vi is not None else DEFAULT_VI[self.board]

    @property
    def lower_limit(self) -> Decimal:
        """Lowest price the daily band allows."""
        return snap(self.ref_price * (1 - self.price_band), "up")

    @property
    def upper_limit(self) -> Decimal:
        """Highest price the daily band allows."""
        return snap(self.ref_price * (1 + self.price_band), "down")

    def in_band(self, price: Decimal) -> bool:
        return self.lower_limit <= price <= self.upper_limit


_SPECS = (
    SymbolSpec("005930", "Samsung Electronics", Decimal(75_000), 20_000, 0.018),
    SymbolSpec("000660", "SK hynix", Decimal(180_000), 2_000, 0.030),
    SymbolSpec("035420", "NAVER", Decimal(200_000), 800, 0.025),
    SymbolSpec("005380", "Hyundai Motor", Decimal(250_000), 600, 0.022),
    SymbolSpec("035720", "Kakao", Decimal(45_000), 5_000, 0.030),
    SymbolSpec("051910", "LG Chem", Decimal(350_000), 300, 0.030),
)

SYMBOLS: MappingProxyType[str, SymbolSpec] = MappingProxyType({s.code: s for s in _SPECS})


def lookup(code: str) -> SymbolSpec | None:
    """The spec of a listed symbol, or None for an unknown one."""
    return SYMBOLS.get(code)


def is_listed(code: str) -> bool:
    return code in SYMBOLS
