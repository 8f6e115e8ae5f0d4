"""Fuzz: the engine on random markets, the law checked on every intent of every run.

Each case is a random but plausible scenario document (``market_fuzz_kit``: any KRX
tick band and board, calm to violent, thin to deep, slow and lossy brokers, starts from
the pre-open auction to the closing auction, forced VIs, prices near the static VI band
and the price limits, every urgency and split strategy, 1 share to far beyond the
touch), read by the real loader and run through ``simulate`` (the engine and the three
baselines, a few intents). On every engine outcome: every exchange fill counted once,
no order left live unreported, a final state with a role, a reason and (FAILED/ESCAPED)
a code, nothing COMPLETE with nothing filled, no fill beyond the slippage cap against
the arrival price or past the limit, no overfill; on every strategy: no continuous fill
after 15:20 or inside a VI; and nothing escapes the run or reaches an event loop, each
case within a wall-time bound.

The default suite runs a seeded handful; ``make fuzz-market`` (marker ``fuzz``) runs
500 (``SCALPCHART_MARKET_FUZZ_RUNS=N``, ``SCALPCHART_MARKET_FUZZ_FROM=S`` for others).
A failure prints the breaches, the scenario's file and its replay line.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from market_fuzz_kit import WALL_S_PER_CASE, breaches, replay_note, run_case

from execution.simulate import runner
from execution.simulate.market import IntentSetup
from execution.simulate.outcome import Outcome

DEFAULT_SEEDS = (2, 3, 4, 10, 14, 16, 17, 22, 23, 29, 43, 57)  # every kind of day (see the kit)
FILLED_SEED = 1  # a case whose engine fills
FUZZ_FROM = int(os.environ.get("SCALPCHART_MARKET_FUZZ_FROM", "100000"))
FUZZ_RUNS = int(os.environ.get("SCALPCHART_MARKET_FUZZ_RUNS", "500"))


def _check(seed: int, folder: Path) -> None:
    case = run_case(seed, folder)
    problems = breaches(case)
    assert not problems, replay_note(case, problems)


@pytest.mark.timeout(WALL_S_PER_CASE + 60)
@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
def test_random_markets_keep_the_law(seed: int, tmp_path: Path) -> None:
    _check(seed, tmp_path)


@pytest.mark.fuzz
@pytest.mark.timeout(WALL_S_PER_CASE + 60)
@pytest.mark.parametrize("seed", range(FUZZ_FROM, FUZZ_FROM + FUZZ_RUNS))
def test_many_random_markets_keep_the_law(seed: int, tmp_path: Path) -> None:
    _check(seed, tmp_path)


def test_the_checks_see_each_kind_of_breach(tmp_path: Path) -> None:
    """The law's checks are not vacuous: each breach planted in a clean run is reported."""
    case = run_case(FILLED_SEED, tmp_path)
    assert breaches(case) == []
    filled = next(o for o in case.engine if o.fills and o.arrival_price is not None)
    fill = filled.fills[0]
    sign = filled.intent.side.sign
    assert filled.arrival_price is not None
    far = filled.arrival_price * (1 + sign * Decimal("0.006"))  # 60 bps: past the cap
    filled.fills.append(replace(fill, event_id="planted", price=far))
    filled.open_orders_left = 1
    filled.exchange_filled_qty += 1
    filled.result_reason = ""
    found = "\n".join(breaches(case))
    for what in ("past arrival", "live at the exchange", "the exchange filled",
                 "without a reason"):
        assert what in found, (what, found)
    case.loop_errors.append("Task exception was never retrieved")
    case.crash = "RuntimeError: planted"
    found = "\n".join(breaches(case))
    assert "event loop" in found and "escaped the run" in found


def test_a_run_that_never_ends_is_stopped_and_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def spin(_setup: IntentSetup) -> Outcome:  # busy forever, virtual time frozen
        loop = asyncio.get_running_loop()

        def again() -> None:
            loop.call_soon(again)

        again()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setitem(runner.RUNNERS, "engine", spin)
    case = run_case(FILLED_SEED, tmp_path, wall_s=1.0)
    assert case.report is None
    assert breaches(case) == [
        "escaped the run: _Hang: no end after 1 s of wall time"]
