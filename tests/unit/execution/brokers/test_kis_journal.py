"""The adapter's fill journal: push and poll, each share counted once, stable ids."""

from __future__ import annotations

from decimal import Decimal

from execution.brokers.kis.journal import FillJournal
from execution.contracts import FillEvent, Side

D = Decimal


def journal() -> tuple[FillJournal, list[FillEvent]]:
    j = FillJournal(D("1.5"))
    pushed: list[FillEvent] = []
    j.subscribe(pushed.append)
    return j, pushed


def test_pushes_then_a_poll_that_agrees_books_nothing_more() -> None:
    j, pushed = journal()
    a = j.on_push("0001", "005930", Side.BUY, 30, D(75000), 1, 100)
    b = j.on_push("0001", "005930", Side.BUY, 50, D(75100), 2, 100)
    assert a is not None and b is not None
    assert (a.event_id, a.cumulative_qty, a.remaining_qty) == ("0001:30", 30, 70)
    assert (b.event_id, b.filled_qty, b.cumulative_qty) == ("0001:80", 50, 80)
    assert j.on_total("0001", "005930", Side.BUY, 80, D("75062.5"), 3, 100) is None
    assert pushed == [a, b] and j.since(0) == ([a, b], 2)
    assert j.avg_price("0001") == D("75062.5")


def test_a_poll_ahead_of_the_push_books_the_difference_and_the_push_then_counts_nothing() -> None:
    j, _ = journal()
    j.on_push("0001", "005930", Side.BUY, 30, D(75000), 1, 100)
    polled = j.on_total("0001", "005930", Side.BUY, 80, D("75062.5"), 2, 100)
    assert polled is not None
    assert (polled.event_id, polled.filled_qty, polled.price) == ("0001:80", 50, D("75100.00"))
    late = j.on_push("0001", "005930", Side.BUY, 50, D(75100), 3, 100)
    assert late is None and j.unsettled_pushes == 1 and j.filled("0001") == 80


def test_pushes_lost_in_a_gap_are_found_by_the_poll_never_twice() -> None:
    j, _ = journal()
    j.on_push("0001", "005930", Side.SELL, 30, D(75000), 1, 100)
    # 50 more traded while the stream was down: only the poll sees them
    assert j.on_total("0001", "005930", Side.SELL, 80, D(75000), 2, 100) is not None
    # the next pushed trade (20) does not raise the level: the sum pushed is only 50
    assert j.on_push("0001", "005930", Side.SELL, 20, D(75000), 3, 100) is None
    # the next poll settles it
    last = j.on_total("0001", "005930", Side.SELL, 100, D(75000), 4, 100)
    assert last is not None and (last.filled_qty, last.remaining_qty) == (20, 0)
    assert sum(e.filled_qty for e in j.events) == 100


def test_orders_are_independent_and_ids_are_stable() -> None:
    j, _ = journal()
    j.on_total("0001", "005930", Side.BUY, 10, D(75000), 1, 10)
    j.on_total("0002", "005930", Side.BUY, 10, D(75000), 1, 10)
    assert [e.event_id for e in j.events] == ["0001:10", "0002:10"]
    assert j.events[0].fee == D("112.50")  # 1.5 bps of 750,000
