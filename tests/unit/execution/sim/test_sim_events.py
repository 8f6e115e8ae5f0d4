"""The event-driven book: lazy levels, observation independence, exact wake-ups."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

import execution.simulate.market as market
from execution.contracts import Side
from execution.sim import SYMBOLS, BookParams, OrderBook
from execution.sim.streams import FairPath, LevelStream
from execution.simulate.run import simulate
from execution.simulate.scenario import load_scenario

START_NS = 1_717_376_400_000_000_000  # 2024-06-03 10:00 KST
SPEC = SYMBOLS["005930"]
MS = 1_000_000


def book(seed: int = 3, **params: Any) -> OrderBook:
    return OrderBook(SPEC, random.Random(seed), START_NS, BookParams(**params))


def snapshot(b: OrderBook) -> str:
    return repr((b.depth(12), b.traded_qty, b.traded_notional, b.fair_value))


def test_looking_at_the_book_does_not_change_its_path() -> None:
    watched, left = book(), book()
    for k in range(1, 301):
        watched.advance(START_NS + k * 37 * MS)  # odd steps, and a look at every one
        watched.top()
        watched.depth(3)
    left.advance(START_NS + 300 * 37 * MS)  # one jump to the same moment
    assert snapshot(watched) == snapshot(left)


def test_our_order_changes_the_book_but_not_the_exogenous_streams() -> None:
    quiet, busy = book(), book()
    busy.rest("me", Side.SELL, busy.top()[2], 2_000)
    quiet.advance(START_NS + 20_000 * MS)
    busy.advance(START_NS + 20_000 * MS)
    assert quiet.fair_value == busy.fair_value
    assert quiet.events == busy.events  # the same events, applied to different books


def test_no_fill_of_ours_happens_before_the_announced_wake_up() -> None:
    """``next_wake_ns`` may announce moments without a fill, never miss one."""
    for seed in range(4):
        b = book(seed)
        bid, _, ask, _ = b.top()
        b.rest("bid", Side.BUY, bid, 800)
        b.rest("ask", Side.SELL, ask, 800)
        now, fills = START_NS, 0
        while now < START_NS + 60_000 * MS and fills < 2:
            wake = b.next_wake_ns()
            if wake is None:
                break
            assert wake > now
            for step in (wake - 1,):  # just before the wake-up: nothing of ours trades
                assert b.advance(step) == []
            got = b.advance(wake)
            fills += sum(f.qty > 0 for f in got)
            assert all(f.ts_ns == wake for f in got)
            now = wake
        assert fills >= 1


def test_a_gap_longer_than_max_catchup_collapses_into_one_move() -> None:
    b = book(max_catchup_s=5.0)
    b.advance(START_NS + 3_600_000 * MS)  # an hour in one call
    assert b.events < 2_000  # the last 5 s, not an hour of events
    bid, bid_size, ask, ask_size = b.top()
    assert bid < ask and bid_size > 0 and ask_size > 0
    sizes = [lv.size for lv in b.depth(5).bids]
    assert all(s > SPEC.typical_size * 0.2 for s in sizes)  # levels relaxed to their targets


def test_level_stream_is_a_pure_function_of_its_seed() -> None:
    def events(stream: LevelStream, n: int) -> list[tuple[int, int, float]]:
        out = []
        for _ in range(n):
            out.append((stream.next_ns, stream.size, stream.frac))
            stream.draw()
        return out

    a = LevelStream(5, 0, 75_000, 2.5, 1.0, 400.0, 0)
    b = LevelStream(5, 0, 75_000, 2.5, 1.0, 400.0, 0)
    assert not a.started  # nothing drawn until the level is needed
    a.start()
    b.start()
    first = events(a, 2_000)
    assert first == events(b, 2_000)
    adds = [size for _, size, _ in first if size]
    assert 0.65 < len(adds) / len(first) < 0.78  # add share 2.5 / 3.5
    assert 360 < sum(adds) / len(adds) < 440  # exponential sizes, mean 400
    span_s = first[-1][0] / 1e9
    assert 3.2 < len(first) / span_s < 3.8  # 3.5 events a second


def test_a_rate_change_rescales_the_wait_and_keeps_the_event_rate() -> None:
    stream = LevelStream(8, 0, 75_000, 2.5, 1.0, 400.0, 0)
    stream.start()
    times = []
    for second in range(1, 401):  # the add rate doubles at 200 s
        if second == 200:
            while stream.next_ns <= 200 * 10**9:
                times.append(stream.next_ns)
                stream.draw()
            stream.schedule(200 * 10**9, 5.0)
            stream.change_rates()
        while stream.next_ns <= second * 10**9:
            times.append(stream.next_ns)
            stream.draw()
    before = sum(t <= 200 * 10**9 for t in times) / 200
    after = sum(t > 200 * 10**9 for t in times) / 200
    assert 3.2 < before < 3.8 and 5.5 < after < 6.5  # 3.5 then 6 events a second
    assert stream.schedule(300 * 10**9, 5.0) is None and not stream.changes  # no change: none


def test_fair_path_reads_ahead_without_consuming() -> None:
    path = FairPath(9, 75_050.0, 0.018, 50 * MS, 52_600.0, 97_400.0, START_NS)
    peek = [path.ahead(k) for k in range(300)]
    assert [path.step() for _ in range(300)] == peek
    assert path.next_ns == START_NS + 301 * 50 * MS


@pytest.fixture
def restore_driver_interval() -> Any:
    saved = market._DRIVER_SAFETY_MS
    yield
    market._DRIVER_SAFETY_MS = saved


def test_the_exchange_driver_wakes_exactly_when_needed(restore_driver_interval: Any) -> None:
    """A driver woken every 5 ms and one woken only when the book says gives one report."""

    def report(interval_ms: float) -> str:
        market._DRIVER_SAFETY_MS = interval_ms
        data = simulate(load_scenario(), intents=6, seed=4).data
        data.pop("timing")
        data.pop("stage_latency_us")  # wall time of our own code
        return json.dumps(data, sort_keys=True)

    assert report(5.0) == report(1_000.0)


def test_simulate_reports_its_throughput() -> None:
    timing = simulate(load_scenario(), intents=2, seed=1).data["timing"]
    assert set(timing) == {"wall_s", "intents_per_s", "events_per_s", "market_events"}
    assert timing["market_events"] > 1_000 and timing["events_per_s"] > 0
    # wall_s is rounded to the millisecond
    assert timing["intents_per_s"] == pytest.approx(2 / timing["wall_s"], rel=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_book_never_locks_or_crosses(seed: int) -> None:
    b = book(seed)
    bid = b.top()[0]
    b.rest("mine", Side.BUY, bid, 3_000)  # our order stays behind when the market moves
    for k in range(1, 3_001):
        b.advance(START_NS + k * 100 * MS)
        best_bid, best_ask = b.best(Side.BUY), b.best(Side.SELL)
        if best_bid is not None and best_ask is not None:
            assert best_bid < best_ask, f"locked at step {k}: {best_bid} / {best_ask}"


def test_a_price_keeps_one_stream_on_and_off_the_ladder() -> None:
    """A price that leaves the target ladder and comes back resumes its own random stream
    (a new stream seeded alike would replay the same events)."""
    b = OrderBook(replace(SPEC, daily_vol=0.1), random.Random(11), START_NS, BookParams())
    seen: dict[tuple[int, int], object] = {}
    on: set[tuple[int, int]] = set()
    returns = 0
    for k in range(1, 6_001):
        b.advance(START_NS + k * 50 * MS)
        before = set(seen)
        now = set()
        for side, streams in enumerate(b._streams):
            for stream in streams:
                assert seen.setdefault((side, stream.price), stream) is stream
                now.add((side, stream.price))
        returns += len((now - on) & before)  # on the ladder again after a while off it
        on = now
    assert returns > 0  # prices came back onto the ladder
