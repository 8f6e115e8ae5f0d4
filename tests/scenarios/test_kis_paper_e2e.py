"""Whole executions through the KIS adapter against the paper exchange, which runs in
its own process (``scalpchart exchange serve``, port 0, first line read). Each test
checks the order truth against the exchange's own records: every fill counted once
(engine filled == exchange filled, per order) and no order left live there."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from kis_paper import (
    credentials,
    execute,
    fast_limits,
    kis_config,
    new_account,
    order_truth,
    subscribed,
)

from execution.broker import OrderState
from execution.brokers.kis import KisBroker
from execution.contracts import ExecutionIntent, OrderRequest, PriceType, Side, Urgency
from execution.engine import Engine
from execution.paper.process import PaperProcess


@pytest.fixture(scope="module")
def paper() -> Iterator[PaperProcess]:
    with PaperProcess(["--token-interval-s", "0", "--ping-s", "0.5", "--seed", "11"]) as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.stderr[-2000:]


def intent(qty: int, urgency: Urgency = Urgency.HIGH, symbol: str = "005930",
           side: Side = Side.BUY) -> ExecutionIntent:
    return ExecutionIntent(symbol, side, qty, urgency=urgency)


def test_a_marketable_buy_completes(paper: PaperProcess, tmp_path: Path) -> None:
    account = new_account()
    config = kis_config(paper, tmp_path, account)
    outcome = asyncio.run(execute(config, credentials("complete"), intent(300)))
    result = outcome.result
    assert result.final_state == "COMPLETE" and result.filled_qty == 300, result.reason
    assert all(f.event_id.startswith(f.order_id + ":") for f in result.fills)
    assert outcome.broker.notices.connects >= 1
    truth = order_truth(paper, outcome)
    assert len([o for o in truth["orders"] if o["kind"] == "order"]) == 1


def test_a_sell_works_the_same(paper: PaperProcess, tmp_path: Path) -> None:
    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("sell"), intent(200, side=Side.SELL)))
    assert outcome.result.final_state == "COMPLETE" and outcome.result.filled_qty == 200
    order_truth(paper, outcome)


def test_an_escape_cancels_the_resting_order(paper: PaperProcess, tmp_path: Path) -> None:
    async def escape_soon(engine: Engine, execution_id: str, broker: KisBroker) -> None:
        await asyncio.sleep(0.6)
        assert await broker.open_orders()  # resting at the bid
        engine.escape(execution_id, "test escape")

    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("escape"), intent(100, Urgency.NORMAL),
                                  during=escape_soon))
    assert outcome.result.final_state == "ESCAPED", outcome.result.reason
    truth = order_truth(paper, outcome)
    assert any(o["kind"] == "cancel" for o in truth["orders"])


def test_partial_fills_against_a_thin_book(paper: PaperProcess, tmp_path: Path) -> None:
    """000660's offer holds a few thousand shares: a 5000-share buy fills in parts."""
    config = kis_config(paper, tmp_path, new_account())
    limits = fast_limits(max_notional_krw=Decimal(2_000_000_000))
    outcome = asyncio.run(execute(config, credentials("partial"), intent(5000, symbol="000660"),
                                  limits=limits))
    result = outcome.result
    assert result.final_state in ("COMPLETE", "ESCAPED"), result.reason
    assert 0 < result.filled_qty <= 5000 and len(result.fills) >= 2
    cumulative = [f.cumulative_qty for f in result.fills if f.order_id == result.fills[0].order_id]
    assert cumulative == sorted(cumulative)
    order_truth(paper, outcome)


def test_an_adjust_round_revises_through_a_new_odno(paper: PaperProcess,
                                                   tmp_path: Path) -> None:
    limits = fast_limits(adjust_interval_ms=300, first_round_pct={u: 0.0 for u in Urgency},
                         last_round_pct={u: 0.0 for u in Urgency})
    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("revise"), intent(100, Urgency.NORMAL),
                                  limits=limits))
    truth = order_truth(paper, outcome)
    assert any(o["kind"] == "revise" for o in truth["orders"])
    assert outcome.result.final_state == "COMPLETE"


# -- faults ---------------------------------------------------------------------------------
def test_token_expiry_mid_run(paper: PaperProcess, tmp_path: Path) -> None:
    async def expire(engine: Engine, execution_id: str, broker: KisBroker) -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(paper.admin, "expire-tokens", {})
        await asyncio.sleep(0.8)  # polls meet EGW00123 and renew
        engine.escape(execution_id, "test done")

    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("expiry"), intent(100, Urgency.NORMAL),
                                  during=expire))
    assert outcome.broker.rest.tokens.issued >= 2
    assert outcome.result.final_state == "ESCAPED"
    order_truth(paper, outcome)


