"""The daily orders (``inquire-daily-ccld``) as the truth about our orders.

``refresh`` reads today's orders newest first, page by page, and stops as soon as it
has seen every order it was asked about. Each row then settles what we know: fills
beyond what the journal counted are booked, a terminal state closes the order (a
state is never reopened by a row: a row read before a cancel was answered is merely
stale), and a revise we did not hear about (its answer lost) is adopted as the
order's replacement. ``find`` looks a lost send up by its details.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal

from execution.broker import OrderState, OrderStatus
from execution.brokers.kis.endpoints import (
    DAILY_CCLD,
    MARKET,
    OrderRef,
    daily_params,
    tr_id,
)
from execution.brokers.kis.ids import KisOrder, OrderRegistry
from execution.brokers.kis.inquiry import BadAnswer, DailyRow, RowState, derive_states
from execution.brokers.kis.journal import FillJournal
from execution.brokers.kis.rest import KisRest
from execution.contracts import OrderRequest, PriceType
from execution.market_session import KST

log = logging.getLogger("execution.brokers.kis.reconcile")
LOOKUP_SLACK_NS = 5_000_000_000  # a lost send is looked for from 5 s before it was sent


def kst(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns / 1e9, KST)


class Reconciler:
    def __init__(self, rest: KisRest, registry: OrderRegistry, journal: FillJournal,
                 now_ns: Callable[[], int]) -> None:
        self._rest, self._registry, self._journal, self._now_ns = rest, registry, journal, now_ns
        self.rows: dict[str, DailyRow] = {}
        self.states: dict[str, RowState] = {}
        self.refreshes = 0
        self.refreshed_at = float("-inf")  # monotonic time of the last completed refresh

    async def refresh(self, need: Iterable[str] = (), since_tmd: str | None = None) -> None:
        """Read today's orders until every ODNO in ``need`` was seen (and, with
        ``since_tmd``, until the rows are older than that HHMMSS); then apply them."""
        config = self._rest.config
        wanted = set(need)
        day = kst(self._now_ns()).strftime("%Y%m%d")
        fresh: list[DailyRow] = []
        async for resp in self._rest.pages(DAILY_CCLD, tr_id("daily", config.mode),
                                           daily_params(config, day)):
            rows = resp.body.get("output1") or []
            for raw in rows if isinstance(rows, list) else []:
                try:
                    row = DailyRow.parse(raw)
                except BadAnswer as err:
                    log.warning("daily orders: row skipped (%s)", err)
                    continue
                fresh.append(row)
                wanted.discard(row.odno)
            if not wanted and (since_tmd is None or (fresh and fresh[-1].ord_tmd < since_tmd)):
                break
        self.refreshes += 1
        self.refreshed_at = time.monotonic()
        self.apply(fresh)

    def apply(self, fresh: list[DailyRow]) -> None:
        for row in fresh:
            self.rows[row.odno] = row
        self.states = derive_states(self.rows.values())
        now = self._now_ns()
        for row in sorted(fresh, key=lambda r: (r.ord_tmd, r.odno)):  # originals before revises
            self._adopt_revise(row, now)
            order = self._registry.get(row.odno)
            if order is not None:
                self._settle(order, row, now)

    def _adopt_revise(self, row: DailyRow, now: int) -> None:
        if not row.is_revise or self._registry.claimed(row.odno):
            return
        old = self._registry.get(row.orgn_odno)
        if old is None:
            return
        price = None if row.ord_dvsn_cd == MARKET else row.ord_unpr
        log.warning("order %s was revised as %s (its answer was lost): adopted", old.odno,
                    row.odno)
        self._registry.replace(old, OrderRef(row.odno, old.ref.orgno), row.ord_qty, price, now)

    def _settle(self, order: KisOrder, row: DailyRow, now: int) -> None:
        req = order.request
        order.qty = row.ord_qty if row.is_cancel else row.ord_qty - row.cancelled_qty
        self._journal.on_total(row.odno, req.symbol, req.side, row.filled, row.avg_price, now,
                               order.qty)
        state = self.states[row.odno]
        if state.state is OrderState.LIVE:
            return
        order.close(state.state, state.replaced_by)
        order.confirmed = True

    # -- questions ------------------------------------------------------------------------
    def status(self, odno: str) -> OrderStatus | None:
        """What the last rows and the journal say of ``odno`` (None: never seen)."""
        order, row = self._registry.get(odno), self.rows.get(odno)
        if order is not None:
            return self._registry.status(order, self._journal.filled(odno),
                                         self._journal.avg_price(odno))
        if row is None:
            return None
        state = self.states.get(odno, RowState(OrderState.LIVE))
        avg = row.avg_price if row.filled else None
        return OrderStatus(odno, "", row.symbol, row.side, row.ord_qty, row.filled, avg,
                           state.state, state.replaced_by)

    def find(self, request: OrderRequest, sent_ns: int | None) -> DailyRow | None:
        """The unclaimed original order matching ``request``'s details placed at or after
        ``sent_ns`` (a few seconds of slack for the clocks), earliest first."""
        since = "" if sent_ns is None else kst(sent_ns - LOOKUP_SLACK_NS).strftime("%H%M%S")
        market = request.price_type is PriceType.MARKET
        matches = [
            row for row in self.rows.values()
            if not row.orgn_odno and not self._registry.claimed(row.odno)
            and row.symbol == request.symbol and row.side is request.side
            and row.ord_qty == request.qty and row.ord_tmd >= since
            and (row.ord_dvsn_cd == MARKET or row.ord_unpr == 0 if market
                 else row.ord_unpr == (request.price or Decimal(0)))
        ]
        return min(matches, key=lambda r: (r.ord_tmd, r.odno), default=None)
