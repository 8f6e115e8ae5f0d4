"""The engine hands a finished execution's chart instance back to its pool.

The execution keeps its record (a retired run: final state, trace); the next
execution takes the reset instance instead of a new one, and runs exactly as it
would have on a fresh engine.
"""

from __future__ import annotations

import asyncio

from execution.contracts import ExecutionIntent, ExecutionResult, Side
from execution.engine import Engine
from execution.market_session import default_sim_start, epoch_ns
from execution.perf.bench import bench_limits
from execution.perf.instant_broker import InstantBroker
from statecharts.runtime import FinishedRun

SYMBOLS = ("005930", "000660")


def engine() -> Engine:
    broker = InstantBroker(epoch_ns(default_sim_start()), fill_on="modify", symbols=SYMBOLS)
    return Engine(broker, limits=bench_limits(), pool_size=1)


def intent(i: int) -> ExecutionIntent:
    return ExecutionIntent(SYMBOLS[i % 2], Side.BUY if i % 2 else Side.SELL, 100 + i,
                           client_intent_id=f"R{i}")


def observable(result: ExecutionResult) -> object:
    return (result.final_state, [(s.state, s.event) for s in result.path], result.filled_qty,
            [c.qty for c in result.children], [a.code.name for a in result.alerts],
            result.adjust_rounds)


def test_the_next_execution_reuses_the_finished_instance() -> None:
    async def main() -> tuple[list[object], list[object]]:
        reused = engine()
        pool = reused.pool()
        pool.refill_enabled = False  # one instance, recycled from one execution to the next
        results, instances = [], set()
        for i in range(4):
            execution = reused.submit(intent(i))
            instances.add(id(execution.run.machine))
            results.append(await execution.result)
            assert isinstance(execution.run, FinishedRun)  # the handle keeps its record
            assert execution.state == results[-1].final_state == "COMPLETE"
            await asyncio.sleep(0.001)  # the instance is reset on a later loop turn
        assert len(instances) == 1  # the same chart instance every time
        assert pool.misses == 0 and pool.recycled == 4
        expected = []
        for i in range(4):  # each intent on an engine of its own, freshly built instance
            expected.append(observable(await engine().execute(intent(i))))
        return [observable(r) for r in results], expected

    got, expected = asyncio.run(main())
    assert got == expected
