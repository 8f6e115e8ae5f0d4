"""The engine-overhead benchmarks behind ``scalpchart bench`` (zero-latency broker).

Every figure is wall or CPU time in our code and the chart library: the broker
answers without suspending, so nothing here waits on a network.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from execution.contracts import ExecutionIntent, Side, SplitStrategy, Urgency
from execution.engine import Engine
from execution.gctune import low_latency_thresholds
from execution.market_session import default_sim_start, epoch_ns
from execution.perf.instant_broker import FillOn, InstantBroker
from execution.perf.stats import chart_dispatch_ns, dict_dispatch_ns, percentiles
from execution.settings import EngineLimits, load_engine_limits

# The stages timed by the sequential run, by the chart handler that implements each.
STAGE_HANDLERS = {"precheck": "PreCheck", "split": "OrderSplit", "send": "AsyncSend",
                  "adjust": "AdaptiveAdjust"}
SYMBOLS = tuple(f"{100000 + i:06d}" for i in range(2048))  # one live intent per symbol+side


@dataclass(frozen=True, slots=True)
class BenchConfig:
    executions: int = 2000
    concurrency: int = 1000
    fills_per_order: int = 10
    dispatch_rounds: int = 2000


class GcPauses:
    """Records the garbage-collector pauses that fall inside timed windows."""

    def __init__(self) -> None:
        self.pauses_ns: list[int] = []
        self._started = 0
        self._timing = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
        elif self._timing:
            self.pauses_ns.append(time.perf_counter_ns() - self._started)

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        self._timing = True
        try:
            yield
        finally:
            self._timing = False

    def summary(self) -> dict[str, float]:
        pauses = self.pauses_ns or [0]
        return {"collections": len(self.pauses_ns), "max_ms": round(max(pauses) / 1e6, 2),
                "over_5ms": sum(p > 5_000_000 for p in pauses)}


GC = GcPauses()


def bench_limits() -> EngineLimits:
    """Shipped limits, with the waits shortened so one adjust round follows at once (no
    patience schedule: a round every 5 ms interval). CPU figures exclude waits anyway."""
    no_patience = dict.fromkeys(Urgency, 0.0)
    return load_engine_limits().with_(adjust_interval_ms=5, daily_trade_limit=10**9,
                                      position_cap_shares=10**9, first_round_pct=no_patience,
                                      last_round_pct=no_patience)


def _engine(fill_on: FillOn, pool_size: int, fills_per_order: int = 1) -> Engine:
    broker = InstantBroker(epoch_ns(default_sim_start()), fill_on=fill_on,
                           fills_per_order=fills_per_order, symbols=SYMBOLS)
    return Engine(broker, limits=bench_limits(), pool_size=pool_size)


def _intent(i: int, qty: int = 100, strategy: SplitStrategy = SplitStrategy.SINGLE
            ) -> ExecutionIntent:
    symbol = SYMBOLS[i % len(SYMBOLS)]
    return ExecutionIntent(symbol, Side.BUY if i % 2 else Side.SELL, qty, strategy=strategy)


def _broker(engine: Engine) -> InstantBroker:
    broker = engine.services.broker
    assert isinstance(broker, InstantBroker)
    return broker


async def sequential(n: int) -> dict[str, Any]:
    """Tick-to-trade, per-stage figures and engine CPU per complete execution."""
    engine = _engine("modify", pool_size=n + 16)
    broker = _broker(engine)
    for i in range(50):  # warm-up: caches, session table, code paths
        await engine.execute(_intent(i))
    await engine.start(freeze_gc=True)
    engine.pool().refill_enabled = False  # n + 16 pre-built: measure the hot path alone
    t2t: list[float] = []
    cpu: list[float] = []
    transitions: list[int] = []
    rounds_other_than_one = 0  # the adjust timer beat the fill (a descheduled process)
    states = {s.entry: s.name for s in engine.spec.states if s.entry}
    stage_state = {stage: states[handler] for handler, stage in STAGE_HANDLERS.items()}
    stages: dict[str, list[float]] = {stage: [] for stage in stage_state}
    for i in range(n):
        intent = _intent(i)
        with GC.timing():
            started_cpu, started = time.process_time_ns(), time.perf_counter_ns()
            execution = engine.submit(intent)
            result = await execution.result
            cpu.append(time.process_time_ns() - started_cpu)
        t2t.append(broker.first_send_ns[execution.id] - started)
        assert engine.spec.role_of(result.final_state) == "success", result
        rounds_other_than_one += result.adjust_rounds != 1
        transitions.append(len(result.path) - 1)
        for stage, samples in stages.items():  # time in the stage's state, ns
            samples.append(result.stage_latency_us[stage_state[stage]] * 1000)
        engine.executions.pop(execution.id)
    await engine.close()
    return {"tick_to_trade_us": percentiles(t2t), "execution_us": percentiles(cpu),
            "stages_us": {s: percentiles(v) for s, v in stages.items()},
            "pool_misses": engine.pool().misses,
            "transitions_per_execution": sorted(transitions)[len(transitions) // 2],
            "executions_not_one_adjust_round": rounds_other_than_one}


async def escape_latency(n: int) -> dict[str, float]:
    """engine.escape() until the last cancel of 10 live children reaches the broker."""
    engine = _engine("never", pool_size=64)
    broker = _broker(engine)
    await engine.start(freeze_gc=True)
    limits = engine.services.limits
    engine.services.limits = limits.with_(split=replace(limits.split, twap_horizon_ms=0))
    samples = []
    for i in range(n):
        execution = engine.submit(_intent(i, qty=1000, strategy=SplitStrategy.TWAP))
        while execution.state != "MONITORING":
            await asyncio.sleep(0)
        assert len(execution.ctx.live_children()) == 10
        with GC.timing():
            started = time.perf_counter_ns()
            engine.escape(execution.id, "bench")
            await execution.result
            samples.append(broker.last_cancel_ns - started)
        engine.executions.pop(execution.id)
    engine.services.limits = limits
    await engine.close()
    return percentiles(samples)


async def throughput(n: int, in_flight: int = 50) -> float:
    """Complete executions per second on one core (chart instances built as they go)."""
    engine = _engine("modify", pool_size=in_flight)
    for i in range(50):
        await engine.execute(_intent(i))
    await engine.start(freeze_gc=True)
    semaphore = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with semaphore:
            result = await engine.execute(_intent(i))
            assert engine.spec.role_of(result.final_state) == "success"
            engine.executions.pop(result.execution_id)

    with GC.timing():
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - started
    await engine.close()
    return round(n / elapsed, 1)


async def concurrent(executions: int, fills_per_order: int) -> dict[str, Any]:
    """``executions`` in flight at once in one loop: submitted back to back (the loop runs
    between submissions, as intents arriving from a feed), then a storm of
    ``fills_per_order`` partial fills for every order, each fill its own loop callback."""
    engine = _engine("never", pool_size=executions, fills_per_order=fills_per_order)
    broker = _broker(engine)
    await engine.start(freeze_gc=True)
    intents = [_intent(i, qty=100 + i % 7) for i in range(executions)]
    handles, submitted = [], {}
    with GC.timing():
        for intent in intents:
            submitted[intent.symbol] = time.perf_counter_ns()
            handles.append(engine.submit(intent))
            await asyncio.sleep(0)
        while any(h.state != "MONITORING" for h in handles):
            await asyncio.sleep(0)
        storm_started = time.perf_counter_ns()
        broker.fill_all()
        results = await asyncio.gather(*(h.result for h in handles))
        storm_ns = time.perf_counter_ns() - storm_started
    t2t = [broker.first_send_ns[h.id] - submitted[h.ctx.intent.symbol] for h in handles]
    counted = sum(r.filled_qty for r in results)
    await engine.close()
    return {"executions": executions, "fill_events": broker.fill_events,
            "complete": sum(engine.spec.role_of(r.final_state) == "success" for r in results),
            "lost_fills": broker.fill_qty_sent - counted,
            "storm_ms": round(storm_ns / 1e6, 2),
            "fill_events_per_s": round(broker.fill_events / (storm_ns / 1e9)),
            "tick_to_trade_us": percentiles(t2t),
            # the final state's entry stamp: the engine's reaction to its last fill, not the
            # time its result future waits behind the rest of the storm in the loop's queue
            "last_fill_to_complete_us": percentiles(
                [h.run.trace[-1].wall_ns - broker.last_fill_ns[h.id] for h in handles])}


async def memory_per_execution(n: int) -> float:
    """Traced memory of ``n`` live executions (chart instance included), KiB each."""
    engine = _engine("never", pool_size=0)
    for i in range(20):
        execution = engine.submit(_intent(i))
        while execution.state != "MONITORING":
            await asyncio.sleep(0)
        engine.escape(execution.id, "warm-up")
        await execution.result
    engine.executions.clear()
    engine.pool_size = 0
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    handles = [engine.submit(_intent(i)) for i in range(n)]
    while any(h.state != "MONITORING" for h in handles):
        await asyncio.sleep(0)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    engine.escape_all("done")
    await asyncio.gather(*(h.result for h in handles))
    await engine.close()
    return round((after - before) / n / 1024, 1)


def dispatch(rounds: int) -> dict[str, float]:
    engine = _engine("never", pool_size=0)
    chart = percentiles(chart_dispatch_ns(engine.spec, rounds), (50, 99))
    floor = percentiles(dict_dispatch_ns(engine.spec, rounds), (50, 99))
    return {"chart": chart["p50"], "chart_p99": chart["p99"], "dict": floor["p50"],
            "dict_p99": floor["p99"],
            "ratio": round(chart["p50"] / floor["p50"], 1) if floor["p50"] else 0.0}


def overhead_ratio(report: dict[str, Any]) -> float:
    """The engine's cost around the chart library: complete-execution CPU p50 against its
    transitions times the chart's dispatch p50 per event (1.0: nothing but the chart)."""
    chart_only = report["transitions_per_execution"] * report["dispatch_us"]["chart"]
    return round(report["execution_us"]["p50"] / chart_only, 2) if chart_only else 0.0


