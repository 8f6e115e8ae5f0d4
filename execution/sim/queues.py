"""FIFO queues of one price level, and the queue-position models.

A level is a deque of blocks: anonymous liquidity of other participants
(``owner`` None) and our resting orders (one block per order). Adjacent
blocks of others are kept merged, so a level has at most ``2k + 1`` blocks
with ``k`` of our orders in it.

Trades always consume a level front to back. Where *cancellations* of other
participants come from is the queue model:

- ``CONSERVATIVE``: only from behind our last order at the level, so the
  queue ahead of us shrinks only by trades at our price (a lower bound on
  passive fills). A cancel larger than what is behind us is truncated;
- ``PROBABILISTIC``: from a random point of the level's others' volume, so
  a cancelled share is ahead of us with probability ahead / (ahead + behind).

Without an order of ours at the level both models cancel alike.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class QueueModel(Enum):
    CONSERVATIVE = "conservative"
    PROBABILISTIC = "probabilistic"


@dataclass(slots=True)
class Block:
    owner: str | None  # None: other participants
    qty: int


Queue = deque[Block]


def size(queue: Queue) -> int:
    return sum(b.qty for b in queue)


def others(queue: Queue) -> int:
    return sum(b.qty for b in queue if b.owner is None)


def add_others(queue: Queue, qty: int) -> None:
    """New liquidity of others joins the back of the queue."""
    if qty <= 0:
        return
    if queue and queue[-1].owner is None:
        queue[-1].qty += qty
    else:
        queue.append(Block(None, qty))


def take_fifo(queue: Queue, qty: int, *,
              skip_own: bool | Callable[[str], bool] = False) -> tuple[int, list[Block]]:
    """Trade up to ``qty`` front to back. Returns (qty done, our blocks hit as (owner, n)).

    With ``skip_own`` True our blocks are passed over (our own marketable order: no
    self-trade); a function passes over the blocks whose owner it answers True for (the
    incoming order's own account) and trades the others like anyone's.
    Exhausted blocks are removed; our hits are returned as fresh blocks holding the traded qty.
    """
    done = 0
    hits: list[Block] = []
    for block in queue:
        if done >= qty:
            break
        if block.owner is not None and (skip_own is True
                                        or (callable(skip_own) and skip_own(block.owner))):
            continue
        n = min(block.qty, qty - done)
        block.qty -= n
        done += n
        if block.owner is not None and n:
            hits.append(Block(block.owner, n))
    compact(queue, keep_own_empty=False)
    return done, hits


def cancel_others(queue: Queue, qty: int, model: QueueModel, u: float) -> int:
    """Others cancel up to ``qty`` shares; ``u`` in [0, 1) picks the point (probabilistic).

    Returns the qty cancelled (less than ``qty`` when the level, or under the
    conservative model the part behind our last order, holds less).
    """
    if qty <= 0 or not queue:
        return 0
    own_at = [i for i, b in enumerate(queue) if b.owner is not None]
    if own_at and model is QueueModel.CONSERVATIVE:
        eligible = [b for b in list(queue)[own_at[-1] + 1 :] if b.owner is None]
        done = _cancel_from(eligible[::-1], qty)
    else:
        blocks = [b for b in queue if b.owner is None]
        total = sum(b.qty for b in blocks)
        if total == 0:
            return 0
        point = min(total - 1, int(u * total))
        start, seen = 0, 0
        for start, block in enumerate(blocks):  # noqa: B007 - the index is used below
            if seen + block.qty > point:
                break
            seen += block.qty
        done = _cancel_from(blocks[start:] + blocks[:start], qty)
    compact(queue, keep_own_empty=True)
    return done


def _cancel_from(blocks: list[Block], qty: int) -> int:
    done = 0
    for block in blocks:
        if done >= qty:
            break
        n = min(block.qty, qty - done)
        block.qty -= n
        done += n
    return done


def compact(queue: Queue, *, keep_own_empty: bool) -> None:
    """Drop exhausted blocks of others and merge adjacent blocks of others.

    Our exhausted blocks are dropped too unless ``keep_own_empty`` (the book
    removes them itself when it books the fill).
    """
    merged: list[Block] = []
    for block in queue:
        if block.qty == 0 and (block.owner is None or not keep_own_empty):
            continue
        if merged and block.owner is None and merged[-1].owner is None:
            merged[-1].qty += block.qty
        else:
            merged.append(block)
    queue.clear()
    queue.extend(merged)


def ahead_of(queue: Queue, owner: str) -> int | None:
    """Shares ahead of ``owner``'s block, or None when it is not in the queue."""
    ahead = 0
    for block in queue:
        if block.owner == owner:
            return ahead
        ahead += block.qty
    return None
