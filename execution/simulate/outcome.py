"""What one strategy did with one intent, and the cost figures derived from it.

Implementation shortfall, in bps of the arrival notional ``qty x arrival mid``,
side-signed so that positive is a cost (Perold's decomposition):

- delay:       filled x (mid when the first order reached the market - arrival mid)
- impact:      filled x (average fill price - that mid)
- opportunity: unfilled x (mid at the end of the execution - arrival mid)
- fees:        commissions paid

The four add up to the total. Arrival-price slippage is the average fill
price against the arrival mid, in bps, over the filled part only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from execution.contracts import ExecutionIntent, FillEvent

_BPS = Decimal(10_000)


@dataclass(slots=True)
class Outcome:
    strategy: str  # "engine", "market", "passive"
    index: int
    intent: ExecutionIntent
    final_state: str
    filled_qty: int
    notional: Decimal  # sum of fill price x qty
    fees: Decimal
    arrival_mid: Decimal
    first_mid: Decimal | None  # mid when the first order reached the market
    end_mid: Decimal
    arrival_ns: int
    end_ns: int
    fill_times_s: list[tuple[float, int]] = field(default_factory=list)  # (since arrival, qty)
    codes: list[str] = field(default_factory=list)
    adjust_rounds: int = 0
    escape_reason: str = ""
    reason: str = ""  # why a FAILED or ESCAPED execution ended so
    result_reason: str = ""  # the engine result's reason, whatever the final state
    arrival_price: Decimal | None = None  # the engine's own arrival price (its slippage cap's)
    precheck_failure: str = ""  # the engine's PreCheck failure (a FAILED run's code), if any
    executed_qty: int | None = None  # the engine's quantity: the intent's, or less (GR061)
    split_strategy: str = ""
    market_vwap: Decimal | None = None  # every trade on the tape during the execution
    stage_busy_us: dict[str, float] = field(default_factory=dict)
    exchange_filled_qty: int = 0  # what the exchange's journal says we traded (intent side)
    exchange_position: int = 0  # signed shares the exchange's account holds at the end
    late_fill_qty: int = 0  # traded after the execution reported its result
    open_orders_left: int = 0  # live at the exchange at the end, not reported unconfirmed
    market_events: int = 0  # exogenous market events the simulator applied in this run
    fills: list[FillEvent] = field(default_factory=list)  # the fills counted, with phases
    vi_windows: list[tuple[int, int]] = field(default_factory=list)  # (start, end) ns
    continuous_end_ns: int | None = None  # 15:20 of the day (None: no phases simulated)
    role: str = ""  # the engine's final state's role in the chart (success/escaped/failed)

    @property
    def qty(self) -> int:
        return self.intent.qty

    @property
    def avg_price(self) -> Decimal | None:
        return self.notional / self.filled_qty if self.filled_qty else None

    @property
    def fully_filled(self) -> bool:
        return self.filled_qty >= self.qty

    @property
    def time_to_complete_s(self) -> float | None:
        """Arrival to the last fill, when the intent was fully filled."""
        if not self.fully_filled or not self.fill_times_s:
            return None
        return max(t for t, _ in self.fill_times_s)

    def _bps(self, amount: Decimal) -> float:
        return float(amount * self.intent.side.sign / (self.qty * self.arrival_mid) * _BPS)

    @property
    def slippage_bps(self) -> float | None:
        avg = self.avg_price
        if avg is None:
            return None
        return float((avg - self.arrival_mid) * self.intent.side.sign / self.arrival_mid * _BPS)

    @property
    def vwap_slippage_bps(self) -> float | None:
        avg = self.avg_price
        if avg is None or self.market_vwap is None:
            return None
        return float((avg - self.market_vwap) * self.intent.side.sign / self.market_vwap * _BPS)

    def shortfall(self) -> dict[str, float]:
        """The implementation shortfall and its components, in bps (see the module docstring)."""
        first = self.first_mid if self.first_mid is not None else self.arrival_mid
        filled = Decimal(self.filled_qty)
        delay = self._bps(filled * (first - self.arrival_mid))
        impact = self._bps(self.notional - filled * first)
        opportunity = self._bps((self.qty - filled) * (self.end_mid - self.arrival_mid))
        fees = float(self.fees / (self.qty * self.arrival_mid) * _BPS)
        return {"total": delay + impact + opportunity + fees, "delay": delay, "impact": impact,
                "opportunity": opportunity, "fees": fees}
