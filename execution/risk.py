"""Pre-trade risk across executions: what is used, and what live executions have claimed.

PreCheck runs synchronously on the engine's one event loop, so checking a limit and
claiming against it is one atomic step: two intents submitted together can never both
pass a limit only one of them fits. Each execution claims, at PreCheck:

- one of the day's trades (GR062), until its first order is placed (then it is *used*);
- room under the position cap, signed, for its quantity not yet filled;
- capital for that quantity at the worst price it may reach (the slippage maximum,
  or its limit) plus fees.

Settlement releases the claim; what was filled stays, as used trades, positions and
spent cash.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from execution.contracts import Side

_BPS = Decimal(10_000)


@dataclass(slots=True)
class Claim:
    """What one live execution may still consume."""

    execution_id: str
    symbol: str
    side: Side
    qty: int
    cost_per_share: Decimal  # worst price plus fees
    day: date
    filled: Callable[[], int]  # the execution's filled quantity, read live
    at_broker: Callable[[], Decimal]  # what its live buy orders hold at the broker
    trade_used: bool = False

    @property
    def remaining(self) -> int:
        return max(self.qty - self.filled(), 0)

    @property
    def capital(self) -> Decimal:
        return self.cost_per_share * self.remaining if self.side is Side.BUY else Decimal(0)


@dataclass(slots=True)
class RiskBook:
    """Trades per KRX day, positions, cash spent, live intents and their claims."""

    trades_per_day: Counter[date] = field(default_factory=Counter)
    live: Counter[tuple[str, Side]] = field(default_factory=Counter)
    positions: Counter[str] = field(default_factory=Counter)
    spent_krw: Decimal = Decimal(0)  # cash used by fills: buys and fees, less sales
    claims: dict[str, Claim] = field(default_factory=dict)

    # -- what is used -----------------------------------------------------------------
    def count_trade(self, day: date, execution_id: str = "") -> None:
        """An execution placed its first order: its claimed trade is now used."""
        self.trades_per_day[day] += 1
        claim = self.claims.get(execution_id)
        if claim is not None:
            claim.trade_used = True

    def apply_fill(self, symbol: str, side: Side, qty: int, price: Decimal = Decimal(0),
                   fee: Decimal = Decimal(0)) -> None:
        self.positions[symbol] += side.sign * qty
        self.spent_krw += side.sign * price * qty + fee

    # -- what live executions claim -----------------------------------------------------
    def trades_claimed(self, day: date) -> int:
        """The day's trades used, plus those claimed by live executions not yet trading."""
        pending = sum(1 for c in self.claims.values() if c.day == day and not c.trade_used)
        return self.trades_per_day[day] + pending

    def position_claimed(self, symbol: str) -> int:
        """The signed position if every live execution on ``symbol`` filled completely."""
        pending = sum(c.side.sign * c.remaining for c in self.claims.values()
                      if c.symbol == symbol)
        return self.positions[symbol] + pending

    def capital_claimed(self) -> Decimal:
        return sum((c.capital for c in self.claims.values()), Decimal(0))

    def capital_claimed_beyond_broker(self) -> Decimal:
        """Claims not yet held by the broker's own reservation of live buy orders."""
        return sum((max(c.capital - c.at_broker(), Decimal(0)) for c in self.claims.values()),
                   Decimal(0))

    def claim(self, claim: Claim) -> None:
        self.claims[claim.execution_id] = claim

    def release(self, execution_id: str) -> None:
        self.claims.pop(execution_id, None)


def cost_per_share(side: Side, arrival: Decimal, limit: Decimal | None, slippage_max_bps: Decimal,
                   fee_bps: Decimal) -> Decimal:
    """The most one share may cost a buy: the worst price the execution may reach (no order
    is ever priced beyond the slippage maximum, nor beyond the limit), plus fees."""
    worst = arrival * (1 + slippage_max_bps / _BPS) if side is Side.BUY else arrival
    if limit is not None and side is Side.BUY:
        worst = min(worst, limit)
    return worst * (1 + fee_bps / _BPS)
