"""``scalpchart run --broker kis`` and ``scalpchart exchange serve``: usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.cli.main import main

ROOT = Path(__file__).resolve().parents[4]
RUN = ["run", "--symbol", "005930", "--side", "buy", "--qty", "10"]
ENV = {"KIS_APP_KEY": "k", "KIS_APP_SECRET": "s", "KIS_HTS_ID": "h"}


def _env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name in (*ENV, "KIS_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_missing_secrets_are_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _env(monkeypatch, KIS_APP_KEY="k")
    assert main([*RUN, "--broker", "kis"]) == 2
    err = capsys.readouterr().err
    assert "set KIS_APP_SECRET, KIS_HTS_ID in the environment" in err


def test_real_mode_needs_the_explicit_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    _env(monkeypatch, **ENV)
    config = tmp_path / "real.yaml"
    config.write_text((ROOT / "config" / "brokers" / "kis.yaml").read_text(encoding="utf-8")
                      .replace("mode: virtual ", "mode: real    "), encoding="utf-8")
    assert main([*RUN, "--broker", "kis", "--broker-config", str(config)]) == 2
    assert "add --i-mean-real-money" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--broker", "kis", "--clock", "virtual"], "--clock virtual (KIS runs in real time): only "
                                                "with --broker sim"),
    (["--broker", "kis", "--at", "2024-06-03 10:00"], "--at: only with --broker sim"),
    (["--kis-url", "http://127.0.0.1:1"], "--kis-url: only with --broker kis"),
    (["--i-mean-real-money"], "--i-mean-real-money: only with --broker kis"),
    (["--broker", "kis", "--kis-url", "ftp://x"], "must start with http:// or https://"),
])
def test_options_of_the_other_broker_are_refused(extra: list[str], message: str,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _env(monkeypatch, **ENV)
    assert main([*RUN, *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_broker_config_points_at_the_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _env(monkeypatch, **ENV)
    config = tmp_path / "kis.yaml"
    config.write_text((ROOT / "config" / "brokers" / "kis.yaml").read_text(encoding="utf-8")
                      .replace("burst: {real: 18, virtual: 1}", "burst: {real: 18}"),
                      encoding="utf-8")
    assert main([*RUN, "--broker", "kis", "--broker-config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{config}:20:3: [schema]" in err and "'virtual' is a required property" in err


def test_exchange_serve_refuses_bad_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exchange", "serve", "--faults", "bogus=1"]) == 2
    assert "unknown fault 'bogus'" in capsys.readouterr().err
    assert main(["exchange", "serve", "--port", "70000"]) == 2
