"""The benchmark harness runs end to end and reports every key (no timing is asserted:
benchmarks report, they do not pass or fail on a number)."""

from __future__ import annotations

import asyncio

from execution.perf.bench import BenchConfig, run_all

KEYS = {"tick_to_trade_us", "execution_us", "stages_us", "throughput_per_s", "concurrent",
        "memory_per_execution_kib", "dispatch_us", "overhead_ratio",
        "transitions_per_execution"}


def test_a_small_bench_reports_every_key_and_loses_no_fill() -> None:
    report = asyncio.run(run_all(BenchConfig(executions=100, concurrency=40,
                                             fills_per_order=3, dispatch_rounds=50)))
    assert set(report) >= KEYS
    for key in ("tick_to_trade_us", "execution_us"):
        assert {"p50", "p99"} <= set(report[key])
    assert set(report["stages_us"]) == {"PreCheck", "OrderSplit", "AsyncSend", "AdaptiveAdjust",
                                        "EmergencyEscape"}
    concurrent = report["concurrent"]
    assert concurrent["executions"] == concurrent["complete"] == 40
    assert concurrent["fill_events"] == 40 * 3
    assert concurrent["lost_fills"] == 0
    assert report["pool_misses"] == 0
    assert {"chart", "dict", "ratio"} <= set(report["dispatch_us"])
    assert report["memory_per_execution_kib"] > 0 and report["throughput_per_s"] > 0
    assert report["transitions_per_execution"] == 7  # INIT .. ADJUSTING -> MONITORING -> COMPLETE
    assert report["overhead_ratio"] > 1.0  # an execution costs more than its transitions alone
