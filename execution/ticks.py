"""KRX tick-size ladder.

Prices are :class:`~decimal.Decimal` in KRW. The ladder is the KRX equity
ladder in force since 2023-01-25 (KOSPI and KOSDAQ alike).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

Rounding = Literal["down", "up", "nearest"]

# (upper bound exclusive, tick size)
_LADDER: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
)
_TOP_TICK = Decimal(1_000)
_MODES = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}


def tick_size(price: Decimal) -> Decimal:
    """The tick size that applies at ``price``."""
    for bound, tick in _LADDER:
        if price < bound:
            return tick
    return _TOP_TICK


def snap(price: Decimal, rounding: Rounding = "nearest") -> Decimal:
    """Round ``price`` onto the ladder (``down`` for buys' caps, ``up`` for sells')."""
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    tick = tick_size(price)
    snapped = (price / tick).quantize(Decimal(1), rounding=_MODES[rounding]) * tick
    # Rounding up across a band boundary can land on a coarser band: re-snap once.
    if tick_size(snapped) != tick:
        coarse = tick_size(snapped)
        snapped = (snapped / coarse).quantize(Decimal(1), rounding=_MODES[rounding]) * coarse
    return snapped


def is_on_ladder(price: Decimal) -> bool:
    return price > 0 and price % tick_size(price) == 0


def add_ticks(price: Decimal, n: int) -> Decimal:
    """Move ``n`` ticks up (n > 0) or down (n < 0) from an on-ladder price."""
    current = snap(price)
    for _ in range(abs(n)):
        if n > 0:
            current += tick_size(current)
        else:
            below = current - tick_size(current - Decimal(1))
            if below <= 0:
                raise ValueError(f"cannot move {n} ticks below {price}")
            current = below
    return current


def bps(delta: Decimal, reference: Decimal) -> float:
    """``delta`` as basis points of ``reference``."""
    return float(delta / reference * Decimal(10_000)) if reference else 0.0
