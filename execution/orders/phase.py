"""Session phases, auctions and price limits, as PreCheck and the monitor see them.

PreCheck (:func:`plan_for_session`): the time left until continuous trading ends (the
quote's ``phase_ends_ns`` when it says, else the session table: the close less
:data:`~execution.market_session.CLOSING_AUCTION_MINUTES`, 15:20 on a normal day). An
intent whose fill timeout reaches past it is

- ``session.closing_auction: refuse`` (the default): planned for the time left, less
  ``end_margin_ms`` for the cancels (its fill timeout, and with it the adjust rounds'
  schedule and the TWAP/VWAP horizons, are shortened; GR066 ``action=shortened``), or
  refused (GR066, FAILED) when less than ``min_time_left_ms`` would be left;
- ``join``: kept working into the closing call auction; its fill timeout runs to the
  close plus ``auction_grace_ms`` (the auction's random end) and the monitor pauses
  re-pricing through the auction (GR066 ``action=join``).

The default is ``refuse``: the closing auction is one price for everyone, known only at
15:30 (or later), ten minutes and more after the signal a scalp intent acts on; its
orders still rest inside the slippage cap, so ``join`` is safe, but it hands the
micro-risk loop a position later than it asked for. A desk turns ``join`` on knowingly.

A limit price outside the day's price limits is refused (GR068, FAILED): such an order
could never trade, and a limit out there is most likely a stale or mistyped price.

The monitor (:func:`in_auction`, :func:`hold_pause`): in a call auction or a VI
(``quote.phase.is_auction``) re-pricing pauses and the working orders are kept (they
take part in the auction at their own limit, inside the cap), or shrunk by the limits'
``session.auction_policy`` (:mod:`execution.orders.shrink`); the pause neither counts
as an adjust round nor uses up the fill timeout (both are pushed back by its length),
so an order that would fill at the auction price is never cancelled by the pause; unless
the limits join the closing auction, never past the end of continuous trading less
``end_margin_ms`` (a VI running into 15:20 does not carry the orders into the auction).
"""

from __future__ import annotations

import math
from decimal import Decimal

from execution.broker import BrokerError
from execution.codes import Code
from execution.context import ExecutionContext, PrecheckFailure
from execution.contracts import ChildOrder, MarketPhase, Quote, Side, Urgency
from execution.market_session import CLOSING_AUCTION_MINUTES
from execution.ticks import tick_size

FILL_TIMEOUT_KEY = "stage_timeouts.monitoring_timeout_ms"  # the fill timeout (FS093)
QUEUE_RATE_MIN_S = 2.0  # a queue's clearing rate is told from at least this long a look
_MINUTE_NS = 60_000_000_000
_BPS = Decimal(10_000)


def continuous_end_ns(ctx: ExecutionContext, quote: Quote, now_ns: int) -> int | None:
    """When continuous trading ends today (None: no session known for ``now_ns``)."""
    if quote.phase is MarketPhase.CONTINUOUS and quote.phase_ends_ns is not None:
        return quote.phase_ends_ns
    return session_continuous_end_ns(ctx, now_ns)


def session_continuous_end_ns(ctx: ExecutionContext, now_ns: int) -> int | None:
    """When continuous trading ends today by the session table (the close less the
    closing auction); None when no session is known for ``now_ns``."""
    close = session_close_ns(ctx, now_ns)
    return None if close is None else close - CLOSING_AUCTION_MINUTES * _MINUTE_NS


def session_close_ns(ctx: ExecutionContext, now_ns: int) -> int | None:
    sessions = ctx.services.sessions
    bounds = sessions.session_bounds(sessions.trading_day(now_ns))
    return None if bounds is None else bounds[1]


def fill_timeout_states(ctx: ExecutionContext) -> list[str]:
    """The states whose timeout is the fill timeout (by its limits key, not by name)."""
    if ctx.run is None:
        return []
    return [s.name for s in ctx.run.spec.states
            if s.timeout is not None and s.timeout.after == FILL_TIMEOUT_KEY]


def _set_fill_timeout(ctx: ExecutionContext, ms: float) -> None:
    assert ctx.run is not None
    for state in fill_timeout_states(ctx):
        ctx.run.timeouts_ms[state] = ms


def fill_timeout_ms(ctx: ExecutionContext) -> float:
    if ctx.run is None:
        return 0.0
    return max((ctx.run.timeouts_ms.get(s, 0.0) for s in fill_timeout_states(ctx)),
               default=0.0)


def _refuse(ctx: ExecutionContext, failure: PrecheckFailure, code: Code, detail: str,
            **details: object) -> None:
    ctx.note(code, **details)
    ctx.precheck_failure = failure
    ctx.failure_detail = detail


