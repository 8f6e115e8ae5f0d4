"""Tick-to-trade through the KIS adapter over loopback, against the in-process simulator.

Tick-to-trade here is from ``engine.submit(intent)`` to the moment the exchange placed
the order (its own record: the paper exchange stamps ``time.monotonic_ns()``, a
system-wide clock, when it accepts; the in-process exchange's placement time is read
back from its clock). Both exchanges have zero latency, so the difference is the
adapter: HTTP over loopback, JSON, the token bucket, and the paper server's own work.
Intents are HIGH urgency (marketable at once), one at a time, alternating buy/sell.

    python -m execution.perf.loopback --intents 300 [--format json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from execution.broker import Broker
from execution.brokers.kis import KisBroker, KisConfig, KisCredentials
from execution.contracts import ExecutionIntent, Side, Urgency
from execution.engine import Engine
from execution.market_session import KrxSessions, default_sim_start, epoch_ns
from execution.paper.process import PaperProcess
from execution.perf.stats import percentiles
from execution.settings import EngineLimits, load_engine_limits
from execution.sim.exchange import SimulatedExchange

WARMUP = 10


def _limits() -> EngineLimits:
    return load_engine_limits().with_(daily_trade_limit=1_000_000, fill_poll_interval_ms=100)


def _intent(i: int) -> ExecutionIntent:
    return ExecutionIntent("005930", Side.BUY if i % 2 == 0 else Side.SELL, 10,
                           urgency=Urgency.HIGH)


async def _drive(broker: Broker, n: int) -> list[tuple[str, int]]:
    """Submit ``n`` intents one after another; (first broker order id, submit time)."""
    engine = Engine(broker, limits=_limits())
    await engine.start()
    submitted: list[tuple[str, int]] = []
    for i in range(n):
        started = time.monotonic_ns()
        execution = engine.submit(_intent(i))
        result = await execution.result
        if engine.spec.role_of(result.final_state) != "success" or not result.children:
            raise RuntimeError(f"intent {i} ended {result.final_state}: {result.reason}")
        submitted.append((result.children[0].broker_order_id, started))
    await engine.close()
    return submitted


async def in_process(n: int) -> list[float]:
    """Nanoseconds from submit to placement on the in-process simulated exchange."""
    sessions = KrxSessions()
    start_ns = epoch_ns(default_sim_start(sessions=sessions))
    exchange = SimulatedExchange(seed=7, start_ns=start_ns, time_source=time.monotonic,
                                 ack_latency_ms=0, fill_latency_ms=0, modify_latency_ms=0,
                                 is_open=sessions.is_open)
    async with exchange:
        submitted = await _drive(exchange, n)
    # the exchange's clock is start_ns + (monotonic - its origin): find the origin
    mono, now = time.monotonic_ns(), exchange.now_ns()
    origin_ns = mono - (now - start_ns)
    placed = {a.broker_order_id: origin_ns + a.ts_ns - start_ns for a in exchange.accepted}
    return [float(placed[oid] - started) for oid, started in submitted]


async def over_loopback(paper: PaperProcess, n: int, cache: Path) -> list[float]:
    """Nanoseconds from submit to placement at the paper exchange, through the adapter."""
    config = KisConfig(mode="virtual", rate_per_s=1000, burst=1000, min_issue_interval_s=0,
                       token_cache_dir=cache, fill_poll_s=1.0, open_orders_max_age_s=1.0,
                       quote_refresh_s=0.5).with_urls(paper.rest_url, paper.ws_url)
    broker = KisBroker(config, KisCredentials("PSbench", "bench-secret", "bench"))
    async with broker:
        await broker.watch("005930")
        submitted = await _drive(broker, n)
    orders = await asyncio.to_thread(paper.admin, f"orders?account={config.account}")
    accepted = {o["odno"]: o["accepted_mono_ns"] for o in orders["orders"]}
    return [float(accepted[oid] - started) for oid, started in submitted]


def summary(samples_ns: list[float]) -> dict[str, float]:
    """p50/p99/max in microseconds, after the first WARMUP samples."""
    kept = samples_ns[WARMUP:] if len(samples_ns) > 2 * WARMUP else samples_ns
    stats = percentiles(kept, (50, 99))
    top_us = max(kept) / 1000  # interpolated percentiles never above the largest sample
    return {"n": len(kept), "p50_us": round(min(stats["p50"], top_us), 1),
            "p99_us": round(min(stats["p99"], top_us), 1), "max_us": round(top_us, 1)}


def run(n: int, runner: Callable[[Any], Any] = asyncio.run) -> dict[str, Any]:
    """Both measurements in one run (the in-process one first, then over loopback)."""
    local = runner(in_process(n))
    with PaperProcess(["--no-latency", "--token-interval-s", "0"]) as paper, \
            tempfile.TemporaryDirectory() as cache:
        remote = runner(over_loopback(paper, n, Path(cache)))
    return {"tick_to_trade": {"in_process_sim": summary(local), "kis_over_loopback":
                              summary(remote)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intents", type=int, default=300)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    report = run(args.intents)
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print("tick-to-trade, submit -> order placed at the exchange (microseconds)")
    print(f"{'':24}{'n':>6}{'p50':>10}{'p99':>10}{'max':>10}")
    for name, row in report["tick_to_trade"].items():
        print(f"{name:24}{row['n']:>6}{row['p50_us']:>10}{row['p99_us']:>10}{row['max_us']:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
