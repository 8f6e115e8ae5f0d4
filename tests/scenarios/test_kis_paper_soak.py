"""A longer run (marked slow): many executions through the KIS adapter against a paper
exchange on the default scenario's market, latencies and exchange faults, with a
protocol fault switched on before most of them; the order truth checked after each."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from kis_paper import credentials, execute, fast_limits, kis_config, new_account, order_truth

from execution.brokers.kis import KisBroker
from execution.contracts import ExecutionIntent, Side, Urgency
from execution.paper.process import PaperProcess

ROOT = Path(__file__).resolve().parents[2]
FAULTS = [{}, {"lose": 1}, {"http500": 2}, {"throttle": 2}, {"slow_ms": 250},
          {"drop-ws": 1.0}, {"expire": 1}]


@pytest.mark.slow
def test_many_executions_with_faults_keep_the_order_truth(tmp_path: Path) -> None:
    rng = random.Random(20240603)
    limits = fast_limits()  # revises included: the engine adopts the new ODNO
    with PaperProcess(["--scenario", str(ROOT / "config" / "scenarios" / "default.yaml"),
                       "--token-interval-s", "0", "--ping-s", "1"]) as paper:
        for i in range(24):
            fault = FAULTS[i % len(FAULTS)]

            async def arm(broker: KisBroker, fault: dict[str, float] = fault) -> None:
                if "drop-ws" in fault:
                    await asyncio.to_thread(paper.admin, "drop-ws",
                                            {"blackout_s": fault["drop-ws"]})
                elif "expire" in fault:
                    await asyncio.to_thread(paper.admin, "expire-tokens", {})
                elif fault:
                    await asyncio.to_thread(paper.admin, "faults", fault)

            intent = ExecutionIntent(rng.choice(["005930", "000660"]),
                                     rng.choice([Side.BUY, Side.SELL]), rng.randint(1, 30) * 10,
                                     urgency=rng.choice([Urgency.HIGH, Urgency.NORMAL]))
            config = kis_config(paper, tmp_path, new_account())
            outcome = asyncio.run(execute(config, credentials(f"soak{i}"), intent,
                                          limits=limits, before=arm))
            asyncio.run(asyncio.to_thread(paper.admin, "faults", {"slow_ms": 0, "http500": 0,
                                                                  "throttle": 0, "lose": 0}))
            assert outcome.result.final_state in ("COMPLETE", "ESCAPED", "FAILED"), i
            order_truth(paper, outcome)
    assert paper.proc is not None and paper.proc.returncode == 0
