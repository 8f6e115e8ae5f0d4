"""The simulated exchange: matching, queueing, time, faults, determinism."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from execution.broker import (
    Broker,
    BrokerDisconnected,
    OrderRejected,
    RejectReason,
    UnknownOrder,
)
from execution.contracts import FillEvent, OrderRequest, PriceType, Side
from execution.sim import FaultConfig, SimulatedExchange, parse_faults
from execution.ticks import add_ticks, is_on_ladder

T = TypeVar("T")
START_NS = 1_717_376_400_000_000_000  # 2024-06-03 10:00 KST
SYM = "005930"
PASSIVE_SEED = 1


class FakeClock:
    """A time_source the test advances by hand (seconds)."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(clock: FakeClock | None = None, **kwargs: Any) -> SimulatedExchange:
    params: dict[str, Any] = {
        "seed": 7,
        "start_ns": START_NS,
        "time_source": clock or FakeClock(),
        "ack_latency_ms": 0.0,
        "fill_latency_ms": 0.0,
        "modify_latency_ms": 0.0,
    }
    params.update(kwargs)
    return SimulatedExchange(**params)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """A fresh event loop per call: the determinism tests compare whole runs."""

    async def main() -> T:
        return await factory()

    return asyncio.run(main())


def order(
    cid: str,
    side: Side,
    qty: int,
    price: Decimal | None,
    symbol: str = SYM,
) -> OrderRequest:
    kind = PriceType.MARKET if price is None else PriceType.LIMIT
    return OrderRequest(cid, symbol, side, qty, price, kind)


async def wait_filled(
    ex: SimulatedExchange, clock: FakeClock, broker_id: str, max_s: float = 600.0
) -> list[FillEvent]:
    """Advance the fake clock in 0.5 s steps until the order is done."""
    while clock.t < 100.0 + max_s:
        clock.t += 0.5
        if broker_id not in await ex.open_orders():
            break
    fills, _ = await ex.fills_since(0)
    return [f for f in fills if f.order_id == broker_id]


def test_implements_broker_protocol() -> None:
    assert isinstance(make(), Broker)


def test_quote_is_on_ladder_and_unknown_symbol_rejected() -> None:
    ex = make()
    q = ex.quote(SYM)
    assert q.bid < q.ask and is_on_ladder(q.bid) and is_on_ladder(q.ask)
    assert q.bid_size > 0 and q.ask_size > 0 and q.ts_ns == START_NS
    assert ex.knows_symbol("035720") and not ex.knows_symbol("999999")
    with pytest.raises(OrderRejected) as err:
        ex.quote("999999")
    assert err.value.reason is RejectReason.UNKNOWN_SYMBOL


async def test_marketable_buy_fills_at_the_touch() -> None:
    ex = make()

    q = ex.quote(SYM)
    ack = await ex.send(order("c1", Side.BUY, 10, q.ask))
    fills, _ = await ex.fills_since(0)
    assert [(f.price, f.filled_qty, f.remaining_qty) for f in fills] == [(q.ask, 10, 0)]
    assert fills[0].order_id == ack.broker_order_id
    assert fills[0].fee == q.ask * 10 * Decimal("1.5") / 10_000
    assert await ex.open_orders() == []
    assert ex.position(SYM) == 10


async def test_marketable_order_walks_levels() -> None:
    ex = make()

    asks = ex.depth(SYM, 3).asks
    qty = asks[0].size + asks[1].size + 5
    await ex.send(order("c1", Side.BUY, qty, asks[2].price))
    fills, _ = await ex.fills_since(0)
    got = [(f.price, f.filled_qty) for f in fills]
    assert got == [
        (asks[0].price, asks[0].size),
        (asks[1].price, asks[1].size),
        (asks[2].price, 5),
    ]
    assert [f.cumulative_qty for f in fills] == [asks[0].size, qty - 5, qty]
    assert ex.depth(SYM, 1).asks[0].size == asks[2].size - 5


