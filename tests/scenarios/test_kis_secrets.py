"""No secret in any output: a whole execution through ``scalpchart run --broker kis``
against the paper exchange, with secret-looking values in the environment, leaves
them in no log record (DEBUG included), nowhere on stdout/stderr (ours or the
exchange's), in no JSON output and in no file name of the token cache."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from execution.cli.main import main
from execution.paper.process import PaperProcess

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"KIS_APP_KEY": "PSq7ZkR2xAPPKEYv9Wm3LtYh", "KIS_APP_SECRET": "sEcReT/9f8e7d6c+b5a4==",
           "KIS_HTS_ID": "htsUSERx81", "KIS_ACCOUNT": "68112233-01"}


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.args))


@pytest.fixture
def capture_all_logs() -> Iterator[Everything]:
    """Every record of every logger, DEBUG included (other tests may have quietened some
    loggers: their levels are lowered for this test and restored afterwards)."""
    handler = Everything()
    root = logging.getLogger()
    loggers = [root] + [logging.getLogger(name) for name in list(root.manager.loggerDict)]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


def test_no_secret_in_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str],
                                 capture_all_logs: Everything) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    cache = tmp_path / "tokens"
    config = tmp_path / "kis.yaml"
    config.write_text((ROOT / "config" / "brokers" / "paper.yaml").read_text(encoding="utf-8")
                      .replace("~/.cache/scalpchart/kis-paper", str(cache)), encoding="utf-8")
    trace = tmp_path / "run.json"
    with PaperProcess(["--faults", "lose=1"]) as paper:  # a lost answer: warnings get logged
        code = main(["run", "--broker", "kis", "--broker-config", str(config), "--kis-url",
                     paper.rest_url, "--kis-ws-url", paper.ws_url, "--symbol", "005930",
                     "--side", "buy", "--qty", "200", "--urgency", "high", "--format", "json",
                     "--trace-out", str(trace)])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["final_state"] == "COMPLETE" and result["filled_qty"] == 200
    assert any("transient" in line or "disconnected" in line
               for line in capture_all_logs.lines), "the lost answer left no log at all?"
    outputs = {"stdout": out, "stderr": err, "json": trace.read_text(encoding="utf-8"),
               "logs": "\n".join(capture_all_logs.lines), "exchange stderr": paper.stderr,
               "token cache names": " ".join(p.name for p in cache.rglob("*"))}
    for where, text in outputs.items():
        for name, value in SECRETS.items():
            assert value not in text, f"{name} appears in {where}"
            assert value.replace("-", "") not in text, f"{name} (without '-') in {where}"
