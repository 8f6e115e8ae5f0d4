"""Named Python callables that a chart refers to: entry handlers and guard predicates.

There is no ``eval`` of strings: the YAML names a callable registered here.
A handler receives the run's context object and the run, and returns the next
event to raise (or ``None`` when the stage continues asynchronously and will
dispatch an event itself later). A guard receives the context and returns a bool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[Any, Any], str | None]
Guard = Callable[[Any], bool]


@dataclass(slots=True)
class Registry:
    name: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    guards: dict[str, Guard] = field(default_factory=dict)

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"handler {name!r} registered twice")
            self.handlers[name] = fn
            return fn
        return register

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        def register(fn: Guard) -> Guard:
            if name in self.guards:
                raise ValueError(f"guard {name!r} registered twice")
            self.guards[name] = fn
            return fn
        return register
