"""What an edit means: the differences between two charts (and two limits files).

Two loaded :class:`~statecharts.spec.ChartSpec` are compared, never their text, so
comments, formatting, key order, the order of guards inside one conjunction and the
order of transitions across different (state, event) pairs are not changes. Within one
(state, event) the order is the precedence, so there a move is a change.

*Behaviour* is decided per transition-matrix cell (state x event): the guards are taken
as independent conditions, and two cells behave alike when, for every combination of
guard values, the same transition (target and guard expression) wins, or none does.
A swap of two transitions that can never both be enabled (``a`` and ``not a``) is
therefore no behaviour change; a swap that decides a different winner is. Besides the
matrix, a state's entry handler, timeout and finality, a guard's code, the chart's
initial/escape/error settings and every limit value are behaviour; descriptions are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Generic, TypeVar

from statecharts.limits import Limits
from statecharts.matrix import spec_cells
from statecharts.spec import ERROR_EVENT, ChartSpec, GuardSpec, StateSpec, TransitionSpec

MAX_EXACT_GUARDS = 16  # beyond this many guards in one cell, any difference counts

T = TypeVar("T")
S = TypeVar("S")
Ident = tuple[str, frozenset[str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One setting or field, before and after (None where it is absent)."""

    field: str
    old: Any
    new: Any
    behaviour: bool = True


