"""The journal's cost on the path from intent to first order: tick-to-trade with the
journal on and off, in the same run, the two engines taking turns in blocks of
:data:`BLOCK` executions (a noisy moment of the machine hits both alike; within a block,
an engine runs as it does in service, one intent after another).

With the journal on, the intent, the transitions and the order are written ahead of the
broker call, in one SQLite transaction (WAL, ``synchronous=NORMAL``): that commit is the
difference measured here. ``sync="full"`` adds an fsync per commit.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from execution.engine import Engine
from execution.journal import Sync, open_journal
from execution.market_session import default_sim_start, epoch_ns
from execution.perf.bench import SYMBOLS, _intent, bench_limits
from execution.perf.instant_broker import InstantBroker
from execution.perf.stats import percentiles

TARGET_RATIO = 1.25  # the journal may add at most 25 % to tick-to-trade p50
BLOCK = 25


def _engine(journal: Any, pool_size: int) -> tuple[Engine, InstantBroker]:
    broker = InstantBroker(epoch_ns(default_sim_start()), fill_on="modify", symbols=SYMBOLS)
    return Engine(broker, limits=bench_limits(), pool_size=pool_size, journal=journal), broker


async def journal_overhead(n: int, *, sync: Sync = "normal") -> dict[str, Any]:
    """Tick-to-trade percentiles (us) over ``n`` sequential executions each, journal off and
    on, and the ratio of the p50s."""
    with tempfile.TemporaryDirectory(prefix="scalpchart-bench-") as tmp:
        journal = open_journal(Path(tmp) / "bench.sqlite", sync=sync)
        sides = {"off": _engine(None, n + 66), "on": _engine(journal, n + 66)}
        samples: dict[str, list[float]] = {"off": [], "on": []}
        for engine, _ in sides.values():
            for i in range(50):  # warm-up: caches, session table, code paths, the file
                await engine.execute(_intent(i))
            await engine.start(freeze_gc=True)
            engine.pool().refill_enabled = False
        for block in range(0, n, BLOCK):
            for name, (engine, broker) in sides.items():
                for i in range(block, min(block + BLOCK, n)):
                    started = time.perf_counter_ns()
                    execution = engine.submit(_intent(i))
                    result = await execution.result
                    assert engine.spec.role_of(result.final_state) == "success", result
                    samples[name].append(broker.first_send_ns[execution.id] - started)
                    engine.executions.pop(execution.id)
        for engine, _ in sides.values():
            await engine.close()
        writes = journal.writes
        journal.close()
    off, on = percentiles(samples["off"]), percentiles(samples["on"])
    return {"executions": n, "sync": sync, "tick_to_trade_off_us": off,
            "tick_to_trade_on_us": on, "journal_writes": writes,
            "p50_ratio": round(on["p50"] / off["p50"], 3) if off["p50"] else 0.0,
            "target_ratio": TARGET_RATIO}
