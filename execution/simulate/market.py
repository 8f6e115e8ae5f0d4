"""One intent's market: a fresh simulated exchange per (seed, intent, strategy run).

:class:`IntentSetup` holds what is shared by the three runs of an intent;
:meth:`IntentSetup.exchange` builds the exchange on the running loop, so every
run starts from the same book and meets the same exogenous order flow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from execution.contracts import ExecutionIntent, FillEvent
from execution.market_session import KrxSessions, epoch_ns
from execution.settings import EngineLimits
from execution.sim.exchange import SimulatedExchange
from execution.sim.faults import FaultConfig
from execution.simulate.intents import arrival_ns
from execution.simulate.outcome import Outcome
from execution.simulate.scenario import Scenario

# The exchange's driver wakes whenever one of our orders may trade (the book knows when, on
# this virtual clock exactly); its fixed interval is only a safety net, kept long.
_DRIVER_SAFETY_MS = 1000.0


@dataclass(frozen=True, slots=True)
class IntentSetup:
    scenario: Scenario
    index: int
    seed: int  # the intent's own seed (see intents.intent_seed)
    intent: ExecutionIntent
    faults: FaultConfig
    limits: EngineLimits
    sessions: KrxSessions
    chart: Path | None = None  # None: the shipped chart
    run_seed: int | None = None  # the run's seed (the arrival draw); None: the scenario's

    @property
    def horizon_s(self) -> float:
        return self.scenario.horizon_s

    @property
    def start_ns(self) -> int:
        """The intent's arrival (the exchange starts then)."""
        seed = self.scenario.seed if self.run_seed is None else self.run_seed
        return arrival_ns(self.scenario, seed, self.index)

    def exchange(self) -> SimulatedExchange:
        sc = self.scenario
        loop = asyncio.get_running_loop()
        symbol = self.intent.symbol
        phases = sc.sessions
        return SimulatedExchange(
            seed=self.seed,
            start_ns=self.start_ns,
            time_source=loop.time,
            fee_bps=sc.commission_bps,
            cash_krw=None,
            faults=self.faults,
            is_open=None if phases else self.sessions.is_open,
            driver_interval_ms=_DRIVER_SAFETY_MS,
            book=sc.book,
            latency=sc.latency,
            symbols={symbol: sc.symbols[symbol]},
            sessions=self.sessions if phases else None,
            rules=sc.rules,
            forced_vi=tuple((epoch_ns(at), code) for at, code in sc.forced_vi
                            if code == symbol),
        )


@dataclass(slots=True)
class Observation:
    """The market around one run: arrival, tape and exchange-side truth."""

    arrival_mid: Decimal
    arrival_ns: int
    tape_qty: int
    tape_notional: Decimal

    @classmethod
    def start(cls, exchange: SimulatedExchange, symbol: str) -> Observation:
        book = exchange.book(symbol)
        return cls(book.mid(), exchange.now_ns(), book.traded_qty, book.traded_notional)

    def finish(self, exchange: SimulatedExchange, setup: IntentSetup, strategy: str,
               fills: Iterable[FillEvent], final_state: str) -> Outcome:
        """An :class:`Outcome` from the fills the strategy counted (and the exchange's view)."""
        intent = setup.intent
        book = exchange.book(intent.symbol)
        fills = list(fills)
        traded = book.traded_qty - self.tape_qty
        vwap = (book.traded_notional - self.tape_notional) / traded if traded else None
        first = exchange.accepted[0].mid if exchange.accepted else None
        side_fills = [f for f in exchange.journal if f.side is intent.side]
        return Outcome(
            strategy=strategy,
            index=setup.index,
            intent=intent,
            final_state=final_state,
            filled_qty=sum(f.filled_qty for f in fills),
            notional=sum((f.price * f.filled_qty for f in fills), Decimal(0)),
            fees=sum((f.fee for f in fills), Decimal(0)),
            arrival_mid=self.arrival_mid,
            first_mid=first,
            end_mid=book.mid(),
            arrival_ns=self.arrival_ns,
            end_ns=exchange.now_ns(),
            fill_times_s=[((f.ts_ns - self.arrival_ns) / 1e9, f.filled_qty) for f in fills],
            market_vwap=vwap,
            exchange_filled_qty=sum(f.filled_qty for f in side_fills),
            exchange_position=exchange.position(intent.symbol),
            market_events=book.events,
            fills=fills,
            vi_windows=exchange.vi_windows(intent.symbol),
            continuous_end_ns=exchange.continuous_end_ns(intent.symbol),
        )


def unique_fills(fills: Iterable[FillEvent]) -> list[FillEvent]:
    """Drop duplicate pushes (same event id), keeping the first."""
    seen: set[str] = set()
    out = []
    for fill in fills:
        if fill.event_id not in seen:
            seen.add(fill.event_id)
            out.append(fill)
    return out
