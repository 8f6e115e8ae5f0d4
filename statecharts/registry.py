"""Named Python callables that a chart refers to: entry handlers and guard predicates.

There is no ``eval`` of strings: the YAML names a callable registered here.
A handler receives the run's context object and a :class:`RunView` of the run, and
returns the next event to raise (or ``None`` when the stage continues asynchronously and
will dispatch an event itself later). A guard receives the context and returns a bool.

A handler declares the events it raises (``emits``) and the registry the event
its host starts every run with (``start_event``): lint then checks that the chart
has a transition for each, from the state that raises it, so a renamed event is
refused by ``validate`` instead of stranding runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
    emits: dict[str, tuple[str, ...]] = field(default_factory=dict)  # handler -> its events
    start_event: str | None = None  # sent by the host to the initial state of every run

    def handler(self, name: str, *, emits: Iterable[str] | None = None
                ) -> Callable[[Handler], Handler]:
        """Register a handler; ``emits`` lists every event it returns or dispatches
        (``()``: none; ``None``: not declared, so not checked)."""
        def register(fn: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"handler {name!r} registered twice")
            self.handlers[name] = fn
            if emits is not None:
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