@dataclass(frozen=True, slots=True)
class _Sides(Generic[S]):
    """One thing (transition, state, guard) before and after an edit: None where absent."""

    old: S | None
    new: S | None

    @property
    def status(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed" if self._edited() else "unchanged"

    def _edited(self) -> bool:
        return True  # states and guards are listed only when they changed

    @property
    def spec(self) -> S:
        """The newest side (the old one when removed)."""
        side = self.new if self.new is not None else self.old
        assert side is not None
        return side


@dataclass(frozen=True, slots=True)
class TransitionDelta(_Sides[TransitionSpec]):
    """One transition of the union of both charts. Positions are 1-based within the
    transitions of its (source, event), in precedence order."""

    old_position: int | None = None
    new_position: int | None = None
    changes: tuple[str, ...] = ()  # of: target, guard, order, description
    behaviour: bool = False
    now_ahead_of: tuple[TransitionSpec, ...] = ()  # for an order change: whom it overtook
    now_behind: tuple[TransitionSpec, ...] = ()  # ... and who overtook it

    def _edited(self) -> bool:
        return bool(self.changes)

    @property
    def from_timeout(self) -> bool:
        """Generated from a state's ``timeout`` (reported with the state, not here)."""
        return self.spec.origin.startswith("states.")


@dataclass(frozen=True, slots=True)
class StateDelta(_Sides[StateSpec]):
    name: str = field(kw_only=True)
    fields: tuple[FieldChange, ...] = ()

    @property
    def behaviour(self) -> bool:
        return self.status != "changed" or any(f.behaviour for f in self.fields)


@dataclass(frozen=True, slots=True)
class GuardDelta(_Sides[GuardSpec]):
    name: str = field(kw_only=True)

    @property
    def behaviour(self) -> bool:
        """A guard's code is the alert its transitions raise; its description is prose."""
        return self.old is None or self.new is None or self.old.code != self.new.code


@dataclass(frozen=True, slots=True)
class LimitChange:
    path: str
    old: Any  # None: absent on that side
    new: Any


@dataclass(frozen=True, slots=True)
class CellChange:
    """A matrix cell that behaves differently: its transitions before and after."""

    state: str
    event: str
    old: tuple[TransitionSpec, ...]
    new: tuple[TransitionSpec, ...]


@dataclass(frozen=True, slots=True)
class ChartDiff:
    """Everything that differs between two charts (and their limits)."""

    old_spec: ChartSpec
    new_spec: ChartSpec
    settings: tuple[FieldChange, ...]
    """Chart-level settings: initial state, escape and error targets, timeout event."""
    states: tuple[StateDelta, ...]
    transitions: tuple[TransitionDelta, ...]
    """Every transition of both charts, unchanged ones included."""
    guards: tuple[GuardDelta, ...]
    matrix: tuple[CellChange, ...]
    """The transition-matrix cells that behave differently."""
    limits: tuple[LimitChange, ...] = ()

    @property
    def reported_transitions(self) -> tuple[TransitionDelta, ...]:
        """Declared transitions that changed (timeouts are reported with their state)."""
        return tuple(d for d in self.transitions
                     if d.status != "unchanged" and not d.from_timeout)

    @property
    def behaviour_changed(self) -> bool:
        return bool(self.matrix or self.limits
                    or any(f.behaviour for f in self.settings)
                    or any(s.behaviour for s in self.states)
                    or any(g.behaviour for g in self.guards)
                    or any(t.behaviour for t in self.reported_transitions))

    @property
    def changed(self) -> bool:
        return bool(self.settings or self.states or self.guards or self.matrix
                     or self.limits or self.reported_transitions)


def ident(t: TransitionSpec) -> Ident:
    """What makes two transitions of one cell the same: target and guard expression."""
    return t.target, frozenset(t.guards), frozenset(t.unless)


def union(new: Iterable[T], old: Iterable[T]) -> list[T]:
    """Items of ``new`` in order, then those only in ``old``."""
    return list(dict.fromkeys([*new, *old]))


# -- per-cell behaviour ------------------------------------------------------------------
def _enabled(t: TransitionSpec, true: frozenset[str]) -> bool:
    return all(g in true for g in t.guards) and not any(u in true for u in t.unless)


def _winner(cell: Sequence[TransitionSpec], true: frozenset[str]) -> Ident | None:
    return next((ident(t) for t in cell if _enabled(t, true)), None)


def _guard_names(*cells: Sequence[TransitionSpec]) -> list[str]:
    return sorted({g for cell in cells for t in cell for g in (*t.guards, *t.unless)})


def _assignments(names: Sequence[str]) -> Iterable[frozenset[str]]:
    for bits in product((False, True), repeat=len(names)):
        yield frozenset(n for n, on in zip(names, bits, strict=True) if on)


def same_behaviour(old: Sequence[TransitionSpec], new: Sequence[TransitionSpec]) -> bool:
    """True when every combination of guard values picks the same winner in both cells."""
    if [ident(t) for t in old] == [ident(t) for t in new]:
        return True
    names = _guard_names(old, new)
    if len(names) > MAX_EXACT_GUARDS:
        return False
    return all(_winner(old, true) == _winner(new, true) for true in _assignments(names))


def can_win(cell: Sequence[TransitionSpec], index: int) -> bool:
    """Whether ``cell[index]`` is the first enabled transition for some guard values."""
    names = _guard_names(cell)
    if len(names) > MAX_EXACT_GUARDS:
        return True
    target = cell[index]
    return any(next((t for t in cell if _enabled(t, true)), None) is target
               for true in _assignments(names))


def _overlap(a: TransitionSpec, b: TransitionSpec) -> bool:
    """Whether both can be enabled at once (no guard required by one and refused by the other)."""
    return not (set(a.guards) & set(b.unless) or set(a.unless) & set(b.guards))


# -- matching the transitions of one cell ------------------------------------------------
def _pair(old: Sequence[TransitionSpec],
          new: Sequence[TransitionSpec]) -> list[tuple[int | None, int | None]]:
    """Index pairs: identical transitions first, then a changed target (same guard), then
    a changed guard (same target); whatever is left is removed or added."""
    pairs: list[tuple[int | None, int | None]] = []
    free_old, free_new = list(range(len(old))), list(range(len(new)))
    keys = (ident,
            lambda t: (frozenset(t.guards), frozenset(t.unless)),
            lambda t: t.target)
    for key in keys:
        for i in list(free_old):
            j = next((j for j in free_new if key(new[j]) == key(old[i])), None)
            if j is not None:
                pairs.append((i, j))
                free_old.remove(i)
                free_new.remove(j)
    pairs += [(i, None) for i in free_old] + [(None, j) for j in free_new]
    return pairs


def _moved(matched: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Matched pairs outside a longest run that kept its relative order (old order)."""
    ordered = sorted(matched)
    best: list[list[tuple[int, int]]] = []  # best[k]: a longest kept run ending at ordered[k]
    for k, pair in enumerate(ordered):
        chains = [best[m] for m in range(k) if ordered[m][1] < pair[1]]
        longest = max(chains, key=lambda chain: len(chain)) if chains else []
        best.append([*longest, pair])
    keep: list[tuple[int, int]] = max(best, key=lambda chain: len(chain)) if best else []
    return set(ordered) - set(keep)


def _cell_deltas(old: Sequence[TransitionSpec], new: Sequence[TransitionSpec],
                 cell_changed: bool) -> list[TransitionDelta]:
    pairs = _pair(old, new)
    matched = [(i, j) for i, j in pairs if i is not None and j is not None]
    moved = _moved(matched)
    deltas = []
    for i, j in pairs:
        if i is None or j is None:
            cell, index = (new, j) if i is None else (old, i)
            assert index is not None
            deltas.append(TransitionDelta(
                old[i] if i is not None else None, new[j] if j is not None else None,
                None if i is None else i + 1, None if j is None else j + 1,
                behaviour=cell_changed and can_win(cell, index)))
            continue
        a, b = old[i], new[j]
        changes = []
        if a.target != b.target:
            changes.append("target")
        if ident(a)[1:] != ident(b)[1:]:
            changes.append("guard")
        flipped = [q for p, q in matched if (p < i) != (q < j)]
        moved_here = (i, j) in moved
        if moved_here:
            changes.append("order")
        if a.description != b.description:
            changes.append("description")
        behaviour = cell_changed and (
            "target" in changes or "guard" in changes
            or (moved_here and any(_overlap(b, new[q]) for q in flipped)))
        deltas.append(TransitionDelta(
            a, b, i + 1, j + 1, tuple(changes), behaviour,
            tuple(new[q] for q in flipped if q > j) if moved_here else (),
            tuple(new[q] for q in flipped if q < j) if moved_here else ()))
    return sorted(deltas, key=lambda d: (d.new_position or d.old_position or 0, d.new is None))


# -- the whole chart ---------------------------------------------------------------------
_SETTINGS = (("chart", False), ("version", False), ("description", False),
             ("initial", True), ("escape.event", True), ("escape.target", True),
             ("timeout_event", True), ("errors.target", True))


def _setting(spec: ChartSpec, name: str) -> Any:
    attrs = {"chart": "id", "escape.event": "escape_event", "escape.target": "escape_target",
             "errors.target": "error_target"}
    return getattr(spec, attrs.get(name, name))


def _state_fields(spec: StateSpec | None) -> dict[str, Any]:
    timeout = spec.timeout if spec else None
    return {
        "final": spec.final if spec else None,
        "entry": spec.entry if spec else None,
        "timeout.after": timeout.after if timeout else None,
        "timeout.target": timeout.target if timeout else None,
        "timeout.since": timeout.since if timeout else None,
        "timeout.code": timeout.code if timeout else None,
        "on_error": spec.on_error if spec else None,
        "description": spec.description if spec else None,
    }


def _states(old: ChartSpec, new: ChartSpec) -> list[StateDelta]:
    deltas = []
    for name in union(new.state_names, old.state_names):
        a = old.state(name) if name in old.state_names else None
        b = new.state(name) if name in new.state_names else None
        if a is None or b is None:
            deltas.append(StateDelta(a, b, name=name))
            continue
        before, after = _state_fields(a), _state_fields(b)
        fields = tuple(FieldChange(k, before[k], after[k], k != "description")
                       for k in before if before[k] != after[k])
        if fields:
            deltas.append(StateDelta(a, b, fields, name=name))
    return deltas


def _guards(old: ChartSpec, new: ChartSpec) -> list[GuardDelta]:
    return [GuardDelta(old.guards.get(name), new.guards.get(name), name=name)
            for name in union(new.guards, old.guards)
            if old.guards.get(name) != new.guards.get(name)]


def diff_charts(old: ChartSpec, new: ChartSpec) -> ChartDiff:
    """Every difference in meaning between ``old`` and ``new`` (both loaded and linted)."""
    settings = tuple(FieldChange(name, _setting(old, name), _setting(new, name), behaviour)
                     for name, behaviour in _SETTINGS
                     if _setting(old, name) != _setting(new, name))
    old_cells, new_cells = spec_cells(old), spec_cells(new)
    transitions: list[TransitionDelta] = []
    matrix: list[CellChange] = []
    events = union([*new.events, *old.events],
                   [e for row in (*old_cells.values(), *new_cells.values()) for e in row])
    for state in union(new.state_names, old.state_names):
        for event in events:
            a = old_cells.get(state, {}).get(event, ())
            b = new_cells.get(state, {}).get(event, ())
            changed = not same_behaviour(a, b)
            if changed:
                matrix.append(CellChange(state, event, a, b))
            if event != ERROR_EVENT:  # error routes are states' settings, not transitions
                transitions += _cell_deltas(a, b, changed)
    return ChartDiff(old, new, settings, tuple(_states(old, new)), tuple(transitions),
                     tuple(_guards(old, new)), tuple(matrix))


# -- limits ------------------------------------------------------------------------------
def _comparable(value: Any) -> Any:
    """Values as compared: ``true`` is not ``1`` (Python says it is), ``1`` is ``1.0``."""
    return (type(value).__name__, value) if isinstance(value, bool) else value


def diff_limits(old: Limits, new: Limits) -> tuple[LimitChange, ...]:
    """Every limit (by dotted path) whose value differs, was added or was removed."""
    changes = []
    for path in union(new.keys(), old.keys()):
        a = old.get(path) if path in old else None
        b = new.get(path) if path in new else None
        if _comparable(a) != _comparable(b):
            changes.append(LimitChange(path, a, b))
    return tuple(changes)