async def test_partial_fill_by_displayed_size_rests_the_rest() -> None:
    ex = make()

    q = ex.quote(SYM)
    ack = await ex.send(order("c1", Side.BUY, q.ask_size + 500, q.ask))
    fills, _ = await ex.fills_since(0)
    assert [(f.filled_qty, f.remaining_qty) for f in fills] == [(q.ask_size, 500)]
    assert await ex.open_orders() == [ack.broker_order_id]
    top = ex.quote(SYM)
    assert (top.bid, top.bid_size) == (q.ask, 500)  # we are the new best bid
    assert ex.queue_ahead(ack.broker_order_id) == 0


async def test_market_order_walks_and_cancels_the_unfilled_rest() -> None:
    ex = make()

    displayed = sum(level.size for level in ex.depth(SYM, 100).bids)
    ack = await ex.send(order("m1", Side.SELL, displayed + 1_000_000, None))
    fills, _ = await ex.fills_since(0)
    assert sum(f.filled_qty for f in fills) == displayed
    assert len({f.price for f in fills}) > 1
    assert "cancelled" in ack.reason
    assert await ex.open_orders() == []


async def test_passive_order_rests_then_fills_as_time_advances() -> None:
    clock = FakeClock()
    ex = make(clock, seed=PASSIVE_SEED)  # a market path that trades down through bid - 1

    pushed: list[FillEvent] = []
    ex.subscribe_fills(pushed.append)
    q = ex.quote(SYM)
    price = add_ticks(q.bid, -1)
    ack = await ex.send(order("p1", Side.BUY, 50, price))
    oid = ack.broker_order_id
    assert ex.queue_ahead(oid) == ex.depth(SYM, 2).bids[1].size - 50
    assert (await ex.fills_since(0))[0] == []
    fills = await wait_filled(ex, clock, oid, max_s=3600.0)
    assert sum(f.filled_qty for f in fills) == 50 and fills[-1].remaining_qty == 0
    assert all(f.price == price for f in fills)  # a resting order trades at its own price
    assert all(f.ts_ns > START_NS for f in fills)
    await asyncio.sleep(0)
    assert pushed == fills


async def test_own_orders_fill_in_fifo_order_at_one_level() -> None:
    clock = FakeClock()
    ex = make(clock)

    bid = ex.quote(SYM).bid
    first = (await ex.send(order("a", Side.BUY, 300, bid))).broker_order_id
    second = (await ex.send(order("b", Side.BUY, 300, bid))).broker_order_id
    assert ex.queue_ahead(second) == ex.queue_ahead(first) + 300  # type: ignore[operator]
    await wait_filled(ex, clock, second)
    fills, _ = await ex.fills_since(0)
    ids = [f.order_id for f in fills]
    assert ids.index(second) > max(i for i, oid in enumerate(ids) if oid == first)


async def test_background_driver_fills_while_the_engine_waits() -> None:
    clock = FakeClock()
    ex = make(clock, driver_interval_ms=1.0)
    pushed: list[FillEvent] = []
    ex.subscribe_fills(pushed.append)
    bid = ex.quote(SYM).bid
    async with ex:
        await ex.send(order("p1", Side.BUY, 20, bid))
        for _ in range(600):
            if pushed and pushed[-1].remaining_qty == 0:
                break
            clock.t += 0.5  # nobody touches the exchange: only the driver does
            await asyncio.sleep(0.002)
    assert sum(f.filled_qty for f in pushed) == 20


def test_ack_latency_zero_completes_without_suspending() -> None:
    ex = make()
    coro = ex.send(order("c1", Side.BUY, 1, ex.quote(SYM).bid))
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value.accepted


