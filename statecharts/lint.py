"""Semantic rules over a loaded chart. Each rule has a stable id.

| rule                 | what it checks |
|----------------------|----------------|
| initial-missing      | the initial state exists and is not final |
| unknown-state        | every source, target, timeout target and error target exists |
| unreachable          | every state is reachable from the initial state |
| no-final-path        | every non-final state can reach a final state |
| final-outgoing       | final states have no outgoing transitions |
| escape-coverage      | the escape event leads to the escape target from every non-final state |
| escape-self          | the escape target never escapes to itself; it says where its errors go |
| unknown-guard        | every guard named on a transition is declared (and registered) |
| unknown-handler      | every entry handler is registered |
| unknown-limit        | every limit named by a timeout exists in the limits |
| ambiguous-transition | no two unguarded transitions for the same state and event |
| unused-guard         | every declared guard is used by a transition |
| reserved-name        | no event or state is named like a runtime attribute (send, model) |
| unhandled-event      | each event a handler raises (and the start event) has a transition |
| initial-entry        | no entry handler on the initial state when the host starts runs |
| final-role           | every final state, and only a final state, has a role |
| error-route          | errors lead only to the escape target or a final state not a success |
| stuck-state          | each working state has a handler that raises an event, or a timeout |

Every finding points at the offending token: the guard's name in a transition, the
source in a list of sources, the value of ``on_error``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Mapping

from statecharts.errors import Problem
from statecharts.registry import Registry
from statecharts.reserved import event_conflict, state_conflict
from statecharts.spec import ROLES, ChartSpec, TransitionSpec
from statecharts.suggest import did_you_mean

RULES = (
    "initial-missing", "unknown-state", "unreachable", "no-final-path", "final-outgoing",
    "escape-coverage", "escape-self", "unknown-guard", "unknown-handler", "unknown-limit",
    "ambiguous-transition", "unused-guard", "reserved-name", "unhandled-event",
    "initial-entry", "final-role", "error-route", "stuck-state",
)


class _Ctx:
    def __init__(self, spec: ChartSpec) -> None:
        self.spec = spec
        self.names = set(spec.state_names)
        self.unreachable: set[str] = set()  # reported once; later rules leave them alone
        self.problems: list[Problem] = []

    def add(self, path: str, rule: str, message: str) -> None:
        line, col = _where(self.spec, path)
        self.problems.append(Problem(self.spec.file, line, col, rule, message))


def _where(spec: ChartSpec, path: str) -> tuple[int, int]:
    while path:
        if path in spec.positions:
            return spec.positions[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return (1, 1)


def _state_path(name: str, key: str = "") -> str:
    return f"states.{name}.{key}" if key else f"states.{name}"


def _at(t: TransitionSpec, key: str) -> str:
    """The path of one field of a transition's declaration (a state's timeout included)."""
    if key == "source" and t.source_path:
        return t.source_path
    if not t.origin.startswith("transitions"):  # declared by a state's timeout
        return f"{t.origin}.target" if key == "target" else t.origin
    return f"{t.origin}.{key}"


def _guard_at(spec: ChartSpec, t: TransitionSpec, name: str) -> str:
    """The path of a guard's name in a transition (``guard: x``, or an item of a list)."""
    key, names = ("guard", t.guards) if name in t.guards else ("unless", t.unless)
    path = f"{t.origin}.{key}"
    item = f"{path}[{names.index(name)}]"
    return item if item in spec.positions else path


def check_states(ctx: _Ctx) -> None:
    spec = ctx.spec
    if spec.initial not in ctx.names:
        ctx.add("initial", "initial-missing", f"initial state {spec.initial!r} is not declared"
                + did_you_mean(spec.initial, ctx.names))
    elif spec.state(spec.initial).final:
        ctx.add("initial", "initial-missing", f"initial state {spec.initial!r} is final")
    for t in spec.transitions:
        for role, name in (("source", t.source), ("target", t.target)):
            if name not in ctx.names:
                ctx.add(_at(t, role), "unknown-state", f"{role} state {name!r} is not declared"
                        + did_you_mean(name, ctx.names))
    for target, path in ((spec.escape_target, "escape.target"),
                         (spec.error_target, "errors.target")):
        if target not in ctx.names:
            ctx.add(path, "unknown-state", f"state {target!r} is not declared"
                    + did_you_mean(target, ctx.names))
    for state in spec.states:
        if state.on_error and state.on_error not in ctx.names:
            ctx.add(_state_path(state.name, "on_error"), "unknown-state",
                    f"on_error state {state.on_error!r} is not declared"
                    + did_you_mean(state.on_error, ctx.names))


