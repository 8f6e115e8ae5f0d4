"""Single-price matching of a call auction, by KRX's rules.

Every order collected during the auction (opening, closing, or a volatility
interruption) is matched at one price when it ends:

1. the price that maximises the executed volume ``min(demand(p), supply(p))``;
2. among those, the one with the smallest imbalance ``|demand(p) - supply(p)|``;
3. among those, the one closest to the reference price (the price the auction
   would otherwise open at: the base price, or the last trade);
4. a last tie (equally close on both sides) goes to the lower price.

The candidate prices are every limit price collected, plus the reference price
(so a range of equally good prices that contains the reference resolves to it).
All crossing orders trade at that one price: market orders first, then by
price (best first), then by time; the side with less volume fills completely,
the other is filled in that priority, so at the marginal price the earliest
orders fill and a later one may fill partly or not at all.

Prices are whole won (``int``), as in the book's inner loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from execution.contracts import Side

#: A market order's price in the matcher: ahead of every limit price on its side.
_BUY_MARKET = 1 << 62
_SELL_MARKET = 0


@dataclass(frozen=True, slots=True)
class AuctionOrder:
    """One order in the auction: ``owner`` is our broker order id, None for others'.

    ``price`` None is a market order; ``seq`` is its time priority (smaller first).
    """

    owner: str | None
    side: Side
    price: int | None
    qty: int
    seq: int

    def limit(self) -> int:
        if self.price is not None:
            return self.price
        return _BUY_MARKET if self.side is Side.BUY else _SELL_MARKET


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """The auction's price (None: nothing crosses), its volume and who traded how much."""

    price: int | None
    volume: int
    fills: tuple[tuple[AuctionOrder, int], ...]

    def filled(self, order: AuctionOrder) -> int:
        return sum(qty for o, qty in self.fills if o is order)


def _priority(order: AuctionOrder) -> tuple[int, int]:
    limit = order.limit()
    return (-limit if order.side is Side.BUY else limit, order.seq)


def clearing_price(orders: list[AuctionOrder], reference: int) -> tuple[int | None, int]:
    """(price, volume) of the single-price match; (None, 0) when nothing crosses."""
    buys = [o for o in orders if o.side is Side.BUY and o.qty > 0]
    sells = [o for o in orders if o.side is Side.SELL and o.qty > 0]
    if not buys or not sells:
        return None, 0
    candidates = {o.price for o in orders if o.price is not None and o.qty > 0}
    candidates.add(reference)
    prices = sorted(candidates)
    best: tuple[int, int, int, int] | None = None  # (-volume, imbalance, distance, price)
    for p in prices:
        demand = sum(o.qty for o in buys if o.limit() >= p)
        supply = sum(o.qty for o in sells if o.limit() <= p)
        volume = min(demand, supply)
        if volume == 0:
            continue
        key = (-volume, abs(demand - supply), abs(p - reference), p)
        if best is None or key < best:
            best = key
    if best is None:
        return None, 0
    return best[3], -best[0]


def match(orders: list[AuctionOrder], reference: int) -> AuctionResult:
    """Match ``orders`` at one price (see the module docstring)."""
    price, volume = clearing_price(orders, reference)
    if price is None:
        return AuctionResult(None, 0, ())
    fills: list[tuple[AuctionOrder, int]] = []
    for side in (Side.BUY, Side.SELL):
        crossing = [o for o in orders if o.side is side and o.qty > 0
                    and (o.limit() >= price if side is Side.BUY else o.limit() <= price)]
        left = volume
        for order in sorted(crossing, key=_priority):
            if left == 0:
                break
            done = min(order.qty, left)
            fills.append((order, done))
            left -= done
    return AuctionResult(price, volume, tuple(fills))
