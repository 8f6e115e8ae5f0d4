"""Tick-to-trade through the KIS adapter over loopback against the in-process simulator
(``execution/perf/loopback.py``); figures in BENCHMARKS.md. The bench-marked run is
the measurement; the small run in the default suite only proves it works."""

from __future__ import annotations

import json

import pytest

from execution.perf.loopback import run


def _check(report: dict[str, dict[str, dict[str, float]]], n: int) -> None:
    rows = report["tick_to_trade"]
    for name in ("in_process_sim", "kis_over_loopback"):
        row = rows[name]
        assert row["n"] == n and 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"], row


@pytest.mark.bench
def test_kis_loopback_tick_to_trade() -> None:
    report = run(300)
    print(json.dumps(report, indent=2))
    _check(report, 290)


def test_the_loopback_measurement_runs() -> None:
    _check(run(6), 6)
