"""The kill tests' driver: the paper exchange runs in its own process (a fixture), each
kill point runs the engine in another (forked from a server that has imported
everything), kills it with SIGKILL (at a planned journal record, or at a random moment),
recovers from the journal (in this process, or through ``scalpchart recover``), checks
the invariant against the exchange's own records, and recovers once more to see that
nothing changes.

The invariant, per kill point: every execution in the journal is final; no order of the
account is live at the exchange; every order of the account is known to the journal
(nothing placed behind its back); per order, the shares the journal counted equal the
exchange's filled quantity (none missed, none twice), and per execution the result's
filled quantity equals the exchange's over its orders; the second recovery changes
nothing (no execution, no fill, no cancel, no journal record; the exchange unchanged).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from execution.brokers.kis import KisBroker
from execution.engine import Engine
from execution.journal import SqliteStore, open_journal
from execution.journal.rows import EventRow
from execution.paper.process import PaperProcess
from execution.testing.killrun import (
    KINDS,
    IntentPlan,
    KillPlan,
    WorkerSpec,
    credentials,
    fills_by_order,
    kis_config,
    limits,
    run_worker,
    unfinished,
)

IN_DOUBT_WAIT_S = 1.0
_CONTEXT: ForkServerContext | None = None


def fork_context() -> ForkServerContext:
    """Workers fork from a server that has imported the engine once (milliseconds per
    kill point instead of seconds of imports)."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["execution.testing.killrun"])
    return _CONTEXT


@dataclass(frozen=True, slots=True)
class KillPoint:
    index: int
    intents: tuple[IntentPlan, ...]
    plan: KillPlan | None  # a planned record, or None: killed at ``kill_after_s``
    kill_after_s: float
    liquidate: bool
    via_cli: bool

    def label(self) -> str:
        how = self.plan.label() if self.plan else f"at {self.kill_after_s * 1000:.0f}ms"
        what = ", ".join(f"{i.side} {i.qty} {i.symbol} {i.urgency}"
                         + (f" escape@{i.escape_after_ms:.0f}" if i.escape_after_ms else "")
                         for i in self.intents)
        return f"#{self.index} {how} [{what}]" + (" liquidate" if self.liquidate else "") + (
            " (cli)" if self.via_cli else "")


_SYMBOLS = ("005930", "000660", "035420", "005380")


def _intents(rng: random.Random, kind: str) -> tuple[IntentPlan, ...]:
    """One to three intents on distinct symbols; the kind to kill at gets what makes it
    happen (a resting order to revise, an escape to cancel and liquidate)."""
    symbols = rng.sample(_SYMBOLS, rng.randint(1, 3))
    intents = []
    for symbol in symbols:
        urgency = rng.choice(("high", "normal", "normal", "low"))
        escape = rng.choice((None, None, rng.uniform(150, 1500)))
        intents.append(IntentPlan(symbol, rng.choice(("buy", "sell")),
                                  rng.choice((50, 100, 300, 700)), urgency, escape))
    first = intents[0]
    if kind == "revise":
        intents[0] = replace(first, urgency="normal", escape_after_ms=None)
    elif kind == "cancel":  # (before the first adjust round, at 400 ms, takes the far touch)
        intents[0] = replace(first, urgency="normal", escape_after_ms=rng.uniform(100, 350))
    elif kind == "liquidation":  # more than the thin offer holds: part fills, part rests
        intents[0] = IntentPlan("000660", "buy", 2400, "high", rng.uniform(80, 250), "single")
        intents = [i for i in intents if i is intents[0] or i.symbol != "000660"]
    return tuple(intents)


