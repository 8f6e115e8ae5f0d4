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
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable

from statecharts.errors import Problem
from statecharts.spec import ChartSpec, TransitionSpec

RULES = (
    "initial-missing", "unknown-state", "unreachable", "no-final-path", "final-outgoing",
    "escape-coverage", "escape-self", "unknown-guard", "unknown-handler", "unknown-limit",
    "ambiguous-transition", "unused-guard",
)


class _Ctx:
    def __init__(self, spec: ChartSpec) -> None:
        self.spec = spec
        self.names = set(spec.state_names)
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


def check_states(ctx: _Ctx) -> None:
    spec = ctx.spec
    if spec.initial not in ctx.names:
        ctx.add("initial", "initial-missing", f"initial state {spec.initial!r} is not declared")
    elif spec.state(spec.initial).final:
        ctx.add("initial", "initial-missing", f"initial state {spec.initial!r} is final")
    for t in spec.transitions:
        for role, name in (("source", t.source), ("target", t.target)):
            if name not in ctx.names:
                ctx.add(f"{t.origin}.{role}" if t.origin.startswith("transitions") else t.origin,
                        "unknown-state", f"{role} state {name!r} is not declared")
    for target, path in ((spec.escape_target, "escape.target"), (spec.error_target, "errors")):
        if target not in ctx.names:
            ctx.add(path, "unknown-state", f"state {target!r} is not declared")
    for state in spec.states:
        if state.on_error and state.on_error not in ctx.names:
            ctx.add(_state_path(state.name, "on_error"), "unknown-state",
                    f"on_error state {state.on_error!r} is not declared")


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
        reachable = _closure([spec.initial], edges)
        for state in spec.states:
            if state.name not in reachable:
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
                ctx.add(t.origin, "final-outgoing",
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
            ctx.add(t.origin, "escape-self", f"{target} must not transition to itself")
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
                ctx.add(t.origin, "unknown-guard", f"guard {name!r} is not declared under guards")
            elif guards is not None and name not in guards:
                ctx.add(t.origin, "unknown-guard", f"guard {name!r} has no registered predicate")
    for name in spec.guards:
        if name not in used:
            ctx.add(f"guards.{name}", "unused-guard", f"guard {name!r} is declared but never used")
    for state in spec.states:
        if state.entry and handlers is not None and state.entry not in handlers:
            ctx.add(_state_path(state.name, "entry"), "unknown-handler",
                    f"handler {state.entry!r} is not registered")
        if state.timeout and limits is not None and state.timeout.after not in limits:
            ctx.add(_state_path(state.name, "timeout.after"), "unknown-limit",
                    f"limit {state.timeout.after!r} is not in the limits file")


def check_ambiguity(ctx: _Ctx) -> None:
    seen: dict[tuple[str, str], TransitionSpec] = {}
    for t in ctx.spec.transitions:
        if t.guarded:
            continue
        key = (t.source, t.event)
        if key in seen:
            ctx.add(t.origin, "ambiguous-transition",
                    f"two unguarded {t.event!r} transitions from {t.source} "
                    f"(to {seen[key].target} and {t.target})")
        else:
            seen[key] = t


def lint(spec: ChartSpec, *, guards: Collection[str] | None = None,
         handlers: Collection[str] | None = None,
         limits: Collection[str] | Callable[[], Collection[str]] | None = None) -> list[Problem]:
    """All rule violations of ``spec``. Registries and limits are checked when given."""
    ctx = _Ctx(spec)
    check_states(ctx)
    if any(p.rule == "initial-missing" or p.rule == "unknown-state" for p in ctx.problems):
        return ctx.problems  # graph rules would only repeat the same mistake
    check_graph(ctx)
    check_escape(ctx)
    check_names(ctx, guards, handlers, limits() if callable(limits) else limits)
    check_ambiguity(ctx)
    return ctx.problems