def check_price_limits(ctx: ExecutionContext) -> None:
    """GR068: the intent's limit price outside the day's price limits is refused."""
    quote, limit = ctx.arrival, ctx.intent.limit_price
    if quote is None or limit is None:
        return
    low, high = quote.lower_limit, quote.upper_limit
    if (low is not None and limit < low) or (high is not None and limit > high):
        _refuse(ctx, PrecheckFailure.PRICE_LIMIT, Code.GR068, f"limit={limit} band={low}..{high}",
                limit=limit, lower_limit=low, upper_limit=high)


def plan_for_session(ctx: ExecutionContext) -> None:
    """GR066: fit the execution into the continuous session (see the module's doc)."""
    quote, limits = ctx.arrival, ctx.limits
    if quote is None or ctx.run is None:
        return
    now = ctx.services.now_ns()
    end = continuous_end_ns(ctx, quote, now)
    if end is None:
        return
    timeout_ms = fill_timeout_ms(ctx)
    left_ms = (end - now) / 1e6
    if quote.phase is not MarketPhase.CLOSING_AUCTION and left_ms >= timeout_ms:
        return
    ctx.phase_end_ns = end
    close = session_close_ns(ctx, now)
    if limits.closing_auction == "join" and close is not None:
        joined_ms = (close - now) / 1e6 + limits.auction_grace_ms
        _set_fill_timeout(ctx, max(joined_ms, timeout_ms if left_ms >= timeout_ms else 0.0))
        ctx.alert(Code.GR066, action="join", phase=quote.phase.value,
                  left_ms=round(max(left_ms, 0.0)), fill_timeout_ms=round(joined_ms))
        return
    usable_ms = left_ms - limits.end_margin_ms
    if quote.phase is MarketPhase.CLOSING_AUCTION or usable_ms < limits.min_time_left_ms:
        _refuse(ctx, PrecheckFailure.SESSION_PHASE, Code.GR066,
                f"phase={quote.phase.value} left_ms={round(max(left_ms, 0.0))}",
                phase=quote.phase.value, left_ms=round(max(left_ms, 0.0)),
                min_ms=round(limits.min_time_left_ms), policy=limits.closing_auction)
        return
    _set_fill_timeout(ctx, usable_ms)
    ctx.time_left_ms = usable_ms
    ctx.alert(Code.GR066, action="shortened", left_ms=round(left_ms),
              fill_timeout_ms=round(usable_ms), was_ms=round(timeout_ms))


def split_horizon_ms(ctx: ExecutionContext, horizon_ms: int) -> int:
    """A TWAP/VWAP horizon fitted to a shortened execution: its slices all go out in the
    first half of the time left, which leaves the adjust rounds the second half."""
    if ctx.time_left_ms is None:
        return horizon_ms
    return min(horizon_ms, int(ctx.time_left_ms / 2))


def in_auction(quote: Quote) -> bool:
    return quote.phase.is_auction


def holds_release(ctx: ExecutionContext, quote: Quote) -> bool:
    """Is a scheduled slice held back now (GR067)? Not into a VI or the opening auction:
    it would be priced from a book nobody can trade at and join the call at that price;
    after the auction it goes out from the fresh book. The closing auction holds it only
    when the limits do not join it (``session.closing_auction: refuse``)."""
    if not in_auction(quote):
        return False
    return not (quote.phase is MarketPhase.CLOSING_AUCTION
                and ctx.limits.closing_auction == "join")


def hold_pause(ctx: ExecutionContext, now_s: float) -> float:
    """Account for the pause so far: the fill timeout and the round schedule are pushed
    back by its length since the last look (ms returned)."""
    since = max(ctx.pause_checked, ctx.paused_since or now_s)
    extra_ms = min(max(now_s - since, 0.0) * 1000, _room_before_close_ms(ctx, now_s))
    ctx.pause_checked = now_s
    if extra_ms > 0:
        if ctx.run is not None:
            ctx.run.extend_timeout(extra_ms)
        if ctx.fill_window is not None:
            started, timeout_ms = ctx.fill_window
            ctx.fill_window = (started + extra_ms / 1000, timeout_ms)
    return extra_ms


def _room_before_close_ms(ctx: ExecutionContext, now_s: float) -> float:
    """How much later a pause may still push the fill timeout: unless the limits join the
    closing auction, never past the end of continuous trading less ``end_margin_ms`` (a
    VI running into 15:20 must not carry the orders into the auction the limits refuse,
    nor the closing auction hold them to the close)."""
    if ctx.limits.closing_auction == "join" or ctx.fill_window is None:
        return math.inf
    now_ns = ctx.services.now_ns()
    end_ns = ctx.phase_end_ns or session_continuous_end_ns(ctx, now_ns)
    if end_ns is None:
        return math.inf
    started, timeout_ms = ctx.fill_window
    deadline_ns = now_ns + (started + timeout_ms / 1000 - now_s) * 1e9
    return max((end_ns - ctx.limits.end_margin_ms * 1e6 - deadline_ns) / 1e6, 0.0)