async def test_latencies_delay_ack_and_push() -> None:
    loop = asyncio.get_running_loop()
    ex = make(time_source=loop.time, ack_latency_ms=20.0, fill_latency_ms=30.0)
    pushed: list[FillEvent] = []
    ex.subscribe_fills(pushed.append)
    t0 = loop.time()
    await ex.send(order("c1", Side.BUY, 1, ex.quote(SYM).ask))
    assert loop.time() - t0 >= 0.019
    assert pushed == []
    await asyncio.sleep(0.05)
    assert len(pushed) == 1


async def test_resend_with_same_client_order_id_is_idempotent() -> None:
    ex = make()

    request = order("same", Side.BUY, 10, add_ticks(ex.quote(SYM).bid, -3))
    first = await ex.send(request)
    second = await ex.send(request)
    assert second == first
    assert await ex.open_orders() == [first.broker_order_id]


async def test_disconnect_loses_the_ack_and_the_retry_returns_it() -> None:
    ex = make(faults=FaultConfig(disconnects=1))

    price = add_ticks(ex.quote(SYM).bid, -3)
    sent: list[str] = []
    lost: OrderRequest | None = None
    for i in range(10):
        request = order(f"c{i}", Side.BUY, 10, price)
        try:
            sent.append((await ex.send(request)).broker_order_id)
        except BrokerDisconnected:
            lost = request
            break
    assert lost is not None and not ex.connected
    with pytest.raises(BrokerDisconnected):
        await ex.send(lost)
    with pytest.raises(BrokerDisconnected):
        await ex.open_orders()
    assert await ex.connect() and ex.connected
    live = await ex.open_orders()
    assert len(live) == len(sent) + 1  # the lost-ack order exists
    retry = await ex.send(lost)
    assert retry.broker_order_id in live and retry.broker_order_id not in sent
    assert len(await ex.open_orders()) == len(live)  # nothing new was created


async def test_fills_during_disconnect_are_not_pushed_but_can_be_polled() -> None:
    ex = make(faults=FaultConfig(disconnects=1))

    pushed: list[FillEvent] = []
    ex.subscribe_fills(pushed.append)
    for i in range(10):
        try:
            await ex.send(order(f"c{i}", Side.BUY, 1, ex.quote(SYM).ask))
        except BrokerDisconnected:
            break
        await asyncio.sleep(0)  # let the push go out while still connected
    await asyncio.sleep(0)
    await ex.connect()
    fills, _ = await ex.fills_since(0)
    assert len(fills) == len(pushed) + 1


@pytest.mark.parametrize(
    ("kwargs", "request_", "reason"),
    [
        (
            {},
            order("c", Side.BUY, 1, Decimal(75_000), symbol="999999"),
            RejectReason.UNKNOWN_SYMBOL,
        ),
        (
            {"cash_krw": Decimal(1_000_000)},
            order("c", Side.BUY, 100, Decimal(75_000)),
            RejectReason.INSUFFICIENT_BALANCE,
        ),
        (
            {"cash_krw": Decimal(1_000_000)},
            order("c", Side.BUY, 100, None),
            RejectReason.INSUFFICIENT_BALANCE,
        ),
        ({}, order("c", Side.BUY, 1, Decimal(75_050)), RejectReason.INVALID_ORDER),
        ({}, order("c", Side.BUY, 0, Decimal(75_000)), RejectReason.INVALID_ORDER),
        ({}, order("c", Side.BUY, 1, Decimal(150_000)), RejectReason.PRICE_OUT_OF_BAND),
        (
            {"faults": FaultConfig(reject_rate=1.0)},
            order("c", Side.BUY, 1, None),
            RejectReason.OTHER,
        ),
        ({"is_open": lambda ns: False}, order("c", Side.BUY, 1, None), RejectReason.MARKET_CLOSED),
    ],
)
def test_reject_reasons(
    kwargs: dict[str, Any], request_: OrderRequest, reason: RejectReason
) -> None:
    ex = make(**kwargs)
    with pytest.raises(OrderRejected) as err:
        run(lambda: ex.send(request_))
    assert err.value.reason is reason
    assert run(ex.open_orders) == [] and run(lambda: ex.fills_since(0))[0] == []


