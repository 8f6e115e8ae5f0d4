"""pytest fixtures for testing charts, limits and strategies on the scriptable broker.

Enable them in your own ``conftest.py``::

    pytest_plugins = ["execution.testing.fixtures"]

then ask for them by name (pytest-asyncio, ``asyncio_mode = "auto"``)::

    async def test_a_reject_fails_the_execution(broker, engine):
        broker.script_send(Reject(RejectReason.MARKET_CLOSED))
        result = await engine.execute(intent(10))
        assert result.final_state == "FAILED"

Every engine a fixture made is closed after the test: live executions are escaped and
settled, so a test that ends mid-execution leaves nothing running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from execution.engine import Engine
from execution.testing.harness import EngineFactory, make_engine
from execution.testing.scripted import ScriptedBroker

__all__ = ["broker", "engine", "new_engine"]


@pytest.fixture
def broker() -> ScriptedBroker:
    """A scriptable broker (every call accepted until a test scripts otherwise)."""
    return ScriptedBroker()


@pytest.fixture
async def engine(broker: ScriptedBroker) -> AsyncIterator[Engine]:
    """:func:`~execution.testing.make_engine` on ``broker``; closed (its executions
    escaped and settled) after the test."""
    engine = make_engine(broker)
    yield engine
    await engine.close()


@pytest.fixture
async def new_engine(broker: ScriptedBroker) -> AsyncIterator[EngineFactory]:
    """:func:`~execution.testing.make_engine` on ``broker`` with the test's overrides
    (``new_engine(split={...})``); every engine it made is closed after the test."""
    made: list[Engine] = []

    def build(**overrides: Any) -> Engine:
        made.append(make_engine(broker, **overrides))
        return made[-1]

    yield build
    for engine in made:
        await engine.close()
