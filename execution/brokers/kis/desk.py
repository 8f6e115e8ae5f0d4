"""Order calls: send (``order-cash``), revise and cancel (``order-rvsecncl``).

The broker is the truth when an answer is missing or surprising:

- a send is idempotent on the client order id. Before the request goes out the
  send is *in doubt*; an answer from KIS (accepted or refused) settles it. Without an
  answer it stays in doubt, and the next send of that client order id first looks
  the order up in the daily orders: found, it is adopted and its ack returned; not
  found, it is sent (once);
- a revise answers a new ODNO (the old order becomes REPLACED by it). A revise without
  an answer is looked up the same way (a daily row whose original is our order);
- a refused revise or cancel is checked against the daily orders: an order that is no
  longer live makes a revise ``UnknownOrder`` and a cancel ``False``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from execution.broker import (
    OrderState,
    TransientBrokerError,
    UnknownOrder,
)
from execution.brokers.kis.endpoints import (
    ORDER_CASH,
    ORDER_RVSECNCL,
    OrderRef,
    order_body,
    revise_body,
    tr_id,
)
from execution.brokers.kis.errors import KisAnswerError, RealOrdersNotAllowed, order_error
from execution.brokers.kis.ids import InDoubt, KisOrder, OrderRegistry
from execution.brokers.kis.journal import FillJournal
from execution.brokers.kis.reconcile import LOOKUP_SLACK_NS, Reconciler, kst
from execution.brokers.kis.rest import KisResponse, KisRest
from execution.contracts import OrderAck, OrderRequest, Side


class OrderDesk:
    def __init__(self, rest: KisRest, registry: OrderRegistry, journal: FillJournal,
                 reconciler: Reconciler, now_ns: Callable[[], int],
                 on_change: Callable[[], None]) -> None:
        self._rest, self._registry, self._journal = rest, registry, journal
        self._reconciler, self._now_ns, self._on_change = reconciler, now_ns, on_change
        self._locks: dict[str, asyncio.Lock] = {}
        self.lookups = 0

    def _allowed(self) -> None:
        config = self._rest.config
        if config.is_real and not config.allow_real_orders:
            raise RealOrdersNotAllowed()

    def _lock(self, client_order_id: str) -> asyncio.Lock:
        return self._locks.setdefault(client_order_id, asyncio.Lock())

    # -- send -----------------------------------------------------------------------------
    async def send(self, order: OrderRequest) -> OrderAck:
        self._allowed()
        cid = order.client_order_id
        async with self._lock(cid):
            ack = self._registry.acks.get(cid)
            if ack is not None:
                return ack
            doubt = self._registry.in_doubt.get(cid)
            if doubt is not None:
                found = await self.look_up(doubt.request, doubt.sent_ns)
                if found is not None:
                    return found
            return await self._place(order)

    async def _place(self, order: OrderRequest) -> OrderAck:
        config = self._rest.config
        cid = order.client_order_id
        self._registry.in_doubt[cid] = InDoubt(order, self._now_ns())
        call = "buy" if order.side is Side.BUY else "sell"
        try:
            resp = await self._rest.call("POST", ORDER_CASH, tr_id(call, config.mode),
                                         body=order_body(config, order), urgent=True)
        except KisAnswerError as err:  # KIS answered: the order was not placed
            del self._registry.in_doubt[cid]
            raise order_error(err, config.errors) from None
        ref = _ref(resp)
        if ref is None:
            raise TransientBrokerError("order-cash answered without ODNO; looking it up next")
        ack = self._registry.add(order, ref, self._now_ns())
        self._on_change()
        return ack

    async def look_up(self, request: OrderRequest, sent_ns: int | None) -> OrderAck | None:
        """Find a placed-but-unanswered send in the daily orders; adopt it if found."""
        self.lookups += 1
        since = None if sent_ns is None else kst(sent_ns - LOOKUP_SLACK_NS).strftime("%H%M%S")
        await self._reconciler.refresh(since_tmd=since)
        row = self._reconciler.find(request, sent_ns)
        if row is None:
            return None
        ack = self._registry.add(request, OrderRef(row.odno, row.branch or self._orgno_hint()),
                                 self._now_ns(), "found in the daily orders after a lost answer")
        self._reconciler.apply([row])  # book its fills and state now
        self._on_change()
        return ack

    def _orgno_hint(self) -> str:
        """The org number of a looked-up order whose row has no ``ord_gno_brno``: the KRX
        forwarding org number is the same for an account's orders; take one of ours."""
        for known in self._registry.orders.values():
            if known.ref.orgno:
                return known.ref.orgno
        return ""

    # -- revise ---------------------------------------------------------------------------
    async def modify(self, odno: str, price: Decimal | None, qty: int | None) -> OrderAck:
        self._allowed()
        order = self._live(odno)
        async with self._lock(order.request.client_order_id):
            order = self._live(odno)
            cid = order.request.client_order_id
            if qty is not None and qty < order.qty:
                await self._cancel_part(order, order.qty - qty)
                if price == order.price:
                    return OrderAck(cid, odno, True, self._now_ns(), "reduced")
            elif price == order.price:
                return OrderAck(cid, odno, True, self._now_ns(), "unchanged")
            return await self._revise(order, price)

    def _live(self, odno: str) -> KisOrder:
        order = self._registry.get(odno)
        if order is None:
            raise UnknownOrder(odno)
        if not order.live:
            raise UnknownOrder(f"{odno} is {order.state.value}")
        return order

    async def _cancel_part(self, order: KisOrder, qty: int) -> None:
        await self._rvsecncl(order, cancel=True, qty=qty, price=None)
        order.qty -= qty

    async def _revise(self, order: KisOrder, price: Decimal | None) -> OrderAck:
        cid = order.request.client_order_id
        left = order.qty - self._journal.filled(order.odno)
        try:
            resp = await self._rvsecncl(order, cancel=False, qty=None, price=price)
        except TransientBrokerError:  # no answer: did the revise happen?
            await self._reconciler.refresh(need={order.odno})
            if order.replaced_by:
                self._on_change()
                return OrderAck(cid, order.replaced_by, True, self._now_ns(),
                                "revise found in the daily orders after a lost answer")
            raise
        ref = _ref(resp)
        if ref is None or ref.odno == order.odno:
            order.price = price
            return OrderAck(cid, order.odno, True, self._now_ns(), "")
        new = self._registry.replace(order, OrderRef(ref.odno, ref.orgno or order.ref.orgno),
                                     left, price, self._now_ns())
        self._on_change()
        return OrderAck(cid, new.odno, True, self._now_ns(), "")

    async def _rvsecncl(self, order: KisOrder, *, cancel: bool, qty: int | None,
                        price: Decimal | None) -> KisResponse:
        config = self._rest.config
        body = revise_body(config, order.ref, cancel=cancel, qty=qty, price=price)
        try:
            return await self._rest.call("POST", ORDER_RVSECNCL,
                                         tr_id("revise_cancel", config.mode), body=body,
                                         urgent=True)
        except KisAnswerError as err:
            await self._reconciler.refresh(need={order.odno})
            if not order.live:
                raise UnknownOrder(f"{order.odno} is {order.state.value}: {err}") from None
            raise order_error(err, config.errors) from None

    # -- cancel ---------------------------------------------------------------------------
    async def cancel(self, odno: str) -> bool:
        self._allowed()
        order = self._registry.get(odno)
        if order is None:
            raise UnknownOrder(odno)
        async with self._lock(order.request.client_order_id):
            if not order.live:
                return False
            try:
                await self._rvsecncl(order, cancel=True, qty=None, price=None)
            except UnknownOrder:
                return False
            except TransientBrokerError:
                await self._reconciler.refresh(need={odno})
                if order.live:
                    raise
                return order.state is OrderState.CANCELLED
            order.close(OrderState.CANCELLED)
            self._on_change()
            return True


def _ref(resp: KisResponse) -> OrderRef | None:
    output = resp.body.get("output")
    if not isinstance(output, dict) or not output.get("ODNO"):
        return None
    return OrderRef(str(output["ODNO"]), str(output.get("KRX_FWDG_ORD_ORGNO", "")))
