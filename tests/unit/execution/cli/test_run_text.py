"""``scalpchart run`` as text: human times and units, ``-`` for no value, the faults line."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import pytest

from execution.cli import main
from execution.cli.run_text import clock_time, describe_faults, duration
from execution.market_session import KST
from execution.sim.faults import FaultConfig, parse_faults

EPOCH_NS = re.compile(r"\d{15,}")  # a nanosecond timestamp (or a microsecond count)


def run_text(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["run", "--symbol", "005930", "--side", "buy", "--qty", "300",
                 "--clock", "virtual", *extra])
    return code, capsys.readouterr().out


def stage_rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("stage"))
    return [line.split(None, 1) for line in lines[start + 1:]]


def test_a_completed_run_reads_in_human_units(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_text(capsys)
    assert code == 0
    assert "faults:   none" in out.splitlines()
    assert "None" not in out
    assert not EPOCH_NS.search(out), out
    # fills at a clock time of day (KST), not epoch nanoseconds
    assert re.search(r"^  \d\d:\d\d:\d\d\.\d{3} +300 @ ", out, re.M), out
    for stage, cells in stage_rows(out):
        for cell in re.split(r"\s{2,}", cells.strip()):
            assert cell == "-" or re.fullmatch(r"\d+\.\d{3} m?s", cell), (stage, cell)
    monitoring = dict((s, c) for s, c in stage_rows(out))["MONITORING"]
    assert monitoring.split()[1] == "s"  # the passive wait is seconds long: shown in seconds


def test_a_failed_run_shows_dashes_and_its_faults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_text(capsys, "--broker-faults", "reject=1,latency=50")
    assert code == 1
    assert "None" not in out
    assert "faults:   reject 100 % of sends; +50 ms on every ack, modify and cancel" in out
    assert "avg -  arrival 75050.00  slippage -  fees 0.00" in out


def test_market_closed_reason_has_a_readable_time(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_text(capsys, "--market-closed")
    assert code == 1
    assert "faults:   market closed at the start" in out
    assert re.search(r"exchange_time=\d{4}-\d\d-\d\dT20:00:00\.000\+09:00", out), out
    assert not EPOCH_NS.search(out)


def test_a_batch_says_its_faults(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    batch = tmp_path / "b.yaml"
    batch.write_text("- {symbol: '005930', side: buy, qty: 10, urgency: high}\n")
    main(["run", "--batch", str(batch), "--clock", "virtual", "--broker-faults", "dup=0.5"])
    assert capsys.readouterr().out.splitlines()[0] == "faults:   50 % of fill pushes duplicated"


def test_every_fault_has_a_phrase() -> None:
    """A fault added to FaultConfig without a phrase would show as name=value."""
    config = FaultConfig(reject_rate=0.1, disconnects=2, extra_latency_ms=5,
                         duplicate_fill_rate=0.2, reorder_fills=True,
                         disconnect_windows=((1.0, 2.5),), auto_reconnect=False,
                         slow_ack_rate=0.3, slow_ack_ms=200, replace_on_modify=True,
                         lost_answer_rate=0.05, lost_push_rate=0.25)
    phrases = describe_faults(config)
    assert len(phrases) == len(fields(FaultConfig))
    assert not any("=" in p for p in phrases), phrases
    assert "disconnected 1-2.5 s after the start" in phrases
    assert describe_faults(parse_faults("")) == []
    assert describe_faults(None) == []


def test_units() -> None:
    assert duration(16_022_561.5) == "16.023 s"
    assert duration(238.4) == "0.238 ms"
    assert duration(1000.0) == "1.000 ms"
    assert duration(None) == "-"
    seoul = datetime(2026, 11, 27, 10, 0, 16, 21_561, tzinfo=KST)
    assert clock_time(int(seoul.timestamp()) * 10**9 + 21_561_484) == "10:00:16.021"
