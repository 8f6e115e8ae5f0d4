"""The ``shrink`` policy for working orders in a call auction or a VI (GR067).

With ``session.auction_policy: shrink`` the monitor's first look into an auction or a
VI (:func:`start_shrink`) cuts every working child's unfilled part down to
``session.auction_keep_pct`` % (rounded down to whole shares), and the cut quantity is
*owed*: when continuous trading resumes (:func:`restore_owed`) it goes back out as one
new child at its urgency's entry price on the fresh book (the near touch, the far one for
HIGH urgency; inside the intent's limit and the slippage cap, by the ordinary send
path). The default, ``keep``, leaves the orders as they are.

Why shrink: an order resting through the auction trades at the single price if its
limit reaches it, which may be far from where the market resumes; shrinking limits how
much of the intent can be executed at a price decided after the signal, while the kept
part holds its queue position for after the auction.

How a child is reduced. First its order is asked about (``order_status``): what the
broker says is left is what is cut from, and fills the engine had not counted yet are
booked (so a fill in the auction is never cut twice). Then

- ``keep > 0``: ``Broker.modify(order_id, child.price, filled + keep)``, a
  quantity-only revise at the child's own price (``price=None`` would turn it into a
  market order). Every broker of this project supports it, with the order's new *total*
  as ``qty``: the simulated exchange keeps the order's time priority and refuses a total
  below what is filled; KIS sends a partial cancel (정정취소 with a quantity, same order
  number; the exchange refuses to cancel more than is left); the scripted broker does
  as the simulated exchange, or answers a new order id (``replace_on_modify``), which is
  adopted as a re-price's is (the old id's late fills still count). Because the
  quantity is the order's total, a fill between the question and the reduce cannot make
  the cut too large: the broker refuses a total below what it has filled.
- ``keep == 0``: the child is cancelled by the ordinary cancel path and its whole rest
  (as the broker confirms it) is owed; its quantity becomes what it filled.

An accepted reduce lowers ``child.qty`` by the cut, so the children's quantities plus
``ctx.owed_qty`` always add up to the intent's quantity: nothing is sent twice and the
intent is never overfilled. A reduce that is refused, or fails, or whose answer is lost
(``BrokerError``), leaves the child at its full quantity in the engine's books and owes
nothing: at worst (an answer lost after the broker applied it) the child ends with less
filled than its quantity, reported as unfilled, never a second order for the same shares.
The reduce is journaled like a revise (write-ahead ``revise`` with the new total, then
``revised`` with the child's new quantity), so recovery rebuilds the child at it.

Restoring. Only what was cut and is still unfilled goes back out. It waits for the
reductions in flight (and then moves the children they held to the fresh touch, which
the resume's re-quote had to pass over); in an auction or a VI again, or without a
quote, it stays owed until the monitor's next look out of it. One restore child a pause,
always, even beyond ``split.max_children`` (GR060): it replaces quantity taken from
children already counted, KRX allows no quantity-raising revise to put it back on one of
them, and without it the intent would end short for reasons of the market's schedule
alone; the restore alert says ``beyond_max`` when it goes past the limit. An execution
that ends (escape, fill timeout, error) while something is owed drops it (GR067
``dropped``), and its result says why it ended.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal

from execution.broker import BrokerError, OrderState
from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, PriceType, Quote
from execution.orders.cancelling import cancel_child
from execution.orders.confirm import apply_status
from execution.orders.fills import notify
from execution.orders.reprice import entry_for, reprice_child, revise_order
from execution.orders.sending import send_child

log = logging.getLogger("execution.orders")
WORKING = (ChildStatus.ACCEPTED, ChildStatus.PARTIALLY_FILLED)  # no revise or cancel on its way


def kept_qty(rest: int, keep_pct: float) -> int:
    """The shares of an unfilled ``rest`` left resting: ``keep_pct`` %, rounded down."""
    if rest <= 0:
        return 0
    return min(int(Decimal(rest) * Decimal(str(keep_pct)) / 100), rest)


@dataclass(frozen=True, slots=True)
class Cut:
    """One child's reduction: ``cut`` shares taken out, ``kept`` left resting."""

    child: str
    cut: int
    kept: int


