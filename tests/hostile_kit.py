"""Helpers for the hostile-input tests: run the CLI in-process and run one intent on the
virtual clock, reporting everything that could go wrong (handler errors, exceptions that
reached the event loop, an execution that never ends)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from execution.cli import main
from execution.contracts import ExecutionIntent, Side, Urgency
from execution.engine import Engine
from execution.market_session import KrxSessions, default_sim_start
from execution.settings import load_engine_limits
from execution.sim import SimulatedExchange
from execution.sim.vclock import new_loop

LOCATED = r"{file}:\d+:\d+: \[[a-z0-9-]+\] \S"
VIRTUAL_PATIENCE_S = 3_600.0  # an execution still running after an hour of exchange time hangs


@dataclass
class Cli:
    code: int
    out: str
    err: str


def cli(*argv: str | Path) -> Cli:
    """``scalpchart ARGV`` in-process; any exception propagates (a traceback is a bug)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Cli(code, out.getvalue(), err.getvalue())


def assert_located(result: Cli, path: Path) -> None:
    """Exit 1 with every line ``FILE:LINE:COL: [rule] message``, or exit 2 with one line
    ``scalpchart: error: FILE: ...``."""
    assert result.code in (1, 2), result
    text = result.out if result.out.strip() else result.err
    lines = text.strip().splitlines()
    assert lines, result
    if result.code == 2:
        assert len(lines) == 1 and lines[0].startswith("scalpchart: error: "), result
        assert str(path) in lines[0], result
        return
    pattern = re.compile(LOCATED.format(file=re.escape(str(path))))
    for line in lines:
        assert pattern.match(line), f"not located: {line!r}"


@dataclass
class Outcome:
    final_state: str
    role: str | None
    reason: str
    errors: list[tuple[str, BaseException]] = field(default_factory=list)
    loop_errors: list[dict[str, Any]] = field(default_factory=list)


def warm_up() -> None:
    """Build what the first run would build (the calendar, the volume profile, the chart)."""
    _session()
    run_intent()


def run_intent(chart: Path | None = None, limits: Path | None = None, *, qty: int = 300,
               escape_after_ms: float | None = None, seed: int = 7) -> Outcome:
    """One buy on the simulated exchange, on the virtual clock."""
    loop = new_loop("virtual")
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    try:
        asyncio.set_event_loop(loop)
        outcome = loop.run_until_complete(_run(chart, limits, qty, escape_after_ms, seed))
        outcome.loop_errors = loop_errors
        return outcome
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        asyncio.set_event_loop(None)
        loop.close()


@cache
def _session() -> tuple[KrxSessions, int]:
    """The trading calendar and a start inside a session. Building the calendar takes
    seconds (lunar holidays): call :func:`warm_up` before timing anything."""
    sessions = KrxSessions()
    return sessions, int(default_sim_start(sessions=sessions).timestamp() * 1e9)


async def _run(chart: Path | None, limits: Path | None, qty: int,
               escape_after_ms: float | None, seed: int) -> Outcome:
    loop = asyncio.get_running_loop()
    sessions, start_ns = _session()
    exchange = SimulatedExchange(seed=seed, start_ns=start_ns, time_source=loop.time,
                                 is_open=sessions.is_open)
    engine = Engine(exchange, limits=load_engine_limits(limits), chart=chart,
                    sessions=sessions, pool_size=1)
    async with exchange:
        execution = engine.submit(ExecutionIntent("005930", Side.BUY, qty,
                                                  urgency=Urgency.HIGH))
        if escape_after_ms is not None:
            loop.call_later(escape_after_ms / 1000, engine.escape, execution.id, "test")
        try:
            result = await asyncio.wait_for(asyncio.shield(execution.result),
                                            VIRTUAL_PATIENCE_S)
        except TimeoutError as err:
            raise AssertionError(f"the execution hangs in {execution.state}") from err
    await engine.close()
    role = engine.spec.state(result.final_state).role
    return Outcome(result.final_state, role, result.reason, list(execution.run.errors))
