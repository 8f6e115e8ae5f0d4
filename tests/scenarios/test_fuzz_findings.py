"""Scenarios the market fuzz found breaking the law, pinned (``fuzz_findings/``).

Each file is the fuzz's document as it was drawn (the generator may change since), with
its limits beside it; the test runs the intent that broke and checks the law on it.
"""

from __future__ import annotations

from pathlib import Path

from execution.market_session import KrxSessions
from execution.settings import load_engine_limits
from execution.sim.vclock import run_virtual
from execution.simulate.intents import intent_faults, intent_seed, make_intent
from execution.simulate.market import IntentSetup
from execution.simulate.outcome import Outcome
from execution.simulate.runner import run_engine
from execution.simulate.scenario import load_scenario

FINDINGS = Path(__file__).resolve().parent / "fuzz_findings"


def _engine_run(name: str, index: int) -> Outcome:
    scenario = load_scenario(FINDINGS / name)
    setup = IntentSetup(scenario, index, intent_seed(scenario.seed, index),
                        make_intent(scenario, scenario.seed, index),
                        intent_faults(scenario, scenario.seed, index),
                        load_engine_limits(scenario.limits_path), KrxSessions(),
                        run_seed=scenario.seed)
    return run_virtual(run_engine(setup))


def test_fills_on_orders_left_unconfirmed_are_counted_once_the_broker_answers() -> None:
    # Seed 200035: the result came inside a disconnect, four orders unconfirmed (FS096)
    # with most of their fill pushes lost. The engine chases them in the background and
    # amends the result, but the runner compared with the exchange 2 s later, before the
    # poller's backoff had reached the broker again: 943 counted, 1343 traded.
    out = _engine_run("fuzz-200035.yaml", 3)
    assert "FS096" in out.codes
    assert out.exchange_filled_qty == out.filled_qty == 1343
    assert out.open_orders_left == 0
