"""One simulated market shared by several accounts (parties), as the paper exchange runs
it: orders of two parties trade with each other, each side a fill of its own party, with
its own cash and positions; a party's incoming order passes over its own resting ones."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from execution.broker import OrderRejected, RejectReason
from execution.contracts import FillEvent, OrderRequest, PriceType, Side
from execution.sim import SimulatedExchange
from execution.sim.book import OrderBook
from execution.sim.params import BookParams
from execution.sim.symbols import SYMBOLS

START_NS = 1_717_376_400_000_000_000  # 2024-06-03 10:00 KST
SYM = "005930"
CASH = Decimal(10_000_000_000)
FEE_BPS = Decimal("1.5")


def make() -> SimulatedExchange:
    """A frozen clock: nothing moves but our own orders."""
    return SimulatedExchange(seed=7, start_ns=START_NS, time_source=lambda: 100.0,
                             ack_latency_ms=0.0, fill_latency_ms=0.0, modify_latency_ms=0.0,
                             cash_krw=CASH)


def limit(cid: str, side: Side, qty: int, price: Decimal) -> OrderRequest:
    return OrderRequest(cid, SYM, side, qty, price, PriceType.LIMIT)


async def rest_best_bid(exchange: SimulatedExchange, party: str, qty: int) -> tuple[str, Decimal]:
    """``party`` buys through the whole ask level and rests ``qty`` there: the best bid."""
    quote = exchange.quote(SYM)
    ask, ask_size = quote.ask, quote.ask_size
    ack = await exchange.send(limit(f"{party}/1", Side.BUY, ask_size + qty, ask), party=party)
    status = await exchange.order_status(ack.broker_order_id)
    assert status.filled_qty == ask_size and status.remaining == qty
    assert exchange.quote(SYM).bid == ask
    return ack.broker_order_id, ask


def fee(price: Decimal, qty: int) -> Decimal:
    return price * qty * FEE_BPS / Decimal(10_000)


async def test_two_parties_trade_with_each_other() -> None:
    exchange = make()
    pushed: list[FillEvent] = []
    exchange.subscribe_fills(pushed.append)
    buy_id, price = await rest_best_bid(exchange, "A", 500)
    bought_before = exchange.position(SYM, "A")
    ack = await exchange.send(limit("B/1", Side.SELL, 200, price), party="B")
    sell = await exchange.order_status(ack.broker_order_id)
    buy = await exchange.order_status(buy_id)
    assert (sell.filled_qty, sell.avg_price) == (200, price)
    assert buy.remaining == 300
    assert exchange.party_of(buy_id) == "A" and exchange.party_of(ack.broker_order_id) == "B"
    await asyncio.sleep(0)
    mine = [f for f in pushed if f.order_id in (buy_id, ack.broker_order_id) and f.price == price
            and f.filled_qty == 200]
    assert {f.order_id for f in mine} == {buy_id, ack.broker_order_id}  # a fill for each side
    assert exchange.position(SYM, "A") == bought_before + 200
    assert exchange.position(SYM, "B") == -200 and exchange.position(SYM) == 0
    assert exchange.account_of("B").cash == CASH + price * 200 - fee(price, 200)
    assert exchange.account.cash == CASH  # the exchange's own account saw nothing
    assert [s.broker_order_id for s in exchange.records("B")] == [ack.broker_order_id]
    assert exchange.account_of("A").available == exchange.account_of("A").cash - price * 300


async def test_a_party_passes_over_its_own_resting_order() -> None:
    exchange = make()
    buy_id, price = await rest_best_bid(exchange, "A", 500)
    ack = await exchange.send(limit("A/2", Side.SELL, 200, price), party="A")
    sell = await exchange.order_status(ack.broker_order_id)
    assert sell.filled_qty == 0 and sell.remaining == 200  # rests, crossed with its own bid
    assert (await exchange.order_status(buy_id)).remaining == 500


async def test_each_party_has_its_own_cash() -> None:
    exchange = make()
    bid = exchange.quote(SYM).bid
    most = int(CASH / bid) - 10
    await exchange.send(limit("A/1", Side.BUY, most, bid), party="A")
    try:
        await exchange.send(limit("A/2", Side.BUY, 100, bid), party="A")
    except OrderRejected as err:
        assert err.reason is RejectReason.INSUFFICIENT_BALANCE
    else:
        raise AssertionError("A spent more cash than it has")
    await exchange.send(limit("B/1", Side.BUY, 100, bid), party="B")  # B's cash is B's
    assert exchange.available_cash("B") == CASH - bid * 100


def test_without_others_flow_the_wake_up_search_stops_at_its_horizon() -> None:
    """``rate_per_s: 0`` (a quiet paper market): no arrival ever comes, so the search for
    the next wake-up of a resting order ends at the driver's horizon, not never."""
    spec = SYMBOLS[SYM]
    book = OrderBook(spec, random.Random("quiet"), START_NS,
                     BookParams(flow_rate_per_s=0.0, liquidity_tau_s=1e7))
    bid = book.top()[0]
    book.rest("mine", Side.BUY, bid, 10)
    horizon = START_NS + 50_000_000
    assert book.next_wake_ns(horizon) == horizon
