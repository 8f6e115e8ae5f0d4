"""Single-price matching of a call auction (KRX's rules)."""

from __future__ import annotations

from execution.contracts import Side
from execution.sim.auction import AuctionOrder, clearing_price, match

B, S = Side.BUY, Side.SELL


def o(side: Side, price: int | None, qty: int, seq: int = 0, owner: str | None = None
      ) -> AuctionOrder:
    return AuctionOrder(owner, side, price, qty, seq)


def test_price_maximises_executed_volume() -> None:
    orders = [o(B, 102, 100), o(B, 101, 200), o(B, 100, 300),
              o(S, 99, 150), o(S, 100, 150), o(S, 101, 300)]
    # demand at 100: 600, supply 300 -> 300; at 101: demand 300, supply 600 -> 300;
    # at 102: 100. Volume ties at 100 and 101 (300 each), imbalance 300 at both:
    # the reference (101) decides.
    price, volume = clearing_price(orders, reference=101)
    assert (price, volume) == (101, 300)
    price, volume = clearing_price(orders, reference=99)
    assert (price, volume) == (100, 300)


def test_minimum_imbalance_breaks_a_volume_tie() -> None:
    orders = [o(B, 101, 100), o(B, 100, 50), o(S, 99, 100), o(S, 101, 40)]
    # at 100: demand 150, supply 100 -> 100 (imbalance 50); at 101: demand 100,
    # supply 140 -> 100 (imbalance 40): the smaller imbalance wins even far from the reference
    assert clearing_price(orders, reference=99) == (101, 100)


def test_reference_inside_an_equally_good_range_is_the_price() -> None:
    orders = [o(B, 110, 100), o(S, 90, 100)]
    assert clearing_price(orders, reference=100) == (100, 100)
    assert clearing_price(orders, reference=120) == (110, 100)  # closest to the reference


def test_no_cross_no_price() -> None:
    assert clearing_price([o(B, 99, 100), o(S, 100, 100)], 100) == (None, 0)
    assert match([o(B, 99, 100)], 100).price is None
    assert match([], 100).fills == ()


def test_everyone_trades_at_one_price_and_the_short_side_fills_completely() -> None:
    orders = [o(B, 105, 100, 1), o(B, 103, 100, 2), o(S, 100, 150, 3), o(S, 104, 500, 4)]
    result = match(orders, reference=101)
    assert result.price is not None
    assert {qty for _, qty in result.fills} and result.volume == 150
    bought = sum(q for order, q in result.fills if order.side is B)
    sold = sum(q for order, q in result.fills if order.side is S)
    assert bought == sold == result.volume


def test_time_priority_at_the_marginal_price_partial_fill() -> None:
    early = o(B, 100, 60, seq=1, owner="early")
    late = o(B, 100, 60, seq=2, owner="late")
    better = o(B, 101, 30, seq=3, owner="better")
    orders = [late, early, better, o(S, 100, 100, seq=0)]
    result = match(orders, reference=100)
    assert result.price == 100 and result.volume == 100
    assert result.filled(better) == 30  # a better price first
    assert result.filled(early) == 60  # then time at the marginal price
    assert result.filled(late) == 10  # the last one partly


def test_market_orders_come_first() -> None:
    market = o(B, None, 50, seq=9, owner="mkt")
    limit = o(B, 101, 50, seq=1, owner="lim")
    result = match([limit, market, o(S, 100, 60)], reference=100)
    assert result.filled(market) == 50 and result.filled(limit) == 10
    assert result.price == 100  # 100 and 101 tie on volume and imbalance: the reference
