"""``SimulatedExchange.replace``: cancel-replace, as a KRX revise (a new order id)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from execution.broker import OrderRejected, OrderState, RejectReason, UnknownOrder
from execution.contracts import OrderRequest, PriceType, Side
from execution.sim import SimulatedExchange

START_NS = 1_717_376_400_000_000_000  # 2024-06-03 10:00 KST


def exchange(**kwargs: object) -> SimulatedExchange:
    return SimulatedExchange(seed=7, start_ns=START_NS, time_source=lambda: 100.0,
                             ack_latency_ms=0, fill_latency_ms=0, modify_latency_ms=0,
                             **kwargs)  # type: ignore[arg-type]


def buy(price: Decimal, qty: int = 100, cid: str = "c1") -> OrderRequest:
    return OrderRequest(cid, "005930", Side.BUY, qty, price, PriceType.LIMIT)


def test_replace_moves_the_rest_to_a_new_order() -> None:
    async def main() -> None:
        ex = exchange()
        bid = ex.quote("005930").bid
        ack = await ex.send(buy(bid - 500))
        new = await ex.replace(ack.broker_order_id, bid - 400)
        assert new.broker_order_id != ack.broker_order_id and new.client_order_id == "c1"
        old = await ex.order_status(ack.broker_order_id)
        assert (old.state, old.replaced_by, old.qty) == (OrderState.REPLACED,
                                                         new.broker_order_id, 0)
        moved = await ex.order_status(new.broker_order_id)
        assert (moved.state, moved.qty, moved.filled_qty) == (OrderState.LIVE, 100, 0)
        assert await ex.open_orders() == [new.broker_order_id]
        found = await ex.find_order(buy(bid))  # by client order id: the first one placed
        assert found is not None and found.broker_order_id == ack.broker_order_id
        with pytest.raises(UnknownOrder):
            await ex.replace(ack.broker_order_id, bid)

    asyncio.run(main())


def test_a_marketable_replace_trades_and_a_smaller_one_cancels_the_difference() -> None:
    async def main() -> None:
        ex = exchange()
        quote = ex.quote("005930")
        ack = await ex.send(buy(quote.bid - 500))
        new = await ex.replace(ack.broker_order_id, quote.ask, 60)
        status = await ex.order_status(new.broker_order_id)
        assert (status.state, status.qty, status.filled_qty) == (OrderState.FILLED, 60, 60)

    asyncio.run(main())


def test_a_refused_replace_leaves_the_order_alone() -> None:
    async def main() -> None:
        ex = exchange(cash_krw=Decimal(8_000_000))
        bid = ex.quote("005930").bid
        ack = await ex.send(buy(bid - 500))
        with pytest.raises(OrderRejected) as caught:
            await ex.replace(ack.broker_order_id, bid - 450)  # off the tick ladder
        assert caught.value.reason is RejectReason.INVALID_ORDER
        with pytest.raises(OrderRejected) as caught:
            await ex.replace(ack.broker_order_id, bid + 10_000)  # costs more than the cash
        assert caught.value.reason is RejectReason.INSUFFICIENT_BALANCE
        assert (await ex.order_status(ack.broker_order_id)).state is OrderState.LIVE
        assert await ex.open_orders() == [ack.broker_order_id]

    asyncio.run(main())
