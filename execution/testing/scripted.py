"""A deterministic in-memory broker whose every answer can be scripted.

:class:`ScriptedBroker` implements :class:`execution.broker.Broker` completely. Nothing
fills by itself: a test pushes fills with :meth:`ScriptedBroker.fill`. Every ``send``,
``modify``, ``cancel``, ``order_status`` and ``connect`` can be scripted per call (accept,
reject, raise N times, hold on an :class:`asyncio.Event`, lose the answer), and every call
is recorded, so a test can assert that no child was ever placed twice. Use it to test your
own charts and strategies against the races a real broker produces.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal

from execution import broker as brk
from execution.brokers.table import OrderRecord, OrderTable
from execution.contracts import FillEvent, MarketPhase, OrderAck, OrderRequest, Quote
from execution.testing import actions as act
from execution.testing.clock import START_NS, LoopClock

SYMBOL = "005930"
OTHER_SYMBOL = "000660"


class ScriptedBroker:
    """See the module docstring. ``replace_on_modify`` makes every re-price a
    cancel-replace that answers a new broker order id, as KRX brokers do. A ``modify``
    with a quantity reduces the order to that *total* (filled shares included), as the
    simulated exchange and KIS do: refused (``INVALID_ORDER``) below what is filled or
    above the order's quantity, and the order is done when it equals what is filled."""

    def __init__(self, *, symbols: Iterable[str] = (SYMBOL, OTHER_SYMBOL),
                 bid: Decimal | int = 70_000, ask: Decimal | int = 70_100,
                 size: int = 1_000, start_ns: int = START_NS,
                 cash: Decimal | None = None, connected: bool = True,
                 time_source: Callable[[], float] | None = None,
                 replace_on_modify: bool = False) -> None:
        self.symbols = set(symbols)
        self.quotes: dict[str, Quote] = {}
        for symbol in self.symbols:
            self.set_quote(bid, ask, size, size, symbol=symbol)
        self.clock = LoopClock(start_ns, time_source)
        self.cash = cash
        self.replace_on_modify = replace_on_modify
        self._connected = connected
        self.table = OrderTable(id_prefix="B", id_width=5)
        self.calls: list[act.Call] = []  # send, modify, cancel, connect
        self.queries: list[act.Call] = []  # order_status and find_order
        self.send_script: deque[act.Action] = deque()
        self.send_scripts: dict[str, deque[act.Action]] = {}  # by client order id
        self.modify_script: deque[act.Action] = deque()
        self.cancel_script: deque[act.Action] = deque()
        self.status_script: deque[act.Action] = deque()
        self.connect_script: deque[act.Action | bool] = deque()
        self.on_send: Callable[[OrderRequest], None] | None = None  # before the script runs
        self.after_accept: Callable[[str], None] | None = None  # broker id, before the ack
        self.on_quote: Callable[[str], None] | None = None
        self._fill_serial = 0
        self.placed: dict[str, int] = {}  # client order id -> orders placed by send
        self.max_live_per_child = 0

    # -- the books (the order-table core) ---------------------------------------------
    @property
    def orders(self) -> dict[str, OrderRecord]:
        return self.table.orders

    @property
    def acks(self) -> dict[str, OrderAck]:
        return self.table.acks

    @property
    def journal(self) -> list[FillEvent]:
        return self.table.journal

    # -- clock ------------------------------------------------------------------------
    def now_ns(self) -> int:
        return self.clock.now_ns()

    def advance(self, ms: float) -> None:
        """Jump the exchange clock forward by ``ms`` (the loop clock is untouched)."""
        self.clock.advance(ms)

    # -- connection -------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, value: bool) -> None:
        self._connected = value

    async def connect(self) -> bool:
        while self.connect_script:
            action = self.connect_script.popleft()
            if isinstance(action, act.Hold):
                await action.event.wait()
                continue
            if isinstance(action, bool):
                self._connected = action
                self.calls.append(act.Call("connect", "", "ok" if action else "failed"))
                return action
            if isinstance(action, act.Raise):
                self.calls.append(act.Call("connect", "", f"raised:{type(action.exc).__name__}"))
                raise action.exc
        self._connected = True
        self.calls.append(act.Call("connect", "", "ok"))
        return True

    # -- market data ------------------------------------------------------------------
    def knows_symbol(self, symbol: str) -> bool:
        return symbol in self.symbols

    def set_quote(self, bid: Decimal | int, ask: Decimal | int, bid_size: int = 1_000,
                  ask_size: int = 1_000, *, symbol: str = SYMBOL,
                  phase: MarketPhase = MarketPhase.CONTINUOUS, phase_ends_ns: int | None = None,
                  lower_limit: Decimal | int | None = None,
                  upper_limit: Decimal | int | None = None) -> None:
        """The symbol's top of book, with its matching phase (and when that ends) and the
        day's price limits (None: the broker does not say)."""
        self.quotes[symbol] = Quote(
            symbol, Decimal(bid), Decimal(ask), bid_size, ask_size, 0, phase, phase_ends_ns,
            None if lower_limit is None else Decimal(lower_limit),
            None if upper_limit is None else Decimal(upper_limit))

    def set_phase(self, phase: MarketPhase, phase_ends_ns: int | None = None, *,
                  symbol: str = SYMBOL) -> None:
        """Only the phase changes (the book stays): an auction or a VI begins or ends."""
        self.quotes[symbol] = replace(self.quotes[symbol], phase=phase,
                                      phase_ends_ns=phase_ends_ns)

    def quote(self, symbol: str) -> Quote:
        if self.on_quote is not None:
            self.on_quote(symbol)
        if symbol not in self.quotes:
            raise brk.OrderRejected(brk.RejectReason.UNKNOWN_SYMBOL, symbol)
        return self.quotes[symbol]

    def available_cash(self) -> Decimal | None:
        return self.cash

    # -- scripting --------------------------------------------------------------------
    def script_send(self, *actions: act.Action | Iterable[act.Action],
                    child: str | None = None) -> None:
        """Queue actions for the next ``send`` calls (of one child id when ``child`` is given)."""
        queue = self.send_script if child is None else self.send_scripts.setdefault(child, deque())
        for action in actions:
            if isinstance(action, act.ACTIONS):
                queue.append(action)
            else:
                queue.extend(action)

    async def _action(self, queue: deque[act.Action]) -> act.Action:
        """The next scripted action (Accept when none), after waiting out any Hold."""
        action = queue.popleft() if queue else act.Accept()
        while isinstance(action, act.Hold):
            await action.event.wait()
            action = queue.popleft() if queue else act.Accept()
        return action

    def _raise(self, exc: BaseException) -> None:
        if isinstance(exc, brk.BrokerDisconnected):
            self._connected = False
        raise exc

    def _common(self, action: act.Action, kind: str, key: str, price: Decimal | None = None,
                qty: int | None = None) -> None:
        """The outcomes every call shares: not connected, a scripted raise or reject."""
        if not self._connected:
            self.calls.append(act.Call(kind, key, "raised:BrokerDisconnected", price, qty))
            raise brk.BrokerDisconnected("not connected")
        if isinstance(action, act.Raise):
            raised = f"raised:{type(action.exc).__name__}"
            self.calls.append(act.Call(kind, key, raised, price, qty))
            self._raise(action.exc)
        if isinstance(action, act.Reject):
            self.calls.append(act.Call(kind, key, "rejected", price, qty))
            raise brk.OrderRejected(action.reason, action.detail)

    def _query_common(self, action: act.Action, kind: str, key: str) -> None:
        if not self._connected:
            self.queries.append(act.Call(kind, key, "raised:BrokerDisconnected"))
            raise brk.BrokerDisconnected("not connected")
        if isinstance(action, act.Raise):
            self.queries.append(act.Call(kind, key, f"raised:{type(action.exc).__name__}"))
            self._raise(action.exc)

    # -- orders -----------------------------------------------------------------------
    async def send(self, order: OrderRequest) -> OrderAck:
        if self.on_send is not None:
            self.on_send(order)
        action = await self._action(self.send_scripts.get(order.client_order_id)
                                    or self.send_script)
        key = order.client_order_id
        self._common(action, "send", key, order.price, order.qty)
        first = self.table.ack_for(key)
        if first is not None:  # idempotent on the client order id
            self.calls.append(act.Call("send", key, "duplicate", order.price, order.qty))
            return first
        if isinstance(action, act.Nack):
            self.calls.append(act.Call("send", key, "nack", order.price, order.qty))
            return OrderAck(key, "", False, self.now_ns(), action.reason)
        record = self.table.place(order, self.now_ns())
        self.placed[key] = self.placed.get(key, 0) + 1
        self.calls.append(act.Call("send", key, "accepted", order.price, order.qty))
        self._track_live()
        if self.after_accept is not None:
            self.after_accept(record.broker_id)
        if isinstance(action, act.AcceptThenHold):
            await action.event.wait()
        if isinstance(action, act.LoseAck):
            self._raise(action.exc)
        return self.table.acks[key]

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        action = await self._action(self.modify_script)
        self._common(action, "modify", broker_order_id, price, qty)
        record = self.table.orders.get(broker_order_id)
        if record is None or not record.live:
            self.calls.append(act.Call("modify", broker_order_id, "not-live", price, qty))
            raise brk.UnknownOrder(broker_order_id)
        new_qty = record.qty if qty is None else qty  # (the order's new total, as KRX's)
        if not record.filled <= new_qty <= record.qty or new_qty <= 0:
            self.calls.append(act.Call("modify", broker_order_id, "rejected", price, qty))
            raise brk.OrderRejected(brk.RejectReason.INVALID_ORDER,
                                    f"qty {new_qty} outside {max(record.filled, 1)}..{record.qty}")
        if new_qty == record.filled:  # reduced to what is filled: the order is done
            record.qty = new_qty
            record.close(brk.OrderState.CANCELLED)
            outcome = "done"
        elif self.replace_on_modify:
            record = self.table.replace(record, price, new_qty - record.filled)
            outcome = f"replaced:{record.broker_id}"
        else:
            record.price, record.qty = price, new_qty
            outcome = "ok"
        self.calls.append(act.Call("modify", broker_order_id, outcome, price, qty))
        if isinstance(action, act.LoseAck):
            self._raise(action.exc)
        return OrderAck(record.request.client_order_id, record.broker_id, True, self.now_ns())

    async def cancel(self, broker_order_id: str) -> bool:
        action = await self._action(self.cancel_script)
        self._common(action, "cancel", broker_order_id)
        record = self.table.orders.get(broker_order_id)
        if record is None:
            self.calls.append(act.Call("cancel", broker_order_id, "unknown"))
            raise brk.UnknownOrder(broker_order_id)
        if isinstance(action, act.FalseAnswer) or not record.live:
            self.calls.append(act.Call("cancel", broker_order_id, "not-live"))
            return False
        record.close(brk.OrderState.CANCELLED)
        self.calls.append(act.Call("cancel", broker_order_id, "ok"))
        if isinstance(action, act.LoseAck):
            self._raise(action.exc)
        return True

    def expire(self, broker_order_id: str) -> None:
        """The broker ends an order on its own (expiry, a cancel by the exchange)."""
        self.table.get(broker_order_id).close(brk.OrderState.EXPIRED)

    async def open_orders(self) -> list[str]:
        if not self._connected:
            raise brk.BrokerDisconnected("not connected")
        return self.table.live_ids()

    async def order_status(self, broker_order_id: str) -> brk.OrderStatus:
        action = await self._action(self.status_script)
        self._query_common(action, "status", broker_order_id)
        status = self.table.status(broker_order_id)
        self.queries.append(act.Call("status", broker_order_id, status.state.value))
        return status

    async def find_order(self, order: OrderRequest) -> brk.OrderStatus | None:
        self._query_common(act.Accept(), "find", order.client_order_id)
        status = self.table.find(order)
        self.queries.append(act.Call("find", order.client_order_id,
                               status.state.value if status else "none"))
        return status

    # -- fills ------------------------------------------------------------------------
    def subscribe_fills(self, callback: brk.FillCallback) -> Callable[[], None]:
        return self.table.subscribe(callback)

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        if not self._connected:
            raise brk.BrokerDisconnected("not connected")
        return self.table.since(seq)

    def make_fill(self, broker_order_id: str, qty: int, price: Decimal | int | None = None,
                  *, event_id: str | None = None, book: bool = True) -> FillEvent:
        """A fill of ``broker_order_id``: booked on the order and journaled when ``book``;
        otherwise only the event (for a fill the broker never made: a forged duplicate)."""
        record = self.table.get(broker_order_id)
        fill_price = Decimal(price) if price is not None else (record.price or Decimal(0))
        self._fill_serial += 1
        event_id = event_id or f"F{self._fill_serial:06d}"
        if book:
            return self.table.fill(record, fill_price, qty, Decimal(0), self.now_ns(),
                                   event_id=event_id)
        req = record.request
        return FillEvent(event_id, broker_order_id, req.symbol, req.side, qty, fill_price,
                         record.filled, max(record.remaining, 0), Decimal(0), self.now_ns())

    def fill(self, broker_order_id: str, qty: int, price: Decimal | int | None = None, *,
             event_id: str | None = None, push: bool = True, times: int = 1) -> FillEvent:
        """Fill ``qty`` of an order, journal it and push it ``times`` times (duplicates);
        ``push=False`` leaves it to be found by polling (a push lost in a gap)."""
        event = self.make_fill(broker_order_id, qty, price, event_id=event_id)
        if push:
            for _ in range(times):
                self.deliver(event)
        return event

    def deliver(self, event: FillEvent) -> None:
        """Push an event to every subscriber (again, for duplicate/reordered delivery)."""
        self.table.push(event)

    def fill_child(self, child_id: str, qty: int | None = None,
                   price: Decimal | int | None = None, **kwargs: object) -> FillEvent:
        """Fill the order now working for child ``child_id`` (all that remains by default)."""
        broker_id = self.current_id(child_id)
        record = self.table.orders[broker_id]
        return self.fill(broker_id, record.remaining if qty is None else qty, price,
                         **kwargs)  # type: ignore[arg-type]

    # -- inspection -------------------------------------------------------------------
    def calls_of(self, kind: str) -> list[act.Call]:
        return [c for c in self.calls if c.kind == kind]

    def live_orders(self) -> list[OrderRecord]:
        return [o for o in self.table.orders.values() if o.live]

    def broker_id(self, child_id: str) -> str:
        """The first order placed for ``child_id``."""
        return self.table.by_client[child_id][0]

    def current_id(self, child_id: str) -> str:
        """The order now working for ``child_id`` (the last of its revise chain)."""
        return self.table.by_client[child_id][-1]

    def filled_qty(self, child_id: str | None = None) -> int:
        """Shares the broker filled, for one child's orders or for all."""
        ids = self.table.by_client[child_id] if child_id else list(self.table.orders)
        return sum(self.table.orders[i].filled for i in ids)

    def assert_no_duplicate_orders(self) -> None:
        """Every child (client order id) was placed at most once, and never had two orders
        live at once (a revise chain is one order)."""
        dupes = {cid: n for cid, n in self.placed.items() if n > 1}
        assert not dupes, f"children placed more than once: {dupes}"
        assert self.max_live_per_child <= 1

    def _track_live(self) -> None:
        per_child: dict[str, int] = {}
        for order in self.table.orders.values():
            if order.live:
                cid = order.request.client_order_id
                per_child[cid] = per_child.get(cid, 0) + 1
        self.max_live_per_child = max([self.max_live_per_child, *per_child.values()])


__all__ = ["OTHER_SYMBOL", "SYMBOL", "ScriptedBroker"]
