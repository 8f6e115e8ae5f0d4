"""Kill tests: the engine, in its own process with a journal, trading through the KIS
adapter against the paper exchange (another process), is killed with SIGKILL across its
lifecycle, then recovered from the journal. See tests/kill_harness.py for the invariant.

The default suite runs a handful of chosen points; ``make kill-test`` (``pytest -m kill``)
runs at least 200 kills drawn from a seed (``KILL_SEED``, ``KILL_POINTS`` override).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kill_harness import KillPoint, KillRig, PointResult, plan_points

from execution.paper.process import PaperProcess
from execution.testing.killrun import IntentPlan, KillPlan

SCENARIO = Path(__file__).resolve().parents[1] / "kill_scenario.yaml"


@pytest.fixture(scope="module")
def paper() -> Iterator[PaperProcess]:
    with PaperProcess(["--scenario", str(SCENARIO), "--token-interval-s", "0", "--ping-s",
                       "0.5", "--seed", "17"]) as proc:
        yield proc
    assert proc.proc is not None and proc.proc.returncode == 0, proc.stderr[-2000:]


def _point(index: int, plan: KillPlan | None, *intents: IntentPlan, liquidate: bool = False,
           kill_after_s: float = 0.0, via_cli: bool = False) -> KillPoint:
    return KillPoint(index, intents, plan, kill_after_s, liquidate, via_cli)


RESTING = IntentPlan("005930", "buy", 100, "normal")
TAKING = IntentPlan("035420", "sell", 300, "high")
ESCAPING = IntentPlan("005380", "sell", 300, "normal", escape_after_ms=300)
THIN = IntentPlan("000660", "buy", 2400, "high", 300, "single")  # part fills, then escapes

HANDFUL = [
    # the send journaled, killed before the broker call: never placed
    _point(0, KillPlan("send", 1, after=True), RESTING, TAKING),
    # placed, its answer lost with the process: found by its details, cancelled
    _point(1, KillPlan("order", 1), RESTING, via_cli=True),
    # a revise on the wire when the process dies
    _point(2, KillPlan("revise", 1, after=True, delay_ms=2), RESTING),
    # cancels of an escape in flight
    _point(3, KillPlan("cancel", 1, after=True, delay_ms=1), ESCAPING, TAKING),
    # the escape's liquidation sent, its answer and fills never journaled
    _point(4, KillPlan("liquidation", 1, after=True, delay_ms=5), THIN, liquidate=True),
    # a random moment
    _point(5, None, RESTING, ESCAPING, kill_after_s=0.4),
]


def test_a_handful_of_kill_points(paper: PaperProcess, tmp_path: Path) -> None:
    rig = KillRig(paper, tmp_path, 71_000_000)
    results = [rig.run(point) for point in HANDFUL]
    killed = [r.point.index for r in results if r.killed]
    assert len(killed) >= 5 and 4 in killed, f"only {killed} were killed"
    recovered = {r.point.index: r.first for r in results}
    assert any(a["action"] == "never_placed" for e in recovered[0]["executions"]
               for a in e["actions"])
    assert recovered[1]["orphans_cancelled"]  # the order found was cancelled


@pytest.mark.kill
@pytest.mark.timeout(3600)
def test_at_least_two_hundred_kill_points(paper: PaperProcess, tmp_path: Path) -> None:
    seed = int(os.environ.get("KILL_SEED", "20240603"))
    wanted = int(os.environ.get("KILL_POINTS", "200"))
    rig = KillRig(paper, tmp_path, 72_000_000)
    results: list[PointResult] = []
    failures: list[str] = []
    for point in plan_points(seed, wanted * 2):
        try:
            result = rig.run(point)
        except AssertionError as err:
            failures.append(str(err)[:2000])
            print(f"FAILED {point.label()}", flush=True)
            if len(failures) >= 5:
                break
            continue
        results.append(result)
        print(f"{len(results):4d} {'killed' if result.killed else 'ran   '} "
              f"{result.seconds:4.1f}s {point.label()}", flush=True)
        if sum(r.killed for r in results) >= wanted:
            break
    kills = sum(r.killed for r in results)
    assert not failures, "\n\n".join(failures)
    assert kills >= wanted, f"{kills} kills in {len(results)} points"
    kinds = {r.point.plan.kind for r in results if r.killed and r.point.plan is not None}
    assert {"send", "order", "revise", "cancel", "liquidation"} <= kinds, kinds