def plan_points(seed: int, count: int, *, cli_every: int = 25) -> list[KillPoint]:
    """``count`` kill points drawn from ``seed``: mostly at a planned record (each kind,
    before or after it is written, sometimes with a delay that lands the kill while the
    request is on the wire), some at a random moment."""
    rng = random.Random(seed)
    points = []
    for index in range(count):
        plan = None
        kind = ""
        if rng.random() < 0.8:
            kind = rng.choice((*KINDS, "send", "order", "cancel", "liquidation"))
            after = rng.random() < 0.6
            delay = rng.choice((0.0, 0.0, rng.uniform(1, 40))) if after else 0.0
            occurrence = (1 if kind in ("result", "liquidation") else
                          rng.choice((1, 1, 2)) if kind in ("revise", "cancel") else
                          rng.choice((1, 1, 2, 3)))
            plan = KillPlan(kind, occurrence, after, delay)
        intents = _intents(rng, kind)
        liquidate = rng.random() < 0.5 or kind == "liquidation"
        points.append(KillPoint(index, intents, plan, rng.uniform(0.0, 0.8), liquidate,
                                via_cli=cli_every > 0 and index % cli_every == cli_every - 1))
    return points


@dataclass(slots=True)
class PointResult:
    point: KillPoint
    killed: bool
    first: dict[str, Any]
    seconds: float


class KillRig:
    """Runs kill points against one paper exchange; ``workdir`` keeps each point's
    journal and the engine's log (for a failing point)."""

    def __init__(self, paper: PaperProcess, workdir: Path, account_base: int) -> None:
        self.paper, self.workdir = paper, workdir
        self.account_base = account_base
        self.cache = workdir / "tokens"
        self.cache.mkdir(parents=True, exist_ok=True)

    def spec(self, point: KillPoint) -> WorkerSpec:
        account = f"{self.account_base + point.index:08d}-01"
        return WorkerSpec(self.paper.rest_url, self.paper.ws_url, account, str(self.cache),
                          str(self.workdir / f"journal-{point.index}.sqlite"), point.intents,
                          point.plan, point.liquidate,
                          log_file=str(self.workdir / f"engine-{point.index}.log"))

    def run(self, point: KillPoint) -> PointResult:
        started = time.monotonic()
        spec = self.spec(point)
        context = fork_context()
        ready = context.Event()
        proc = context.Process(target=run_worker, args=(spec, ready), daemon=True)
        proc.start()
        if point.plan is None:  # a random moment once the intents are in
            ready.wait(timeout=20.0)
            proc.join(timeout=point.kill_after_s)
            if proc.is_alive():
                proc.kill()
        proc.join(timeout=30.0)
        assert proc.exitcode is not None, f"{point.label()}: the engine did not end"
        assert proc.exitcode in (0, -9), f"{point.label()}: the engine failed " \
            f"(exit {proc.exitcode}); see {spec.log_file}"
        killed = proc.exitcode == -9
        first = self.recover(spec, cli=point.via_cli)
        check_invariant(self.paper, spec, first, point.label())
        before = self.paper.admin(f"orders?account={spec.account}")["orders"]
        last_seq = _last_seq(spec)
        second = self.recover(spec, cli=False)
        assert not (second["executions"] or second["fills_added"]
                    or second["orphans_cancelled"]), f"{point.label()}: second recovery " \
            f"changed something: {second}"
        assert _last_seq(spec) == last_seq, f"{point.label()}: second recovery wrote records"
        after = self.paper.admin(f"orders?account={spec.account}")["orders"]
        assert before == after, f"{point.label()}: second recovery touched the exchange"
        return PointResult(point, killed, first, time.monotonic() - started)

    def recover(self, spec: WorkerSpec, *, cli: bool) -> dict[str, Any]:
        if cli:
            return recover_cli(spec, self.workdir)
        return asyncio.run(recover_in_process(spec))


async def recover_in_process(spec: WorkerSpec) -> dict[str, Any]:
    broker = KisBroker(kis_config(spec), credentials(spec.tag))
    journal = open_journal(spec.journal)
    try:
        engine = Engine(broker, limits=limits(spec), journal=journal)
        async with broker:
            report = await engine.recover(in_doubt_wait_s=IN_DOUBT_WAIT_S)
            await engine.close()
    finally:
        journal.close()
    return report.to_json()


