"""The engine's limits as one frozen value, read once from ``config/limits.yaml``.

Nothing on the per-intent path reads YAML: the engine is built with an
:class:`EngineLimits` and the stage timeouts resolved against the chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from execution import paths
from execution.contracts import Urgency
from execution.limits_rules import limit_problems
from execution.split import SplitParams
from statecharts.errors import DocumentInvalid
from statecharts.limits import Limits, load_limits
from statecharts.spec import ChartSpec


@dataclass(frozen=True, slots=True)
class EngineLimits:
    position_cap_shares: int = 10_000
    daily_trade_limit: int = 100
    max_spread_bps: float = 50
    max_notional_krw: Decimal = Decimal(500_000_000)
    reconnect_attempts: int = 1
    split: SplitParams = field(default_factory=SplitParams)
    send_max_attempts: int = 3
    retry_backoff_ms: float = 100
    retry_backoff: str = "fixed"  # or "exponential": the wait before retry n is ms x 2^(n-1)
    fill_poll_interval_ms: float = 100
    adjust_interval_ms: float = 1000
    fill_delay_warning_ms: float = 5000
    max_rounds: int = 3
    first_round_pct: Mapping[Urgency, float] = field(default_factory=lambda: {
        Urgency.LOW: 70.0, Urgency.NORMAL: 50.0, Urgency.HIGH: 0.0})
    last_round_pct: Mapping[Urgency, float] = field(default_factory=lambda: {
        Urgency.LOW: 90.0, Urgency.NORMAL: 90.0, Urgency.HIGH: 0.0})
    step_pct: Decimal = Decimal("0.1")
    max_price_move_pct: Decimal = Decimal("0.5")
    slippage_warning_bps: Decimal = Decimal(30)
    slippage_max_bps: Decimal = Decimal(50)
    liquidate_on_escape: bool = False
    cancel_confirm_timeout_ms: float = 2000
    p0_queue_capacity: int = 100
    fee_bps: Decimal = Decimal("1.5")  # commission estimate in capital claims
    self_trade_policy: str = "refuse"  # or "cancel_resting" (GR065)
    wide_tick_bps: Decimal = Decimal(10)  # GR069: tick-aware re-pricing
    queue_wait_max_pct_left: float = 40.0
    queue_wait_max_ahead_x: float = 200.0
    queue_clear_min_pct_left: float = 10.0  # GR069 wait_clearing; 0: off
    high_urgency_joins_wide_tick: bool = False
    high_passive_max_ms: float = 0.0  # HIGH rests at the near touch this long, then crosses
    high_passive_max_pct: float = 5.0  # ...and never longer than this % of the fill timeout
    closing_auction: str = "refuse"  # or "join" (GR066)
    min_time_left_ms: float = 10_000
    end_margin_ms: float = 2_000
    auction_grace_ms: float = 60_000
    auction_policy: str = "keep"  # or "shrink": working orders in an auction / VI (GR067)
    auction_keep_pct: float = 50.0  # shrink: % of each child's unfilled rest left resting
    raw: Limits | None = field(default=None, compare=False, repr=False)

    def with_(self, **changes: Any) -> EngineLimits:
        return replace(self, **changes)

    def round_due_ms(self, urgency: Urgency, round_number: int, fill_timeout_ms: float) -> float:
        """When adjust round ``round_number`` (1-based) may come, in ms after the first send:
        evenly from the urgency's first to its last round, at least one interval apart."""
        first, last = self.first_round_pct[urgency], self.last_round_pct[urgency]
        span = (last - first) * (round_number - 1) / max(self.max_rounds - 1, 1)
        scheduled = (first + max(span, 0.0)) / 100 * fill_timeout_ms
        due = max(scheduled, round_number * self.adjust_interval_ms)
        if urgency is Urgency.HIGH and self.high_passive:
            # HIGH's passive wait, then one round an interval (the first is its cross)
            wait = self.high_passive_wait_ms(fill_timeout_ms)
            due = max(scheduled, wait + (round_number - 1) * self.adjust_interval_ms)
        return due

    @property
    def high_join_wide_tick_bps(self) -> Decimal | None:
        """The tick (bps) from which HIGH urgency joins a one-tick spread (None: it never
        does; ``adjust.high_urgency_joins_wide_tick``)."""
        return self.wide_tick_bps if self.high_urgency_joins_wide_tick else None

    @property
    def high_passive(self) -> bool:
        """Does HIGH urgency rest at the near touch for a bounded wait before crossing?"""
        return self.high_passive_max_ms > 0 and self.high_passive_max_pct > 0

    def high_passive_wait_ms(self, fill_timeout_ms: float) -> float:
        """HIGH urgency's passive wait: ``high_passive_max_ms``, and never more than
        ``high_passive_max_pct`` % of the fill timeout."""
        return min(self.high_passive_max_ms, self.high_passive_max_pct / 100 * fill_timeout_ms)

    def retry_wait_ms(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1-based), per the backoff policy."""
        if self.retry_backoff == "exponential":
            return float(self.retry_backoff_ms * 2 ** (attempt - 1))
        return self.retry_backoff_ms

    def stage_timeouts_ms(self, spec: ChartSpec) -> dict[str, float]:
        """State -> timeout in ms, resolved from the limit keys the chart names."""
        if self.raw is None:
            return {}
        return {s.name: float(self.raw.get(s.timeout.after)) for s in spec.states if s.timeout}


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _optional(limits: Limits, key: str, default: Any) -> Any:
    """A key the limits file may leave out (added after version 1 files were written)."""
    return limits.get(key) if key in set(limits.keys()) else default


def _per_urgency(section: Mapping[str, Any]) -> dict[Urgency, float]:
    return {Urgency(key): float(value) for key, value in section.items()}


def from_limits(limits: Limits) -> EngineLimits:
    g = limits.get
    return EngineLimits(
        position_cap_shares=g("precheck.position_cap_shares"),
        daily_trade_limit=g("precheck.daily_trade_limit"),
        max_spread_bps=g("precheck.max_spread_bps"),
        max_notional_krw=_dec(g("precheck.max_notional_krw")),
        reconnect_attempts=g("precheck.reconnect_attempts"),
        split=SplitParams.from_mapping(g("split")),
        send_max_attempts=g("send.max_attempts"),
        retry_backoff_ms=g("send.retry_backoff_ms"),
        retry_backoff=_optional(limits, "send.retry_backoff", "fixed"),
        fill_poll_interval_ms=g("monitor.fill_poll_interval_ms"),
        adjust_interval_ms=g("monitor.adjust_interval_ms"),
        fill_delay_warning_ms=g("monitor.fill_delay_warning_ms"),
        max_rounds=g("adjust.max_rounds"),
        first_round_pct=_per_urgency(g("adjust.first_round_pct_of_timeout")),
        last_round_pct=_per_urgency(g("adjust.last_round_pct_of_timeout")),
        step_pct=_dec(g("adjust.step_pct")),
        max_price_move_pct=_dec(g("adjust.max_price_move_pct")),
        slippage_warning_bps=_dec(g("adjust.slippage_warning_bps")),
        slippage_max_bps=_dec(g("adjust.slippage_max_bps")),
        liquidate_on_escape=g("escape.liquidate_on_escape"),
        cancel_confirm_timeout_ms=g("escape.cancel_confirm_timeout_ms"),
        p0_queue_capacity=g("bus.p0_queue_capacity"),
        fee_bps=_dec(_optional(limits, "precheck.fee_bps", "1.5")),
        self_trade_policy=_optional(limits, "precheck.self_trade", "refuse"),
        wide_tick_bps=_dec(_optional(limits, "adjust.wide_tick_bps", 10)),
        queue_wait_max_pct_left=_optional(limits, "adjust.queue_wait_max_pct_left", 40.0),
        queue_wait_max_ahead_x=_optional(limits, "adjust.queue_wait_max_ahead_x", 200.0),
        queue_clear_min_pct_left=_optional(limits, "adjust.queue_clear_min_pct_left", 10.0),
        high_urgency_joins_wide_tick=_optional(limits, "adjust.high_urgency_joins_wide_tick",
                                               False),
        high_passive_max_ms=_optional(limits, "adjust.high_passive_max_ms", 0.0),
        high_passive_max_pct=_optional(limits, "adjust.high_passive_max_pct_of_timeout", 5.0),
        closing_auction=_optional(limits, "session.closing_auction", "refuse"),
        min_time_left_ms=_optional(limits, "session.min_time_left_ms", 10_000),
        end_margin_ms=_optional(limits, "session.end_margin_ms", 2_000),
        auction_grace_ms=_optional(limits, "session.auction_grace_ms", 60_000),
        auction_policy=_optional(limits, "session.auction_policy", "keep"),
        auction_keep_pct=float(_optional(limits, "session.auction_keep_pct", 50.0)),
        raw=limits,
    )


def read_limits(path: Path | str | None = None, text: str | None = None) -> Limits:
    """Read a limits file: strict YAML, the schema, then the cross-field rules.
    Raises DocumentInvalid with every problem (DocumentUnreadable if it cannot be read)."""
    limits = load_limits(path or paths.default_limits(), paths.LIMITS_SCHEMA, text)
    problems = limit_problems(limits)
    if problems:
        raise DocumentInvalid(problems)
    return limits


def load_engine_limits(path: Path | str | None = None) -> EngineLimits:
    return from_limits(read_limits(path))
