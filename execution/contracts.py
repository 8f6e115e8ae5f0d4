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


class PriceType(Enum):
    LIMIT = "limit"
    MARKET = "market"


class ChildStatus(Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"

    @property
    def is_live(self) -> bool:
        return self is ChildStatus.SENT


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

    ``client_order_id`` is stable across retries so that a retried send can
    never create a second order; ``broker_order_id`` is set by the ack.
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
    broker_order_id: str = ""
    filled_qty: int = 0
    display_qty: int | None = None
    reject_reason: str = ""
    after_previous: bool = False  # ICEBERG refill: released when the previous child is done
    original_price: Decimal | None = None  # before any adjustment

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
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
    event_id: str
    order_id: str  # the broker order id
    symbol: str
    side: Side
    filled_qty: int
    price: Decimal
    cumulative_qty: int
    remaining_qty: int
    fee: Decimal
    ts_ns: int

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
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book."""

    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: int
    ask_size: int
    ts_ns: int

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
    """Handed to position listeners (the micro-risk loop) when an execution ends."""

    execution_id: str
    symbol: str
    side: Side
    qty: int
    avg_price: Decimal
    entry_ns: int


@dataclass(frozen=True, slots=True)
class PathStep:
    state: str
    event: str
    at_ns: int


@dataclass(slots=True)
class ExecutionResult:
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
    extra: dict[str, object] = field(default_factory=dict)

    def codes(self) -> list[str]:
        return [alert.code.name for alert in self.alerts]
