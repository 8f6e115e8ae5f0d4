"""One paper account: a view of the paper exchange's one market (:mod:`.market`).

Every KIS order (an original, a revise, a cancel) gets an ODNO (unique across the
server); originals and revises are orders of the market's :class:`SimulatedExchange`,
sent with this account as their party, whose book, queue, latency and fault models
decide what fills, exactly as in ``scalpchart simulate``; other accounts' orders are in
the same book and trade with this account's like anyone's.
A revise of all that is left is the exchange's cancel-replace; a partial revise
reduces the original (keeping its place) and places the moved part as a new order;
a cancel (all or part) is the exchange's cancel or reduce. Fills are reported to
``on_event`` as they are pushed by the exchange (its fill-notification latency).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from execution.broker import BrokerDisconnected, OrderState, OrderStatus
from execution.contracts import FillEvent, OrderRequest, PriceType, Side
from execution.market_session import KST
from execution.paper.market import PaperMarket
from execution.sim.exchange import SimulatedExchange

Kind = Literal["order", "revise", "cancel"]


@dataclass(slots=True)
class PaperOrder:
    odno: str
    kind: Kind
    symbol: str
    side: Side
    ord_qty: int
    price: Decimal | None  # None: market
    ord_dt: str
    ord_tmd: str
    orgn_odno: str = ""
    sim_id: str = ""  # the exchange's order (originals and revises)
    accepted_mono_ns: int = 0  # when it reached the market (monotonic, for latency figures)


@dataclass(frozen=True, slots=True)
class Event:
    """Something to notify: a fill (``fill`` set) or an acknowledgement of ``order``."""

    account: PaperAccount
    order: PaperOrder
    fill: FillEvent | None = None


class LostAnswer(Exception):
    """The exchange placed the order but the session dropped: the caller gets no answer."""

    def __init__(self, order: PaperOrder) -> None:
        super().__init__(order.odno)
        self.order = order


class PaperAccount:
    def __init__(self, account: str, market: PaperMarket,
                 on_event: Callable[[Event], None], monotonic_ns: Callable[[], int]) -> None:
        self.account, self.market = account, market
        self.cano, self.product = account.split("-")
        self.orgno = f"{zlib.crc32(account.encode()) % 100_000:05d}"
        self.orders: dict[str, PaperOrder] = {}
        self.by_sim: dict[str, str] = {}
        self.app_keys: set[str] = set()
        self._on_event, self._mono = on_event, monotonic_ns
        self._stash: dict[str, list[FillEvent]] = {}
        market.join(account, self._on_fill)

    @property
    def exchange(self) -> SimulatedExchange:
        """The market every account shares."""
        return self.market.exchange

    # -- numbering ------------------------------------------------------------------------
    def _new(self, kind: Kind, symbol: str, side: Side, qty: int, price: Decimal | None,
             orgn: str = "") -> PaperOrder:
        moment = datetime.fromtimestamp(self.exchange.now_ns() / 1e9, KST)
        odno = self.market.next_odno()
        return PaperOrder(odno, kind, symbol, side, qty, price, moment.strftime("%Y%m%d"),
                          moment.strftime("%H%M%S"), orgn)

    def _register(self, order: PaperOrder, sim_id: str = "") -> PaperOrder:
        order.sim_id = sim_id
        order.accepted_mono_ns = self._mono()
        self.orders[order.odno] = order
        if sim_id:
            self.by_sim[sim_id] = order.odno
            for fill in self._stash.pop(sim_id, ()):
                self._on_event(Event(self, order, fill))
        self._on_event(Event(self, order))  # the order, revise or cancel is acknowledged
        return order

    # -- orders ---------------------------------------------------------------------------
    async def place(self, side: Side, symbol: str, qty: int, price: Decimal | None) -> PaperOrder:
        """A new order; raises the exchange's OrderRejected, or LostAnswer."""
        order = self._new("order", symbol, side, qty, price)
        request = OrderRequest(f"{self.account}/{order.odno}", symbol, side, qty, price,
                               PriceType.MARKET if price is None else PriceType.LIMIT)
        try:
            ack = await self.exchange.send(request, party=self.account)
        except BrokerDisconnected:
            status = await self._recover(request)
            if status is None:
                raise
            raise LostAnswer(self._register(order, status.broker_order_id)) from None
        return self._register(order, ack.broker_order_id)

    async def _recover(self, request: OrderRequest) -> OrderStatus | None:
        """The exchange session dropped mid-call: reconnect and see whether it placed it."""
        for _ in range(3):
            if await self.exchange.connect():
                return await self.exchange.find_order(request)
        return None

    async def revise(self, original: PaperOrder, price: Decimal | None,
                     qty: int | None) -> PaperOrder:
        """Move ``qty`` (None: all that is left) of ``original`` to ``price``."""
        status = await self.exchange.order_status(original.sim_id)
        moved = status.remaining if qty is None else qty
        new = self._new("revise", original.symbol, original.side, moved, price, original.odno)
        if qty is None or qty >= status.remaining:
            ack = await self.exchange.replace(original.sim_id, price, None)
        else:
            await self.exchange.modify(original.sim_id, original.price, status.qty - qty)
            request = OrderRequest(f"{self.account}/{new.odno}", original.symbol, original.side,
                                   qty, price,
                                   PriceType.MARKET if price is None else PriceType.LIMIT)
            ack = await self.exchange.send(request, party=self.account)
        return self._register(new, ack.broker_order_id)

    async def cancel(self, original: PaperOrder, qty: int | None) -> PaperOrder | None:
        """Cancel ``qty`` (None: all that is left); None when nothing was left."""
        status = await self.exchange.order_status(original.sim_id)
        if status.remaining <= 0 or (qty is not None and qty > status.remaining):
            return None
        if qty is None or qty == status.remaining:
            if not await self.exchange.cancel(original.sim_id):
                return None
            after = await self.exchange.order_status(original.sim_id)
            qty = after.qty - after.filled_qty
        else:
            await self.exchange.modify(original.sim_id, original.price, status.qty - qty)
        row = self._new("cancel", original.symbol, original.side, qty, original.price,
                        original.odno)
        return self._register(row)

    # -- views ----------------------------------------------------------------------------
    def statuses(self) -> dict[str, OrderStatus]:
        """This account's orders at the exchange, by the exchange's order id."""
        return {s.broker_order_id: s for s in self.exchange.records(self.account)}

    def cancelled_qty(self, odno: str) -> int:
        return sum(o.ord_qty for o in self.orders.values()
                   if o.kind == "cancel" and o.orgn_odno == odno)

    def live(self, order: PaperOrder, statuses: dict[str, OrderStatus]) -> bool:
        status = statuses.get(order.sim_id)
        return status is not None and status.state is OrderState.LIVE

    def _on_fill(self, fill: FillEvent) -> None:
        odno = self.by_sim.get(fill.order_id)
        if odno is None:  # pushed before its send returned: kept until it registers
            self._stash.setdefault(fill.order_id, []).append(fill)
            return
        self._on_event(Event(self, self.orders[odno], fill))
