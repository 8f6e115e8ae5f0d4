"""Order-level pieces of the simulated exchange: its configuration, the order record and
the checks a new order must pass."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from execution.broker import OrderRejected, RejectReason
from execution.contracts import OrderRequest, PriceType
from execution.sim.faults import FaultConfig
from execution.sim.latency import LatencyProfile
from execution.sim.params import BookParams
from execution.sim.rules import MarketRules
from execution.sim.symbols import SymbolSpec
from execution.ticks import is_on_ladder

if TYPE_CHECKING:
    from execution.market_session import KrxSessions


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that defines a simulated exchange (see SimulatedExchange)."""

    seed: int
    start_ns: int
    time_source: Callable[[], float] = time.monotonic
    ack_latency_ms: float = 1.0
    fill_latency_ms: float = 2.0
    modify_latency_ms: float = 1.0
    latency_jitter: float = 0.0
    fee_bps: Decimal = Decimal("1.5")
    cash_krw: Decimal | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    is_open: Callable[[int], bool] | None = None
    driver_interval_ms: float = 50.0
    book: BookParams = field(default_factory=BookParams)
    latency: LatencyProfile | None = None  # overrides the three *_latency_ms and the jitter
    symbols: Mapping[str, SymbolSpec] | None = None  # default: every symbol in SYMBOLS
    #: the calendar that gives the day's session bounds: with it the exchange runs KRX's
    #: phases (call auctions, continuous matching, VIs); without it, continuous all day
    sessions: KrxSessions | None = None
    rules: MarketRules | None = None  # None: KRX's defaults
    forced_vi: tuple[tuple[int, str], ...] = ()  # (epoch ns, symbol): a VI starts then

    def __post_init__(self) -> None:
        if self.forced_vi and self.sessions is None:
            raise ValueError("a forced VI needs the KRX phases: give sessions (the calendar) "
                             "or no forced_vi")


@dataclass(frozen=True, slots=True)
class Accepted:
    """A new order as it reached the market: when, and the mid just before it traded."""

    ts_ns: int
    broker_order_id: str
    client_order_id: str
    mid: Decimal


def validate_order(order: OrderRequest, spec: SymbolSpec) -> None:
    """Raise :class:`OrderRejected` for an order the exchange would refuse outright."""
    if not order.client_order_id:
        raise OrderRejected(RejectReason.INVALID_ORDER, "empty client_order_id")
    if order.qty <= 0:
        raise OrderRejected(RejectReason.INVALID_ORDER, f"qty {order.qty}")
    if order.display_qty is not None and not 0 < order.display_qty <= order.qty:
        raise OrderRejected(RejectReason.INVALID_ORDER, f"display_qty {order.display_qty}")
    if (order.price_type is PriceType.MARKET) != (order.price is None):
        raise OrderRejected(RejectReason.INVALID_ORDER,
                            "a market order has no price; a limit order needs one")
    if order.price is not None:
        check_price(spec, order.price)


def check_price(spec: SymbolSpec, price: Decimal) -> None:
    """A price must be on the tick ladder and inside the symbol's daily band."""
    if not is_on_ladder(price):
        raise OrderRejected(RejectReason.INVALID_ORDER, f"price {price} is off the tick ladder")
    if not spec.in_band(price):
        raise OrderRejected(RejectReason.PRICE_OUT_OF_BAND,
                            f"price {price} outside {spec.lower_limit}..{spec.upper_limit}")
