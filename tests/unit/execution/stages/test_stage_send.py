"""Stage 3, AsyncSend: retries, reconnects, rejects, scheduled and iceberg releases."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from execution.broker import BrokerDisconnected, TransientBrokerError
from execution.contracts import ChildStatus, SplitStrategy
from execution.engine import Engine
from execution.testing import EngineFactory
from execution.testing.actions import Hold, LoseAck, Nack, Raise, Reject, fail_times
from execution.testing.harness import finish, intent, make_limits, path, until, until_state
from execution.testing.scripted import OTHER_SYMBOL, ScriptedBroker


async def test_transient_errors_are_retried_with_the_same_client_order_id(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(retry_backoff_ms=10)
    broker.script_send(fail_times(2, TransientBrokerError("throttled")))
    loop = asyncio.get_running_loop()
    started = loop.time()
    execution = engine.submit(intent(10, cid="T"))
    await until_state(execution, "MONITORING")
    elapsed_ms = (loop.time() - started) * 1000
    assert [(c.key, c.outcome) for c in broker.calls] == [
        ("T-1", "raised:TransientBrokerError"), ("T-1", "raised:TransientBrokerError"),
        ("T-1", "accepted")]
    assert elapsed_ms >= 10 + 10  # two waits of retry_backoff_ms (the policy: see below)
    assert execution.ctx.sent_ok == 1 and execution.ctx.send_failed == 0
    broker.assert_no_duplicate_orders()


async def test_a_disconnect_reconnects_then_retries(broker: ScriptedBroker, engine: Engine) -> None:
    broker.script_send(Raise(BrokerDisconnected("link down")))
    execution = engine.submit(intent(10, cid="D"))
    await until_state(execution, "MONITORING")
    assert [(c.kind, c.outcome) for c in broker.calls] == [
        ("send", "raised:BrokerDisconnected"), ("connect", "ok"), ("send", "accepted")]


async def test_an_ack_lost_in_a_disconnect_is_looked_up_before_any_resend(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.script_send(LoseAck(BrokerDisconnected("dropped after accept")))
    execution = engine.submit(intent(10, cid="L"))
    await until_state(execution, "MONITORING")
    assert [c.outcome for c in broker.calls_of("send")] == ["accepted"]
    assert [(q.kind, q.key, q.outcome) for q in broker.queries] == [("find", "L-1", "live")]
    assert len(broker.orders) == 1
    broker.assert_no_duplicate_orders()
    assert execution.ctx.children[0].broker_order_id == "B00001"
    broker.fill_child("L-1")
    assert (await finish(execution)).final_state == "COMPLETE"


async def test_a_negative_ack_is_a_reject_and_not_retried(
        broker: ScriptedBroker, engine: Engine) -> None:
    broker.script_send(Nack("price band"))
    result = await engine.execute(intent(10, cid="N"))
    assert result.final_state == "FAILED"
    assert len(broker.calls_of("send")) == 1
    assert result.children[0].status is ChildStatus.REJECTED
    assert result.children[0].reject_reason == "other: price band"


async def test_children_due_now_are_sent_concurrently(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    gate = asyncio.Event()
    broker.script_send(Hold(gate), child="C-1")
    execution = engine.submit(intent(300, strategy=SplitStrategy.TWAP, cid="C"))
    await until(lambda: len(broker.calls_of("send")) == 2, what="the two free sends")
    assert execution.state == "SENDING"  # waits for every send of the wave
    assert {c.key for c in broker.calls_of("send")} == {"C-2", "C-3"}
    gate.set()
    await until_state(execution, "MONITORING")
    assert [c.status for c in execution.ctx.children] == [ChildStatus.ACCEPTED] * 3


async def test_scheduled_children_are_released_later_at_the_current_book(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 60})
    execution = engine.submit(intent(200, strategy=SplitStrategy.TWAP, cid="S"))
    await until_state(execution, "MONITORING")
    assert [c.key for c in broker.calls_of("send")] == ["S-1"]
    assert execution.ctx.children[1].status is ChildStatus.PENDING
    broker.set_quote(70_200, 70_300)
    await until(lambda: len(broker.calls_of("send")) == 2, what="the second slice")
    first, second = broker.calls_of("send")
    assert (first.price, second.price) == (Decimal(70_000), Decimal(70_200))
    assert execution.ctx.children[1].original_price == Decimal(70_200)
    broker.fill_child("S-1")
    broker.fill_child("S-2")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == 200


async def test_iceberg_refills_one_slice_at_a_time(broker: ScriptedBroker, engine: Engine) -> None:
    execution = engine.submit(intent(300, strategy=SplitStrategy.ICEBERG, cid="I"))
    await until_state(execution, "MONITORING")
    for n in range(1, 6):
        await until(lambda n=n: len(broker.calls_of("send")) == n, what=f"slice {n}")
        assert len(broker.live_orders()) == 1  # only one slice shows at a time
        assert broker.calls_of("send")[-1].key == f"I-{n}"
        broker.fill_child(f"I-{n}")
    result = await finish(execution)
    assert result.final_state == "COMPLETE"
    assert [c.qty for c in result.children] == [60] * 5
    assert result.filled_qty == 300
    broker.assert_no_duplicate_orders()


async def test_no_retry_after_an_escape(broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(retry_backoff_ms=30)
    broker.script_send(fail_times(3, TransientBrokerError("timeout")))
    execution = engine.submit(intent(10, cid="E"))
    await until(lambda: len(broker.calls_of("send")) == 1, what="the first attempt")
    engine.escape("E", "manual")
    result = await finish(execution)
    await asyncio.sleep(0.05)
    assert len(broker.calls_of("send")) == 1
    assert result.final_state == "ESCAPED"
    assert path(result)[-2:] == ["ESCAPING", "ESCAPED"]


async def test_a_trade_is_counted_once_per_execution(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(split={"twap_horizon_ms": 0})
    execution = engine.submit(intent(500, strategy=SplitStrategy.TWAP, cid="K"))
    await until_state(execution, "MONITORING")
    assert len(broker.calls_of("send")) == 5
    day = engine.services.sessions.trading_day(broker.now_ns())
    assert engine.services.ledger.trades_per_day[day] == 1
    engine.escape("K", "done")
    await finish(execution)
    broker.script_send(Reject())  # an execution that never placed an order is no trade
    failed = await engine.execute(intent(10, symbol=OTHER_SYMBOL, cid="K2"))
    assert failed.final_state == "FAILED"
    assert engine.services.ledger.trades_per_day[day] == 1


def test_the_retry_backoff_policy_is_explicit() -> None:
    fixed = make_limits(retry_backoff_ms=100)
    assert fixed.retry_backoff == "fixed"  # the shipped default: what the limits say
    assert [fixed.retry_wait_ms(n) for n in (1, 2, 3)] == [100, 100, 100]
    doubling = make_limits(retry_backoff_ms=100, retry_backoff="exponential")
    assert [doubling.retry_wait_ms(n) for n in (1, 2, 3)] == [100, 200, 400]
