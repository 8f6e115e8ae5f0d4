"""Named Python callables that a chart refers to: entry handlers and guard predicates.

There is no ``eval`` of strings: the YAML names a callable registered here.
A handler receives the run's context object and a :class:`RunView` of the run, and
returns the next event to raise (or ``None`` when the stage continues asynchronously and
will dispatch an event itself later). Each handler declares the events it may raise
(``emits``), so a chart can be checked against them. A guard receives the context and
returns a bool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from statecharts.runtime import Scheduler, Step
    from statecharts.spec import ChartSpec


class RunView(Protocol):
    """What a handler may ask of the run that called it."""

    @property
    def state(self) -> str: ...

    @property
    def trace(self) -> Sequence[Step]: ...

    @property
    def spec(self) -> ChartSpec: ...

    @property
    def scheduler(self) -> Scheduler | None: ...

    @property
    def timeouts_ms(self) -> Mapping[str, float]: ...


Handler = Callable[[Any, RunView], str | None]
Guard = Callable[[Any], bool]


@dataclass(slots=True)
class Registry:
    name: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    guards: dict[str, Guard] = field(default_factory=dict)
    emits: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def handler(self, name: str, *, emits: Sequence[str] = ()) -> Callable[[Handler], Handler]:
        """Register a stage handler under ``name``; ``emits`` are the events it may raise
        (returned, or dispatched later by its tasks)."""
        def register(fn: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"handler {name!r} registered twice")
            self.handlers[name] = fn
            self.emits[name] = tuple(emits)
            return fn
        return register

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        def register(fn: Guard) -> Guard:
            if name in self.guards:
                raise ValueError(f"guard {name!r} registered twice")
            self.guards[name] = fn
            return fn
        return register
