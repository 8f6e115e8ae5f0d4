"""The KIS adapter's configuration: a YAML file checked against its JSON Schema, plus the
secrets, which come only from the environment.

``load_kis_config(path)`` reports every problem as ``FILE:LINE:COL: [rule] message``
(raised as :class:`~statecharts.errors.DocumentInvalid`, like limits and scenarios).
:class:`KisCredentials` never shows its values: not in ``repr``, not in errors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

from execution.brokers.kis.wire import DEFAULT_NOTICE_COLUMNS
from statecharts.checked import read_checked
from statecharts.errors import DocumentInvalid, Problem
from statecharts.yamlsrc import Source

Mode = Literal["real", "virtual"]
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "kis.schema.json"
ENV_APP_KEY, ENV_APP_SECRET, ENV_HTS_ID, ENV_ACCOUNT = (
    "KIS_APP_KEY", "KIS_APP_SECRET", "KIS_HTS_ID", "KIS_ACCOUNT")
_ACCOUNT = re.compile(r"^(\d{8})-(\d{2})$")


class KisConfigError(ValueError):
    """A configuration the adapter cannot run with (missing secrets, bad overrides)."""


@cache
def kis_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def default_config_path() -> Path:
    from execution import paths

    return paths.config_dir() / "brokers" / "kis.yaml"


@dataclass(frozen=True, slots=True)
class ErrorCodes:
    """KIS ``msg_cd`` values by what they mean to the engine."""

    insufficient_balance: frozenset[str] = frozenset({"APBK0919", "APBK0400"})
    unknown_symbol: frozenset[str] = frozenset({"APBK0656"})
    market_closed: frozenset[str] = frozenset({"APBK0918"})
    bad_price: frozenset[str] = frozenset({"APBK0506"})
    rate_limited: frozenset[str] = frozenset({"EGW00201"})
    token_expired: frozenset[str] = frozenset({"EGW00123", "EGW00121"})
    token_issue_limited: frozenset[str] = frozenset({"EGW00133"})


@dataclass(frozen=True, slots=True)
class KisConfig:
    """Everything the adapter needs, resolved for one mode (no secrets)."""

    mode: Mode = "virtual"
    rest_url: str = "https://openapivts.koreainvestment.com:29443"
    ws_url: str = "ws://ops.koreainvestment.com:31000/tryitout"
    cano: str = "50000000"
    product_code: str = "01"
    exchange_id: str = "KRX"
    rate_per_s: float = 2.0
    burst: float = 1.0
    throttled_wait_s: float = 1.0
    throttled_retries: int = 5
    token_cache_dir: Path = Path("~/.cache/scalpchart/kis")
    refresh_before_expiry_s: float = 3600.0
    min_issue_interval_s: float = 60.0
    fill_poll_s: float = 2.0
    open_orders_max_age_s: float = 2.0
    quote_refresh_s: float = 3.0
    balance_refresh_s: float = 30.0
    notice_columns: str = DEFAULT_NOTICE_COLUMNS
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    http_timeout_s: float = 5.0
    fee_bps: Decimal = Decimal("1.5")
    errors: ErrorCodes = field(default_factory=ErrorCodes)
    journal_path: Path | None = None  # the write-ahead journal (None: off)
    journal_sync: Literal["normal", "full"] = "normal"
    allow_real_orders: bool = False
    source: str = "<defaults>"

    @property
    def is_real(self) -> bool:
        return self.mode == "real"

    @property
    def account(self) -> str:
        return f"{self.cano}-{self.product_code}"

    def with_urls(self, rest_url: str | None = None, ws_url: str | None = None) -> KisConfig:
        """Point the adapter at another server (the paper exchange, a proxy)."""
        for url, schemes in ((rest_url, ("http://", "https://")), (ws_url, ("ws://", "wss://"))):
            if url is not None and not url.startswith(schemes):
                raise KisConfigError(f"{url!r} must start with {' or '.join(schemes)}")
        return replace(self, rest_url=(rest_url or self.rest_url).rstrip("/"),
                       ws_url=ws_url or self.ws_url)

    def with_account(self, account: str) -> KisConfig:
        match = _ACCOUNT.match(account.strip())
        if match is None:
            raise KisConfigError("the account must read CANO-ACNT_PRDT_CD (8 and 2 digits, "
                                 "e.g. 50000000-01)")
        return replace(self, cano=match.group(1), product_code=match.group(2))


@dataclass(frozen=True, slots=True)
class KisCredentials:
    """App key, app secret and HTS id; ``repr`` and ``str`` never show them."""

    app_key: str = field(repr=False)
    app_secret: str = field(repr=False)
    hts_id: str = field(repr=False)

    def __repr__(self) -> str:
        return "KisCredentials(<redacted>)"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KisCredentials:
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_APP_KEY, ENV_APP_SECRET, ENV_HTS_ID)
                   if not env.get(name, "").strip()]
        if missing:
            raise KisConfigError("set " + ", ".join(missing) + " in the environment (the KIS "
                                 "adapter reads its secrets only from there)")
        return cls(env[ENV_APP_KEY].strip(), env[ENV_APP_SECRET].strip(),
                   env[ENV_HTS_ID].strip())

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in any output (for redaction checks)."""
        return (self.app_key, self.app_secret, self.hts_id)


