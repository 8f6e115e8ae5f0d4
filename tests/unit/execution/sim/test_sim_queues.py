"""Queue-position models: where other participants' cancels come from."""

from __future__ import annotations

from collections import deque

import pytest

from execution.sim import queues as q
from execution.sim.queues import Block, QueueModel


def level(ahead: int, ours: int, behind: int) -> q.Queue:
    return deque([Block(None, ahead), Block("me", ours), Block(None, behind)])


@pytest.mark.parametrize("u", [0.0, 0.25, 0.5, 0.99])
def test_conservative_cancels_only_behind_us(u: float) -> None:
    queue = level(1000, 10, 500)
    done = q.cancel_others(queue, 300, QueueModel.CONSERVATIVE, u)
    assert done == 300
    assert q.ahead_of(queue, "me") == 1000
    assert q.others(queue) == 1200


def test_conservative_truncates_a_cancel_bigger_than_what_is_behind() -> None:
    queue = level(1000, 10, 100)
    assert q.cancel_others(queue, 300, QueueModel.CONSERVATIVE, 0.1) == 100
    assert q.ahead_of(queue, "me") == 1000
    assert [b.owner for b in queue] == [None, "me"]


def test_probabilistic_cancels_ahead_when_the_point_falls_ahead() -> None:
    queue = level(1000, 10, 500)
    assert q.cancel_others(queue, 300, QueueModel.PROBABILISTIC, 0.1) == 300  # point 150: ahead
    assert q.ahead_of(queue, "me") == 700
    queue = level(1000, 10, 500)
    q.cancel_others(queue, 300, QueueModel.PROBABILISTIC, 0.9)  # point 1350: behind
    assert q.ahead_of(queue, "me") == 1000


def test_probabilistic_share_ahead_matches_the_volume_ahead() -> None:
    hits = 0
    for i in range(100):
        queue = level(750, 10, 250)
        q.cancel_others(queue, 1, QueueModel.PROBABILISTIC, i / 100)
        hits += q.ahead_of(queue, "me") == 749
    assert hits == 75


def test_trades_consume_front_to_back_and_report_our_part() -> None:
    queue = level(100, 50, 100)
    done, hits = q.take_fifo(queue, 120)
    assert done == 120 and [(h.owner, h.qty) for h in hits] == [("me", 20)]
    assert q.ahead_of(queue, "me") == 0
    done, hits = q.take_fifo(queue, 40)
    assert [(h.owner, h.qty) for h in hits] == [("me", 30)]
    assert q.ahead_of(queue, "me") is None  # filled: the block left the queue
    assert q.size(queue) == 90


def test_our_own_marketable_order_skips_our_resting_block() -> None:
    queue = deque([Block("me", 50), Block(None, 100)])
    done, hits = q.take_fifo(queue, 80, skip_own=True)
    assert done == 80 and hits == []
    assert [(b.owner, b.qty) for b in queue] == [("me", 50), (None, 20)]


def test_without_our_order_both_models_cancel_alike() -> None:
    a, b = deque([Block(None, 1000)]), deque([Block(None, 1000)])
    q.cancel_others(a, 100, QueueModel.CONSERVATIVE, 0.3)
    q.cancel_others(b, 100, QueueModel.PROBABILISTIC, 0.3)
    assert q.size(a) == q.size(b) == 900
