"""Engine invariants over random orders, quotes and fill streams (hypothesis, derandomized).

Each property runs a modest number of examples; the ones that drive the engine use short
stage timeouts so that a whole property stays well under ten seconds.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.context import AdjustOutcome, ExecutionContext
from execution.contracts import (
    ChildOrder,
    ChildStatus,
    FillEvent,
    PriceType,
    Quote,
    Side,
    SplitStrategy,
    Urgency,
)
from execution.fillbook import FillBook
from execution.orders.fills import register, route
from execution.orders.reprice import next_price
from execution.stages.precheck import run_checks
from execution.stages.split import split
from execution.testing.harness import (
    finish,
    intent,
    make_context,
    make_engine,
    make_limits,
    run_async,
    until_state,
)
from execution.testing.scripted import ScriptedBroker
from execution.ticks import add_ticks, is_on_ladder, snap

FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
ENGINE = settings(max_examples=12, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])
LIMITS = make_limits()
MAX_MOVE = LIMITS.max_price_move_pct / 100
D = Decimal

sides = st.sampled_from(list(Side))
strategies = st.sampled_from(list(SplitStrategy))
urgencies = st.sampled_from(list(Urgency))


# ------------------------------------------------------------------------ split
@FAST
@given(qty=st.integers(1, 9_000), strategy=strategies, urgency=urgencies, side=sides,
       touch=st.integers(0, 20_000), max_children=st.integers(1, 10),
       twap=st.integers(0, 60_000))
def test_children_sum_to_the_parent_and_respect_max_children(
        qty: int, strategy: SplitStrategy, urgency: Urgency, side: Side, touch: int,
        max_children: int, twap: int) -> None:
    broker = ScriptedBroker(time_source=lambda: 0.0)
    broker.set_quote(70_000, 70_100, bid_size=touch, ask_size=touch)
    ctx = make_context(broker, intent(qty, side, urgency=urgency, strategy=strategy),
                       split={"max_children": max_children, "twap_horizon_ms": twap},
                       max_notional_krw=D(10**12))
    run_checks(ctx)
    assert ctx.precheck_failure is None
    split(ctx, None)
    children = ctx.children
    assert sum(c.qty for c in children) == ctx.qty == qty
    assert 1 <= len(children) <= max_children
    assert all(c.qty > 0 for c in children)
    assert [c.sequence for c in children] == list(range(1, len(children) + 1))
    assert len({c.client_order_id for c in children}) == len(children)
    assert all(c.scheduled_ns >= broker.now_ns() for c in children)


@ENGINE
@given(qty=st.integers(1, 3_000), strategy=strategies,
       max_children=st.integers(1, 10))
def test_children_sum_to_the_parent_through_the_engine(
        qty: int, strategy: SplitStrategy, max_children: int) -> None:
    async def body() -> None:
        broker = ScriptedBroker()
        engine = make_engine(broker, split={"max_children": max_children})
        execution = engine.submit(intent(qty, strategy=strategy, cid="P"))
        children = execution.ctx.children
        assert sum(c.qty for c in children) == qty
        assert 1 <= len(children) <= max_children
        await until_state(execution, "MONITORING")
        engine.escape("P", "done")
        result = await finish(execution)
        assert sum(c.qty for c in result.children) == qty
        assert all(c.status in (ChildStatus.CANCELLED,) for c in result.children)
        broker.assert_no_duplicate_orders()
        await engine.close()

    run_async(body)


# ------------------------------------------------------------------------ adjust
@st.composite
def ladder_prices(draw: Any, low: int = 1_000, high: int = 400_000) -> Decimal:
    return snap(D(draw(st.integers(low, high))), "nearest")


@st.composite
def quote_around(draw: Any, mid: Decimal) -> Quote:
    """A quote near ``mid`` (within +-2 %), one to a few ticks wide."""
    drift = D(draw(st.integers(-200, 200))) / D(10_000)
    bid = snap(mid * (1 + drift), "down")
    ask = add_ticks(bid, draw(st.integers(1, 4)))
    return Quote("005930", bid, ask, 100, 100, 0)


@FAST
@given(data=st.data(), side=sides, start=ladder_prices(), rounds=st.integers(1, 8),
       use_limit=st.booleans())
def test_next_price_moves_within_half_a_percent_and_never_backwards(
        data: st.DataObject, side: Side, start: Decimal, rounds: int, use_limit: bool) -> None:
    arrival = start
    limit = None
    if use_limit:
        limit = snap(start * (1 + side.sign * D(data.draw(st.integers(0, 100))) / 10_000),
                     "nearest")
    price = start
    for _ in range(rounds):
        quote = data.draw(quote_around(start))
        new, outcome = next_price(side, price, start, quote, arrival, limit, LIMITS)
        assert is_on_ladder(new)
        assert abs(new - start) <= start * MAX_MOVE
        assert (new - price) * side.sign >= 0  # toward the far touch, never back
        if limit is not None and (price - limit) * side.sign <= 0:
            assert (new - limit) * side.sign <= 0
        if new != price:
            assert (new - quote.touch(side)) * side.sign <= 0  # never through the touch
        if outcome is AdjustOutcome.BREACH:
            assert new == price
        price = new


@ENGINE
@given(seed=st.integers(0, 2**16), side=sides, qty=st.integers(1, 600),
       strategy=st.sampled_from([SplitStrategy.SINGLE, SplitStrategy.TWAP]))
def test_engine_adjusts_at_most_three_rounds_within_half_a_percent(
        seed: int, side: Side, qty: int, strategy: SplitStrategy) -> None:
    rng = random.Random(seed)

    async def body() -> None:
        broker = ScriptedBroker()
        engine = make_engine(broker, adjust_interval_ms=4, timeouts={"MONITORING": 40},
                             split={"twap_horizon_ms": 10})

        def wander(symbol: str) -> None:  # the book moves before every read
            del symbol
            bid = snap(D(70_000) * (1 + D(rng.randint(-120, 120)) / 10_000), "down")
            broker.quotes["005930"] = Quote("005930", bid, add_ticks(bid, rng.randint(1, 3)),
                                            500, 500, 0)

        broker.on_quote = wander
        execution = engine.submit(intent(qty, side, strategy=strategy, cid="A"))
        result = await finish(execution)
        stalls = [s for s in result.path if s.event == "stalled"]
        assert len(stalls) <= 3
        assert result.adjust_rounds <= 3
        originals = {c.broker_order_id: c.original_price for c in result.children}
        for call in broker.calls_of("modify"):
            first = originals[call.key]
            assert first is not None and call.price is not None
            assert abs(call.price - first) <= first * MAX_MOVE
        for child in result.children:
            if child.price is not None and child.original_price is not None:
                assert abs(child.price - child.original_price) <= child.original_price * MAX_MOVE
        broker.assert_no_duplicate_orders()
        await engine.close()

    run_async(body)


# ------------------------------------------------------------------------ fills
def _fill(event_id: str, order: str, qty: int, price: int = 70_000) -> FillEvent:
    return FillEvent(event_id, order, "005930", Side.BUY, qty, D(price), 0, 0, D(0), 0)


@st.composite
def fill_streams(draw: Any) -> tuple[list[int], list[FillEvent], list[FillEvent]]:
    """Child sizes, the unique fills, and a delivery stream with duplicates, reordered."""
    sizes = draw(st.lists(st.integers(1, 50), min_size=1, max_size=4))
    unique: list[FillEvent] = []
    for n, size in enumerate(sizes):
        for k, qty in enumerate(draw(st.lists(st.integers(1, size + 5), max_size=4))):
            unique.append(_fill(f"F{n}-{k}", f"B{n}", qty, 100 * draw(st.integers(690, 710))))
    copies = [f for f in unique for _ in range(draw(st.integers(1, 3)))]
    stream = draw(st.permutations(copies))
    return sizes, unique, list(stream)


def _children(sizes: list[int]) -> list[ChildOrder]:
    return [ChildOrder(f"T1-{n + 1}", "T1", n + 1, size, D(70_000), PriceType.LIMIT, 0, 0,
                       status=ChildStatus.ACCEPTED, order_ids=[f"B{n}"])
            for n, size in enumerate(sizes)]


def _expected(sizes: list[int], unique: list[FillEvent]) -> int:
    return sum(min(size, sum(f.filled_qty for f in unique if f.order_id == f"B{n}"))
               for n, size in enumerate(sizes))


@FAST
@given(streams=fill_streams())
def test_fillbook_counts_every_fill_once_whatever_the_delivery(
        streams: tuple[list[int], list[FillEvent], list[FillEvent]]) -> None:
    sizes, unique, stream = streams
    children = _children(sizes)
    by_order = {c.broker_order_id: c for c in children}
    book = FillBook()
    for fill in stream:
        book.apply(fill, by_order[fill.order_id])
    assert book.filled_qty == _expected(sizes, unique)
    assert book.filled_qty <= sum(sizes)
    assert book.duplicates == len(stream) - len(unique)
    assert all(c.filled_qty <= c.qty for c in children)
    assert len({f.event_id for f in book.fills}) == len(book.fills)


@FAST
@given(streams=fill_streams(), register_after=st.integers(0, 20))
def test_router_counts_every_fill_once_including_fills_before_the_ack(
        streams: tuple[list[int], list[FillEvent], list[FillEvent]],
        register_after: int) -> None:
    sizes, unique, stream = streams
    ctx: ExecutionContext = make_context(ScriptedBroker(), intent(sum(sizes)))
    ctx.qty = sum(sizes)
    ctx.children = _children(sizes)
    registered = False
    ids = {child.id: child.order_ids.pop() for child in ctx.children}
    for child in ctx.children:
        child.status = ChildStatus.PENDING_SUBMIT
    for n, fill in enumerate(stream):
        if n == register_after:
            for child in ctx.children:
                register(ctx, child, ids[child.id])
            registered = True
        route(ctx.services, fill)
    if not registered:
        for child in ctx.children:
            register(ctx, child, ids[child.id])
    assert ctx.fills.filled_qty == _expected(sizes, unique)
    assert ctx.services.ledger.positions["005930"] == ctx.fills.filled_qty
    overfilled = sum(a.code.name == "GR064" for a in ctx.alerts)
    assert overfilled == sum(1 for _ in ctx.alerts)  # only overfill warnings, nothing else


@ENGINE
@given(seed=st.integers(0, 2**16), qty=st.integers(1, 400),
       strategy=st.sampled_from([SplitStrategy.SINGLE, SplitStrategy.TWAP,
                                 SplitStrategy.ICEBERG]))
def test_filled_qty_never_exceeds_the_intent_under_duplicates_and_overfills(
        seed: int, qty: int, strategy: SplitStrategy) -> None:
    rng = random.Random(seed)

    async def body() -> None:
        broker = ScriptedBroker()
        engine = make_engine(broker, split={"twap_horizon_ms": 0},
                             timeouts={"MONITORING": 60})
        execution = engine.submit(intent(qty, strategy=strategy, cid="F"))
        await until_state(execution, "MONITORING")
        sent: list[FillEvent] = []
        for _ in range(rng.randint(1, 12)):
            live = broker.live_orders()
            if not live:
                break
            order = rng.choice(live)
            size = rng.randint(1, order.qty + 3)  # sometimes more than the order has
            order.qty = max(order.qty, order.filled + size)  # the broker lets it overfill
            event = broker.fill(order.broker_id, size, times=rng.randint(1, 3))
            sent.append(event)
            if rng.random() < 0.3 and sent:
                broker.deliver(rng.choice(sent))  # a late duplicate
            await asyncio.sleep(0)
        result = await finish(execution)
        assert result.filled_qty <= qty
        assert result.filled_qty == sum(c.filled_qty for c in result.children)
        assert all(c.filled_qty <= c.qty for c in result.children)
        assert len({f.event_id for f in result.fills}) == len(result.fills)
        assert engine.services.ledger.positions["005930"] == result.filled_qty
        await engine.close()

    run_async(body)
