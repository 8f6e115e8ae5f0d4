"""The ``peg_cross`` baseline: what a desk's plain execution algo does.

One limit order joins the near touch at arrival (buy on the bid, sell on the ask). While
it works it is re-pegged to the near touch when the touch moves away from it (at most
once per :data:`REPEG_MIN_S`, a venue-friendly rate); at half the horizon whatever is
left goes as a marketable limit at the far touch, never beyond the slippage maximum
from the arrival mid (``adjust.slippage_max_bps``, 0.5 %), and still never past the
intent's own limit. At the horizon the rest is cancelled. It watches the book every
:data:`WATCH_S` (the engine's fill poller runs at 100 ms too).

Fair by construction: the same exchange, order flow, latencies and faults as the engine,
the same slippage cap and limit, the same fees. A lost answer or a dropped link is
retried at the next look, as a desk's algo would.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

from execution.broker import Broker, BrokerError, OrderRejected
from execution.contracts import ExecutionIntent, FillEvent, OrderRequest, PriceType, Quote, Side
from execution.pricing import cap_to_limit, cap_to_slippage
from execution.simulate.market import IntentSetup, Observation, unique_fills
from execution.simulate.outcome import Outcome

REPEG_MIN_S = 1.0  # at most one re-peg a second
WATCH_S = 0.1
NAME = "peg_cross"


def peg_price(side: Side, quote: Quote, arrival: Decimal, limit: Decimal | None,
              max_bps: Decimal) -> Decimal:
    """The near touch, inside the intent's limit and the slippage cap."""
    price = cap_to_limit(quote.touch(side.opposite), side, limit)
    return cap_to_slippage(price, side, arrival, max_bps)


def cross_price(side: Side, quote: Quote, arrival: Decimal, limit: Decimal | None,
                max_bps: Decimal) -> Decimal:
    """The far touch (marketable), inside the intent's limit and the slippage cap."""
    price = cap_to_limit(quote.touch(side), side, limit)
    return cap_to_slippage(price, side, arrival, max_bps)


def moved_away(side: Side, quote: Quote, price: Decimal) -> bool:
    """Has the near touch moved away from a resting order at ``price`` (better than it)?"""
    return side.sign * (quote.touch(side.opposite) - price) > 0


class PegCross:
    """The algo's state for one intent, driven by :meth:`step` (any :class:`Broker`)."""

    def __init__(self, exchange: Broker, intent: ExecutionIntent, arrival: Decimal,
                 max_bps: Decimal) -> None:
        self.exchange, self.intent, self.arrival = exchange, intent, arrival
        self.max_bps = max_bps
        self.pushed: list[FillEvent] = []
        self.order_id = ""
        self.price: Decimal | None = None
        self.last_peg_s = float("-inf")
        self.crossed = False
        self.repegs = 0
        self.rejected = False

    @property
    def filled(self) -> int:
        return sum(f.filled_qty for f in unique_fills(self.pushed)
                   if f.side is self.intent.side)

    def quote(self) -> Quote:
        return self.exchange.quote(self.intent.symbol)

    async def place(self, price: Decimal, now_s: float) -> None:
        request = OrderRequest(f"{self.intent.client_intent_id}-{NAME}", self.intent.symbol,
                               self.intent.side, self.intent.qty, price, PriceType.LIMIT)
        try:
            ack = await self.exchange.send(request)
        except OrderRejected:
            self.rejected = True
            return
        except BrokerError:
            return  # the link is down: try again at the next look
        self.order_id, self.price, self.last_peg_s = ack.broker_order_id, price, now_s

    async def move(self, price: Decimal, now_s: float) -> None:
        try:
            ack = await self.exchange.modify(self.order_id, price, None)
        except BrokerError:
            return  # filled meanwhile, or the link dropped: look again
        if ack.accepted:
            self.order_id, self.price, self.last_peg_s = ack.broker_order_id, price, now_s

    async def step(self, now_s: float, cross_at_s: float) -> None:
        intent = self.intent
        quote = self.quote()
        if not self.order_id:
            price = (cross_price if now_s >= cross_at_s else peg_price)(
                intent.side, quote, self.arrival, intent.limit_price, self.max_bps)
            await self.place(price, now_s)
            self.crossed = now_s >= cross_at_s
            return
        if not self.crossed and now_s >= cross_at_s:
            self.crossed = True
            target = cross_price(intent.side, quote, self.arrival, intent.limit_price,
                                 self.max_bps)
            if target != self.price:
                await self.move(target, now_s)
            return
        if self.crossed:  # re-cross at most once a second if the far touch ran away
            target = cross_price(intent.side, quote, self.arrival, intent.limit_price,
                                 self.max_bps)
        elif moved_away(intent.side, quote, self.price or quote.mid):
            target = peg_price(intent.side, quote, self.arrival, intent.limit_price,
                               self.max_bps)
        else:
            return
        if target != self.price and now_s - self.last_peg_s >= REPEG_MIN_S:
            if not self.crossed:
                self.repegs += 1
            await self.move(target, now_s)


async def run_peg_cross(setup: IntentSetup) -> Outcome:
    intent = setup.intent
    exchange = setup.exchange()
    loop = asyncio.get_running_loop()
    obs = Observation.start(exchange, intent.symbol)
    algo = PegCross(exchange, intent, obs.arrival_mid, setup.limits.slippage_max_bps)
    exchange.subscribe_fills(algo.pushed.append)
    start = loop.time()
    cross_at, deadline = start + setup.horizon_s / 2, start + setup.horizon_s
    async with exchange:
        while loop.time() < deadline and algo.filled < intent.qty and not algo.rejected:
            await algo.step(loop.time(), cross_at)
            await asyncio.sleep(WATCH_S)
        if algo.order_id and algo.filled < intent.qty:
            with contextlib.suppress(BrokerError):
                await exchange.cancel(algo.order_id)
        await asyncio.sleep(0.5)  # the last pushes
    fills = [f for f in unique_fills(algo.pushed) if f.side is intent.side]
    if sum(f.filled_qty for f in fills) < sum(
            f.filled_qty for f in exchange.journal if f.side is intent.side):
        fills = [f for f in exchange.journal if f.side is intent.side]  # lost pushes
    filled = sum(f.filled_qty for f in fills)
    state = ("REJECTED" if algo.rejected and not filled else "FILLED" if filled >= intent.qty
             else "PARTIAL" if filled else "UNFILLED")
    out = obs.finish(exchange, setup, NAME, fills, state)
    out.codes = [] if filled >= intent.qty or algo.rejected else ["FS093"]
    out.adjust_rounds = algo.repegs + (1 if algo.crossed else 0)
    return out
