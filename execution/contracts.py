"""Value types exchanged between the strategy, the engine and the broker.

Prices and money are :class:`~decimal.Decimal` (KRW); quantities are ints in
shares (KRX lot size 1). Timestamps are ``int`` nanoseconds on the clock of
whoever produced them (the broker's clock for fills and acks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from execution.codes import Alert

# Prices and money beyond this (a quadrillion won) are mistakes, and past it Decimal
# arithmetic at the default precision stops being exact.
MAX_AMOUNT_KRW = Decimal(10) ** 15


class Side(Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buys, -1 for sells: adverse price moves are ``sign * (px - ref) > 0``."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class Urgency(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class MarketPhase(Enum):
    """How a symbol is being matched right now (KRX; ``../shared/spec/krx-market-rules.md``).

    Only ``CONTINUOUS`` matches order by order; the three auctions collect orders and
    match them at one price when they end; ``CLOSED`` takes no matching at all. A
    quote carries its symbol's phase, a fill the phase it was made in.
    """

    PRE_OPEN = "pre_open"
    OPENING_AUCTION = "opening_auction"
    CONTINUOUS = "continuous"
    CLOSING_AUCTION = "closing_auction"
    VI_AUCTION = "vi_auction"
    CLOSED = "closed"

    @property
    def is_auction(self) -> bool:
        return self in (MarketPhase.OPENING_AUCTION, MarketPhase.CLOSING_AUCTION,
                        MarketPhase.VI_AUCTION)


class PriceType(Enum):
    LIMIT = "limit"
    MARKET = "market"


class ChildStatus(Enum):
    """A child order's status. Moves are checked against the table in
    :mod:`execution.orders.status`: an illegal move is logged, never applied."""

    PENDING = "PENDING"                    # not sent yet
    PENDING_SUBMIT = "PENDING_SUBMIT"      # a send is in flight (the ack has not come back)
    ACCEPTED = "ACCEPTED"                  # live at the broker, nothing filled
    PARTIALLY_FILLED = "PARTIALLY_FILLED"  # live at the broker, partly filled
    PENDING_CANCEL = "PENDING_CANCEL"      # a cancel is in flight
    PENDING_REPLACE = "PENDING_REPLACE"    # a re-price is in flight
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"                # ended with a filled quantity the broker confirmed
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"                    # ended by the broker on its own
    UNKNOWN = "UNKNOWN"                    # the broker has not said: listed as unconfirmed

    @property
    def is_live(self) -> bool:
        """Working at the broker (as far as the engine knows)."""
        return self in _LIVE

    @property
    def is_terminal(self) -> bool:
        """Done, and confirmed by the broker (or never sent)."""
        return self in _TERMINAL


_LIVE = frozenset({ChildStatus.ACCEPTED, ChildStatus.PARTIALLY_FILLED,
                   ChildStatus.PENDING_CANCEL, ChildStatus.PENDING_REPLACE})
_TERMINAL = frozenset({ChildStatus.FILLED, ChildStatus.CANCELLED, ChildStatus.REJECTED,
                       ChildStatus.EXPIRED})


class SplitStrategy(Enum):
    AUTO = "auto"
    SINGLE = "single"
    VWAP = "vwap"
    TWAP = "twap"
    ICEBERG = "iceberg"


@dataclass(frozen=True, slots=True)
class ExecutionIntent:
    """What a strategy asks for. The engine decides how, never what.

    Checked when built: an intent that exists can be executed (``qty`` an int > 0, not a
    bool; ``limit_price`` None or a finite positive Decimal; enums, not strings), else
    :class:`InvalidIntent` names the field and nothing reaches the engine."""

    symbol: str
    side: Side
    qty: int
    limit_price: Decimal | None = None
    urgency: Urgency = Urgency.NORMAL
    strategy: SplitStrategy = SplitStrategy.AUTO
    client_intent_id: str = ""

    def __post_init__(self) -> None:
        problems = _intent_problems(self)
        if problems:
            raise InvalidIntent(*problems[0])


class InvalidIntent(ValueError):
    """An :class:`ExecutionIntent` field that cannot be executed; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"invalid intent: {field_name}: {message}")
        self.field = field_name


