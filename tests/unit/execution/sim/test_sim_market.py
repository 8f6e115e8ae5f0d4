"""The market simulator: exogenous paths, queue models, latency ordering, faults."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from decimal import Decimal

import pytest

from execution.broker import BrokerDisconnected
from execution.contracts import FillEvent, OrderRequest, PriceType, Side
from execution.sim import (
    SYMBOLS,
    BookParams,
    FaultConfig,
    LatencyModel,
    LatencyProfile,
    OrderBook,
    QueueModel,
    SimulatedExchange,
)
from execution.sim.vclock import run_virtual

START_NS = 1_717_376_400_000_000_000  # 2024-06-03 10:00 KST
SYM = "005930"
SPEC = SYMBOLS[SYM]


def book(seed: int = 3, **params: object) -> OrderBook:
    return OrderBook(SPEC, random.Random(seed), START_NS, BookParams(**params))  # type: ignore[arg-type]


def test_the_exogenous_market_does_not_depend_on_our_orders() -> None:
    quiet, busy = book(), book()
    fair_quiet, fair_busy = [], []
    bid = busy.top()[0]
    busy.rest("me", Side.BUY, bid, 5_000)
    for k in range(1, 601):
        ts = START_NS + k * 50_000_000
        quiet.advance(ts)
        busy.advance(ts)
        if k == 100:
            busy.take(Side.BUY, 3_000, None)
        fair_quiet.append(quiet.fair_value)
        fair_busy.append(busy.fair_value)
    assert fair_quiet == fair_busy


def test_depth_replenishes_after_a_sweep_of_the_touch() -> None:
    b = book()
    _, _, ask, ask_size = b.top()
    b.take(Side.BUY, ask_size, ask)
    assert b.top()[2] > ask or b.top()[3] < ask_size
    b.advance(START_NS + 60 * 10**9)
    sizes = [lv.size for lv in b.depth(3).asks]
    assert all(s > SPEC.typical_size * 0.3 for s in sizes)


def _passive_fill_time(model: QueueModel, seed: int) -> float:
    b = book(seed, queue_model=model)
    bid = b.top()[0]
    b.rest("me", Side.BUY, bid, 100)
    for k in range(1, 3_601):
        b.advance(START_NS + k * 50_000_000)
        if b.resting_qty("me") == 0:
            return k * 0.05
    return float("inf")


def test_probabilistic_queue_fills_a_passive_order_no_later_than_conservative() -> None:
    faster = 0
    for seed in range(6):
        cons = _passive_fill_time(QueueModel.CONSERVATIVE, seed)
        prob = _passive_fill_time(QueueModel.PROBABILISTIC, seed)
        assert prob <= cons
        faster += prob < cons
    assert faster >= 3


def test_conservative_queue_ahead_shrinks_only_by_trades() -> None:
    for seed in range(5):
        b = book(seed, queue_model=QueueModel.CONSERVATIVE)
        bid = b.top()[0]
        b.rest("me", Side.BUY, bid, 100)
        ahead, traded = b.queue_ahead("me"), b.traded_qty
        for k in range(1, 401):
            b.advance(START_NS + k * 50_000_000)
            now = b.queue_ahead("me")
            if now is None or ahead is None:
                break
            assert ahead - now <= b.traded_qty - traded  # only trades move us up
            ahead, traded = now, b.traded_qty


def _exchange(loop: asyncio.AbstractEventLoop, **kwargs: object) -> SimulatedExchange:
    params: dict[str, object] = {"seed": 9, "start_ns": START_NS, "time_source": loop.time,
                                 "symbols": {SYM: SPEC}}
    params.update(kwargs)
    return SimulatedExchange(**params)  # type: ignore[arg-type]


def test_latency_ordering_entry_then_fill_notification() -> None:
    latency = LatencyProfile(LatencyModel.constant(20), LatencyModel.constant(30),
                             LatencyModel.constant(50))

    async def main() -> tuple[float, float, list[tuple[float, FillEvent]]]:
        loop = asyncio.get_running_loop()
        ex = _exchange(loop, latency=latency)
        pushed: list[tuple[float, FillEvent]] = []
        ex.subscribe_fills(lambda f: pushed.append((loop.time(), f)))
        t0 = loop.time()
        ask = ex.quote(SYM).ask
        ack = await ex.send(OrderRequest("c1", SYM, Side.BUY, 10, ask, PriceType.LIMIT))
        t_ack = loop.time()
        await asyncio.sleep(0.2)
        assert ex.accepted[0].ts_ns == ack.ts_ns
        return t0, t_ack, pushed

    t0, t_ack, pushed = run_virtual(main())
    assert t_ack - t0 == pytest.approx(0.020)
    assert len(pushed) == 1
    assert pushed[0][0] - t_ack == pytest.approx(0.050)  # the fill happened at the ack


def test_random_fill_latency_keeps_the_push_stream_in_order() -> None:
    latency = LatencyProfile(LatencyModel.constant(0), LatencyModel.constant(0),
                             LatencyModel.lognormal(20, 1.0))

    async def main() -> list[FillEvent]:
        ex = _exchange(asyncio.get_running_loop(), latency=latency)
        pushed: list[FillEvent] = []
        ex.subscribe_fills(pushed.append)
        asks = ex.depth(SYM, 5).asks
        await ex.send(OrderRequest("c1", SYM, Side.BUY, sum(lv.size for lv in asks),
                                   asks[-1].price, PriceType.LIMIT))
        await asyncio.sleep(5)
        return pushed

    pushed = run_virtual(main())
    assert len(pushed) == 5
    assert [f.event_id for f in pushed] == sorted(f.event_id for f in pushed)


def test_lognormal_latency_is_seeded_and_capped() -> None:
    model = LatencyModel.lognormal(10, 0.8, cap_ms=40)
    a = [model.sample(random.Random(1)) for _ in range(3)]
    draws = [model.sample(r) for r in [random.Random(1)] * 1000]
    assert a[0] == a[1] == a[2]
    assert max(draws) == 40 and min(draws) > 0
    assert LatencyModel.constant(7).sample(random.Random(0)) == 7
    with pytest.raises(ValueError):
        LatencyModel("gamma", 1)  # type: ignore[arg-type]


def test_disconnect_window_blocks_calls_then_auto_reconnects() -> None:
    faults = FaultConfig(disconnect_windows=((1.0, 3.0),))

    async def main() -> None:
        ex = _exchange(asyncio.get_running_loop(), faults=faults)
        assert ex.connected
        await asyncio.sleep(1.5)
        assert not ex.connected
        with pytest.raises(BrokerDisconnected):
            await ex.open_orders()
        assert await ex.connect() is False
        await asyncio.sleep(2.0)
        assert ex.connected

    run_virtual(main())


def test_disconnect_window_without_auto_reconnect_needs_connect() -> None:
    faults = FaultConfig(disconnect_windows=((1.0, 2.0),), auto_reconnect=False)

    async def main() -> None:
        ex = _exchange(asyncio.get_running_loop(), faults=faults)
        await asyncio.sleep(1.5)
        assert not ex.connected
        await asyncio.sleep(1.0)
        assert not ex.connected
        assert await ex.connect() is True and ex.connected

    run_virtual(main())


def test_slow_ack_fault_delays_the_order_reaching_the_market() -> None:
    faults = FaultConfig(slow_ack_rate=1.0, slow_ack_ms=400)

    async def main() -> float:
        loop = asyncio.get_running_loop()
        ex = _exchange(loop, faults=faults, ack_latency_ms=10.0)
        t0 = loop.time()
        await ex.send(OrderRequest("c1", SYM, Side.BUY, 1, ex.quote(SYM).bid, PriceType.LIMIT))
        return loop.time() - t0

    assert run_virtual(main()) == pytest.approx(0.410)
    with pytest.raises(ValueError):
        replace(faults, disconnect_windows=((2.0, 1.0),))


def test_same_seed_same_market_byte_for_byte() -> None:
    def path(seed: int) -> list[str]:
        b = book(seed)
        out = []
        for k in range(1, 400):
            b.advance(START_NS + k * 50_000_000)
            out.append(repr(b.depth(3)))
        return out

    assert path(4) == path(4)
    assert path(4) != path(5)


def test_tape_counts_every_trade() -> None:
    b = book()
    qty0, notional0 = b.traded_qty, b.traded_notional
    trades = b.take(Side.BUY, 100, None)
    assert b.traded_qty - qty0 == 100
    assert b.traded_notional - notional0 == sum((p * n for p, n in trades), Decimal(0))