def load_kis_config(path: Path | str | None = None, text: str | None = None, *,
                    environ: Mapping[str, str] | None = None) -> KisConfig:
    """Read, schema-check and resolve a KIS configuration file for its mode;
    ``KIS_ACCOUNT`` in the environment overrides the file's account."""
    file = Path(path) if path is not None else default_config_path()
    source = read_checked(file, text, kis_schema())
    problems: list[Problem] = _cross_checks(source)
    if problems:
        raise DocumentInvalid(problems)
    config = _build(source.data, str(file))
    env = os.environ if environ is None else environ
    override = env.get(ENV_ACCOUNT, "").strip()
    if override:
        try:
            config = config.with_account(override)
        except KisConfigError as err:
            raise KisConfigError(f"{ENV_ACCOUNT}: {err}") from None
    return config


def _cross_checks(source: Source) -> list[Problem]:
    ws = source.data.get("websocket", {})
    low, high = ws.get("reconnect_min_ms"), ws.get("reconnect_max_ms")
    if low is not None and high is not None and low > high:
        return [source.problem("websocket.reconnect_min_ms", "kis-config",
                               f"reconnect_min_ms {low} exceeds reconnect_max_ms {high}")]
    return []


def _pick(data: Mapping[str, Any], section: str, key: str, mode: Mode, default: float) -> float:
    value = data.get(section, {}).get(key)
    return default if value is None else float(value[mode])


def _build(data: Mapping[str, Any], file: str) -> KisConfig:
    mode: Mode = data["mode"]
    base = KisConfig()
    server = data["servers"][mode]
    ws_path = data.get("ws_path", "/tryitout")
    rate = data.get("rate_limit", {})
    token = data.get("token", {})
    polling = data.get("polling", {})
    ws = data.get("websocket", {})
    errors = data.get("errors", {})
    journal = data.get("journal", {}).get("path")
    journal_sync = data.get("journal", {}).get("sync", "normal")
    codes = ErrorCodes(**{name: frozenset(errors.get(name, getattr(ErrorCodes(), name)))
                          for name in ErrorCodes.__dataclass_fields__})
    config = KisConfig(
        mode=mode,
        rest_url=server["rest"].rstrip("/"),
        ws_url=server["ws"].rstrip("/") + ws_path,
        exchange_id=data.get("exchange", base.exchange_id),
        rate_per_s=_pick(data, "rate_limit", "per_s", mode, 18.0 if mode == "real" else 2.0),
        burst=_pick(data, "rate_limit", "burst", mode, 18.0 if mode == "real" else 1.0),
        throttled_wait_s=float(rate.get("throttled_wait_ms", 1000)) / 1000,
        throttled_retries=int(rate.get("throttled_retries", base.throttled_retries)),
        token_cache_dir=Path(token.get("cache_dir", str(base.token_cache_dir))),
        refresh_before_expiry_s=float(token.get("refresh_before_expiry_s",
                                                base.refresh_before_expiry_s)),
        min_issue_interval_s=float(token.get("min_issue_interval_s", base.min_issue_interval_s)),
        fill_poll_s=_pick(data, "polling", "fills_ms", mode, 2000) / 1000,
        open_orders_max_age_s=_pick(data, "polling", "open_orders_max_age_ms", mode, 2000) / 1000,
        quote_refresh_s=_pick(data, "polling", "quotes_ms", mode, 3000) / 1000,
        balance_refresh_s=float(polling.get("balance_s", base.balance_refresh_s)),
        notice_columns=ws.get("notice_columns", base.notice_columns),
        reconnect_min_s=float(ws.get("reconnect_min_ms", 500)) / 1000,
        reconnect_max_s=float(ws.get("reconnect_max_ms", 30000)) / 1000,
        http_timeout_s=float(data.get("http", {}).get("timeout_ms", 5000)) / 1000,
        fee_bps=Decimal(str(data.get("fees", {}).get("commission_bps", base.fee_bps))),
        errors=codes,
        journal_path=None if journal is None else Path(journal).expanduser(),
        journal_sync=journal_sync,
        source=file,
    )
    return config.with_account(data["account"])