def start_shrink(ctx: ExecutionContext) -> None:
    """The pause began: reduce every working child (one in-flight task; see the module)."""
    if ctx.shrink_task is not None or ctx.escaping:
        return
    children = [c for c in ctx.live_children() if c.status in WORKING]
    if children:
        ctx.shrink_task = ctx.spawn(_shrink_all(ctx, children), "shrink", inflight=True)


async def _shrink_all(ctx: ExecutionContext, children: list[ChildOrder]) -> None:
    keep_pct = ctx.limits.auction_keep_pct
    try:
        results = await asyncio.gather(*(shrink_child(ctx, c, keep_pct) for c in children),
                                       return_exceptions=True)
    finally:
        ctx.shrink_task = None
    cuts = [r for r in results if isinstance(r, Cut)]
    errors = [r for r in results if isinstance(r, BaseException)]
    cut = sum(c.cut for c in cuts)
    ctx.alert(Code.GR067, action="shrink", children=len(cuts), cut=cut,
              kept=sum(c.kept for c in cuts), unchanged=len(children) - len(cuts),
              keep_pct=keep_pct)
    owe(ctx, cut)
    notify(ctx)  # a child may have ended meanwhile: the monitor may be done
    if errors:
        raise errors[0]  # (a journal failure: the error route, as a re-price's)


def owe(ctx: ExecutionContext, qty: int) -> None:
    """Owe ``qty`` cut shares back after the pause; dropped when the execution is over."""
    if qty <= 0:
        return
    ctx.owed_qty += qty
    if _over(ctx):
        drop_owed(ctx, ctx.escape_reason or "execution ended")


def drop_owed(ctx: ExecutionContext, why: str) -> None:
    """The execution ends with quantity still owed: it is not sent (GR067 ``dropped``)."""
    if ctx.owed_qty > 0:
        ctx.alert(Code.GR067, action="dropped", owed=ctx.owed_qty, reason=why)
        ctx.owed_qty = 0


async def shrink_child(ctx: ExecutionContext, child: ChildOrder, keep_pct: float) -> Cut | None:
    """Reduce one working child to ``keep_pct`` % of what the broker says is left (None:
    nothing was cut; the child keeps its quantity)."""
    if ctx.escaping or child.status not in WORKING or child.price is None:
        return None
    order_id = child.broker_order_id
    try:
        status = await ctx.services.broker.order_status(order_id)
    except BrokerError as err:
        log.info("%s: not shrunk, its order cannot be asked about: %s", child.id, err)
        return None
    apply_status(ctx, child, status)  # fills not counted yet (one in the auction, say)
    if status.state is not OrderState.LIVE or order_id != child.broker_order_id \
            or ctx.escaping or child.status not in WORKING:
        return None
    keep = kept_qty(status.remaining, keep_pct)
    if keep >= status.remaining:
        return None
    if keep == 0:
        return await _take_out(ctx, child)
    return await _reduce(ctx, child, order_id, status.filled_qty + keep, status.qty)


async def _reduce(ctx: ExecutionContext, child: ChildOrder, order_id: str, total: int,
                  order_qty: int) -> Cut | None:
    """``modify`` the order to ``total`` shares (from ``order_qty``) at its own price."""
    cut = order_qty - total

    def reduced() -> None:
        child.qty -= cut

    if not await revise_order(ctx, child, child.price, total, f"shrink to {total}", reduced):
        return None  # failed or refused: the child keeps its quantity, nothing is owed
    return Cut(child.id, cut, max(child.remaining, 0))


