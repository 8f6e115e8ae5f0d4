"""The report's session rule: no continuous-matching fill after 15:20 or inside a VI."""

from __future__ import annotations

from decimal import Decimal

from execution.contracts import ExecutionIntent, FillEvent, MarketPhase, Side
from execution.simulate.outcome import Outcome
from execution.simulate.targets import session_violations

VI_START, VI_END = 1_000_000_000, 121_000_000_000


def _fill(ts_ns: int, phase: MarketPhase, n: int = 0) -> FillEvent:
    return FillEvent(f"E{n}", "B1", "FZ0001", Side.BUY, 100, Decimal(1364), 100 * (n + 1), 0,
                     Decimal(0), ts_ns, phase)


def _outcome(fills: list[FillEvent]) -> Outcome:
    intent = ExecutionIntent("FZ0001", Side.BUY, 1000)
    return Outcome("market", 0, intent, "PARTIAL", 100 * len(fills), Decimal(0), Decimal(0),
                   Decimal(1364), None, Decimal(1364), 0, VI_END, fills=fills,
                   vi_windows=[(VI_START, VI_END)], continuous_end_ns=10**15)


def test_the_fills_of_the_sweep_that_starts_a_vi_are_not_inside_it() -> None:
    # Found by the market fuzz (seed 226): a market buy swept the book up to the static
    # band, then the rest started a VI, all at the same exchange instant. The fills came
    # first; they are not fills "during a VI".
    sweep = [_fill(VI_START, MarketPhase.CONTINUOUS, n) for n in range(2)]
    assert session_violations([_outcome(sweep)]) == []


def test_a_continuous_fill_inside_a_vi_or_after_1520_is_a_violation() -> None:
    inside = _fill(VI_START + 1, MarketPhase.CONTINUOUS)
    auction = _fill(VI_END - 1, MarketPhase.VI_AUCTION, 1)
    late = _fill(10**15, MarketPhase.CONTINUOUS, 2)
    found = session_violations([_outcome([inside, auction, late])])
    assert [v["why"] for v in found] == ["during a VI", "after 15:20"]
