"""Engine-wide services every execution shares: broker, limits, sessions, bus, ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from execution.broker import Broker
from execution.bus import EventBus
from execution.context import SafetyState
from execution.contracts import Position, Side
from execution.market_session import KrxSessions
from execution.router import OrderRouter
from execution.settings import EngineLimits
from execution.volume_profile import VolumeProfile

PositionListener = Callable[[Position], None]


@dataclass(slots=True)
class TradeLedger:
    """What PreCheck needs across executions: trades per KRX day, live intents, positions."""

    trades_per_day: Counter[date] = field(default_factory=Counter)
    live: Counter[tuple[str, Side]] = field(default_factory=Counter)
    positions: Counter[str] = field(default_factory=Counter)

    def count_trade(self, day: date) -> None:
        self.trades_per_day[day] += 1

    def apply_fill(self, symbol: str, side: Side, qty: int) -> None:
        self.positions[symbol] += side.sign * qty


@dataclass(slots=True)
class Services:
    broker: Broker
    limits: EngineLimits
    sessions: KrxSessions
    bus: EventBus
    profile: VolumeProfile
    ledger: TradeLedger = field(default_factory=TradeLedger)
    safety_state: SafetyState = SafetyState.NORMAL
    capital_krw: Decimal | None = None
    position_listeners: list[PositionListener] = field(default_factory=list)
    router: OrderRouter = field(default_factory=OrderRouter)

    def now_ns(self) -> int:
        return self.broker.now_ns()

    def available_capital(self) -> Decimal | None:
        """The smaller of the engine's capital budget and the broker's available cash."""
        broker_cash = getattr(self.broker, "available_cash", None)
        cash = broker_cash() if callable(broker_cash) else None
        budgets = [b for b in (self.capital_krw, cash) if b is not None]
        return min(budgets) if budgets else None
