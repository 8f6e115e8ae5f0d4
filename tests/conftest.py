"""Shared fixtures for the statechart tests.

The central helper is :func:`build_flag_registry`: a registry whose guards read
``ctx.flags[name]`` (default False) and whose handlers return nothing, so a test
drives a chart one event at a time and decides every guard itself.
(pytest markers ``bench`` and ``slow`` are registered in pyproject.toml.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from statecharts.compiler import compile_chart
from statecharts.limits import Limits
from statecharts.loader import load_chart
from statecharts.registry import Registry
from statecharts.runtime import ChartRun
from statecharts.spec import ChartSpec
from statecharts.yamlsrc import read_yaml

ROOT = Path(__file__).resolve().parents[1]
# the engine fixtures (broker, engine, new_engine) that users of the package get too
pytest_plugins = ["execution.testing.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    """Session tables are cached in a directory of this test run, not the user's cache."""
    from execution.session_cache import ENV

    config.stash[_CACHE_KEY] = tempfile.mkdtemp(prefix="scalpchart-test-cache-")
    os.environ[ENV] = config.stash[_CACHE_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash.get(_CACHE_KEY, ""), ignore_errors=True)


_CACHE_KEY = pytest.StashKey[str]()
PRODUCT_CHART = ROOT / "config" / "scalp_execution.yaml"
PRODUCT_LIMITS = ROOT / "config" / "limits.yaml"
CHARTS = ROOT / "tests" / "charts"
MINIMAL_CHART = CHARTS / "valid" / "minimal.yaml"

Script = Callable[[Any, Any], str | None]




@dataclass
class FlagCtx:
    """The domain object of a test run: guard flags, plus optional per-handler scripts.

    ``script`` maps a handler name to a one-shot callable run on the next entry
    (it is popped, so re-entering the state runs the plain do-nothing handler).
    """

    flags: dict[str, bool] = field(default_factory=dict)
    script: dict[str, Script] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)


def build_flag_registry(spec: ChartSpec, name: str = "flags") -> Registry:
    """Guards read ``ctx.flags[name]`` (default False); handlers record the call and return None.

    A handler runs ``ctx.script[handler]`` once when one is set, which lets a test make a
    stage raise or return an event without a second registry.
    """
    registry = Registry(name)
    for guard in spec.guards:
        registry.guards[guard] = _flag_guard(guard)
    for state in spec.states:
        if state.entry and state.entry not in registry.handlers:
            registry.handlers[state.entry] = _quiet_handler(state.entry)
    return registry


def _flag_guard(name: str) -> Callable[[Any], bool]:
    def guard(ctx: Any) -> bool:
        return bool(ctx.flags.get(name, False))

    return guard


def _quiet_handler(name: str) -> Callable[[Any, Any], str | None]:
    def handler(ctx: Any, run: Any) -> str | None:
        ctx.entries.append(name)
        script = ctx.script.pop(name, None)
        return script(ctx, run) if script is not None else None

    return handler


def read_limits(path: Path) -> Limits:
    """A limits file through the strict YAML reader, without a schema (for test charts)."""
    source = read_yaml(path)
    return Limits(source.data, source.file, dict(source.positions))


class FakeTimer:
    def __init__(self, delay: float, callback: Callable[..., object], args: tuple[Any, ...]):
        self.delay = delay
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        """Run the callback as a loop would (even when cancelled: a late timer must be harmless)."""
        self.callback(*self.args)


class FakeScheduler:
    """``call_later`` only records; a test fires the timers it wants, when it wants."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[FakeTimer] = []

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        timer = FakeTimer(delay, callback, args)
        self.timers.append(timer)
        return timer

    def time(self) -> float:
        return self.now

    @property
    def live(self) -> list[FakeTimer]:
        return [t for t in self.timers if not t.cancelled]


@pytest.fixture(name="flag_registry", scope="session")
def flag_registry_fixture() -> Callable[[ChartSpec], Registry]:
    """``flag_registry(spec)``: see :func:`build_flag_registry`."""
    return build_flag_registry


@pytest.fixture(scope="session")
def product_spec() -> ChartSpec:
    return load_chart(PRODUCT_CHART)


@pytest.fixture(scope="session")
def product_registry(product_spec: ChartSpec) -> Registry:
    return build_flag_registry(product_spec, "product-flags")


@pytest.fixture(scope="session")
def product_chart(product_spec: ChartSpec, product_registry: Registry) -> type[Any]:
    return compile_chart(product_spec, product_registry)


@pytest.fixture(scope="session")
def product_limits() -> Limits:
    return read_limits(PRODUCT_LIMITS)


@pytest.fixture
def new_run(product_spec: ChartSpec, product_chart: type[Any]) -> Callable[..., ChartRun]:
    """A fresh product run in INIT; keyword arguments go to :class:`ChartRun`."""

    def make(**kwargs: Any) -> ChartRun:
        return ChartRun(product_chart, product_spec, FlagCtx(), **kwargs)

    return make
