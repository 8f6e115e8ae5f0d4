"""Building and driving an engine in tests: limits, an engine on a broker, intents, waits.

>>> async with running_engine(ScriptedBroker()) as engine:     # doctest: +SKIP
...     execution = engine.submit(intent(50))
...     await until_state(execution, "MONITORING")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from execution.broker import Broker
from execution.bus import EventBus
from execution.context import ExecutionContext, Services
from execution.contracts import ExecutionIntent, ExecutionResult, Side, SplitStrategy, Urgency
from execution.engine import Engine, Execution
from execution.market_session import KrxSessions
from execution.safety import SafetyState
from execution.settings import EngineLimits, load_engine_limits
from execution.split import SplitParams
from execution.testing.scripted import SYMBOL
from execution.volume_profile import VolumeProfile

T = TypeVar("T")

#: Short stage timeouts (ms) for tests; the chart's own defaults are 5 s .. 60 s.
TEST_TIMEOUTS_MS: dict[str, float] = {
    "PRECHECK": 500,
    "SPLITTING": 500,
    "SENDING": 500,
    "MONITORING": 300,
    "ADJUSTING": 500,
    "ESCAPING": 500,
}
# Rounds paced by the adjust interval alone (no patience schedule) unless a test says so:
# the tests use short timeouts, and the schedule has tests of its own.
_EVERY_INTERVAL = {urgency: 0.0 for urgency in Urgency}
#: Limits for tests: fast retries, fast cancel confirmation, no stall before the fill timeout
#: (adjust_interval_ms > MONITORING timeout) unless a test asks for one.
TEST_LIMITS: dict[str, Any] = {
    "retry_backoff_ms": 5,
    "cancel_confirm_timeout_ms": 200,
    "fill_poll_interval_ms": 50,
    "adjust_interval_ms": 1000,
    "first_round_pct": _EVERY_INTERVAL,
    "last_round_pct": _EVERY_INTERVAL,
}


@cache
def base_limits() -> EngineLimits:
    """The shipped ``limits.yaml``, read once per process."""
    return load_engine_limits()


@cache
def _profile() -> VolumeProfile:
    return VolumeProfile.load()


def make_limits(**overrides: Any) -> EngineLimits:
    """The shipped limits with :data:`TEST_LIMITS` and ``overrides``; split parameters may be
    given as ``split={...}`` (merged into the YAML's split section)."""
    limits = base_limits()
    split = overrides.pop("split", None)
    if isinstance(split, dict):
        current = {f: getattr(limits.split, f) for f in SplitParams.__dataclass_fields__}
        overrides["split"] = SplitParams(**(current | split))
    elif split is not None:
        overrides["split"] = split
    return limits.with_(**(TEST_LIMITS | overrides))


#: what the tests' ``new_engine`` fixture hands out: ``make_engine`` on the test's broker
EngineFactory = Callable[..., Engine]


def make_engine(broker: Broker, *, timeouts: dict[str, float] | None = None,
                safety_state: SafetyState = SafetyState.NORMAL,
                capital_krw: Decimal | None = None, id_prefix: str = "X",
                **limit_overrides: Any) -> Engine:
    """An engine on ``broker`` with :data:`TEST_TIMEOUTS_MS` (``timeouts`` overrides single
    states) and the test limits (keyword arguments override :class:`EngineLimits` fields)."""
    return Engine(broker, limits=make_limits(**limit_overrides), safety_state=safety_state,
                  capital_krw=capital_krw, id_prefix=id_prefix,
                  stage_timeouts_ms=TEST_TIMEOUTS_MS | (timeouts or {}), pool_size=4)


@asynccontextmanager
async def running_engine(broker: Broker, **kwargs: Any) -> AsyncIterator[Engine]:
    """:func:`make_engine`, started; closed (its executions settled) on the way out."""
    engine = make_engine(broker, **kwargs)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.close()


def intent(qty: int = 50, side: Side = Side.BUY, *, symbol: str = SYMBOL,
           limit: Decimal | int | None = None, urgency: Urgency = Urgency.NORMAL,
           strategy: SplitStrategy = SplitStrategy.SINGLE, cid: str = "") -> ExecutionIntent:
    return ExecutionIntent(symbol, side, qty, Decimal(limit) if limit is not None else None,
                           urgency, strategy, cid)


async def until(predicate: Callable[[], bool], timeout: float = 2.0,
                what: str = "condition") -> None:
    """Yield to the loop until ``predicate()`` holds (fails the test after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    spins = 0
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        spins += 1
        await asyncio.sleep(0 if spins < 50 else 0.001)


async def until_state(execution: Execution, state: str, timeout: float = 2.0) -> None:
    await until(lambda: execution.state == state, timeout,
                f"{execution.id} to reach {state} (now {execution.state})")


async def finish(execution: Execution, timeout: float = 3.0) -> ExecutionResult:
    return await asyncio.wait_for(asyncio.shield(execution.result), timeout)


def path(result: ExecutionResult) -> list[str]:
    return [step.state for step in result.path]


def codes(result: ExecutionResult) -> list[str]:
    return result.codes()


def alert(result: ExecutionResult, code: str) -> str:
    """The message of the first alert with ``code`` (fails when there is none)."""
    for entry in result.alerts:
        if entry.code.name == code:
            return entry.message
    raise AssertionError(f"no {code} alert in {result.codes()}")


def make_context(broker: Broker, the_intent: ExecutionIntent | None = None, *,
                 execution_id: str = "T1", capital_krw: Decimal | None = None,
                 safety_state: SafetyState = SafetyState.NORMAL,
                 **limit_overrides: Any) -> ExecutionContext:
    """A bare :class:`ExecutionContext` (no chart run) for calling stage code directly.
    The ledger already counts this execution as live, as :meth:`Engine.submit` does."""
    limits = make_limits(**limit_overrides)
    services = Services(broker=broker, limits=limits, sessions=KrxSessions(),
                        bus=EventBus(limits.p0_queue_capacity), profile=_profile(),
                        safety_state=safety_state, capital_krw=capital_krw)
    the_intent = the_intent or intent()
    services.ledger.live[(the_intent.symbol, the_intent.side)] += 1
    return ExecutionContext(execution_id, the_intent, services)


def run_async(factory: Callable[[], Coroutine[Any, Any, T]], *, timeout: float = 10.0) -> T:
    """Run a coroutine on a fresh loop with a hard timeout: for callers that must stay
    synchronous (hypothesis drives each example through a plain function)."""

    async def main() -> T:
        return await asyncio.wait_for(factory(), timeout)

    return asyncio.run(main())
