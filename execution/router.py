"""Routes broker fills to the execution and child that own the order.

A fill can reach us before the ack that tells us the broker order id (the
exchange's fill notification may overtake the send's reply): such fills wait
as orphans and are applied when the order registers.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, FillEvent
from execution.stages.escape import cancel_child
from execution.stages.monitor import on_fill, order_finished

log = logging.getLogger("execution.router")
MAX_ORPHAN_ORDERS = 10_000


class OrderRouter:
    def __init__(self) -> None:
        self._orders: dict[str, tuple[ExecutionContext, ChildOrder]] = {}
        self._orphans: OrderedDict[str, list[FillEvent]] = OrderedDict()
        self._liquidations: dict[str, ExecutionContext] = {}
        self._live: dict[str, tuple[ExecutionContext, ChildOrder]] = {}
        self.routed = 0

    def register(self, order_id: str, ctx: ExecutionContext, child: ChildOrder) -> None:
        """The broker accepted ``child`` as ``order_id``: it is live from now on."""
        child.broker_order_id = order_id
        child.status = ChildStatus.SENT
        self._orders[order_id] = self._live[order_id] = (ctx, child)
        for fill in self._orphans.pop(order_id, ()):
            on_fill(ctx, child, fill)
        run = ctx.run
        if child.status is ChildStatus.SENT and (ctx.escaping or (run is not None and run.done)):
            log.warning("%s: %s acknowledged after the execution stopped; cancelling",
                        ctx.id, child.id)
            ctx.spawn(cancel_child(ctx, child), f"cancel-late-{child.sequence}")

    def register_liquidation(self, order_id: str, ctx: ExecutionContext) -> None:
        """The escape's liquidation order: its fills flatten the position, they are not
        fills of the execution."""
        self._liquidations[order_id] = ctx
        for fill in self._orphans.pop(order_id, ()):
            self._liquidated(ctx, fill)

    def _liquidated(self, ctx: ExecutionContext, fill: FillEvent) -> None:
        if fill.event_id in ctx.fills.seen:
            return
        ctx.fills.seen.add(fill.event_id)
        ctx.liquidated_qty += fill.filled_qty
        ctx.services.ledger.apply_fill(ctx.intent.symbol, fill.side, fill.filled_qty)

    def route(self, fill: FillEvent) -> None:
        liquidation = self._liquidations.get(fill.order_id)
        if liquidation is not None:
            self._liquidated(liquidation, fill)
            return
        entry = self._orders.get(fill.order_id)
        if entry is None:
            self._orphans.setdefault(fill.order_id, []).append(fill)
            if len(self._orphans) > MAX_ORPHAN_ORDERS:
                self._orphans.popitem(last=False)
            return
        self.routed += 1
        on_fill(entry[0], entry[1], fill)

    def reconcile(self, open_order_ids: set[str]) -> int:
        """Children we believe live that the broker no longer has open (it cancelled or
        expired them): mark them done. Call it right after polling the fills, so that
        every fill of a vanished order has been applied first. Returns how many."""
        vanished = 0
        for order_id, (ctx, child) in list(self._live.items()):
            if child.status is not ChildStatus.SENT:
                del self._live[order_id]
            elif order_id not in open_order_ids:
                del self._live[order_id]
                log.warning("%s: %s is no longer open at the broker", ctx.id, child.id)
                order_finished(ctx, child)
                vanished += 1
        return vanished

    @property
    def live_orders(self) -> int:
        return len(self._live)

    def owner(self, order_id: str) -> ExecutionContext | None:
        entry = self._orders.get(order_id)
        return entry[0] if entry is not None else None

    def forget(self, ctx: ExecutionContext) -> None:
        for child in ctx.children:
            self._orders.pop(child.broker_order_id, None)
            self._live.pop(child.broker_order_id, None)
        if ctx.liquidation is not None:
            self._liquidations.pop(ctx.liquidation.broker_order_id, None)
