"""``KisBroker``: the engine's Broker over KIS's REST API and real-time WebSocket.

>>> broker = KisBroker(load_kis_config(), KisCredentials.from_env())   # doctest: +SKIP
>>> async with broker:                                                # doctest: +SKIP
...     await broker.watch("005930")
...     result = await Engine(broker).execute(intent)

Fills reach the engine by push (the fill-notice stream) and through ``fills_since``,
both from one journal, each fill once (see :mod:`.journal`); a background task polls
the daily orders while any order of ours is live or not yet confirmed final, and at
once after every (re)subscription of the notice stream. Everything runs on the
caller's event loop: no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from execution.broker import (
    Broker,
    BrokerDisconnected,
    BrokerError,
    FillCallback,
    KnownOrder,
    OrderState,
    OrderStatus,
    UnknownOrder,
)
from execution.brokers.kis.config import KisConfig, KisCredentials
from execution.brokers.kis.desk import OrderDesk
from execution.brokers.kis.endpoints import (
    BALANCE,
    PSBL_RVSECNCL,
    balance_params,
    cancellable_params,
    tr_id,
)
from execution.brokers.kis.ids import OrderRegistry
from execution.brokers.kis.inquiry import BadAnswer, balance_cash, cancellable_odnos
from execution.brokers.kis.journal import FillJournal
from execution.brokers.kis.notices import Notice, NoticeStream, stop
from execution.brokers.kis.quotes import QuoteBook
from execution.brokers.kis.reconcile import Reconciler, kst
from execution.brokers.kis.rest import KisRest
from execution.brokers.kis.restore import restore, working
from execution.contracts import FillEvent, OrderAck, OrderRequest, Quote, Side

log = logging.getLogger("execution.brokers.kis")
T = TypeVar("T")


class KisBroker:
    def __init__(self, config: KisConfig, creds: KisCredentials) -> None:
        self.config = config
        self.rest = KisRest(config, creds)
        self.registry = OrderRegistry()
        self.journal = FillJournal(config.fee_bps)
        self.reconciler = Reconciler(self.rest, self.registry, self.journal, self.now_ns)
        self.desk = OrderDesk(self.rest, self.registry, self.journal, self.reconciler,
                              self.now_ns, self._wake)
        self.quotes = QuoteBook(self.rest, self.now_ns)
        self.notices = NoticeStream(
            config.ws_url, config.mode, creds.hts_id, config.notice_columns,
            lambda renew: self.rest.tokens.approval_key(renew=renew),
            lambda: self.rest.session, self._on_notice, self._wake,
            (config.reconnect_min_s, config.reconnect_max_s))
        self._tasks: list[asyncio.Task[None]] = []
        self._poke = asyncio.Event()
        self._link_ok = False
        self._open_checked = float("-inf")
        self._cash: Decimal | None = None
        self._cash_seq = 0  # journal length when the balance was read

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._link_ok

    async def connect(self) -> bool:
        """Open the session, get a token, start the notice stream and the pollers; a
        cheap balance call proves the link. True when it answered."""
        await self.rest.open()
        try:
            await self.rest.tokens.token()
            await self.refresh_balance()
        except BrokerError as err:
            log.warning("KIS connect failed: %s", err)
            self._link_ok = False
            return False
        self._link_ok = True
        if not self._tasks:
            loop = asyncio.get_running_loop()
            self._tasks = [
                loop.create_task(self.notices.run(), name="kis-notices"),
                loop.create_task(self._poll_loop(), name="kis-daily-orders"),
                loop.create_task(self.quotes.run(self.config.quote_refresh_s), name="kis-quotes"),
                loop.create_task(self._balance_loop(), name="kis-balance"),
            ]
        return True

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await stop(task)
        await self.rest.close()
        self._link_ok = False

    async def __aenter__(self) -> KisBroker:
        if not await self.connect():
            await self.close()
            raise BrokerDisconnected(f"cannot reach KIS at {self.config.rest_url}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now_ns(self) -> int:
        return self.rest.clock.now_ns()

    # -- market data ----------------------------------------------------------------------
    async def watch(self, symbol: str) -> bool:
        """Keep ``symbol``'s quote fresh from now on; True when KIS quotes it."""
        return await self._guard(self.quotes.watch(symbol))

    def knows_symbol(self, symbol: str) -> bool:
        return self.quotes.knows(symbol)

    def quote(self, symbol: str) -> Quote:
        return self.quotes.quote(symbol)

    # -- orders ---------------------------------------------------------------------------
    async def send(self, order: OrderRequest) -> OrderAck:
        return await self._guard(self.desk.send(order))

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        return await self._guard(self.desk.modify(broker_order_id, price, qty))

    async def cancel(self, broker_order_id: str) -> bool:
        return await self._guard(self.desk.cancel(broker_order_id))

    async def order_status(self, broker_order_id: str) -> OrderStatus:
        await self._guard(self.reconciler.refresh(need={broker_order_id}))
        status = self.reconciler.status(broker_order_id)
        if status is None:
            raise UnknownOrder(broker_order_id)
        return status

    async def find_order(self, order: OrderRequest) -> OrderStatus | None:
        known = self.registry.first(order.client_order_id)
        if known is None:
            doubt = self.registry.in_doubt.get(order.client_order_id)
            ack = await self._guard(self.desk.look_up(order, doubt.sent_ns if doubt else None))
            if ack is None:
                return None
            known = self.registry.get(ack.broker_order_id)
            assert known is not None
        return await self.order_status(known.odno)

    async def open_orders(self) -> list[str]:
        """Our live orders; checked against KIS when older than ``open_orders_max_age_s``
        (real: the cancellable orders, then the daily orders of any we miss there;
        virtual, which has no cancellable-orders call: the daily orders)."""
        checked = self._open_checked
        if not self.config.is_real:  # the daily orders are what virtual checks against
            checked = max(checked, self.reconciler.refreshed_at)
        if time.monotonic() - checked >= self.config.open_orders_max_age_s:
            await self._guard(self._check_open())
        return [order.odno for order in self.registry.live()]

    async def _check_open(self) -> None:
        started = self.now_ns()
        live = self.registry.live()
        if self.config.is_real:
            listed: set[str] = set()
            async for resp in self.rest.pages(PSBL_RVSECNCL, tr_id("cancellable", "real"),
                                              cancellable_params(self.config)):
                rows = resp.body.get("output") or []
                with contextlib.suppress(BadAnswer):
                    listed |= cancellable_odnos(rows if isinstance(rows, list) else [])
            missing = {o.odno for o in live if o.odno not in listed and o.placed_ns < started}
            if missing:
                await self.reconciler.refresh(need=missing)
        elif live:
            await self.reconciler.refresh(need={o.odno for o in live})
        self._open_checked = time.monotonic()

    # -- after a restart (see .restore) ---------------------------------------------------
    async def restore_orders(self, orders: Sequence[KnownOrder]) -> None:
        """The orders an earlier process placed, from the engine's journal."""
        await self._guard(restore(self.reconciler, self.registry, self.journal, orders,
                                  self.now_ns()))
        self._wake()

    async def working_orders(self) -> list[OrderStatus]:
        """Every order of the account working today, ours or not."""
        return await self._guard(working(self.reconciler))

    # -- fills ----------------------------------------------------------------------------
    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        return self.journal.subscribe(callback)

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        return self.journal.since(seq)

    def _on_notice(self, notice: Notice) -> None:
        if not notice.is_fill:
            self._wake()  # an order, revise, cancel or reject was acknowledged: look now
            return
        order = self.registry.get(notice.odno)
        order_qty = order.qty if order is not None else notice.order_qty
        event = self.journal.on_push(notice.odno, notice.symbol, notice.side, notice.qty,
                                     notice.price, self._notice_ns(notice.hhmmss), order_qty)
        if event is None:
            self._wake()  # already counted, or pushes were lost: the daily orders settle it
        elif order is not None and event.remaining_qty == 0:
            order.close(OrderState.FILLED)

    def _notice_ns(self, hhmmss: str) -> int:
        now = self.now_ns()
        try:
            moment = kst(now).replace(hour=int(hhmmss[:2]), minute=int(hhmmss[2:4]),
                                      second=int(hhmmss[4:6]), microsecond=0)
        except (ValueError, IndexError):
            return now
        return int(moment.timestamp() * 1e9)

    # -- cash -----------------------------------------------------------------------------
    def available_cash(self) -> Decimal | None:
        """The last balance's orderable cash, moved by our fills since it was read, less
        what our live buy orders hold (an estimate between balance reads)."""
        if self._cash is None:
            return None
        since, _ = self.journal.since(self._cash_seq)
        spent = sum((e.side.sign * e.price * e.filled_qty + e.fee for e in since), Decimal(0))
        held = sum(((o.price or Decimal(0)) * max(o.qty - self.journal.filled(o.odno), 0)
                    for o in self.registry.live() if o.request.side is Side.BUY), Decimal(0))
        return self._cash - spent - held

    async def refresh_balance(self) -> None:
        seq = len(self.journal.events)
        resp = await self.rest.call("GET", BALANCE, tr_id("balance", self.config.mode),
                                    params=balance_params(self.config))
        try:
            self._cash, self._cash_seq = balance_cash(resp.body), seq
        except BadAnswer as err:
            log.warning("balance unreadable: %s", err)

    # -- background -----------------------------------------------------------------------
    def _wake(self) -> None:
        self._poke.set()

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # (not wait_for: its 3.11 cancel races)
                async with asyncio.timeout(self.config.fill_poll_s):
                    await self._poke.wait()
            poked = self._poke.is_set()
            self._poke.clear()
            unsettled = self.registry.unsettled()
            if not unsettled and not poked:
                continue
            try:
                await self._guard(self.reconciler.refresh(need={o.odno for o in unsettled}))
            except BrokerError as err:
                log.warning("daily orders poll failed: %s", err)
                await asyncio.sleep(self.config.fill_poll_s)

    async def _balance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.balance_refresh_s)
            try:
                await self._guard(self.refresh_balance())
            except BrokerError as err:
                log.warning("balance refresh failed: %s", err)

    async def _guard(self, call: Awaitable[T]) -> T:
        """Await ``call``, keeping ``connected`` in step: down after a call that got no
        answer, up again after one that did."""
        try:
            result = await call
        except BrokerDisconnected:
            self._link_ok = False
            raise
        self._link_ok = True
        return result


if TYPE_CHECKING:  # the adapter is a Broker (checked by mypy, structurally)
    def _is_a_broker(broker: KisBroker) -> Broker:
        return broker