def _graph(spec: ChartSpec) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for t in spec.transitions:
        edges[t.source].add(t.target)
    return edges


def _closure(start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    queue = deque(seen)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def check_graph(ctx: _Ctx) -> None:
    spec = ctx.spec
    edges = _graph(spec)
    if spec.initial in ctx.names:
        with_errors = {src: set(dst) for src, dst in edges.items()}
        for state in spec.states:  # a state entered only when something fails is reachable
            route = spec.error_route(state.name)
            if route is not None:
                with_errors.setdefault(state.name, set()).add(route)
        reachable = _closure([spec.initial], with_errors)
        for state in spec.states:
            if state.name not in reachable:
                ctx.unreachable.add(state.name)
                ctx.add(_state_path(state.name), "unreachable",
                        f"state {state.name} cannot be reached from {spec.initial}")
    reverse: dict[str, set[str]] = defaultdict(set)
    for src, targets in edges.items():
        for dst in targets:
            reverse[dst].add(src)
    finishing = _closure(spec.final_states, reverse)
    for state in spec.states:
        if not state.final and state.name not in finishing:
            ctx.add(_state_path(state.name), "no-final-path",
                    f"state {state.name} can never reach a final state")
    check_finals(ctx)


def check_finals(ctx: _Ctx) -> None:
    for state in ctx.spec.states:
        if not state.final:
            continue
        for t in ctx.spec.transitions:
            if t.source == state.name:
                ctx.add(_at(t, "source"), "final-outgoing",
                        f"final state {state.name} has an outgoing transition on {t.event!r}")
        for key in ("timeout", "on_error"):
            if getattr(state, key):
                ctx.add(_state_path(state.name, key), "final-outgoing",
                        f"final state {state.name} cannot have {key}")


def check_escape(ctx: _Ctx) -> None:
    spec = ctx.spec
    target = spec.escape_target
    if target not in ctx.names:
        return
    escapes = {t.source for t in spec.transitions
               if t.event == spec.escape_event and t.target == target and not t.guarded}
    for state in spec.states:
        if state.final or state.name == target:
            continue
        if state.name not in escapes:
            ctx.add(_state_path(state.name), "escape-coverage",
                    f"{state.name} has no unguarded {spec.escape_event!r} transition to {target}")
    for t in spec.transitions:
        if t.source == target and t.target == target:
            ctx.add(_at(t, "target"), "escape-self", f"{target} must not transition to itself")
    target_spec = spec.state(target)
    if target_spec.final:
        ctx.add("escape.target", "escape-self", f"escape target {target} must not be final")
    elif spec.error_route(target) == target:
        ctx.add(_state_path(target), "escape-self",
                f"{target} sends its own errors to itself: declare on_error")


def check_names(ctx: _Ctx, guards: Collection[str] | None, handlers: Collection[str] | None,
                limits: Collection[str] | None) -> None:
    spec = ctx.spec
    used: set[str] = set()
    for t in spec.transitions:
        for name in (*t.guards, *t.unless):
            used.add(name)
            if name not in spec.guards:
                ctx.add(_guard_at(spec, t, name), "unknown-guard",
                        f"guard {name!r} is not declared under guards"
                        + did_you_mean(name, spec.guards))
            elif guards is not None and name not in guards:
                ctx.add(_guard_at(spec, t, name), "unknown-guard",
                        f"guard {name!r} has no registered predicate"
                        + did_you_mean(name, guards))
    for name in spec.guards:
        if name not in used:
            ctx.add(f"guards.{name}", "unused-guard", f"guard {name!r} is declared but never used")
    for state in spec.states:
        if state.entry and handlers is not None and state.entry not in handlers:
            ctx.add(_state_path(state.name, "entry"), "unknown-handler",
                    f"handler {state.entry!r} is not registered"
                    + did_you_mean(state.entry, handlers))
        if state.timeout and limits is not None and state.timeout.after not in limits:
            ctx.add(_state_path(state.name, "timeout.after"), "unknown-limit",
                    f"limit {state.timeout.after!r} is not in the limits file"
                    + did_you_mean(state.timeout.after, limits))


def check_ambiguity(ctx: _Ctx) -> None:
    seen: dict[tuple[str, str], TransitionSpec] = {}
    for t in ctx.spec.transitions:
        if t.guarded:
            continue
        key = (t.source, t.event)
        if key in seen:
            ctx.add(_at(t, "event"), "ambiguous-transition",
                    f"two unguarded {t.event!r} transitions from {t.source} "
                    f"(to {seen[key].target} and {t.target})")
        else:
            seen[key] = t


def check_reserved(ctx: _Ctx) -> None:
    spec = ctx.spec
    seen: set[str] = set()
    declared = [("escape.event", spec.escape_event), ("timeout_event", spec.timeout_event)]
    for path, name in (*declared, *((_at(t, "event"), t.event) for t in spec.transitions)):
        if name in seen:
            continue  # reported once, where first declared
        seen.add(name)
        reason = event_conflict(name)
        if reason:
            ctx.add(path, "reserved-name", f"event name {name!r} {reason}: rename it")
    for state in spec.states:
        reason = state_conflict(state.name)
        if reason:
            ctx.add(_state_path(state.name), "reserved-name",
                    f"state name {state.name!r} {reason}: rename it")


def check_events(ctx: _Ctx, emits: Mapping[str, Collection[str]] | None,
                 start_event: str | None) -> None:
    """Events raised by code (a handler, the host's start) must be taken where raised."""
    spec = ctx.spec
    taken: dict[str, set[str]] = defaultdict(set)
    for t in spec.transitions:
        taken[t.source].add(t.event)
    initial = spec.state(spec.initial)
    if start_event is not None:
        if start_event not in taken[initial.name]:
            ctx.add("initial", "unhandled-event",
                    f"runs are started with {start_event!r}, but {initial.name} has no "
                    f"{start_event!r} transition")
        if initial.entry:
            ctx.add(_state_path(initial.name, "entry"), "initial-entry",
                    f"{initial.name} is entered when a run is built, before it is given "
                    f"its work: move {initial.entry!r} to the state after {start_event!r}")
    for state in spec.states:
        raised = (emits or {}).get(state.entry or "")
        for event in raised or ():
            if event not in taken[state.name]:
                ctx.add(_state_path(state.name, "entry"), "unhandled-event",
                        f"handler {state.entry!r} raises {event!r}, but {state.name} has no "
                        f"{event!r} transition")
        if state.final or state.name == spec.initial or state.timeout is not None \
                or state.name in ctx.unreachable:
            continue
        if not state.entry or raised == ():
            ctx.add(_state_path(state.name), "stuck-state",
                    f"nothing moves a run on from {state.name}: give it an entry handler "
                    "that raises an event, or a timeout (only an escape would end it)")


def check_outcomes(ctx: _Ctx) -> None:
    """Final states say what they mean; an error never ends as a success."""
    spec = ctx.spec
    for state in spec.states:
        if state.final and state.role is None:
            ctx.add(_state_path(state.name), "final-role",
                    f"final state {state.name} needs a role: one of {', '.join(ROLES)}")
        elif not state.final and state.role is not None:
            ctx.add(_state_path(state.name, "role"), "final-role",
                    f"{state.name} is not final: only final states have a role")
    routes = [("errors.target", spec.error_target)] if "errors.target" in spec.positions else []
    routes += [(_state_path(s.name, "on_error"), s.on_error) for s in spec.states if s.on_error]
    for path, target in routes:
        if target is None or target == spec.escape_target:
            continue
        state = spec.state(target)
        if not state.final:
            ctx.add(path, "error-route",
                    f"errors may only lead to the escape target {spec.escape_target} or a "
                    f"final state that is not a success, not to {target}")
        elif state.role == "success":
            ctx.add(path, "error-route",
                    f"errors must not end in {target}: its role is success")


def lint(spec: ChartSpec, *, guards: Collection[str] | None = None,
         handlers: Collection[str] | None = None,
         limits: Collection[str] | Callable[[], Collection[str]] | None = None,
         emits: Mapping[str, Collection[str]] | None = None,
         start_event: str | None = None, registry: Registry | None = None) -> list[Problem]:
    """All rule violations of ``spec``. Registries and limits are checked when given;
    ``registry`` stands for its guards, handlers, emits and start event."""
    if registry is not None:
        guards, handlers = registry.guards, registry.handlers
        emits, start_event = registry.emits, registry.start_event
    ctx = _Ctx(spec)
    check_states(ctx)
    if any(p.rule == "initial-missing" or p.rule == "unknown-state" for p in ctx.problems):
        return ctx.problems  # graph rules would only repeat the same mistake
    check_reserved(ctx)
    check_graph(ctx)
    check_escape(ctx)
    check_names(ctx, guards, handlers, limits() if callable(limits) else limits)
    check_ambiguity(ctx)
    check_events(ctx, emits, start_event)
    check_outcomes(ctx)
    return ctx.problems
