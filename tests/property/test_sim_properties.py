"""Property: whatever the seed and the intent, the engine's slippage stays within 0.5 %."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.contracts import ExecutionIntent, Side, Urgency
from execution.market_session import KrxSessions
from execution.settings import EngineLimits, load_engine_limits
from execution.sim.vclock import run_virtual
from execution.simulate.intents import intent_faults, intent_seed
from execution.simulate.market import IntentSetup
from execution.simulate.runner import run_engine
from execution.simulate.scenario import Scenario, load_scenario

CAP_BPS = 50.0


@cache
def _env() -> tuple[Scenario, EngineLimits, KrxSessions]:
    return load_scenario(), load_engine_limits(), KrxSessions()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    symbol=st.sampled_from(["005930", "000660"]),
    side=st.sampled_from(list(Side)),
    urgency=st.sampled_from(list(Urgency)),
    qty=st.integers(1, 2_400),
    vol=st.sampled_from([0.018, 0.06, 0.15]),
)
def test_engine_slippage_never_exceeds_the_cap(seed: int, symbol: str, side: Side,
                                               urgency: Urgency, qty: int, vol: float) -> None:
    scenario, limits, sessions = _env()
    spec = replace(scenario.symbols[symbol], daily_vol=vol)  # calm to violent markets
    scenario = replace(scenario, symbols={**scenario.symbols, symbol: spec})
    intent = ExecutionIntent(symbol, side, qty, None, urgency, client_intent_id="P00000")
    setup = IntentSetup(scenario, 0, intent_seed(seed, 0), intent,
                        intent_faults(scenario, seed, 0), limits, sessions)
    outcome = run_virtual(run_engine(setup))
    assert outcome.filled_qty <= qty
    if outcome.slippage_bps is not None:
        assert outcome.slippage_bps <= CAP_BPS, (outcome.final_state, outcome.slippage_bps)
