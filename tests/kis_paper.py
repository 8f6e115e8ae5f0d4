"""Helpers for the tests that run whole executions through the KIS adapter against the
paper exchange in its own process: a broker configured for it, one intent run to its
result, and the order-truth check against the exchange's own records."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from execution.brokers.kis import KisBroker, KisConfig, KisCredentials
from execution.contracts import ExecutionIntent, ExecutionResult
from execution.engine import Engine
from execution.paper.process import PaperProcess
from execution.settings import EngineLimits, load_engine_limits

_ACCOUNTS = itertools.count(1)
TIMEOUTS_MS = {"PRECHECK": 2000, "SPLITTING": 1000, "SENDING": 4000, "MONITORING": 2500,
               "ADJUSTING": 2000, "ESCAPING": 4000}


def new_account() -> str:
    """A fresh account per test: its own orders, cash and records in the paper exchange's
    one market (the module's tests run one after another)."""
    return f"{60_000_000 + next(_ACCOUNTS):08d}-01"


def kis_config(paper: PaperProcess, cache: Path, account: str, **changes: Any) -> KisConfig:
    base = KisConfig(mode="virtual", rate_per_s=50, burst=50, throttled_wait_s=0.2,
                     min_issue_interval_s=0, token_cache_dir=cache, fill_poll_s=0.2,
                     open_orders_max_age_s=0.2, quote_refresh_s=0.3, balance_refresh_s=5,
                     reconnect_min_s=0.1, reconnect_max_s=0.5)
    config = base.with_urls(paper.rest_url, paper.ws_url).with_account(account)
    return replace(config, **changes)


def credentials(tag: str) -> KisCredentials:
    return KisCredentials(f"PSkey-{tag}", f"secret-{tag}", f"hts-{tag}")


def fast_limits(**changes: Any) -> EngineLimits:
    return load_engine_limits().with_(retry_backoff_ms=50, cancel_confirm_timeout_ms=3000,
                                      **changes)


@dataclass
class Outcome:
    result: ExecutionResult
    broker: KisBroker
    account: str


During = Callable[[Engine, str, KisBroker], Awaitable[None]]


async def execute(config: KisConfig, creds: KisCredentials, intent: ExecutionIntent, *,
                  limits: EngineLimits | None = None, during: During | None = None,
                  before: Callable[[KisBroker], Awaitable[None]] | None = None,
                  settle_s: float = 0.6) -> Outcome:
    """Run one intent through the adapter; ``during`` runs beside it (faults, escape);
    after the result the broker polls once more (``settle_s``) before it closes."""
    broker = KisBroker(config, creds)
    engine = Engine(broker, limits=limits or fast_limits(), stage_timeouts_ms=TIMEOUTS_MS)
    async with broker:
        assert await broker.watch(intent.symbol)
        await subscribed(broker)
        if before is not None:
            await before(broker)
        execution = engine.submit(intent)
        side = None if during is None else asyncio.get_running_loop().create_task(
            during(engine, execution.id, broker))
        result = await asyncio.wait_for(execution.result, 30)
        if side is not None:
            await side
        await engine.close()
        await asyncio.sleep(settle_s)
    return Outcome(result, broker, config.account)


async def subscribed(broker: KisBroker, timeout_s: float = 5.0) -> None:
    """Wait until the fill-notice stream is subscribed."""
    for _ in range(int(timeout_s / 0.02)):
        if broker.notices.subscribed:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the fill-notice stream did not subscribe")


def order_truth(paper: PaperProcess, outcome: Outcome) -> dict[str, Any]:
    """The exchange's records against the engine's: every fill counted once (per order,
    engine filled == exchange filled), and no order left live at the exchange. Returns
    the exchange's orders for further checks."""
    orders = paper.admin(f"orders?account={outcome.account}")["orders"]
    exchange = {o["odno"]: o["filled"] for o in orders if o["kind"] != "cancel"}
    engine: Counter[str] = Counter()
    for fill in outcome.result.fills:
        engine[fill.order_id] += fill.filled_qty
    liquidation = outcome.result.liquidated_qty
    mismatched = {odno: (engine.get(odno, 0), filled) for odno, filled in exchange.items()
                  if engine.get(odno, 0) != filled}
    assert not liquidation and not mismatched, f"engine vs exchange filled: {mismatched}"
    assert sum(exchange.values()) == outcome.result.filled_qty
    live = [o["odno"] for o in orders if o["live"]]
    assert not live, f"orders still live at the exchange: {live}"
    return {"orders": orders}
