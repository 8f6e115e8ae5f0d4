"""Crashing an engine inside one process, for fast recovery tests (the SIGKILL tests in
``tests/scenarios/test_kill_recovery.py`` run the engine in a process of its own).

A crash is two cuts, at the same instant: the journal's store stops writing (what the
engine buffered is lost, as a killed process loses it; the file and its lock are let
go), and the broker proxy the engine talks through goes dead (every call fails as a
dropped connection, no fill reaches it). The exchange behind the proxy lives on, with
whatever the engine left working there, for the next engine to recover.

>>> store, broker = CrashableStore(SqliteStore(path)), Severable(exchange)  # doctest: +SKIP
>>> engine = Engine(broker, journal=DurableJournal(store))                   # doctest: +SKIP
>>> crash(store, broker)                                                     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from execution.broker import Broker, BrokerDisconnected, FillCallback, OrderStatus
from execution.contracts import FillEvent, OrderAck, OrderRequest, Quote
from execution.journal.api import JournalError
from execution.journal.rows import Batch, EventRow, ExecutionRow, JournalStore


class CrashableStore:
    """A :class:`JournalStore` that can be cut off, optionally at a chosen write:
    ``crash_at(n)`` makes the n-th write from now the one that never happens (with
    ``after=True``: it happens, and the crash follows it)."""

    def __init__(self, inner: JournalStore) -> None:
        self.inner = inner
        self.dead = False
        self.writes = 0
        self.on_crash: Callable[[], None] | None = None
        self._crash_at: tuple[int, bool] | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    def crash_at(self, write: int, *, after: bool = False) -> None:
        self._crash_at = (self.writes + write, after)

    def crash(self) -> None:
        if not self.dead:
            self.dead = True
            self.inner.close()
            if self.on_crash is not None:
                self.on_crash()

    def _alive(self) -> None:
        if self.dead:
            raise JournalError(f"journal {self.name}: the process is gone (test crash)")

    def begin_session(self, info: Mapping[str, Any], wall_ns: int) -> int:
        self._alive()
        return self.inner.begin_session(info, wall_ns)

    def write(self, batch: Batch) -> None:
        self._alive()
        self.writes += 1
        target = self._crash_at
        if target is not None and self.writes == target[0]:
            if target[1]:
                self.inner.write(batch)
            self.crash()
            self._alive()
        self.inner.write(batch)

    def end_session(self, session: int, wall_ns: int) -> None:
        self._alive()
        self.inner.end_session(session, wall_ns)

    def unrecorded(self, current: int | None) -> list[EventRow]:
        self._alive()
        return self.inner.unrecorded(current)

    def end_crashed(self, current: int, wall_ns: int) -> None:
        self._alive()
        self.inner.end_crashed(current, wall_ns)

    def has_execution(self, execution_id: str) -> bool:
        self._alive()
        return self.inner.has_execution(execution_id)

    def executions(self, *, unsettled: bool = False, day: str | None = None,
                   ids: Sequence[str] = ()) -> list[ExecutionRow]:
        self._alive()
        return self.inner.executions(unsettled=unsettled, day=day, ids=ids)

    def events(self, execution_id: str | None = None, kinds: Sequence[str] = ()) -> list[EventRow]:
        self._alive()
        return self.inner.events(execution_id, kinds)

    def events_of_day(self, day: str, kinds: Sequence[str]) -> list[tuple[ExecutionRow, EventRow]]:
        self._alive()
        return self.inner.events_of_day(day, kinds)

    def last_seq(self) -> int:
        self._alive()
        return self.inner.last_seq()

    def close(self) -> None:
        if not self.dead:
            self.inner.close()


class Severable:
    """A broker proxy whose connection can be cut for good (:meth:`sever`)."""

    def __init__(self, inner: Broker) -> None:
        self.inner = inner
        self.severed = False
        self._callbacks: list[FillCallback] = []

    def sever(self) -> None:
        self.severed = True

    def _up(self) -> None:
        if self.severed:
            raise BrokerDisconnected("the engine process is gone (test crash)")

    def __getattr__(self, name: str) -> Any:  # the exchange's extras (available_cash, ...)
        return getattr(self.inner, name)

    @property
    def connected(self) -> bool:
        return not self.severed and self.inner.connected

    async def connect(self) -> bool:
        return not self.severed and await self.inner.connect()

    def now_ns(self) -> int:
        return self.inner.now_ns()

    def knows_symbol(self, symbol: str) -> bool:
        return self.inner.knows_symbol(symbol)

    def quote(self, symbol: str) -> Quote:
        return self.inner.quote(symbol)

    async def send(self, order: OrderRequest) -> OrderAck:
        self._up()
        return await self.inner.send(order)

    async def modify(self, broker_order_id: str, price: Decimal | None,
                     qty: int | None) -> OrderAck:
        self._up()
        return await self.inner.modify(broker_order_id, price, qty)

    async def cancel(self, broker_order_id: str) -> bool:
        self._up()
        return await self.inner.cancel(broker_order_id)

    async def order_status(self, broker_order_id: str) -> OrderStatus:
        self._up()
        return await self.inner.order_status(broker_order_id)

    async def find_order(self, order: OrderRequest) -> OrderStatus | None:
        self._up()
        return await self.inner.find_order(order)

    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        def relay(fill: FillEvent) -> None:
            if not self.severed:
                callback(fill)

        return self.inner.subscribe_fills(relay)

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        self._up()
        return await self.inner.fills_since(seq)

    async def open_orders(self) -> list[str]:
        self._up()
        return await self.inner.open_orders()


def crash(store: CrashableStore, broker: Severable) -> None:
    """Both cuts at once: the engine behind them is now as good as killed."""
    store.crash()
    broker.sever()