async def run_all(config: BenchConfig) -> dict[str, Any]:
    for name in ("execution", "statecharts"):  # alerts are expected here; don't time logging
        logging.getLogger(name).setLevel(logging.CRITICAL)
    thresholds = gc.get_threshold()
    low_latency_thresholds()
    GC.pauses_ns.clear()
    gc.callbacks.append(GC)
    try:
        report: dict[str, Any] = {}
        report.update(await sequential(config.executions))
        report["stages_us"]["EmergencyEscape"] = await escape_latency(
            min(500, config.executions))
        report["throughput_per_s"] = await throughput(config.executions)
        report["concurrent"] = await concurrent(config.concurrency, config.fills_per_order)
        from execution.perf.journal_bench import journal_overhead  # (it imports this module)

        report["journal"] = await journal_overhead(min(1000, config.executions))
    finally:
        gc.callbacks.remove(GC)
    report["gc_pauses_in_timed_windows"] = GC.summary()
    report["memory_per_execution_kib"] = await memory_per_execution(min(1000, config.concurrency))
    report["dispatch_us"] = dispatch(config.dispatch_rounds)
    report["overhead_ratio"] = overhead_ratio(report)
    gc.unfreeze()  # leave the process as it was (the CLI exits; a test suite goes on)
    gc.set_threshold(*thresholds)
    return report
