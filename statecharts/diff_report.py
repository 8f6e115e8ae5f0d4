"""A :class:`~statecharts.diff.ChartDiff` as JSON, plain text or a pull-request comment.

Text and Markdown show the same rows: behaviour changes first (matrix cells, then the
transitions, states, guards, limits and chart settings that cause them), then the other
changes (descriptions, re-orderings that never change the winner, transitions that
never win).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from statecharts.diff import (
    CellChange,
    ChartDiff,
    FieldChange,
    GuardDelta,
    LimitChange,
    StateDelta,
    TransitionDelta,
    ident,
)
from statecharts.spec import GuardSpec, StateSpec, TransitionSpec

NONE = "(none)"


# -- JSON --------------------------------------------------------------------------------
def transition_json(t: TransitionSpec) -> dict[str, str | None]:
    return {"source": t.source, "event": t.event, "target": t.target, "guard": t.label or None}


def _state_json(s: StateSpec) -> dict[str, Any]:
    timeout = s.timeout
    return {"name": s.name, "final": s.final, "entry": s.entry,
            "timeout": ({"after": timeout.after, "target": timeout.target,
                         "since": timeout.since, "code": timeout.code} if timeout else None),
            "on_error": s.on_error, "description": s.description}


def _guard_json(g: GuardSpec) -> dict[str, str | None]:
    return {"code": g.code, "description": g.description}


def _field_json(f: FieldChange) -> dict[str, Any]:
    return {"field": f.field, "old": f.old, "new": f.new, "behaviour": f.behaviour}


def _transition_change_json(d: TransitionDelta) -> dict[str, Any]:
    assert d.old is not None and d.new is not None
    data: dict[str, Any] = {
        "source": d.spec.source, "event": d.spec.event,
        "old": transition_json(d.old), "new": transition_json(d.new),
        "changes": list(d.changes), "old_position": d.old_position,
        "new_position": d.new_position, "behaviour": d.behaviour}
    if "order" in d.changes:
        data["now_ahead_of"] = [transition_json(t) for t in d.now_ahead_of]
        data["now_behind"] = [transition_json(t) for t in d.now_behind]
    if "description" in d.changes:
        data["description"] = {"old": d.old.description, "new": d.new.description}
    return data


def _sections(items: list[Any]) -> dict[str, list[Any]]:
    return {status: [x for x in items if x.status == status]
            for status in ("added", "removed", "changed")}


def to_json(diff: ChartDiff) -> dict[str, Any]:
    """The documented JSON shape (see ``scalpchart diff --help``)."""
    states = _sections(list(diff.states))
    transitions = _sections(list(diff.reported_transitions))
    guards = _sections(list(diff.guards))
    return {
        "old": diff.old_spec.file,
        "new": diff.new_spec.file,
        "behaviour_changed": diff.behaviour_changed,
        "chart": {"changed": [_field_json(f) for f in diff.settings]},
        "states": {
            "added": [_state_json(s.new) for s in states["added"] if s.new],
            "removed": [_state_json(s.old) for s in states["removed"] if s.old],
            "changed": [{"name": s.name, "changes": [_field_json(f) for f in s.fields],
                         "behaviour": s.behaviour} for s in states["changed"]],
        },
        "transitions": {
            "added": [{**transition_json(d.spec), "position": d.new_position,
                       "behaviour": d.behaviour} for d in transitions["added"]],
            "removed": [{**transition_json(d.spec), "position": d.old_position,
                         "behaviour": d.behaviour} for d in transitions["removed"]],
            "changed": [_transition_change_json(d) for d in transitions["changed"]],
        },
        "guards": {
            "added": [{"name": g.name, **_guard_json(g.new)} for g in guards["added"] if g.new],
            "removed": [{"name": g.name, **_guard_json(g.old)}
                        for g in guards["removed"] if g.old],
            "changed": [{"name": g.name, "old": _guard_json(g.old), "new": _guard_json(g.new),
                         "behaviour": g.behaviour}
                        for g in guards["changed"] if g.old and g.new],
        },
        "limits": {"changed": [{"path": c.path, "old": c.old, "new": c.new}
                               for c in diff.limits]},
        "matrix": [{"state": c.state, "event": c.event,
                    "old": [{"target": t.target, "guard": t.label or None} for t in c.old],
                    "new": [{"target": t.target, "guard": t.label or None} for t in c.new]}
                   for c in diff.matrix],
    }


# -- rows shared by text and Markdown ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    subject: str
    change: str
    before: tuple[str, ...]  # one line per item (matrix cells list several transitions)
    after: tuple[str, ...]
    gone: frozenset[int] = frozenset()  # items of ``before`` not kept in ``after``
    new: frozenset[int] = frozenset()  # items of ``after`` not in ``before``


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    noun: str  # for the summary: "matrix cell", "transition", ...
    headers: tuple[str, str]
    rows: tuple[Row, ...]


def value_text(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cell_text(t: TransitionSpec) -> str:
    return f"{t.target} [{t.label}]" if t.guarded else t.target


def _numbered(t: TransitionSpec, position: int | None) -> str:
    return f"#{position} {cell_text(t)}"


def _matrix_rows(cells: tuple[CellChange, ...]) -> list[Row]:
    def listing(ts: tuple[TransitionSpec, ...]) -> tuple[str, ...]:
        return tuple(f"{n}. {cell_text(t)}" for n, t in enumerate(ts, 1)) or ("rejected",)
    rows = []
    for c in cells:
        matcher = SequenceMatcher(None, [ident(t) for t in c.old], [ident(t) for t in c.new],
                                  autojunk=False)
        kept = matcher.get_matching_blocks()
        old_kept = {i for b in kept for i in range(b.a, b.a + b.size)}
        new_kept = {j for b in kept for j in range(b.b, b.b + b.size)}
        rows.append(Row(c.state, c.event, listing(c.old), listing(c.new),
                        frozenset(range(len(c.old))) - old_kept,
                        frozenset(range(len(c.new))) - new_kept))
    return rows


def _overtaking(d: TransitionDelta) -> str:
    parts = [f"{label} {', '.join(map(cell_text, ts))}"
             for label, ts in (("now ahead of", d.now_ahead_of), ("now behind", d.now_behind))
             if ts]
    return f", {'; '.join(parts)}" if parts else ""


def _transition_rows(deltas: tuple[TransitionDelta, ...], behaviour: bool) -> list[Row]:
    rows = []
    for d in deltas:
        where = f"{d.spec.source} {d.spec.event}"
        if d.old is None or d.new is None:
            if d.behaviour is behaviour:
                side = _numbered(d.spec, d.new_position or d.old_position)
                note = "" if behaviour else " (never wins)"
                before, after = ((NONE,), (side + note,)) if d.old is None else (
                    (side + note,), (NONE,))
                rows.append(Row(where, d.status, before, after))
            continue
        main = [c for c in d.changes if c != "description"]
        if main and d.behaviour is behaviour:
            rows.append(Row(where, ", ".join(main), (_numbered(d.old, d.old_position),),
                            (_numbered(d.new, d.new_position) + _overtaking(d),)))
        if "description" in d.changes and not behaviour:
            rows.append(Row(f"{where} -> {d.new.target}", "description",
                            (d.old.description or NONE,), (d.new.description or NONE,)))
    return rows


def _state_text(s: StateSpec) -> str:
    parts = [f"entry {s.entry}"] if s.entry else []
    if s.timeout:
        since = "" if s.timeout.since == "entry" else f" (since {s.timeout.since})"
        code = f" {s.timeout.code}" if s.timeout.code else ""
        parts.append(f"timeout {s.timeout.after} -> {s.timeout.target}{code}{since}")
    if s.on_error:
        parts.append(f"on_error {s.on_error}")
    if s.final:
        parts.append("final")
    return "; ".join(parts) or "(no entry, no timeout)"


def _state_rows(deltas: tuple[StateDelta, ...], behaviour: bool) -> list[Row]:
    rows = []
    for s in deltas:
        if s.old is None or s.new is None:
            if behaviour:
                text = (_state_text(s.spec),)
                rows.append(Row(s.name, s.status, (NONE,) if s.old is None else text,
                                text if s.old is None else (NONE,)))
            continue
        rows += [Row(s.name, f.field, (value_text(f.old),), (value_text(f.new),))
                 for f in s.fields if f.behaviour is behaviour]
    return rows


def _guard_text(g: GuardSpec) -> str:
    return f"{g.code}: {g.description}" if g.code else g.description


def _guard_rows(deltas: tuple[GuardDelta, ...], behaviour: bool) -> list[Row]:
    rows = []
    for g in deltas:
        if g.old is None or g.new is None:
            if behaviour:
                text = _guard_text(g.spec)
                rows.append(Row(g.name, g.status, (NONE if g.old is None else text,),
                                (text if g.old is None else NONE,)))
            continue
        if g.old.code != g.new.code and behaviour:
            rows.append(Row(g.name, "code", (value_text(g.old.code),), (value_text(g.new.code),)))
        if g.old.description != g.new.description and not behaviour:
            rows.append(Row(g.name, "description", (g.old.description,), (g.new.description,)))
    return rows


def _limit_rows(changes: tuple[LimitChange, ...]) -> list[Row]:
    def status(c: LimitChange) -> str:
        return "added" if c.old is None else "removed" if c.new is None else "changed"
    return [Row(c.path, status(c), (value_text(c.old),), (value_text(c.new),)) for c in changes]


def _setting_rows(fields: tuple[FieldChange, ...], behaviour: bool) -> list[Row]:
    return [Row(f.field, "changed", (value_text(f.old),), (value_text(f.new),))
            for f in fields if f.behaviour is behaviour]


def tables(diff: ChartDiff, behaviour: bool) -> list[Table]:
    """The non-empty tables of behaviour changes (or of the other changes)."""
    transitions = diff.reported_transitions
    candidates = [
        Table("Transition matrix cells that behave differently", "matrix cell",
              ("state", "event"), tuple(_matrix_rows(diff.matrix)) if behaviour else ()),
        Table("Transitions", "transition", ("state and event", "change"),
              tuple(_transition_rows(transitions, behaviour))),
        Table("States", "state", ("state", "change"), tuple(_state_rows(diff.states, behaviour))),
        Table("Guards", "guard", ("guard", "change"), tuple(_guard_rows(diff.guards, behaviour))),
        Table("Limits", "limit", ("limit", "change"),
              tuple(_limit_rows(diff.limits)) if behaviour else ()),
        Table("Chart settings", "setting", ("setting", "change"),
              tuple(_setting_rows(diff.settings, behaviour))),
    ]
    return [t for t in candidates if t.rows]


def _count(tabs: list[Table]) -> str:
    return ", ".join(f"{len(t.rows)} {t.noun}{'' if len(t.rows) == 1 else 's'}" for t in tabs)


def summary(diff: ChartDiff) -> str:
    """One line: how many behaviour changes and other changes, by kind."""
    main, other = tables(diff, True), tables(diff, False)
    if not main and not other:
        return "no change"
    head = f"behaviour changes: {_count(main)}" if main else "no behaviour change"
    return head + (f"; other changes: {_count(other)}" if other else "")


# -- text --------------------------------------------------------------------------------
def to_text(diff: ChartDiff) -> str:
    lines = [f"{diff.old_spec.file} -> {diff.new_spec.file}: {summary(diff)}"]
    for heading, behaviour in (("Behaviour changes", True),
                               ("Other changes (no behaviour change)", False)):
        tabs = tables(diff, behaviour)
        if tabs:
            lines += ["", heading]
        for table in tabs:
            lines.append(f"  {table.title}")
            for row in table.rows:
                lines += _text_row(row)
    return "\n".join(lines) + "\n"


def _text_row(row: Row) -> list[str]:
    head = f"    {row.subject}  {row.change}"
    if len(row.before) == 1 and len(row.after) == 1:
        before, after = row.before[0], row.after[0]
        if NONE in (before, after):
            return [f"{head}: {after if before == NONE else before}"]
        return [f"{head}: {before} -> {after}"]
    lines = [head]
    for label, items, marked, mark in (("before", row.before, row.gone, "-"),
                                       ("after", row.after, row.new, "+")):
        lines += [f"      {label if i == 0 else '':<6} {mark if i in marked else ' '} {item}"
                  for i, item in enumerate(items)]
    return lines


# -- Markdown ----------------------------------------------------------------------------
def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def _md_items(items: tuple[str, ...], marked: frozenset[int], emphasis: str) -> str:
    """Items one per line; the ones that differ struck out (before) or bold (after)."""
    return "<br>".join(f"{emphasis}{_md(x)}{emphasis}" if i in marked else _md(x)
                       for i, x in enumerate(items))


def to_markdown(diff: ChartDiff) -> str:
    """A pull-request comment: the summary, then the behaviour changes, then the rest."""
    text = summary(diff)
    for verdict in ("behaviour changes", "no behaviour change", "no change"):
        text = text.replace(verdict, f"**{verdict}**", 1) if text.startswith(verdict) else text
    lines = [f"**Chart review** `{diff.old_spec.file}` -> `{diff.new_spec.file}`: {text}."]
    for heading, behaviour in (("Behaviour changes", True),
                               ("Other changes (no behaviour change)", False)):
        tabs = tables(diff, behaviour)
        if tabs:
            lines += ["", f"### {heading}"]
        for table in tabs:
            first, second = table.headers
            lines += ["", f"#### {table.title}", "",
                      f"| {first} | {second} | before | after |", "|---|---|---|---|"]
            lines += [f"| {_md(r.subject)} | {_md(r.change)} | "
                      f"{_md_items(r.before, r.gone, '~~')} | {_md_items(r.after, r.new, '**')} |"
                      for r in table.rows]
    return "\n".join(lines) + "\n"