def recover_cli(spec: WorkerSpec, workdir: Path) -> dict[str, Any]:
    """``scalpchart recover --broker kis`` in a process of its own, on a broker
    configuration written for this paper exchange."""
    config = workdir / "kis-paper.yaml"
    if not config.exists():
        text = (Path(__file__).resolve().parents[1] / "config" / "brokers" / "paper.yaml"
                ).read_text(encoding="utf-8")
        config.write_text(text.replace('"~/.cache/scalpchart/kis-paper"',
                                       json.dumps(str(workdir / "tokens"))), encoding="utf-8")
    creds = credentials(spec.tag)
    env = dict(os.environ, KIS_APP_KEY=creds.app_key, KIS_APP_SECRET=creds.app_secret,
               KIS_HTS_ID=creds.hts_id, KIS_ACCOUNT=spec.account)
    cmd = [sys.executable, "-m", "execution.cli", "recover", "--journal", spec.journal,
           "--broker", "kis", "--broker-config", str(config), "--kis-url", spec.rest_url,
           "--kis-ws-url", spec.ws_url, "--in-doubt-wait-ms", str(IN_DOUBT_WAIT_S * 1000),
           "--format", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, f"scalpchart recover exit {done.returncode}: " \
        f"{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _last_seq(spec: WorkerSpec) -> int:
    store = SqliteStore(spec.journal, readonly=True) if Path(spec.journal).exists() else None
    if store is None:
        return 0
    try:
        return store.last_seq()
    finally:
        store.close()


def _journal(spec: WorkerSpec) -> tuple[list[str], list[EventRow]]:
    if not Path(spec.journal).exists():
        return [], []
    store = SqliteStore(spec.journal, readonly=True)
    try:
        return unfinished(store.executions()), store.events()
    finally:
        store.close()


def check_invariant(paper: PaperProcess, spec: WorkerSpec, report: dict[str, Any],
                    label: str) -> None:
    """See the module docstring."""
    pending, events = _journal(spec)
    assert not pending, f"{label}: executions not final after recovery: {pending}; {report}"
    assert not report["unconfirmed"], f"{label}: unconfirmed: {report['unconfirmed']}"
    assert not report["unknown_orders"], f"{label}: unknown orders: {report['unknown_orders']}"
    orders = paper.admin(f"orders?account={spec.account}")["orders"]
    exchange = {o["odno"]: o for o in orders if o["kind"] != "cancel"}
    live = sorted(odno for odno, o in exchange.items() if o["live"])
    assert not live, f"{label}: orders still live at the exchange: {live}; {report}"
    known = {e.order_id for e in events if e.kind == "order"}
    assert set(exchange) <= known, f"{label}: orders the journal does not know: " \
        f"{sorted(set(exchange) - known)}; {report}"
    counted = fills_by_order(events)
    wrong = {odno: (counted.get(odno, 0), o["filled"]) for odno, o in exchange.items()
             if counted.get(odno, 0) != o["filled"]}
    assert not wrong, f"{label}: journal vs exchange filled per order: {wrong}; {report}"
    fill_ids = [(e.execution_id, e.data["event_id"]) for e in events if e.kind == "fill"]
    assert len(fill_ids) == len(set(fill_ids)), f"{label}: a fill journaled twice"
    _check_results(events, exchange, label)


def _check_results(events: list[EventRow], exchange: dict[str, Any], label: str) -> None:
    liquidation = {e.child_id for e in events if e.kind == "send" and e.data.get("liquidation")}
    per_execution: dict[str, int] = {}
    for e in events:
        if e.kind == "order" and e.child_id not in liquidation and e.order_id in exchange:
            per_execution[e.execution_id] = (per_execution.get(e.execution_id, 0)
                                             + exchange[e.order_id]["filled"])
    results = {e.execution_id: e.data for e in events if e.kind == "result"}
    for execution_id, result in results.items():
        assert result["filled_qty"] == per_execution.get(execution_id, 0), \
            f"{label}: {execution_id} result filled {result['filled_qty']}, exchange " \
            f"{per_execution.get(execution_id, 0)}"