async def _take_out(ctx: ExecutionContext, child: ChildOrder) -> Cut | None:
    """Nothing to keep: cancel the child (the ordinary path); owe what the broker confirms
    was left of it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.limits.cancel_confirm_timeout_ms / 1000
    await cancel_child(ctx, child, deadline)
    if child.status not in (ChildStatus.CANCELLED, ChildStatus.EXPIRED):
        return None  # filled meanwhile, or not confirmed (UNKNOWN): nothing owed
    cut = child.qty - child.filled_qty
    child.qty = child.filled_qty
    return Cut(child.id, cut, 0) if cut > 0 else None


def restore_owed(ctx: ExecutionContext) -> None:
    """The pause ended: send what is owed (after the reductions still in flight)."""
    if ctx.owed_qty > 0 or ctx.shrink_task is not None:
        ctx.spawn(_restore(ctx), "restore", inflight=True)


async def _restore(ctx: ExecutionContext) -> None:
    task = ctx.shrink_task
    if task is not None:
        await asyncio.wait({task})
    quote = _fresh_quote(ctx)
    if task is not None and quote is not None and not _over(ctx):
        _requote_shrunk(ctx, entry_for(ctx, quote))
    if _over(ctx):
        drop_owed(ctx, ctx.escape_reason or "execution ended")
        return
    owed, ctx.owed_qty = ctx.owed_qty, 0
    if owed <= 0:
        return
    # never more than is unfilled and not working (the children plus the owed add up to
    # the intent's quantity: this holds unless an order filled beyond its quantity)
    working = sum(max(c.remaining, 0) for c in ctx.children if not c.status.is_terminal)
    qty = min(owed, ctx.qty - ctx.fills.filled_qty - working)
    if qty <= 0:
        ctx.alert(Code.GR067, action="dropped", owed=owed, reason="nothing left unfilled")
        notify(ctx)
        return
    if quote is None:  # owed again: the monitor's next look out of an auction tries again
        ctx.owed_qty += owed
        return
    price = entry_for(ctx, quote)
    child = _restore_child(ctx, qty, price)
    ctx.children.append(child)
    ctx.services.journal.planned(ctx.id, ctx.intent, ctx.children)  # ahead of its send
    max_children = ctx.limits.split.max_children
    beyond = {"beyond_max": max_children} if len(ctx.children) > max_children else {}
    ctx.alert(Code.GR067, action="restore", child=child.id, qty=qty, price=price, **beyond)
    await send_child(ctx, child)
    notify(ctx)


def _over(ctx: ExecutionContext) -> bool:
    return ctx.escaping or ctx.run is None or ctx.run.done


def _fresh_quote(ctx: ExecutionContext) -> Quote | None:
    """The book to restore into: None without a quote, or in an auction or a VI again."""
    try:
        quote = ctx.services.broker.quote(ctx.intent.symbol)
    except BrokerError as err:
        log.warning("%s: no quote to restore into: %s", ctx.id, err)
        return None
    return None if quote.phase.is_auction else quote


def _requote_shrunk(ctx: ExecutionContext, price: Decimal) -> None:
    """The pause ended while reductions were in flight: the resume's re-quote passed over
    the children being reduced; move them now."""
    for child in ctx.live_children():
        if child.status in WORKING and child.price is not None and child.price != price:
            ctx.spawn(reprice_child(ctx, child, price), f"requote-{child.sequence}",
                      inflight=True)


def _restore_child(ctx: ExecutionContext, qty: int, price: Decimal) -> ChildOrder:
    seq = max((c.sequence for c in ctx.children), default=0) + 1
    display = [c.display_qty for c in ctx.children if c.display_qty]
    return ChildOrder(
        id=f"{ctx.id}-{seq}", parent_id=ctx.id, sequence=seq, qty=qty, price=price,
        price_type=PriceType.LIMIT, scheduled_ns=ctx.services.now_ns(),
        max_wait_ns=int(ctx.limits.split.child_max_wait_ms * 1e6),
        client_order_id=f"{ctx.id}-{seq}",
        display_qty=min(display[0], qty) if display else None, original_price=price)