def _intent_problems(intent: ExecutionIntent) -> list[tuple[str, str]]:
    """(field, message) for each field of ``intent`` that is not what the engine executes."""
    found = []
    qty, price = intent.qty, intent.limit_price
    if not isinstance(intent.symbol, str) or not intent.symbol.strip():
        found.append(("symbol", f"must be a non-empty string, got {intent.symbol!r}"))
    for name, kind in (("side", Side), ("urgency", Urgency), ("strategy", SplitStrategy)):
        value = getattr(intent, name)
        if not isinstance(value, kind):
            choices = ", ".join(f"{kind.__name__}.{m.name}" for m in kind)
            found.append((name, f"must be one of {choices}, got {value!r}"))
    if isinstance(qty, bool) or not isinstance(qty, int):
        found.append(("qty", f"must be an int (shares), got {type(qty).__name__} {qty!r}"))
    elif qty <= 0:
        found.append(("qty", f"must be positive, got {qty}"))
    if price is not None and (not isinstance(price, Decimal) or not price.is_finite()
                              or not 0 < price <= MAX_AMOUNT_KRW):
        found.append(("limit_price", f"must be None or a Decimal in (0, {MAX_AMOUNT_KRW:,}], "
                                     f"got {type(price).__name__} {price!r}"))
    if not isinstance(intent.client_intent_id, str):
        found.append(("client_intent_id", f"must be a string, got {intent.client_intent_id!r}"))
    return found


