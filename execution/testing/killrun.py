"""The engine side of the kill tests: one process that trades a few intents through the
KIS adapter against the paper exchange with a journal, and dies by SIGKILL at a planned
point.

A :class:`KillPlan` names a kind of journal record and its n-th occurrence: the process
kills itself just *before* the batch holding it is written (the record is lost: a send
never journaled is never sent; an answer never journaled leaves the order in doubt), or
just *after* (a send journaled, killed before the broker call, or ``delay_ms`` later,
with the request on the wire). Kinds: ``send`` (an order's write-ahead record: its
split's plan, or a send of its own), ``order`` (an ack, a lookup, a revise's new id),
``revise``, ``cancel``, ``fill``, ``liquidation`` (the escape's market order),
``transition``, ``result``. The parent may also kill the process at a random moment
(:meth:`multiprocessing.Process.kill`). The process exits 0 when it ran to the end
without meeting its kill point.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from execution.brokers.kis import KisBroker, KisConfig, KisCredentials
from execution.contracts import ExecutionIntent, Side, SplitStrategy, Urgency
from execution.engine import Engine
from execution.journal import DurableJournal, SqliteStore
from execution.journal.rows import Batch, EventRow, ExecutionRow
from execution.settings import EngineLimits, load_engine_limits

TIMEOUTS_MS: dict[str, float] = {"PRECHECK": 2000, "SPLITTING": 1000, "SENDING": 4000,
                                  "MONITORING": 2000, "ADJUSTING": 2000, "ESCAPING": 4000}
KINDS = ("send", "order", "revise", "cancel", "fill", "liquidation", "transition", "result")


@dataclass(frozen=True, slots=True)
class KillPlan:
    kind: str
    occurrence: int = 1
    after: bool = False
    delay_ms: float = 0.0

    def label(self) -> str:
        when = "after" if self.after else "before"
        delay = f"+{self.delay_ms:.0f}ms" if self.after and self.delay_ms else ""
        return f"{when} {self.kind}#{self.occurrence}{delay}"


@dataclass(frozen=True, slots=True)
class IntentPlan:
    symbol: str
    side: str
    qty: int
    urgency: str
    escape_after_ms: float | None = None
    strategy: str = "auto"


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    rest_url: str
    ws_url: str
    account: str
    cache_dir: str
    journal: str
    intents: tuple[IntentPlan, ...]
    plan: KillPlan | None = None
    liquidate_on_escape: bool = False
    log_file: str = ""
    tag: str = "kill"
    limits: Mapping[str, Any] = field(default_factory=dict)


def _matches(plan: KillPlan, event: Sequence[Any]) -> bool:
    kind, data = event[4], event[7]
    if plan.kind == "liquidation":
        return kind == "send" and bool(data.get("liquidation"))
    if plan.kind == "send":  # (a first send is journaled ahead, as its split's plan)
        return kind in ("send", "plan")
    return bool(kind == plan.kind)


class KillingStore(SqliteStore):
    """The SQLite store, with the process's death at the planned record."""

    def __init__(self, path: str, plan: KillPlan | None) -> None:
        super().__init__(path)
        self.plan = plan
        self.seen = 0
        self.dying = False  # a delayed kill is on its way

    def write(self, batch: Batch) -> None:
        plan = self.plan
        hit = False
        if plan is not None:
            self.seen += sum(1 for event in batch.events if _matches(plan, event))
            hit = self.seen >= plan.occurrence
        if hit and plan is not None and not plan.after:
            _die()
        super().write(batch)
        if hit and plan is not None:
            if plan.delay_ms <= 0:
                _die()
            self.plan, self.dying = None, True  # (the process goes on for a moment)
            threading.Timer(plan.delay_ms / 1000, _die).start()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kis_config(spec: WorkerSpec) -> KisConfig:
    base = KisConfig(mode="virtual", rate_per_s=50, burst=50, throttled_wait_s=0.2,
                     min_issue_interval_s=0, token_cache_dir=Path(spec.cache_dir),
                     fill_poll_s=0.2, open_orders_max_age_s=0.2, quote_refresh_s=0.3,
                     balance_refresh_s=5, reconnect_min_s=0.1, reconnect_max_s=0.5)
    return base.with_urls(spec.rest_url, spec.ws_url).with_account(spec.account)


def credentials(tag: str) -> KisCredentials:
    return KisCredentials(f"PSkey-{tag}", f"secret-{tag}", f"hts-{tag}")


def limits(spec: WorkerSpec) -> EngineLimits:
    every_interval = dict.fromkeys(Urgency, 0.0)
    changes: dict[str, Any] = {"retry_backoff_ms": 50, "cancel_confirm_timeout_ms": 3000,
                               "adjust_interval_ms": 400, "first_round_pct": every_interval,
                               "last_round_pct": every_interval,
                               "liquidate_on_escape": spec.liquidate_on_escape}
    changes.update(spec.limits)
    return load_engine_limits().with_(**changes)


def intent(plan: IntentPlan) -> ExecutionIntent:
    return ExecutionIntent(plan.symbol, Side(plan.side), plan.qty, urgency=Urgency(plan.urgency),
                           strategy=SplitStrategy(plan.strategy))


class Ready(Protocol):
    def set(self) -> None: ...


async def trade(spec: WorkerSpec, ready: Ready | None = None) -> None:
    broker = KisBroker(kis_config(spec), credentials(spec.tag))
    store = KillingStore(spec.journal, spec.plan)
    journal = DurableJournal(store)
    engine = Engine(broker, limits=limits(spec), stage_timeouts_ms=TIMEOUTS_MS, journal=journal)
    loop = asyncio.get_running_loop()
    async with broker:
        for plan in spec.intents:
            await broker.watch(plan.symbol)
        handles = []
        for plan in spec.intents:
            execution = engine.submit(intent(plan))
            handles.append(execution)
            if plan.escape_after_ms is not None:
                loop.call_later(plan.escape_after_ms / 1000, engine.escape, execution.id,
                                "kill test: escape")
        if ready is not None:
            ready.set()
        await asyncio.gather(*(h.result for h in handles))
        await engine.close()
        journal.flush()
        if store.dying:  # the planned kill comes after the end: let it land
            await asyncio.sleep(1.0)
    journal.close()


def run_worker(spec: WorkerSpec, ready: Ready | None = None) -> None:
    """The child process's entry point; ``ready`` is set once the intents are submitted."""
    if spec.log_file:
        logging.basicConfig(filename=spec.log_file, level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        logging.disable(logging.CRITICAL)
    asyncio.run(trade(spec, ready))


def fills_by_order(events: Sequence[EventRow]) -> dict[str, int]:
    """Shares counted per broker order id (a test's view of a journal's fills)."""
    counted: dict[str, int] = {}
    for event in events:
        if event.kind == "fill":
            counted[event.order_id] = counted.get(event.order_id, 0) + int(event.data["counted"])
    return counted


def execution_orders(events: Sequence[EventRow]) -> dict[str, set[str]]:
    """Broker order ids per execution."""
    out: dict[str, set[str]] = {}
    for event in events:
        if event.kind == "order":
            out.setdefault(event.execution_id, set()).add(event.order_id)
    return out


def unfinished(rows: Sequence[ExecutionRow]) -> list[str]:
    return [row.id for row in rows if not row.settled]