def _near_size(quote: Quote, side: Side) -> int:
    """The size shown at ``side``'s near touch (where its passive order rests)."""
    return quote.bid_size if side.sign > 0 else quote.ask_size


def queue_ahead(ctx: ExecutionContext, broker_order_id: str, visible: int) -> int:
    """Shares ahead of a resting child at its level: the broker's answer when it can
    tell (the simulated exchange can), else the whole visible size of the level."""
    ask = getattr(ctx.services.broker, "queue_ahead", None)
    if callable(ask):
        try:
            ahead = ask(broker_order_id)
        except BrokerError:  # the order is gone or moved (a revise): the visible size
            ahead = None
        if isinstance(ahead, int):
            return ahead
    return visible


def observe_queue(ctx: ExecutionContext, child: ChildOrder, ahead: int,
                  now_s: float) -> float | None:
    """Remember where ``child``'s queue stood when first seen at its price; the rate (shares
    a second) at which the queue ahead of it has cleared since, once at least
    :data:`QUEUE_RATE_MIN_S` has passed (None before, or at a new price)."""
    assert child.price is not None
    seen = ctx.queue_seen.get(child.id)
    if seen is None or seen[1] != child.price:
        ctx.queue_seen[child.id] = (now_s, child.price, ahead)
        return None
    since_s, _, first_ahead = seen
    if now_s - since_s < QUEUE_RATE_MIN_S:
        return None
    return (first_ahead - ahead) / (now_s - since_s)


def observe_queues(ctx: ExecutionContext, quote: Quote, now_s: float) -> None:
    """Note the queue ahead of every live child resting at the near touch (the monitor does
    this every interval, so the clearing rate is known when a round comes)."""
    side = ctx.intent.side
    if not callable(getattr(ctx.services.broker, "queue_ahead", None)):
        return  # only the visible size to go by: no rate can be told from it
    for child in ctx.live_children():
        if child.price is not None and child.price == quote.touch(side.opposite):
            ahead = queue_ahead(ctx, child.broker_order_id, _near_size(quote, side))
            observe_queue(ctx, child, ahead, now_s)


def should_wait(ctx: ExecutionContext, child: ChildOrder, quote: Quote,
                elapsed_pct: float, now_s: float | None = None) -> tuple[bool, dict[str, object]]:
    """GR069, tick-aware re-pricing: a child resting at the near touch where one tick is
    at least ``wide_tick_bps`` waits rather than move, while at least
    ``queue_wait_max_pct_left`` % of its fill window is left and the queue ahead of it is
    within ``queue_wait_max_ahead_x`` times its remaining size. With less time left it
    waits on only while the queue ahead and its own rest are expected to trade (at the rate
    the queue has cleared so far) before ``queue_clear_min_pct_left`` % of the window is
    left (``action=wait_clearing``); else it moves. Returns the decision and its figures
    (for the alert)."""
    limits, side = ctx.limits, ctx.intent.side
    if child.price is None or child.price != quote.touch(side.opposite):
        return False, {}
    if ctx.intent.urgency is Urgency.HIGH and limits.high_passive:
        return False, {}  # HIGH's wait is bounded by adjust.high_passive_max_ms alone
    tick_bps = tick_size(child.price) / child.price * _BPS
    left_pct = 100.0 - elapsed_pct
    if tick_bps < limits.wide_tick_bps:
        return False, {}
    ahead = queue_ahead(ctx, child.broker_order_id, _near_size(quote, side))
    rate = None if now_s is None else observe_queue(ctx, child, ahead, now_s)
    figures: dict[str, object] = {"tick_bps": round(tick_bps, 1), "ahead": ahead,
                                  "left_pct": round(left_pct)}
    if left_pct >= limits.queue_wait_max_pct_left:
        if ahead > limits.queue_wait_max_ahead_x * child.remaining:
            return False, {}
        return True, figures
    floor_pct = limits.queue_clear_min_pct_left
    if floor_pct <= 0 or rate is None or rate <= 0 or ctx.fill_window is None \
            or left_pct <= floor_pct:
        return False, {}
    needed_s = (ahead + child.remaining) / rate
    usable_s = (left_pct - floor_pct) / 100 * ctx.fill_window[1] / 1000
    if needed_s > usable_s:
        return False, {}
    return True, figures | {"action": "wait_clearing", "clears_in_s": round(needed_s, 1),
                            "rate_per_s": round(rate, 1)}