@dataclass(slots=True)
class ChildOrder:
    """One slice of a parent execution, as sent to the broker.

    ``client_order_id`` is stable across retries so that a retried send can never create
    a second order. ``order_ids`` is the chain of broker order ids: the ack's, then each
    new id a cancel-replace revise answered; ``broker_order_id`` is the one working now.
    ``status`` changes only through :func:`execution.orders.status.move`.
    """

    id: str
    parent_id: str
    sequence: int
    qty: int
    price: Decimal | None
    price_type: PriceType
    scheduled_ns: int
    max_wait_ns: int
    status: ChildStatus = ChildStatus.PENDING
    client_order_id: str = ""
    order_ids: list[str] = field(default_factory=list)
    filled_qty: int = 0
    display_qty: int | None = None
    reject_reason: str = ""
    after_previous: bool = False  # ICEBERG refill: released when the previous child is done
    original_price: Decimal | None = None  # before any adjustment
    live_since_ns: int = 0  # exchange time the broker accepted it (GR064 counts from here)

    @property
    def broker_order_id(self) -> str:
        return self.order_ids[-1] if self.order_ids else ""

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "order_ids": list(self.order_ids),
            "sequence": self.sequence,
            "qty": self.qty,
            "price": str(self.price) if self.price is not None else None,
            "price_type": self.price_type.value,
            "scheduled_ns": self.scheduled_ns,
            "status": self.status.value,
            "filled_qty": self.filled_qty,
            "display_qty": self.display_qty,
        }


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as handed to the broker."""

    client_order_id: str
    symbol: str
    side: Side
    qty: int
    price: Decimal | None
    price_type: PriceType
    display_qty: int | None = None


@dataclass(frozen=True, slots=True)
class OrderAck:
    client_order_id: str
    broker_order_id: str
    accepted: bool
    ts_ns: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FillEvent:
    """One trade on one of our orders, as the broker reports it."""

    event_id: str
    """The broker's id of this report (a duplicate push repeats it)."""
    order_id: str
    """The broker order id."""
    symbol: str
    side: Side
    filled_qty: int
    """Shares traded in this fill."""
    price: Decimal
    cumulative_qty: int
    """The order's filled quantity after this fill (0: the broker did not say)."""
    remaining_qty: int
    fee: Decimal
    ts_ns: int
    """When the trade happened, on the broker's clock."""
    phase: MarketPhase | None = None
    """The phase the trade was made in, when the broker says (the simulator does; KIS
    fill notices do not, so ``None`` there)."""

    def to_json(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "order_id": self.order_id,
            "qty": self.filled_qty,
            "price": str(self.price),
            "cumulative_qty": self.cumulative_qty,
            "remaining_qty": self.remaining_qty,
            "fee": str(self.fee),
            "ts_ns": self.ts_ns,
            "phase": None if self.phase is None else self.phase.value,
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book, with the symbol's matching phase and its price limits.

    In an auction (``phase.is_auction``) ``bid``/``ask`` are the best orders collected
    so far, not prices anyone can trade at until the auction ends (``phase_ends_ns``,
    when known: an auction's end is randomised by up to 30 s). ``lower_limit`` /
    ``upper_limit`` are the day's price limits (base price -/+ 30 %), ``None`` when
    the broker does not say.
    """

    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: int
    ask_size: int
    ts_ns: int
    phase: MarketPhase = MarketPhase.CONTINUOUS
    phase_ends_ns: int | None = None
    lower_limit: Decimal | None = None
    upper_limit: Decimal | None = None

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread_bps(self) -> float:
        return float((self.ask - self.bid) / self.mid * 10_000)

    def touch(self, side: Side) -> Decimal:
        """The price a marketable order of ``side`` would trade at."""
        return self.ask if side is Side.BUY else self.bid


@dataclass(frozen=True, slots=True)
class Position:
    """Handed to position listeners (the micro-risk loop) when an execution ends; a late
    fill hands the execution's position again with a higher ``version`` (it replaces the
    earlier one). ``entry_ns`` is the time of the first fill."""

    execution_id: str
    symbol: str
    side: Side
    qty: int
    avg_price: Decimal
    entry_ns: int
    version: int = 1


@dataclass(frozen=True, slots=True)
class PathStep:
    state: str
    event: str
    at_ns: int


@dataclass(slots=True)
class ExecutionResult:
    """An execution's outcome once settled: every child order confirmed terminal by the
    broker, or listed in ``unconfirmed``. A fill that arrives later amends it: ``version``
    goes up and the totals change (see :class:`Amendment`)."""

    execution_id: str
    intent: ExecutionIntent
    final_state: str
    path: list[PathStep]
    children: list[ChildOrder]
    fills: list[FillEvent]
    filled_qty: int
    avg_price: Decimal | None
    arrival_price: Decimal | None
    slippage_bps: float | None
    alerts: list[Alert]
    stage_latency_us: dict[str, float]
    reason: str = ""
    fees: Decimal = Decimal(0)
    qty: int = 0  # the quantity executed for: the intent's, or less after GR061
    precheck_failure: str | None = None
    adjust_rounds: int = 0
    liquidated_qty: int = 0
    stage_busy_us: dict[str, float] = field(default_factory=dict)
    trace: list[dict[str, object]] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)  # broker/child ids not confirmed
    rejected_fills: list[FillEvent] = field(default_factory=list)
    version: int = 1

    def codes(self) -> list[str]:
        return [alert.code.name for alert in self.alerts]

    def to_json(self) -> dict[str, object]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(value.quantize(Decimal("0.01")))

        intent = self.intent
        return {
            "execution_id": self.execution_id,
            "version": self.version,
            "intent": {"symbol": intent.symbol, "side": intent.side.value, "qty": intent.qty,
                       "limit": str(intent.limit_price) if intent.limit_price else None,
                       "urgency": intent.urgency.value, "strategy": intent.strategy.value},
            "final_state": self.final_state,
            "reason": self.reason,
            "codes": self.codes(),
            "path": [{"state": s.state, "event": s.event, "at_ns": s.at_ns} for s in self.path],
            "trace": self.trace,
            "alerts": [a.to_json() for a in self.alerts],
            "children": [c.to_json() for c in self.children],
            "fills": [f.to_json() for f in self.fills],
            "qty": self.qty,
            "filled_qty": self.filled_qty,
            "liquidated_qty": self.liquidated_qty,
            "unconfirmed": list(self.unconfirmed),
            "rejected_fills": [f.to_json() for f in self.rejected_fills],
            "avg_price": money(self.avg_price),
            "arrival_price": money(self.arrival_price),
            "slippage_bps": None if self.slippage_bps is None else round(self.slippage_bps, 3),
            "fees": money(self.fees),
            "adjust_rounds": self.adjust_rounds,
            "precheck_failure": self.precheck_failure,
            "stage_latency_us": {k: round(v, 1) for k, v in self.stage_latency_us.items()},
            "stage_busy_us": {k: round(v, 1) for k, v in self.stage_busy_us.items()},
        }


@dataclass(frozen=True, slots=True)
class Amendment:
    """A fill that reached an execution after its result was settled: the result's new
    version and totals. Handed to amendment listeners and kept on the execution handle."""

    execution_id: str
    version: int
    fill: FillEvent
    filled_qty: int
    avg_price: Decimal | None
