"""The KIS configuration: schema, FILE:LINE:COL errors, the environment, no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.brokers.kis.config import (
    KisConfigError,
    KisCredentials,
    load_kis_config,
)
from statecharts.errors import DocumentInvalid

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "config" / "brokers" / "kis.yaml"
PAPER = ROOT / "config" / "brokers" / "paper.yaml"


def test_the_shipped_files_load() -> None:
    config = load_kis_config(SHIPPED, environ={})
    assert config.mode == "virtual" and not config.is_real
    assert config.rest_url == "https://openapivts.koreainvestment.com:29443"
    assert config.ws_url == "ws://ops.koreainvestment.com:31000/tryitout"
    assert (config.cano, config.product_code) == ("50000000", "01")
    assert (config.rate_per_s, config.burst) == (2.0, 1.0)
    assert "APBK0919" in config.errors.insufficient_balance
    assert "EGW00201" in config.errors.rate_limited
    paper = load_kis_config(PAPER, environ={})
    assert paper.rate_per_s == 18 and paper.fill_poll_s == 0.25


def test_real_mode_picks_the_real_server_and_rate() -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("mode: virtual ", "mode: real    ")
    config = load_kis_config(SHIPPED, text, environ={})
    assert config.is_real and config.rest_url == "https://openapi.koreainvestment.com:9443"
    assert config.rate_per_s == 18 and config.fill_poll_s == 1.0
    assert not config.allow_real_orders  # only the CLI flag turns this on


def test_kis_account_in_the_environment_overrides_the_file() -> None:
    config = load_kis_config(SHIPPED, environ={"KIS_ACCOUNT": "12345678-22"})
    assert config.account == "12345678-22"
    with pytest.raises(KisConfigError, match="KIS_ACCOUNT: the account must read"):
        load_kis_config(SHIPPED, environ={"KIS_ACCOUNT": "1234-5"})


def test_schema_errors_point_at_the_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    bad = text.replace('account: "50000000-01"', 'account: "5000-01"').replace(
        "exchange: KRX", "exchange: KRX\nretries: 3")
    with pytest.raises(DocumentInvalid) as caught:
        load_kis_config(tmp_path / "kis.yaml", bad, environ={})
    lines = [str(p) for p in caught.value.problems]
    assert any(":10:10: [schema]" in line and "does not match" in line for line in lines), lines
    assert any(":12:1: [schema] unknown key 'retries'" in line for line in lines), lines


def test_yaml_traps_are_reported(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("mode: virtual", "mode: off")
    with pytest.raises(DocumentInvalid) as caught:
        load_kis_config(tmp_path / "kis.yaml", text, environ={})
    assert "[yaml-trap]" in str(caught.value.problems[0])


def test_credentials_come_from_the_environment_and_never_show() -> None:
    env = {"KIS_APP_KEY": "PSappKEY123", "KIS_APP_SECRET": "s3cr3t/+=", "KIS_HTS_ID": "trader"}
    creds = KisCredentials.from_env(env)
    assert creds.app_key == "PSappKEY123"
    for text in (repr(creds), str(creds), f"{creds}"):
        assert all(secret not in text for secret in creds.secrets())
    with pytest.raises(KisConfigError, match="set KIS_APP_SECRET, KIS_HTS_ID in the env"):
        KisCredentials.from_env({"KIS_APP_KEY": "x"})


def test_url_overrides_are_checked() -> None:
    config = load_kis_config(SHIPPED, environ={})
    moved = config.with_urls("http://127.0.0.1:9/", "ws://127.0.0.1:9/tryitout")
    assert moved.rest_url == "http://127.0.0.1:9" and moved.ws_url.endswith("/tryitout")
    with pytest.raises(KisConfigError, match="must start with"):
        config.with_urls("ftp://x")


def test_cross_checks(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("reconnect_min_ms: 500",
                                                       "reconnect_min_ms: 50000")
    with pytest.raises(DocumentInvalid) as caught:
        load_kis_config(tmp_path / "kis.yaml", text, environ={})
    assert "[kis-config] reconnect_min_ms 50000 exceeds" in str(caught.value.problems[0])


def test_the_adapter_is_a_broker() -> None:
    from execution.broker import Broker
    from execution.brokers.kis import KisBroker

    broker = KisBroker(load_kis_config(SHIPPED, environ={}),
                       KisCredentials("k", "s", "h"))
    assert isinstance(broker, Broker)
