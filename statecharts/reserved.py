"""Names a chart may not give its events or states: the runtime already uses them.

python-statemachine turns every event and state into an attribute of the compiled
class, so an event called ``send`` replaces the method that dispatches events
(and one called ``model`` the run it belongs to). It also calls methods named
by convention: for an event ``e``, ``before_e``/``on_e``/``after_e`` of the
machine and of its model (a :class:`~statecharts.runtime.ChartRun`); for a state
``S``, ``on_enter_S``/``on_exit_S``/``on_invoke_S``. So an event ``final`` would
call ``ChartRun.on_final``. The set is derived from the library and the run
class, not written by hand, so a new library attribute is covered when it comes.

Two more ways an event name collides, also asked of the library: a name it
matches against the ``error.execution`` event the runtime raises for exceptions
(``error``: such a transition would take the error route's place, and an
exception could end as a success), and a name it declares a second id for
(``error_execution`` is also ``error.execution``; ``done_state_x``, ...).

Guard names are free: the compiler hands guards to the library as callables, and
nothing looks them up by name.
"""

from __future__ import annotations

from functools import cache

from statemachine import StateChart
from statemachine.event import Event, _expand_event_id
from statemachine.io import create_machine_class_from_definition

from statecharts.runtime import ChartRun
from statecharts.spec import ERROR_EVENT, ChartSpec, StateSpec, TransitionSpec

EVENT_PREFIXES = ("before_", "on_", "after_")
STATE_PREFIXES = ("on_enter_", "on_exit_", "on_invoke_")
_PROBE_STATES, _PROBE_EVENT = ("PROBE_A", "PROBE_B"), "probe_go"


def _probe() -> StateChart:  # type: ignore[type-arg]
    first, last = _PROBE_STATES
    cls = create_machine_class_from_definition(
        "ReservedNamesProbe",
        states={first: {"initial": True, "on": {_PROBE_EVENT: [{"target": last}]}},
                last: {"final": True}})
    return cls()


@cache
def machine_attributes() -> frozenset[str]:
    """Attributes of a compiled chart's instances that do not come from the chart."""
    probe = _probe()
    names = set(dir(StateChart)) | set(dir(probe)) | set(vars(probe))
    names |= set(getattr(type(probe), "_protected_attrs", ()))
    return frozenset(names - {*_PROBE_STATES, _PROBE_EVENT})


@cache
def model_attributes() -> frozenset[str]:
    """Attributes of a run (the machine's model), instance attributes included."""
    first, last = _PROBE_STATES
    spec = ChartSpec(id="probe", version=1, initial=first, escape_event=_PROBE_EVENT,
                     escape_target=last, timeout_event=_PROBE_EVENT, error_target=last,
                     states=(StateSpec(first), StateSpec(last, final=True)),
                     transitions=(TransitionSpec(_PROBE_EVENT, first, last),), guards={})
    run = ChartRun(type(_probe()), spec)
    return frozenset(set(dir(run)) | set(vars(run)))


def _by_convention(prefixes: tuple[str, ...]) -> set[str]:
    """Names ``n`` for which ``<prefix>n`` exists on the machine or on its model."""
    names = set()
    for attribute in machine_attributes() | model_attributes():
        for prefix in prefixes:
            if attribute.startswith(prefix) and len(attribute) > len(prefix):
                names.add(attribute[len(prefix):])
    return names


@cache
def reserved_events() -> frozenset[str]:
    """Event names that shadow a runtime attribute or trigger a convention callback."""
    return frozenset(machine_attributes() | _by_convention(EVENT_PREFIXES))


@cache
def reserved_states() -> frozenset[str]:
    """State names that shadow a runtime attribute or trigger a convention callback."""
    return frozenset(machine_attributes() | _by_convention(STATE_PREFIXES))


def event_conflict(name: str) -> str | None:
    """Why the runtime cannot have an event called ``name`` (None: it can)."""
    if name in reserved_events():
        return "is an attribute of the statechart runtime"
    if Event(name).match(ERROR_EVENT):
        return f"would also catch the runtime's {ERROR_EVENT!r} event"
    aliases = [alias for alias in _expand_event_id(name) if alias != name]
    if aliases:
        return f"is also declared as {aliases[0]!r} by the statechart library"
    return None


def state_conflict(name: str) -> str | None:
    """Why the runtime cannot have a state called ``name`` (None: it can)."""
    if name in reserved_states():
        return "is an attribute of the statechart runtime"
    return None
