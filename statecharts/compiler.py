"""Compile a :class:`ChartSpec` and a :class:`Registry` into a python-statemachine class.

The class is built once per (chart content, registry) and cached; every run
gets its own instance. Generated callbacks get distinct names because
python-statemachine caches callback signatures by function name.

What the compiled chart guarantees:
- entry actions call the named handlers; a handler's returned event is raised
  internally, so a stage hands over to the next one within one macrostep;
- every non-final state has an ``error.execution`` transition to its error
  route, so an exception in a handler or guard is never swallowed;
- ``allow_event_without_transition`` is off: an undeclared event raises;
- the chart's final states are absorbing states of the compiled class, not
  python-statemachine *final* states (``validate_trap_states`` is off: they
  have no outgoing transition, which our lint guarantees). Every event there is
  rejected as before, but the instance never terminates, so a finished run can
  be put back in its initial state and reused (:meth:`ChartRun.reset`)
  instead of building a new instance.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from statemachine import StateChart
from statemachine.io import create_machine_class_from_definition

from statecharts.errors import ChartInvalid
from statecharts.lint import lint
from statecharts.registry import Registry
from statecharts.spec import ERROR_EVENT, ChartSpec, StateSpec, TransitionSpec

# The registry is kept in the value: holding it alive stops its id() from being reused by
# another registry (which would otherwise be handed a class compiled for different callables).
# The most recently used classes are kept (a process that reloads many edited charts, or
# validates thousands of generated ones, must not keep every class it ever compiled).
_CACHE: OrderedDict[tuple[str, int], tuple[Registry, type[StateChart[Any]]]] = OrderedDict()
CACHE_SIZE = 16
_SERIAL = itertools.count()


def _named(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    unique = f"{name}_{next(_SERIAL)}"
    fn.__name__ = fn.__qualname__ = unique
    return fn


def _entry(state: StateSpec, registry: Registry) -> Callable[..., Any]:
    handler = registry.handlers.get(state.entry) if state.entry else None
    name = state.name
    final = state.final

    def enter(machine: Any, error: BaseException | None = None) -> None:
        run = machine.model
        skip = False
        if error is not None:  # entered through error.execution
            run.error_routed(error)
            run.take_guard_error()
        else:
            # python-statemachine treats a raising guard as false, may take an unguarded
            # transition after it and queues error.execution: never run a stage behind a
            # broken guard; the queued error takes this state's error route next. (A final
            # state's clean-up still runs: it cannot move on.)
            skip = run.take_guard_error() is not None and not final
        run.entered(name)
        event = None
        if handler is not None and not skip:
            started = run.wall_ns()
            try:
                event = handler(run.ctx, run)
            except Exception as exc:
                run.note_error(name, exc)
                if not final:
                    raise  # becomes error.execution -> the state's error route
                # a final state cannot move: the error is recorded and logged
            finally:
                run.add_busy(name, run.wall_ns() - started)
        if final:
            run.finished()
        elif event is not None:
            run.expect(name, event)
            machine.raise_(event)

    return _named(f"enter_{name.lower()}", enter)


def _condition(t: TransitionSpec, spec: ChartSpec, registry: Registry) -> Callable[..., Any]:
    """One callable per guarded (or coded) transition (fewer callbacks = cheaper instances
    and events).

    It evaluates every guard (``unless`` ones negated); when the transition is enabled it
    tells the run which guard expression and codes are being taken: the engine selects
    the first enabled transition, so a True here is the one taken.
    """
    checks = tuple((name, registry.guards[name], True) for name in t.guards) + tuple(
        (name, registry.guards[name], False) for name in t.unless)
    label = t.label
    codes = tuple((code, name) for name in t.guards if (code := spec.guards[name].code))
    if t.code:  # a state's timeout with its own code: reported under the event's name
        codes += ((t.code, t.event),)

    def cond(machine: Any) -> bool:
        run = machine.model
        if run.guard_failed:  # one guard raised: no later transition is trusted either
            return False
        for name, predicate, expected in checks:
            try:
                value = bool(predicate(run.ctx))
            except Exception as exc:
                run.guard_raised(name, exc)
                raise
            if value is not expected:
                return False
        run.took(label, codes)
        return True

    cond.guard_label = label  # type: ignore[attr-defined]  # read back by the matrix
    return _named("cond_" + "_".join(n for n, _, _ in checks), cond)


def definition(spec: ChartSpec, registry: Registry) -> dict[str, Any]:
    """A fresh python-statemachine definition dict (the library mutates what it is given)."""
    states: dict[str, dict[str, Any]] = {}
    for state in spec.states:
        body: dict[str, Any] = {"enter": [_entry(state, registry)], "on": {}}
        if state.name == spec.initial:
            body["initial"] = True
        states[state.name] = body  # a final state: absorbing, no "final" flag (module doc)
    for t in spec.transitions:
        item: dict[str, Any] = {"target": t.target}
        if t.guarded or t.code:
            item["cond"] = [_condition(t, spec, registry)]
        states[t.source]["on"].setdefault(t.event, []).append(item)
    for state in spec.states:
        route = spec.error_route(state.name)
        if route is not None:
            states[state.name]["on"][ERROR_EVENT] = [{"target": route}]
    for body in states.values():
        if not body["on"]:
            del body["on"]
    return {"states": states}


def compile_chart(spec: ChartSpec, registry: Registry) -> type[StateChart[Any]]:
    """The StateChart class for ``spec`` (cached per content digest and registry)."""
    key = (spec.digest or repr(spec), id(registry))
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is registry:
        _CACHE.move_to_end(key)
        return cached[1]
    problems = lint(spec, registry=registry)
    if problems:
        raise ChartInvalid(problems)
    cls = create_machine_class_from_definition(
        f"{spec.id.title().replace('_', '')}Chart", validate_trap_states=False,
        **definition(spec, registry)
    )
    cls.allow_event_without_transition = False
    cls.catch_errors_as_events = True
    cls(model=_Probe())  # python-statemachine resolves callbacks only on instantiation
    _CACHE[key] = (registry, cls)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return cls


class _Probe:
    """A model for the compile-time instantiation that surfaces unresolved callbacks."""

    ctx = None

    def entered(self, state: str) -> None:
        del state

    def took(self, label: str, codes: tuple[tuple[str, str], ...]) -> None:
        del label, codes

    def finished(self) -> None:
        pass

    def take_guard_error(self) -> None:
        return None

    guard_failed = False

    @staticmethod
    def wall_ns() -> int:
        return 0