def test_rate_limiting(paper: PaperProcess, tmp_path: Path) -> None:
    async def throttle(broker: KisBroker) -> None:
        await asyncio.to_thread(paper.admin, "faults", {"throttle": 3})

    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("throttle"), intent(300),
                                  before=throttle))
    assert outcome.result.final_state == "COMPLETE", outcome.result.reason
    assert outcome.broker.rest.throttled == 3
    order_truth(paper, outcome)


def test_a_dropped_websocket_with_fills_in_the_gap(paper: PaperProcess, tmp_path: Path) -> None:
    async def drop(broker: KisBroker) -> None:
        assert broker.notices.connects == 1
        await asyncio.to_thread(paper.admin, "drop-ws", {"blackout_s": 1.5})

    config = kis_config(paper, tmp_path, new_account(), fill_poll_s=0.5)
    outcome = asyncio.run(execute(config, credentials("gap"), intent(300), before=drop,
                                  settle_s=2.0))
    broker = outcome.broker
    assert outcome.result.final_state == "COMPLETE"
    assert broker.journal.from_poll >= 1 and broker.journal.from_push == 0  # pushes were lost
    assert broker.notices.connects >= 2  # and the stream came back
    order_truth(paper, outcome)


def test_a_lost_send_answer_is_looked_up_never_sent_twice(paper: PaperProcess,
                                                         tmp_path: Path) -> None:
    async def lose(broker: KisBroker) -> None:
        await asyncio.to_thread(paper.admin, "faults", {"lose": 1})

    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("lost"), intent(300), before=lose))
    assert outcome.result.final_state == "COMPLETE", outcome.result.reason
    assert outcome.broker.desk.lookups == 1
    truth = order_truth(paper, outcome)
    assert len([o for o in truth["orders"] if o["kind"] == "order"]) == 1


def test_http_500_and_slow_acks(paper: PaperProcess, tmp_path: Path) -> None:
    async def faults(broker: KisBroker) -> None:
        await asyncio.to_thread(paper.admin, "faults", {"http500": 1, "slow_ms": 300})

    config = kis_config(paper, tmp_path, new_account())
    outcome = asyncio.run(execute(config, credentials("h500"), intent(300), before=faults))
    asyncio.run(_no_faults(paper))
    assert outcome.result.final_state == "COMPLETE", outcome.result.reason
    truth = order_truth(paper, outcome)
    assert len([o for o in truth["orders"] if o["kind"] == "order"]) == 1


async def _no_faults(paper: PaperProcess) -> None:
    await asyncio.to_thread(paper.admin, "faults", {"slow_ms": 0, "http500": 0})


# -- revise races, at the adapter (the engine does not adopt revises yet) -------------------
def test_a_revise_whose_answer_is_lost_is_found(paper: PaperProcess, tmp_path: Path) -> None:
    async def main() -> None:
        config = kis_config(paper, tmp_path, new_account())
        async with KisBroker(config, credentials("rlost")) as broker:
            await broker.watch("005930")
            bid = broker.quote("005930").bid
            ack = await broker.send(OrderRequest("R-1", "005930", Side.BUY, 10, bid - 1000,
                                                 PriceType.LIMIT))
            await asyncio.to_thread(paper.admin, "faults", {"revise_lose": 1})
            revised = await broker.modify(ack.broker_order_id, bid - 900, None)
            assert revised.broker_order_id != ack.broker_order_id
            assert "lost answer" in revised.reason
            old = await broker.order_status(ack.broker_order_id)
            assert (old.state, old.replaced_by) == (OrderState.REPLACED, revised.broker_order_id)
            assert await broker.cancel(revised.broker_order_id)
            assert await broker.open_orders() == []

    asyncio.run(main())


def test_fills_of_a_revise_pushed_before_its_answer(paper: PaperProcess, tmp_path: Path) -> None:
    async def main() -> None:
        config = kis_config(paper, tmp_path, new_account())
        async with KisBroker(config, credentials("rslow")) as broker:
            await broker.watch("005930")
            await subscribed(broker)
            quote = broker.quote("005930")
            ack = await broker.send(OrderRequest("R-2", "005930", Side.BUY, 10,
                                                 quote.bid - Decimal(1000), PriceType.LIMIT))
            await asyncio.to_thread(paper.admin, "faults", {"revise_slow_ms": 400})
            revised = await broker.modify(ack.broker_order_id, quote.ask + 200, None)
            # the new order traded while its answer was held back: already booked, once
            early = [e for e in broker.journal.events if e.order_id == revised.broker_order_id]
            assert sum(e.filled_qty for e in early) == 10
            await asyncio.to_thread(paper.admin, "faults", {"revise_slow_ms": 0})
            await asyncio.sleep(0.5)
            status = await broker.order_status(revised.broker_order_id)
            assert (status.state, status.filled_qty) == (OrderState.FILLED, 10)
            assert [e for e in broker.journal.events
                    if e.order_id == revised.broker_order_id] == early

    asyncio.run(main())
