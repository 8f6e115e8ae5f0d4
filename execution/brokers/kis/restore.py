"""After a restart: the adapter learns the orders an earlier process placed, from the
engine's journal and KIS's daily orders, and lists the account's working orders.

KIS keeps no client order id, so a fresh adapter knows none of the orders the crashed
process placed. ``restore`` registers each journaled order number (with the org number
its daily row gives, so it can be cancelled), the revise chains (a revise whose answer
was lost is adopted from its row, as always), the fill level the engine had counted on
each (so the next poll books only what is new), and every send whose answer never came
as *in doubt* since the moment it was sent (so a lookup by details starts there, and
orders already claimed are never taken for it).
"""

from __future__ import annotations

from collections.abc import Sequence

from execution.broker import KnownOrder, OrderState, OrderStatus
from execution.brokers.kis.endpoints import MARKET, OrderRef
from execution.brokers.kis.ids import InDoubt, KisOrder, OrderRegistry
from execution.brokers.kis.inquiry import DailyRow
from execution.brokers.kis.journal import FillJournal
from execution.brokers.kis.reconcile import LOOKUP_SLACK_NS, Reconciler, kst

ALL_DAY = "000000"  # a since-time no row is older than: read every page of the day


def _orgno(row: DailyRow, registry: OrderRegistry) -> str:
    if row.branch:
        return row.branch
    return next((o.ref.orgno for o in registry.orders.values() if o.ref.orgno), "")


def _register(known: KnownOrder, rows: dict[str, DailyRow], registry: OrderRegistry,
              now: int) -> None:
    previous: KisOrder | None = None
    for odno in known.order_ids:
        order = registry.get(odno)
        row = rows.get(odno)
        if order is None and row is not None:
            ref = OrderRef(odno, _orgno(row, registry))
            price = None if row.ord_dvsn_cd == MARKET else row.ord_unpr
            if previous is None:
                registry.add(known.request, ref, now, "restored from the journal")
                order = registry.get(odno)
                assert order is not None
                order.qty, order.price = row.ord_qty, price
            else:
                order = registry.replace(previous, ref, row.ord_qty, price, now)
        previous = order or previous
    if not known.order_ids:
        registry.in_doubt[known.request.client_order_id] = InDoubt(known.request, known.sent_ns)


async def restore(reconciler: Reconciler, registry: OrderRegistry, journal: FillJournal,
                  orders: Sequence[KnownOrder], now: int) -> None:
    """See the module docstring."""
    need = {odno for known in orders for odno in known.order_ids}
    sent = [known.sent_ns for known in orders if not known.order_ids]
    since = kst(min(sent) - LOOKUP_SLACK_NS).strftime("%H%M%S") if sent else None
    await reconciler.refresh(need=need, since_tmd=since)
    for known in orders:
        for odno, counted, notional in known.counted:
            journal.prime(odno, counted, notional)
        _register(known, reconciler.rows, registry, now)
    reconciler.apply(list(reconciler.rows.values()))  # states, new fills, lost revises


async def working(reconciler: Reconciler) -> list[OrderStatus]:
    """Every order of the account that KIS's daily orders show working today."""
    await reconciler.refresh(since_tmd=ALL_DAY)
    statuses = []
    for odno, row in reconciler.rows.items():
        if row.is_cancel:
            continue
        status = reconciler.status(odno)
        if status is not None and status.state is OrderState.LIVE:
            statuses.append(status)
    return statuses
