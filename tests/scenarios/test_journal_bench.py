"""The journal's on/off tick-to-trade comparison of ``scalpchart bench`` runs end to end
(no timing asserted here: the figures are in BENCHMARKS.md)."""

from __future__ import annotations

import asyncio

from execution.perf.journal_bench import TARGET_RATIO, journal_overhead


def test_the_journal_comparison_reports_both_sides() -> None:
    report = asyncio.run(journal_overhead(30))
    assert report["executions"] == 30 and report["sync"] == "normal"
    for side in ("tick_to_trade_on_us", "tick_to_trade_off_us"):
        assert 0 < report[side]["p50"] <= report[side]["p99"]
    assert report["journal_writes"] >= 30  # at least the write ahead of each first order
    assert report["p50_ratio"] > 0 and report["target_ratio"] == TARGET_RATIO
