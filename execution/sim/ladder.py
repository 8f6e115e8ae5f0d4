"""The KRX tick ladder on integer prices, for the simulator's inner loop.

Every KRX price is a whole number of won, so the order book keys its levels by
``int`` (hashing and comparing a ``Decimal`` costs several times more). The
tick sizes come from :func:`execution.ticks.tick_size`, cached per price, so
the two views of the ladder cannot disagree; prices leave the book as
``Decimal`` again through :func:`dec`.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from execution.ticks import tick_size


@cache
def tick(price: int) -> int:
    """The tick size at ``price`` (an on-ladder or any positive whole price)."""
    return int(tick_size(Decimal(price)))


def up(price: int, n: int = 1) -> int:
    """``n`` ticks above an on-ladder price."""
    for _ in range(n):
        price += tick(price)
    return price


def down(price: int, n: int = 1) -> int:
    """``n`` ticks below an on-ladder price (the tick of the band just below applies)."""
    for _ in range(n):
        price -= tick(price - 1)
    return price


def snap_down(value: float) -> int:
    """The highest ladder price at or below ``value`` (``value`` >= 1)."""
    whole = int(value)
    size = tick(whole)
    return whole // size * size


@cache
def dec(price: int) -> Decimal:
    """The ``Decimal`` of a whole price (cached: the book hands out the same few prices)."""
    return Decimal(price)


def whole(price: Decimal | int) -> int:
    """A ladder price as ``int``; a fractional price is a caller's bug."""
    value = int(price)
    if value != price:
        raise ValueError(f"price {price} is not a whole number of won")
    return value
