"""A fill the broker reports only in an order's total, after a later fill of the same
order was pushed: it is still counted (its booking from the total carries no cumulative
quantity of its own, so the later push's cumulative cannot make it look like a repeat).
Found by the kill tests: a recovered order missing one push in the middle."""

from __future__ import annotations

from dataclasses import replace

from execution.broker import OrderStatus
from execution.contracts import Urgency
from execution.orders.confirm import confirm
from execution.testing.harness import intent, running_engine, until, until_state
from execution.testing.scripted import ScriptedBroker


class TotalsOnly(ScriptedBroker):
    """Order status with totals only, as KIS's daily orders give it."""

    async def order_status(self, broker_order_id: str) -> OrderStatus:
        return replace(await super().order_status(broker_order_id), fills=())


async def test_a_fill_missing_between_two_pushes_is_booked_from_the_total() -> None:
    broker = TotalsOnly()
    async with running_engine(broker) as engine:
        execution = engine.submit(intent(140, urgency=Urgency.NORMAL))
        await until_state(execution, "MONITORING")
        child = execution.ctx.children[0]
        order = broker.broker_id(child.id)
        broker.fill(order, 64)
        broker.fill(order, 68, push=False)  # lost in a gap
        broker.fill(order, 8)  # pushed: cumulative 140
        await until(lambda: child.filled_qty == 72)
        assert await confirm(execution.ctx, child)  # the broker: FILLED, 140
        assert child.filled_qty == 140 and execution.ctx.fills.filled_qty == 140
        result = await execution.result
        assert result.filled_qty == 140 and result.final_state == "COMPLETE"
