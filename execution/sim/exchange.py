"""A simulated KRX exchange behind the :class:`~execution.broker.Broker` protocol.

Deterministic for a seed when driven by a virtual clock: every random draw
comes from a ``random.Random`` per component seeded from ``SimConfig.seed``,
and the only clock is ``time_source`` (pass ``loop.time`` of a virtual-time
loop). The market evolves lazily whenever the exchange is touched; ``start()``
adds a background driver that also advances it whenever one of our resting
orders may trade (each book knows when), so fills happen on time even when
nobody looks.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from execution.broker import (
    BrokerDisconnected,
    FillCallback,
    OrderRejected,
    OrderState,
    OrderStatus,
    RejectReason,
    UnknownOrder,
)
from execution.brokers.table import OrderRecord, OrderTable
from execution.contracts import FillEvent, MarketPhase, OrderAck, OrderRequest, Quote, Side
from execution.sim.account import AccountView, Ledger
from execution.sim.book import BookDepth, OrderBook
from execution.sim.delivery import FillDelivery
from execution.sim.driver import Driver
from execution.sim.faults import FaultConfig
from execution.sim.latency import LatencyModel, LatencyProfile
from execution.sim.link import Link
from execution.sim.matching import Matching
from execution.sim.orders import Accepted, SimConfig, check_price, validate_order
from execution.sim.params import BookParams
from execution.sim.rules import MarketRules
from execution.sim.sessions import SymbolSession, make_sessions
from execution.sim.symbols import SYMBOLS, SymbolSpec

if TYPE_CHECKING:
    from execution.market_session import KrxSessions


class SimulatedExchange(Matching, Driver, AccountView, Link):
    """Order books for the listed symbols, matching, fills, faults and an account.

    Semantics worth knowing on the engine side:

    - a zero latency never suspends (no ``asyncio.sleep`` at all); fills are
      still pushed on a later loop turn, never inside ``send``/``modify``, so
      the ack is always seen first;
    - a market order (``PriceType.MARKET``, price None) walks the book and its
      unfilled rest is cancelled (the ack's ``reason`` says so); a price on a
      market order, or none on a limit order, is INVALID_ORDER, as is an
      off-tick price; outside the ±30 % daily band is PRICE_OUT_OF_BAND;
    - each disconnect episode drops the session right after an order was
      accepted (the ack is lost); until ``connect()`` every call raises
      BrokerDisconnected and pushes are dropped: recover with ``fills_since``;
    - ``modify`` with an unchanged price and a smaller qty keeps queue
      priority; a new price goes to the back of the new level (or trades).
    """

    def __init__(
        self,
        *,
        seed: int,
        start_ns: int,
        time_source: Callable[[], float] = time.monotonic,
        ack_latency_ms: float = 1.0,
        fill_latency_ms: float = 2.0,
        modify_latency_ms: float = 1.0,
        latency_jitter: float = 0.0,
        fee_bps: Decimal = Decimal("1.5"),
        cash_krw: Decimal | None = None,
        faults: FaultConfig | None = None,
        is_open: Callable[[int], bool] | None = None,
        driver_interval_ms: float = 50.0,
        book: BookParams | None = None,
        latency: LatencyProfile | None = None,
        symbols: Mapping[str, SymbolSpec] | None = None,
        sessions: KrxSessions | None = None,
        rules: MarketRules | None = None,
        forced_vi: tuple[tuple[int, str], ...] = (),
    ) -> None:
        cfg = SimConfig(
            seed=seed,
            start_ns=start_ns,
            time_source=time_source,
            ack_latency_ms=ack_latency_ms,
            fill_latency_ms=fill_latency_ms,
            modify_latency_ms=modify_latency_ms,
            latency_jitter=latency_jitter,
            fee_bps=fee_bps,
            cash_krw=cash_krw,
            faults=faults or FaultConfig(),
            is_open=is_open,
            driver_interval_ms=driver_interval_ms,
            book=book or BookParams(),
            latency=latency,
            symbols=symbols,
            sessions=sessions,
            rules=rules,
            forced_vi=forced_vi,
        )
        self.config = cfg
        self._t0 = cfg.time_source()
        self._specs = dict(cfg.symbols if cfg.symbols is not None else SYMBOLS)
        self._books = {
            code: OrderBook(spec, random.Random(f"{seed}/book/{code}"), cfg.start_ns, cfg.book)
            for code, spec in self._specs.items()
        }
        self.latency = cfg.latency or LatencyProfile(
            LatencyModel.legacy(cfg.ack_latency_ms, cfg.latency_jitter),
            LatencyModel.legacy(cfg.modify_latency_ms, cfg.latency_jitter),
            LatencyModel.legacy(cfg.fill_latency_ms, cfg.latency_jitter),
        )
        self._fault_rng = random.Random(f"{seed}/faults")
        self._entry_rng = random.Random(f"{seed}/latency/entry")
        self._modify_rng = random.Random(f"{seed}/latency/modify")
        self.accepted: list[Accepted] = []
        self._drop_after: set[int] = set()
        at = 0
        for _ in range(cfg.faults.disconnects):
            at += self._fault_rng.randint(2, 6)
            self._drop_after.add(at)
        self._connected = True
        self._table = OrderTable(id_prefix="SIM-", fill_prefix="FILL-")
        self._orders = self._table.orders
        self._delivery = FillDelivery(
            random.Random(f"{seed}/delivery"),
            self.latency.fill,
            cfg.faults,
            self._link_up,
            self._table.subscribers,
        )
        self._ledger = Ledger(cfg.cash_krw)
        self._ledgers = {"": self._ledger}
        self._parties: dict[str, str] = {}
        self._driver: asyncio.Task[None] | None = None
        self._drive_loop: asyncio.AbstractEventLoop | None = None
        self._drive_timer: asyncio.TimerHandle | None = None
        self._sessions = make_sessions(cfg, self._specs)
        for code in self._books:
            self._open_session(code, cfg.start_ns)

    @classmethod
    def from_config(cls, config: SimConfig) -> SimulatedExchange:
        kwargs: dict[str, Any] = {f.name: getattr(config, f.name) for f in fields(config)}
        return cls(**kwargs)

    def now_ns(self) -> int:
        return self.config.start_ns + int((self.config.time_source() - self._t0) * 1e9)

    # ----------------------------------------------------------- market data

    def knows_symbol(self, symbol: str) -> bool:
        return symbol in self._books

    def quote(self, symbol: str) -> Quote:
        book = self._book(symbol)
        now = self._sync(symbol)
        bid, bid_size, ask, ask_size = book.top()
        session = self._sessions[symbol]
        spec = book.spec
        return Quote(symbol, bid, ask, bid_size, ask_size, now, session.phase,
                     session.nominal_end_ns, spec.lower_limit, spec.upper_limit)

    def vi_windows(self, symbol: str) -> list[tuple[int, int]]:
        """(start, end) of every VI of ``symbol`` so far (an observer's view)."""
        return list(self._book_session(symbol).vi_windows)

    def continuous_end_ns(self, symbol: str) -> int | None:
        """When continuous matching of ``symbol`` ends today (15:20), if phases are on."""
        return self._book_session(symbol).continuous_end_ns()

    def _book_session(self, symbol: str) -> SymbolSession:
        self._book(symbol)
        return self._sessions[symbol]

    def depth(self, symbol: str, levels: int = 5) -> BookDepth:
        """The best ``levels`` L2 levels per side; sizes include our resting orders."""
        book = self._book(symbol)
        self._sync(symbol)
        return book.depth(levels)

    def spec(self, symbol: str) -> SymbolSpec:
        return self._book(symbol).spec

    def book(self, symbol: str) -> OrderBook:
        """The live order book of ``symbol`` (advanced to now); for observers, not for trading."""
        book = self._book(symbol)
        self._sync(symbol)
        return book

    # ---------------------------------------------------------------- orders

    async def send(self, order: OrderRequest, *, party: str = "") -> OrderAck:
        """Place ``order``; ``party`` is the account it is sent for on a shared market (see
        :class:`~execution.sim.account.AccountView`)."""
        self._require_connected()
        extra = 0.0
        faults = self.config.faults
        if faults.slow_ack_rate > 0 and self._fault_rng.random() < faults.slow_ack_rate:
            extra = faults.slow_ack_ms
        await self._delay(self.latency.entry, self._entry_rng, extra)
        self._require_connected()
        first = self._table.ack_for(order.client_order_id)
        if first is not None:
            return first
        now = self._sync(order.symbol)
        self._validate(order, now, party)
        rate = self.config.faults.reject_rate
        if rate > 0 and self._fault_rng.random() < rate:
            raise OrderRejected(RejectReason.OTHER, "simulated reject")
        mid = self._books[order.symbol].mid()
        if party:
            self._parties[order.client_order_id] = party
        record = self._table.place(order, now)
        broker_id = record.broker_id
        self.accepted.append(Accepted(now, broker_id, order.client_order_id, mid))
        reason = self._execute(record, now)
        ack = OrderAck(order.client_order_id, broker_id, True, now, reason)
        self._table.acks[order.client_order_id] = ack
        if len(self.accepted) in self._drop_after:
            self._connected = False
            raise BrokerDisconnected(f"connection dropped after accepting {broker_id}")
        self._maybe_lose_answer(f"send {broker_id}")
        return ack

    async def modify(
        self, broker_order_id: str, price: Decimal | None, qty: int | None
    ) -> OrderAck:
        order, now = await self._order_to_change(broker_order_id)
        new_qty = order.qty if qty is None else qty
        if not order.filled <= new_qty <= order.qty or new_qty <= 0:
            raise OrderRejected(
                RejectReason.INVALID_ORDER,
                f"qty {new_qty} outside {max(order.filled, 1)}..{order.qty}",
            )
        spec = self._specs[order.request.symbol]
        if price is not None:
            check_price(spec, price)
        party = self._party(order)
        if order.request.side is Side.BUY and self._ledger_of(party).cash is not None:
            need = (price or self._books[spec.code].top()[2]) * (new_qty - order.filled)
            held = (order.price or Decimal(0)) * order.remaining
            self._check_cash(need - held, party)
        if new_qty == order.filled:
            self._withdraw(order)
            order.qty = new_qty
            order.close(OrderState.CANCELLED)
            reason = "reduced to the filled qty; order done"
        elif price == order.price:
            self._reduce(order, new_qty - order.filled)  # keeps time priority
            order.qty = new_qty
            reason = ""
        elif self.config.faults.replace_on_modify:  # cancel-replace: a new order id
            self._withdraw(order)
            order = self._table.replace(order, price, new_qty - order.filled)
            reason = self._execute(order, now)
        else:
            self._withdraw(order)  # re-priced: back of the queue, may trade now
            order.qty, order.price = new_qty, price
            reason = self._execute(order, now)
        self._maybe_lose_answer(f"modify {broker_order_id}")
        return OrderAck(order.request.client_order_id, order.broker_id, True, now, reason)

    async def replace(self, broker_order_id: str, price: Decimal | None,
                      qty: int | None = None) -> OrderAck:
        """Cancel-replace (a KRX revise): what is left of the order moves, as a *new* order
        of ``qty`` shares (default: all that is left) at ``price`` (None: market), to the
        back of its new level (or trades now); the old order ends REPLACED. Rejected
        without touching the old order when the new one would be refused."""
        order, now = await self._order_to_change(broker_order_id)
        rest = order.remaining if qty is None else qty
        if not 0 < rest <= order.remaining:
            raise OrderRejected(RejectReason.INVALID_ORDER,
                                f"qty {rest} outside 1..{order.remaining}")
        spec = self._specs[order.request.symbol]
        if price is not None:
            check_price(spec, price)
        party = self._party(order)
        if order.request.side is Side.BUY and self._ledger_of(party).cash is not None:
            held = (order.price or Decimal(0)) * order.remaining
            self._check_cash((price or self._books[spec.code].top()[2]) * rest - held, party)
        self._withdraw(order)
        order.qty = order.filled  # the old order ends with what it filled; the rest moved
        new = self._table.replace(order, price, rest)
        reason = self._execute(new, now)
        return OrderAck(order.request.client_order_id, new.broker_id, True, now, reason)

    async def cancel(self, broker_order_id: str) -> bool:
        self._require_connected()
        order = self._table.get(broker_order_id)
        await self._delay(self.latency.modify, self._modify_rng)
        self._require_connected()
        self._sync()
        if not order.live:
            return False
        self._withdraw(order)
        order.close(OrderState.CANCELLED)
        self._maybe_lose_answer(f"cancel {broker_order_id}")
        return True

    async def open_orders(self) -> list[str]:
        self._require_connected()
        self._sync()
        return self._table.live_ids()

    async def order_status(self, broker_order_id: str) -> OrderStatus:
        self._require_connected()
        self._sync()
        return self._table.status(broker_order_id)

    async def find_order(self, order: OrderRequest) -> OrderStatus | None:
        self._require_connected()
        self._sync()
        return self._table.find(order)

    def queue_ahead(self, broker_order_id: str) -> int | None:
        """Shares ahead of a resting order at its level (None when not resting)."""
        order = self._table.get(broker_order_id)
        return self._books[order.request.symbol].queue_ahead(broker_order_id)

    # ----------------------------------------------------------------- fills

    def subscribe_fills(self, callback: FillCallback) -> Callable[[], None]:
        return self._table.subscribe(callback)

    @property
    def journal(self) -> tuple[FillEvent, ...]:
        """Every fill so far, in order (an observer's view: no connection needed)."""
        return tuple(self._table.journal)

    def records(self, party: str | None = None) -> list[OrderStatus]:
        """Every order's status, or ``party``'s orders' (an observer's view: no connection
        needed)."""
        return [record.status() for record in self._orders.values()
                if party is None or self._party(record) == party]

    async def fills_since(self, seq: int) -> tuple[list[FillEvent], int]:
        self._require_connected()
        self._sync()
        return self._table.since(seq)

    # ------------------------------------------------------------- internals

    def _book(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, symbol)
        return book

    async def _order_to_change(self, broker_order_id: str) -> tuple[OrderRecord, int]:
        """A live order a modify or replace may change, after the modify latency, and now."""
        self._require_connected()
        order = self._table.get(broker_order_id)
        await self._delay(self.latency.modify, self._modify_rng)
        self._require_connected()
        now = self._sync()
        if not order.live:
            raise UnknownOrder(f"{broker_order_id} is no longer live")
        self._check_open(now, order.request.symbol)
        return order, now

    def _check_open(self, now: int, symbol: str) -> None:
        phase = self._sessions[symbol].phase
        if phase in (MarketPhase.PRE_OPEN, MarketPhase.CLOSED):
            raise OrderRejected(RejectReason.MARKET_CLOSED, f"{symbol} is {phase.value} at {now}")
        if self.config.is_open is not None and not self.config.is_open(now):
            raise OrderRejected(RejectReason.MARKET_CLOSED, f"closed at {now}")

    def _validate(self, order: OrderRequest, now: int, party: str = "") -> None:
        book = self._book(order.symbol)
        self._check_open(now, order.symbol)
        validate_order(order, book.spec)
        if order.side is Side.BUY:
            self._check_cash((order.price or book.top()[2]) * order.qty, party)
