"""A long-running engine keeps a bounded history of finished executions."""

from __future__ import annotations

from execution.contracts import Side
from execution.engine import Engine
from execution.testing import ScriptedBroker, finish, intent, until_state


async def test_only_the_last_finished_executions_are_kept(
        broker: ScriptedBroker, engine: Engine) -> None:
    engine.retain_finished = 2
    ids = []
    for n in range(4):
        execution = engine.submit(intent(10, Side.BUY if n % 2 else Side.SELL, cid=f"K{n}"))
        await until_state(execution, "MONITORING")
        broker.fill_child(f"K{n}-1")
        assert (await finish(execution)).final_state == "COMPLETE"
        ids.append(execution.id)
    assert list(engine.executions) == ids[2:]
    assert engine.services.index.get(broker.broker_id("K0-1")) is None
    assert engine.services.index.get(broker.broker_id("K3-1")) is not None
