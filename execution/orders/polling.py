"""The fill poller: the fallback that catches what pushes lost, supervised.

Every interval, while any order of the engine is not confirmed terminal (whether or not
an execution is live): fills since the cursor are routed, then every order we believe
live that the broker no longer lists as open is asked about (its fills and final status),
and the orders of settled executions that are still unconfirmed are asked about again
(and cancelled if the broker still works them). A failure is logged, backed off and
retried: the poller never dies of one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from execution.broker import BrokerDisconnected
from execution.context import ExecutionContext, Services
from execution.orders.cancelling import cancel_child
from execution.orders.confirm import confirm, reconnect
from execution.orders.fills import notify, route
from execution.orders.settle import resolve_unconfirmed

log = logging.getLogger("execution.poller")
MAX_BACKOFF_S = 5.0


class FillPoller:
    def __init__(self, services: Services, live_count: Callable[[], int],
                 unconfirmed: dict[str, ExecutionContext]) -> None:
        self.services = services
        self.live_count = live_count
        self.unconfirmed = unconfirmed  # settled executions with unconfirmed orders, by id
        self.cursor = 0
        self.failures = 0
        self.polls = 0

    def has_work(self) -> bool:
        index = self.services.index
        return (self.live_count() > 0 or index.open_count > 0 or bool(index.orphans)
                or bool(self.unconfirmed))

    async def run(self) -> None:
        interval = self.services.limits.fill_poll_interval_ms / 1000
        delay = interval
        while True:
            await asyncio.sleep(delay)
            if not self.has_work():
                continue
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except BrokerDisconnected:
                log.warning("fill poll: broker disconnected, reconnecting")
                self.failures += 1
                await reconnect(self.services.broker)
                delay = min(max(delay * 2, interval), MAX_BACKOFF_S)
            except Exception as exc:
                log.exception("fill poll failed: %r", exc)
                self.failures += 1
                delay = min(max(delay * 2, interval), MAX_BACKOFF_S)
            else:
                delay = interval

    async def poll_once(self) -> None:
        broker, index = self.services.broker, self.services.index
        self.polls += 1
        fills, self.cursor = await broker.fills_since(self.cursor)
        for fill in fills:
            route(self.services, fill)
        entries = list(index.open_entries())
        if entries:
            open_ids = set(await broker.open_orders())
            for order_id, ctx, child in entries:
                if order_id not in open_ids and child.status.is_live:
                    log.warning("%s: %s is no longer open at the broker; asking", ctx.id,
                                order_id)
                    await confirm(ctx, child)
                    notify(ctx)
        for ctx in list(self.unconfirmed.values()):
            if await self._chase(ctx):
                del self.unconfirmed[ctx.id]

    async def _chase(self, ctx: ExecutionContext) -> bool:
        """Ask again about a settled execution's unconfirmed orders; True when none is left."""
        deadline = asyncio.get_running_loop().time() + (
            self.services.limits.cancel_confirm_timeout_ms / 1000)
        orders = ctx.children + ([ctx.liquidation] if ctx.liquidation else [])
        for child in orders:
            if child.status.is_terminal:
                continue
            if not await confirm(ctx, child) and child.status.is_live:
                await cancel_child(ctx, child, deadline)
        if not resolve_unconfirmed(ctx):
            return False
        log.warning("%s: every order now confirmed by the broker", ctx.id)
        self.services.journal.settled(ctx.id)
        return True