async def test_cash_reservation_and_settlement() -> None:
    ex = make(cash_krw=Decimal(10_000_000))

    bid = ex.quote(SYM).bid
    ack = await ex.send(order("b1", Side.BUY, 100, bid))
    assert ex.available_cash() == Decimal(10_000_000) - bid * 100
    with pytest.raises(OrderRejected) as err:
        await ex.send(order("b2", Side.BUY, 100, bid))
    assert err.value.reason is RejectReason.INSUFFICIENT_BALANCE
    assert await ex.cancel(ack.broker_order_id)
    assert ex.available_cash() == Decimal(10_000_000)
    ask = ex.quote(SYM).ask
    await ex.send(order("b3", Side.BUY, 10, ask))
    account = ex.account
    assert account.cash == Decimal(10_000_000) - ask * 10 - account.fees_paid
    assert account.positions == {SYM: 10}


async def test_modify_reprices_in_place_and_keeps_one_live_order() -> None:
    ex = make()

    q = ex.quote(SYM)
    ack = await ex.send(order("m1", Side.BUY, 100, add_ticks(q.bid, -2)))
    oid = ack.broker_order_id
    before = ex.queue_ahead(oid)
    reduced = await ex.modify(oid, add_ticks(q.bid, -2), 60)  # same price: keeps priority
    assert reduced.broker_order_id == oid and ex.queue_ahead(oid) == before
    new_price = add_ticks(q.bid, -1)
    moved = await ex.modify(oid, new_price, None)
    assert moved.broker_order_id == oid
    assert await ex.open_orders() == [oid]
    level = next(lv for lv in ex.depth(SYM, 5).bids if lv.price == new_price)
    assert ex.queue_ahead(oid) == level.size - 60  # back of the new level
    await ex.modify(oid, q.ask, None)  # marketable now: trades at once
    fills, _ = await ex.fills_since(0)
    assert [(f.price, f.filled_qty, f.remaining_qty) for f in fills] == [(q.ask, 60, 0)]
    assert await ex.open_orders() == []
    with pytest.raises(UnknownOrder):
        await ex.modify(oid, q.bid, None)
    with pytest.raises(UnknownOrder):
        await ex.modify("nope", q.bid, None)


async def test_modify_rejects_qty_increase_and_converts_to_market() -> None:
    ex = make()

    q = ex.quote(SYM)
    oid = (await ex.send(order("m1", Side.SELL, 40, add_ticks(q.ask, 3)))).broker_order_id
    with pytest.raises(OrderRejected) as err:
        await ex.modify(oid, None, 41)
    assert err.value.reason is RejectReason.INVALID_ORDER
    await ex.modify(oid, None, None)
    fills, _ = await ex.fills_since(0)
    assert [(f.price, f.filled_qty) for f in fills] == [(q.bid, 40)]
    assert await ex.open_orders() == []


async def test_cancel() -> None:
    ex = make()

    q = ex.quote(SYM)
    oid = (await ex.send(order("c1", Side.BUY, 10, add_ticks(q.bid, -2)))).broker_order_id
    assert await ex.cancel(oid) is True
    assert await ex.open_orders() == [] and ex.queue_ahead(oid) is None
    assert await ex.cancel(oid) is False
    filled = (await ex.send(order("c2", Side.BUY, 10, q.ask))).broker_order_id
    assert await ex.cancel(filled) is False
    with pytest.raises(UnknownOrder):
        await ex.cancel("nope")


