"""The virtual-time event loop: waits cost no wall time, timers keep their order."""

from __future__ import annotations

import asyncio
import time

import pytest

from execution.sim.vclock import VirtualDeadlock, VirtualTimeLoop, new_loop, run_on, run_virtual


def test_a_long_sleep_costs_no_wall_time() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(3600)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), 60)
        return loop.time() - t0

    wall = time.perf_counter()
    assert run_virtual(main()) == pytest.approx(3660)
    assert time.perf_counter() - wall < 1.0


def test_timers_fire_in_due_order_at_their_virtual_time() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, float]] = []
        done = loop.create_future()

        def note(name: str) -> None:
            seen.append((name, round(loop.time(), 9)))

        for name, delay in (("c", 0.3), ("a", 0.1), ("b", 0.2), ("a2", 0.1)):
            loop.call_later(delay, note, name)
        loop.call_later(1.0, done.set_result, None)
        await done
        return seen

    assert run_virtual(main()) == [("a", 0.1), ("a2", 0.1), ("b", 0.2), ("c", 0.3)]


def test_nothing_scheduled_is_a_deadlock_not_a_hang() -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_future()

    with pytest.raises(VirtualDeadlock):
        run_virtual(main())


def test_new_loop_kinds() -> None:
    assert isinstance(new_loop("virtual"), VirtualTimeLoop)
    real = new_loop("real")
    assert not isinstance(real, VirtualTimeLoop)
    real.close()
    with pytest.raises(ValueError, match="unknown clock"):
        new_loop("sundial")  # type: ignore[arg-type]
    assert run_on(asyncio.sleep(0.001, "ok"), "real") == "ok"
