"""The chart model: frozen dataclasses, no IO."""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR_EVENT = "error.execution"
# What reaching a final state means. Error routes may end only where the outcome is not
# success: an exception must never be reported as a clean run.
ROLES = ("success", "escaped", "failed")


@dataclass(frozen=True, slots=True)
class Timeout:
    after: str  # dotted limit key, in milliseconds
    target: str
    since: str = "entry"  # or "first_entry": the clock does not restart on re-entry
    code: str | None = None  # raised when the timeout is taken


@dataclass(frozen=True, slots=True)
class StateSpec:
    name: str
    final: bool = False
    entry: str | None = None
    timeout: Timeout | None = None
    on_error: str | None = None
    description: str = ""
    role: str | None = None  # final states: what the outcome means (see ROLES)


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    """One source, one event, one target (``source: "*"`` and lists are expanded)."""

    event: str
    source: str
    target: str
    guards: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    description: str = ""
    origin: str = ""  # JSON path of the declaration, for error positions
    source_path: str = ""  # JSON path of this source's name (an item of a source list)
    code: str | None = None  # carried by the transition itself (a state's timeout)

    @property
    def guarded(self) -> bool:
        return bool(self.guards or self.unless)

    @property
    def label(self) -> str:
        parts = [*self.guards, *(f"not {name}" for name in self.unless)]
        return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class GuardSpec:
    name: str
    description: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """A loaded chart. ``transitions`` is in precedence order per (state, event)."""

    id: str
    version: int
    initial: str
    escape_event: str
    escape_target: str
    timeout_event: str
    error_target: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    guards: dict[str, GuardSpec]
    file: str = "<memory>"
    digest: str = ""
    description: str = ""
    positions: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)
    _by_name: dict[str, StateSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {state.name: state for state in self.states})

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(state.name for state in self.states)

    def state(self, name: str) -> StateSpec:
        """The state called ``name`` (KeyError if there is none)."""
        return self._by_name[name]

    @property
    def final_states(self) -> tuple[str, ...]:
        return tuple(state.name for state in self.states if state.final)

    def role_of(self, state: str) -> str | None:
        """What ending in ``state`` means (``success``, ``escaped``, ``failed``; see
        :data:`ROLES`): None for a state that is not final or not declared."""
        spec = self._by_name.get(state)
        return spec.role if spec is not None and spec.final else None

    @property
    def events(self) -> tuple[str, ...]:
        """Declared events in first-use order (the error event is not one of them)."""
        return tuple(dict.fromkeys(t.event for t in self.transitions))

    def error_route(self, state: str) -> str | None:
        """Where an exception in ``state`` leads (None for final states)."""
        spec = self.state(state)
        if spec.final:
            return None
        return spec.on_error or self.error_target

    def codes_of(self, transition: TransitionSpec) -> tuple[str, ...]:
        """The codes a transition raises when taken: those of its positive guards (a code
        under ``unless`` names a condition that does NOT hold on that transition), and its
        own (a state's timeout may carry one)."""
        own = (transition.code,) if transition.code else ()
        return tuple(code for n in transition.guards if (code := self._code(n))) + own

    def _code(self, guard: str) -> str | None:
        spec = self.guards.get(guard)
        return spec.code if spec else None

    def limit_keys(self) -> tuple[str, ...]:
        return tuple(s.timeout.after for s in self.states if s.timeout)