async def test_fills_since_is_a_cursor() -> None:
    ex = make()

    ask = ex.quote(SYM).ask
    await ex.send(order("c1", Side.BUY, 1, ask))
    await ex.send(order("c2", Side.BUY, 1, ask))
    fills, cursor = await ex.fills_since(0)
    assert (len(fills), cursor) == (2, 2)
    assert await ex.fills_since(cursor) == ([], 2)
    await ex.send(order("c3", Side.BUY, 1, ex.quote(SYM).ask))
    more, cursor = await ex.fills_since(cursor)
    assert len(more) == 1 and cursor == 3
    assert more[0].event_id not in {f.event_id for f in fills}


async def test_duplicate_fault_repeats_event_ids_in_pushes_only() -> None:
    ex = make(faults=FaultConfig(duplicate_fill_rate=1.0))

    pushed: list[FillEvent] = []
    unsubscribe = ex.subscribe_fills(pushed.append)
    await ex.send(order("c1", Side.BUY, 1, ex.quote(SYM).ask))
    await asyncio.sleep(0.01)
    journal, _ = await ex.fills_since(0)
    assert len(journal) == 1
    assert [f.event_id for f in pushed] == [journal[0].event_id] * 2
    unsubscribe()
    await ex.send(order("c2", Side.BUY, 1, ex.quote(SYM).ask))
    await asyncio.sleep(0.01)
    assert len(pushed) == 2


async def test_reorder_fault_shuffles_pushes_within_a_window() -> None:
    ex = make(faults=FaultConfig(reorder_fills=True))

    pushed: list[FillEvent] = []
    ex.subscribe_fills(pushed.append)
    asks = ex.depth(SYM, 10).asks
    await ex.send(order("c1", Side.BUY, sum(lv.size for lv in asks), asks[-1].price))
    await asyncio.sleep(0.02)
    journal, _ = await ex.fills_since(0)
    assert len(journal) == 10
    assert sorted(pushed, key=lambda f: f.event_id) == journal
    assert pushed != journal


def scenario(seed: int) -> list[dict[str, object]]:
    clock = FakeClock()
    ex = make(clock, seed=seed, faults=FaultConfig(reject_rate=0.2, duplicate_fill_rate=0.3))

    async def go() -> list[dict[str, object]]:
        pushed: list[FillEvent] = []
        ex.subscribe_fills(pushed.append)
        for i in range(30):
            clock.t += 0.7
            q = ex.quote(SYM)
            side = Side.BUY if i % 2 else Side.SELL
            with contextlib.suppress(OrderRejected):
                await ex.send(order(f"d{i}", side, 40 + i, q.bid if side is Side.BUY else q.ask))
            await asyncio.sleep(0)
        clock.t += 30
        await ex.open_orders()
        await asyncio.sleep(0)
        return [f.to_json() for f in pushed]

    return run(go)


def test_same_seed_and_calls_give_identical_fill_streams() -> None:
    first = scenario(11)
    assert len(first) > 10
    assert scenario(11) == first
    assert scenario(12) != first


def test_parse_faults_good_specs() -> None:
    assert parse_faults("") == FaultConfig()
    assert parse_faults("reject=0.2,disconnect=2,latency=50,dup=0.1,reorder=1") == FaultConfig(
        reject_rate=0.2,
        disconnects=2,
        extra_latency_ms=50.0,
        duplicate_fill_rate=0.1,
        reorder_fills=True,
    )
    assert parse_faults(" reorder=no , reject_rate=1 ") == FaultConfig(reject_rate=1.0)


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("reject=2", "reject=2"),
        ("reject=0.1,bogus=1", "bogus=1"),
        ("disconnect=-1", "disconnect=-1"),
        ("disconnect=1.5", "disconnect=1.5"),
        ("latency", "latency"),
        ("dup=x", "dup=x"),
        ("reorder=maybe", "reorder=maybe"),
        ("dup=0.1,dup=0.2", "dup=0.2"),
    ],
)
def test_parse_faults_bad_specs_name_the_part(spec: str, names: str) -> None:
    with pytest.raises(ValueError, match=repr(names)):
        parse_faults(spec)
