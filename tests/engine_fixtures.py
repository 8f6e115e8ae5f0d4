"""Test helpers for the execution engine: a scripted in-memory broker and an engine factory.

:class:`ScriptedBroker` implements :class:`execution.broker.Broker` completely and
deterministically. Nothing fills by itself: a test pushes fills with
:meth:`ScriptedBroker.fill`. Every ``send``/``modify``/``cancel``/``connect`` can be
scripted per call (accept, reject, raise N times, hold on an :class:`asyncio.Event`),
and every call is recorded so a test can assert that no child was ever placed twice.

:func:`make_engine` builds an :class:`execution.engine.Engine` with short stage
timeouts on such a broker. The exchange clock starts at 10:00 KST of a fixed KRX
trading day (2024-06-03) and advances with the event loop's clock; :meth:`advance`
jumps it (fill-delay warnings, the next trading day).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from execution.broker import (
    BrokerDisconnected,
    FillCallback,
    OrderRejected,
    RejectReason,
    UnknownOrder,
)
from execution.bus import EventBus
from execution.context import ExecutionContext, SafetyState
from execution.contracts import (
    ExecutionIntent,
    ExecutionResult,
    FillEvent,
    OrderAck,
    OrderRequest,
    Quote,
    Side,
    SplitStrategy,
    Urgency,
)
from execution.engine import Engine, Execution
from execution.market_session import KST, KrxSessions, default_sim_start, epoch_ns
from execution.services import Services
from execution.settings import EngineLimits, load_engine_limits
from execution.split import SplitParams
from execution.volume_profile import VolumeProfile

T = TypeVar("T")

SYMBOL = "005930"
# the states every sent execution passes through first
HEAD = ["INIT", "PRECHECK", "SPLITTING", "SENDING", "MONITORING"]
OTHER_SYMBOL = "000660"
#: 10:00 KST on Monday 2024-06-03, a KRX trading day (fixed: tests never read the wall clock).
START = default_sim_start(datetime(2024, 6, 3, 12, 0, tzinfo=KST))
START_NS = epoch_ns(START)
DAY_NS = 86_400 * 1_000_000_000

#: Short stage timeouts (ms) for tests; the chart's own defaults are 5 s .. 60 s.
TEST_TIMEOUTS_MS: dict[str, float] = {
    "PRECHECK": 500,
    "SPLITTING": 500,
    "SENDING": 500,
    "MONITORING": 300,
    "ADJUSTING": 500,
    "ESCAPING": 500,
}
#: Limits for tests: fast retries, fast cancel confirmation, no stall before the fill timeout
#: (adjust_interval_ms > MONITORING timeout) unless a test asks for one.
# Rounds paced by the adjust interval alone (no patience schedule) unless a test says so:
# the tests use short timeouts, and the schedule has tests of its own.
_EVERY_INTERVAL = {urgency: 0.0 for urgency in Urgency}
TEST_LIMITS: dict[str, Any] = {
    "retry_backoff_ms": 5,
    "cancel_confirm_timeout_ms": 200,
    "fill_poll_interval_ms": 50,
    "adjust_interval_ms": 1000,
    "first_round_pct": _EVERY_INTERVAL,
    "last_round_pct": _EVERY_INTERVAL,
}

_BASE_LIMITS: EngineLimits | None = None


def base_limits() -> EngineLimits:
    """``config/limits.yaml``, read once per test session."""
    global _BASE_LIMITS
    if _BASE_LIMITS is None:
        _BASE_LIMITS = load_engine_limits()
    return _BASE_LIMITS


# ------------------------------------------------------------------------ scripting
@dataclass(frozen=True)
class Accept:
    """Accept the order (the default when a script is empty)."""


@dataclass(frozen=True)
class Reject:
    """Raise :class:`OrderRejected` (never retried by the engine)."""

    reason: RejectReason = RejectReason.OTHER
    detail: str = "scripted reject"


@dataclass(frozen=True)
class Nack:
    """Return an ack with ``accepted=False``."""

    reason: str = "scripted nack"


@dataclass(frozen=True)
class Raise:
    """Raise ``exc`` (a :class:`BrokerDisconnected` also drops the connection)."""

    exc: BaseException


@dataclass(frozen=True)
class Hold:
    """Wait for ``event`` before handling the call (then take the next scripted action)."""

    event: asyncio.Event


@dataclass(frozen=True)
class AcceptThenHold:
    """Send only: place the order at once, then wait for ``event`` before returning the ack
    (an ack in flight: the order is live at the exchange, the engine does not know it yet)."""

    event: asyncio.Event


@dataclass(frozen=True)
class LoseAck:
    """Send only: place the order, then raise ``exc`` instead of returning the ack (the
    connection dropped after the exchange accepted). A resend gets the first ack back."""

    exc: BaseException


Action = Accept | Reject | Nack | Raise | Hold | AcceptThenHold | LoseAck
_ACTIONS = (Accept, Reject, Nack, Raise, Hold, AcceptThenHold, LoseAck)


def fail_times(n: int, exc: BaseException) -> list[Action]:
    """``n`` failures with ``exc``; the call after them succeeds (script is then empty)."""
    return [Raise(exc) for _ in range(n)]


@dataclass
class BrokerOrder:
    broker_order_id: str
    request: OrderRequest
    price: Decimal | None
    qty: int
    filled: int = 0
    live: bool = True

    @property
    def remaining(self) -> int:
        return self.qty - self.filled


@dataclass(frozen=True)
class Call:
    """One recorded broker call."""

    kind: str  # send / modify / cancel / connect
    key: str  # client order id (send) or broker order id (modify / cancel)
    outcome: str  # accepted / rejected / nack / raised:<Type> / ok / not-live / unknown
    price: Decimal | None = None
    qty: int | None = None


class ScriptedBroker:
    """A deterministic in-memory :class:`execution.broker.Broker` (see the module docstring)."""

    def __init__(self, *, symbols: Iterable[str] = (SYMBOL, OTHER_SYMBOL),
                 bid: Decimal | int = 70_000, ask: Decimal | int = 70_100,
                 size: int = 1_000, start_ns: int = START_NS,
                 cash: Decimal | None = None, connected: bool = True,
                 time_source: Callable[[], float] | None = None) -> None:
        self.symbols = set(symbols)
        self.quotes: dict[str, Quote] = {}
        for symbol in self.symbols:
            self.set_quote(bid, ask, size, size, symbol=symbol)
        self.start_ns = start_ns
        self.offset_ns = 0
        self._time_source = time_source
        self._t0: float | None = None
        self.cash = cash
        self._connected = connected
        self.orders: dict[str, BrokerOrder] = {}
        self.acks: dict[str, OrderAck] = {}  # by client order id
        self.accepted_per_client: dict[str, list[str]] = {}
        self.calls: list[Call] = []
        self.journal: list[FillEvent] = []
        self.subscribers: list[FillCallback] = []
        self.send_script: deque[Action] = deque()
        self.send_scripts: dict[str, deque[Action]] = {}  # by client order id
        self.modify_script: deque[Action] = deque()
        self.cancel_script: deque[Action] = deque()
        self.connect_script: deque[Action | bool] = deque()
        self.on_send: Callable[[OrderRequest], None] | None = None  # before the script runs
        self.after_accept: Callable[[str], None] | None = None  # broker id, before the ack
        self.on_quote: Callable[[str], None] | None = None
        self._serial = 0
        self._fill_serial = 0
        self.max_live_per_child = 0

    # -- clock ---------------------------------------------------------------------
    def _elapsed_ns(self) -> int:
        source = self._time_source
        if source is None:
            if not _loop_running():
                return 0
            source = asyncio.get_running_loop().time
            self._time_source = source
        now = source()
        if self._t0 is None:
            self._t0 = now
        return int((now - self._t0) * 1e9)

    def now_ns(self) -> int:
        return self.start_ns + self.offset_ns + self._elapsed_ns()

    def advance(self, ms: float) -> None:
        """Jump the exchange clock forward by ``ms`` (the loop clock is untouched)."""
        self.offset_ns += int(ms * 1e6)

    # -- connection ----------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, value: bool) -> None:
        self._connected = value

    async def connect(self) -> bool:
        while self.connect_script:
            action = self.connect_script.popleft()
            if isinstance(action, Hold):
                await action.event.wait()
                continue
            if isinstance(action, bool):
                self._connected = action
                self.calls.append(Call("connect", "", "ok" if action else "failed"))
                return action
            if isinstance(action, Raise):
                self.calls.append(Call("connect", "", f"raised:{type(action.exc).__name__}"))
                raise action.exc
        self._connected = True
        self.calls.append(Call("connect", "", "ok"))
        return True

    # -- market data ---------------------------------------------------------------
    def knows_symbol(self, symbol: str) -> bool:
        return symbol in self.symbols

    def set_quote(self, bid: Decimal | int, ask: Decimal | int, bid_size: int = 1_000,
                  ask_size: int = 1_000, *, symbol: str = SYMBOL) -> None:
        self.quotes[symbol] = Quote(symbol, Decimal(bid), Decimal(ask), bid_size, ask_size, 0)

    def quote(self, symbol: str) -> Quote:
        if self.on_quote is not None:
            self.on_quote(symbol)
        if symbol not in self.quotes:
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, symbol)
        return self.quotes[symbol]

    def available_cash(self) -> Decimal | None:
        return self.cash

    # -- scripting helpers ---------------------------------------------------------
    def script_send(self, *actions: Action | Iterable[Action], child: str | None = None) -> None:
        """Queue actions for the next ``send`` calls (of one child id when ``child`` is given)."""
        queue = self.send_script if child is None else self.send_scripts.setdefault(child, deque())
        for action in actions:
            if isinstance(action, _ACTIONS):
                queue.append(action)
            else:
                queue.extend(action)

    def _next(self, queue: deque[Action]) -> Action:
        return queue.popleft() if queue else Accept()

    # -- orders --------------------------------------------------------------------
    async def _action(self, queue: deque[Action]) -> Action:
        """The next scripted action, after waiting out any Hold in front of it."""
        action = self._next(queue)
        while isinstance(action, Hold):
            await action.event.wait()
            action = self._next(queue)
        return action

    def _record(self, order: OrderRequest, outcome: str) -> None:
        self.calls.append(Call("send", order.client_order_id, outcome, order.price, order.qty))

    def _raise(self, exc: BaseException) -> None:
        if isinstance(exc, BrokerDisconnected):
            self._connected = False
        raise exc

    async def send(self, order: OrderRequest) -> OrderAck:
        if self.on_send is not None:
            self.on_send(order)
        action = await self._action(self.send_scripts.get(order.client_order_id)
                                    or self.send_script)
        if not self._connected:
            self._record(order, "raised:BrokerDisconnected")
            raise BrokerDisconnected("not connected")
        if isinstance(action, Raise):
            self._record(order, f"raised:{type(action.exc).__name__}")
            self._raise(action.exc)
        if isinstance(action, Reject):
            self._record(order, "rejected")
            raise OrderRejected(action.reason, action.detail)
        first = self.acks.get(order.client_order_id)
        if first is not None:  # idempotent on the client order id
            self._record(order, "duplicate")
            return first
        if isinstance(action, Nack):
            self._record(order, "nack")
            return OrderAck(order.client_order_id, "", False, self.now_ns(), action.reason)
        ack = self._place(order)
        if isinstance(action, AcceptThenHold):
            await action.event.wait()
        if isinstance(action, LoseAck):
            self._raise(action.exc)
        return ack

    def _place(self, order: OrderRequest) -> OrderAck:
        self._serial += 1
        broker_id = f"B{self._serial:05d}"
        self.orders[broker_id] = BrokerOrder(broker_id, order, order.price, order.qty)
        self.accepted_per_client.setdefault(order.client_order_id, []).append(broker_id)
        ack = OrderAck(order.client_order_id, broker_id, True, self.now_ns())
        self.acks[order.client_order_id] = ack
        self._record(order, "accepted")
        self._track_live()
        if self.after_accept is not None:
            self.after_accept(broker_id)
        return ack

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        action = await self._action(self.modify_script)
        order = self.orders.get(broker_order_id)
        if isinstance(action, Raise):
            self.calls.append(Call("modify", broker_order_id,
                                   f"raised:{type(action.exc).__name__}", price, qty))
            raise action.exc
        if isinstance(action, Reject):
            self.calls.append(Call("modify", broker_order_id, "rejected", price, qty))
            raise OrderRejected(action.reason, action.detail)
        if order is None or not order.live:
            self.calls.append(Call("modify", broker_order_id, "not-live", price, qty))
            raise UnknownOrder(broker_order_id)
        self.calls.append(Call("modify", broker_order_id, "ok", price, qty))
        order.price = price
        if qty is not None:
            order.qty = qty
        return OrderAck(order.request.client_order_id, broker_order_id, True, self.now_ns())

    async def cancel(self, broker_order_id: str) -> bool:
        action = await self._action(self.cancel_script)
        if isinstance(action, Raise):
            self.calls.append(Call("cancel", broker_order_id,
                                   f"raised:{type(action.exc).__name__}"))
            raise action.exc
        order = self.orders.get(broker_order_id)
        if order is None:
            self.calls.append(Call("cancel", broker_order_id, "unknown"))
            raise UnknownOrder(broker_order_id)
        if not order.live:
            self.calls.append(Call("cancel", broker_order_id, "not-live"))
            return False
        order.live = False
        self.calls.append(Call("cancel", broker_order_id, "ok"))
        return True

    async def open_orders(self) -> list[str]:
        return [oid for oid, order in self.orders.items() if order.live]

    # -- fills ---------------------------------------------------------------------
    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        self.subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self.subscribers:
                self.subscribers.remove(callback)

        return unsubscribe

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        return self.journal[max(0, seq):], len(self.journal)

    def make_fill(self, broker_order_id: str, qty: int, price: Decimal | int | None = None,
                  *, event_id: str | None = None, book: bool = True) -> FillEvent:
        """A fill event for ``broker_order_id``; ``book`` updates the order (and its liveness)."""
        order = self.orders[broker_order_id]
        fill_price = Decimal(price) if price is not None else (order.price or Decimal(0))
        if book:
            order.filled += qty
            if order.filled >= order.qty:
                order.live = False
        self._fill_serial += 1
        return FillEvent(
            event_id=event_id or f"F{self._fill_serial:06d}",
            order_id=broker_order_id,
            symbol=order.request.symbol,
            side=order.request.side,
            filled_qty=qty,
            price=fill_price,
            cumulative_qty=order.filled,
            remaining_qty=max(order.qty - order.filled, 0),
            fee=Decimal(0),
            ts_ns=self.now_ns(),
        )

    def fill(self, broker_order_id: str, qty: int, price: Decimal | int | None = None, *,
             event_id: str | None = None, push: bool = True, times: int = 1) -> FillEvent:
        """Fill ``qty`` of an order, journal it and push it ``times`` times (duplicates)."""
        event = self.make_fill(broker_order_id, qty, price, event_id=event_id)
        self.journal.append(event)
        if push:
            for _ in range(times):
                self.deliver(event)
        return event

    def deliver(self, event: FillEvent) -> None:
        """Push an event to every subscriber (again, for duplicate/reordered delivery)."""
        for callback in list(self.subscribers):
            callback(event)

    def fill_child(self, child_id: str, qty: int | None = None,
                   price: Decimal | int | None = None, **kwargs: Any) -> FillEvent:
        """Fill the order placed for child ``child_id`` (all that remains by default)."""
        broker_id = self.accepted_per_client[child_id][0]
        order = self.orders[broker_id]
        return self.fill(broker_id, order.remaining if qty is None else qty, price, **kwargs)

    # -- inspection ----------------------------------------------------------------
    def calls_of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    def live_orders(self) -> list[BrokerOrder]:
        return [o for o in self.orders.values() if o.live]

    def broker_id(self, child_id: str) -> str:
        return self.accepted_per_client[child_id][0]

    def assert_no_duplicate_orders(self) -> None:
        """Every child (client order id) was placed at most once."""
        dupes = {cid: ids for cid, ids in self.accepted_per_client.items() if len(ids) > 1}
        assert not dupes, f"children placed more than once: {dupes}"
        assert self.max_live_per_child <= 1

    def _track_live(self) -> None:
        per_child: dict[str, int] = {}
        for order in self.orders.values():
            if order.live:
                cid = order.request.client_order_id
                per_child[cid] = per_child.get(cid, 0) + 1
        self.max_live_per_child = max([self.max_live_per_child, *per_child.values()])


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# ------------------------------------------------------------------------ engine
def make_limits(**overrides: Any) -> EngineLimits:
    """``config/limits.yaml`` with :data:`TEST_LIMITS` and ``overrides``; split parameters may
    be given as ``split={...}`` (merged into the YAML's split section)."""
    limits = base_limits()
    split = overrides.pop("split", None)
    if isinstance(split, dict):
        current = {f: getattr(limits.split, f) for f in SplitParams.__dataclass_fields__}
        overrides["split"] = SplitParams(**(current | split))
    elif split is not None:
        overrides["split"] = split
    return limits.with_(**(TEST_LIMITS | overrides))


def make_engine(broker: ScriptedBroker | Any, *, timeouts: dict[str, float] | None = None,
                safety_state: SafetyState = SafetyState.NORMAL,
                capital_krw: Decimal | None = None, id_prefix: str = "X",
                **limit_overrides: Any) -> Engine:
    """An engine on ``broker`` with :data:`TEST_TIMEOUTS_MS` (``timeouts`` overrides single
    states) and the test limits (keyword arguments override :class:`EngineLimits` fields)."""
    extra: dict[str, Any] = {}
    if "pool_size" in inspect.signature(Engine).parameters:
        extra["pool_size"] = 4  # pre-built chart instances: a few are plenty in a test
    return Engine(broker, limits=make_limits(**limit_overrides), safety_state=safety_state,
                  capital_krw=capital_krw, id_prefix=id_prefix,
                  stage_timeouts_ms=TEST_TIMEOUTS_MS | (timeouts or {}), **extra)


def intent(qty: int = 50, side: Side = Side.BUY, *, symbol: str = SYMBOL,
           limit: Decimal | int | None = None, urgency: Urgency = Urgency.NORMAL,
           strategy: SplitStrategy = SplitStrategy.SINGLE, cid: str = "") -> ExecutionIntent:
    return ExecutionIntent(symbol, side, qty, Decimal(limit) if limit is not None else None,
                           urgency, strategy, cid)


# ------------------------------------------------------------------------ running
def run(factory: Callable[[], Coroutine[Any, Any, T]], *, timeout: float = 10.0) -> T:
    """Run an async test body on a fresh loop, with a hard timeout."""

    async def main() -> T:
        return await asyncio.wait_for(factory(), timeout)

    return asyncio.run(main())


async def until(predicate: Callable[[], bool], timeout: float = 2.0,
                what: str = "condition") -> None:
    """Yield to the loop until ``predicate()`` holds (fails the test after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    spins = 0
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        spins += 1
        await asyncio.sleep(0 if spins < 50 else 0.001)


async def until_state(execution: Execution, state: str, timeout: float = 2.0) -> None:
    await until(lambda: execution.state == state, timeout,
                f"{execution.id} to reach {state} (now {execution.state})")


async def finish(execution: Execution, timeout: float = 3.0) -> ExecutionResult:
    return await asyncio.wait_for(asyncio.shield(execution.result), timeout)


def path(result: ExecutionResult) -> list[str]:
    return [step.state for step in result.path]


def codes(result: ExecutionResult) -> list[str]:
    return result.codes()


def alert(result: ExecutionResult, code: str) -> str:
    """The message of the first alert with ``code`` (fails when there is none)."""
    for entry in result.alerts:
        if entry.code.name == code:
            return entry.message
    raise AssertionError(f"no {code} alert in {result.codes()}")


# ------------------------------------------------------------------------ contexts
_PROFILE: VolumeProfile | None = None


def make_context(broker: ScriptedBroker | Any, the_intent: ExecutionIntent | None = None, *,
                 execution_id: str = "T1", capital_krw: Decimal | None = None,
                 safety_state: SafetyState = SafetyState.NORMAL,
                 **limit_overrides: Any) -> ExecutionContext:
    """A bare :class:`ExecutionContext` (no chart run) for calling stage code directly.
    The ledger already counts this execution as live, as :meth:`Engine.submit` does."""
    global _PROFILE
    if _PROFILE is None:
        _PROFILE = VolumeProfile.load()
    limits = make_limits(**limit_overrides)
    services = Services(broker=broker, limits=limits, sessions=KrxSessions(),
                        bus=EventBus(limits.p0_queue_capacity), profile=_PROFILE,
                        safety_state=safety_state, capital_krw=capital_krw)
    the_intent = the_intent or intent()
    services.ledger.live[(the_intent.symbol, the_intent.side)] += 1
    return ExecutionContext(execution_id, the_intent, services)
