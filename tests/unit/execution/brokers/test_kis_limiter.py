"""The per-app-key token bucket: its rate, order calls first, penalties, sharing."""

from __future__ import annotations

import asyncio

from execution.brokers.kis.limiter import NORMAL, URGENT, TokenBucket, bucket_for
from execution.sim.vclock import run_virtual


def test_the_rate_holds_and_urgent_calls_go_first() -> None:
    async def scenario() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        bucket = TokenBucket(2.0, 1.0, clock=loop.time)
        order: list[tuple[str, float]] = []

        async def call(name: str, priority: int) -> None:
            await bucket.acquire(priority)
            order.append((name, round(loop.time(), 3)))

        await asyncio.gather(call("poll-1", NORMAL), call("poll-2", NORMAL),
                             call("poll-3", NORMAL), call("order", URGENT))
        return order

    order = run_virtual(scenario())
    assert order == [("poll-1", 0.0), ("order", 0.5), ("poll-2", 1.0), ("poll-3", 1.5)]


def test_a_penalty_slows_every_caller() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        bucket = TokenBucket(10.0, 10.0, clock=loop.time)
        bucket.penalize(1.0)
        await bucket.acquire()
        return loop.time()

    assert 1.0 <= run_virtual(scenario()) <= 1.11


def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        bucket = TokenBucket(1.0, 1.0, clock=loop.time)
        await bucket.acquire()
        got: list[str] = []

        async def call(name: str) -> None:
            await bucket.acquire()
            got.append(name)

        first = loop.create_task(call("first"))
        second = loop.create_task(call("second"))
        await asyncio.sleep(0.1)
        first.cancel()
        await second
        return got

    assert run_virtual(scenario()) == ["second"]


def test_one_bucket_per_app_key() -> None:
    a = bucket_for("key-a", 5.0, 5.0)
    assert bucket_for("key-a", 5.0, 5.0) is a
    assert bucket_for("key-b", 5.0, 5.0) is not a
