"""Draw a :class:`~statecharts.diff.ChartDiff`: the union of both charts, coloured.

Added states and transitions are green, removed ones red and dashed, changed ones
orange (a changed target, guard or precedence, noted on the edge), unchanged ones
grey. Like :mod:`statecharts.render`, unchanged escape transitions are one edge from
the box of working states; DOT output needs no binary and is byte-stable.
"""

from __future__ import annotations

import graphviz

from statecharts.diff import ChartDiff, TransitionDelta, union
from statecharts.diff_report import value_text
from statecharts.render import (
    FONT,
    box_sample,
    digest_mark,
    edge_label,
    legend,
    line_sample,
    new_graph,
    node_attrs,
    output,
)
from statecharts.spec import ChartSpec, StateSpec

ADDED, REMOVED, CHANGED, UNCHANGED = "#2b8a3e", "#c92a2a", "#e8590c", "#adb5bd"
EDGE_STYLE = {
    "added": {"color": ADDED, "fontcolor": ADDED, "penwidth": "2"},
    "removed": {"color": REMOVED, "fontcolor": REMOVED, "penwidth": "2", "style": "dashed"},
    "changed": {"color": CHANGED, "fontcolor": CHANGED, "penwidth": "2"},
    "unchanged": {"color": UNCHANGED, "fontcolor": "#868e96"},
}
LEGEND_ROWS = (
    (line_sample(ADDED), "added"),
    (line_sample(REMOVED, "dashed"), "removed (states: dashed border)"),
    (line_sample(CHANGED), "changed (what it was in brackets)"),
    (line_sample(UNCHANGED), "unchanged"),
    (line_sample(UNCHANGED, "dashed"), "unchanged timeout"),
    (box_sample("STATE", double=True), "double border: a final state"),
)


def _state_status(diff: ChartDiff) -> dict[str, str]:
    status = {}
    for s in diff.states:
        if s.status != "changed" or any(f.field != "description" for f in s.fields):
            status[s.name] = s.status
    return status


def _edge_status(d: TransitionDelta) -> str:
    if d.status == "changed" and d.changes == ("description",):
        return "unchanged"
    return d.status


def _node(graph: graphviz.Digraph, state: StateSpec, status: str) -> None:
    attrs = node_attrs(state.name, state.entry, state.final, set())
    colour = {"added": ADDED, "removed": REMOVED, "changed": CHANGED}.get(status)
    if colour:
        attrs.update(color=colour, fontcolor=colour, penwidth="2")
    else:
        attrs.update(color="#868e96")
    if status == "removed":
        attrs["style"] = attrs.get("style", "rounded") + ",dashed"
    graph.node(state.name, **attrs)


def _label(diff: ChartDiff, d: TransitionDelta) -> str:
    spec = diff.new_spec if d.new is not None else diff.old_spec
    label = edge_label(spec, d.spec)
    if d.old is None or d.new is None:
        return label if d.behaviour else f"{label}\n(never wins)"
    if _edge_status(d) == "unchanged":
        return label
    notes = []
    if "target" in d.changes:
        notes.append(f"was -> {d.old.target}")
    if "guard" in d.changes:
        notes.append(f"was [{d.old.label}]" if d.old.guarded else "was unguarded")
    if "order" in d.changes:
        notes.append(f"tried #{d.new_position}, was #{d.old_position}")
    if not d.behaviour:
        notes.append("same behaviour")
    return "\n".join([label, *(f"({n})" for n in notes)])


def _is_escape(spec: ChartSpec, d: TransitionDelta) -> bool:
    return d.spec.event == spec.escape_event and d.spec.target == spec.escape_target


def build_diff_graph(diff: ChartDiff) -> graphviz.Digraph:
    old, new = diff.old_spec, diff.new_spec
    graph = new_graph(new.id, f"{new.id}: {old.file} -> {new.file}",
                      f"diff of {old.id} {digest_mark(old)} -> {new.id} {digest_mark(new)}")
    names = union(new.state_names, old.state_names)
    states = {n: new.state(n) if n in new.state_names else old.state(n) for n in names}
    status = _state_status(diff)
    working = [n for n in names if not states[n].final and n != new.escape_target]
    with graph.subgraph(name="cluster_working") as cluster:
        cluster.attr(label="working states", style="dashed", color="#868e96")
        for name in working:
            _node(cluster, states[name], status.get(name, "unchanged"))
    for name in names:
        if name not in working:
            _node(graph, states[name], status.get(name, "unchanged"))
    collapsed = False
    for d in diff.transitions:
        edge_status = _edge_status(d)
        if edge_status == "unchanged" and _is_escape(new, d):
            if not collapsed and working:
                graph.edge(working[-1], d.spec.target,
                           label=f"{d.spec.event}\n(from every working state)",
                           ltail="cluster_working", style="bold", **_colours("unchanged"))
                collapsed = True
            continue
        attrs = {"label": _label(diff, d), **EDGE_STYLE[edge_status]}
        if d.spec.event == (new if d.new else old).timeout_event and "style" not in attrs:
            attrs["style"] = "dashed"
        graph.edge(d.spec.source, d.spec.target, **attrs)
    _error_routes(diff, graph, names)
    legend(graph, LEGEND_ROWS)
    if diff.limits:
        lines = [f"{c.path}: {value_text(c.old)} -> {value_text(c.new)}" for c in diff.limits]
        graph.node("limits_note", label="\n".join(["limits changed", *lines]), shape="note",
                   style="", fontsize=FONT["note"], color=CHANGED, fontcolor=CHANGED)
    return graph


def _colours(status: str) -> dict[str, str]:
    return {k: v for k, v in EDGE_STYLE[status].items() if k != "style"}


def _error_routes(diff: ChartDiff, graph: graphviz.Digraph, names: list[str]) -> None:
    """The chart-wide error target as a note; explicit ``on_error`` routes as dotted edges."""
    old, new = diff.old_spec, diff.new_spec
    note = f"handler errors -> {new.error_target}"
    if old.error_target != new.error_target:
        note += f" (was {old.error_target})"
    graph.node("errors_note", shape="note", style="", fontsize=FONT["note"],
               label=f"{note}\nunless a state says on_error",
               **({"color": CHANGED, "fontcolor": CHANGED}
                  if old.error_target != new.error_target else {}))
    for name in names:
        before = old.state(name).on_error if name in old.state_names else None
        after = new.state(name).on_error if name in new.state_names else None
        if before == after:
            routes = [(after, "unchanged")] if after else []
        else:
            routes = [(r, s) for r, s in ((before, "removed"), (after, "added")) if r]
        for target, route_status in routes:
            style = "dashed" if route_status == "removed" else "dotted"
            graph.edge(name, target, label="error", **{**EDGE_STYLE[route_status],
                                                       "style": style})


def render_diff(diff: ChartDiff, fmt: str = "dot") -> bytes:
    """The union chart as DOT source (no binary needed), SVG or PNG (needs ``dot``)."""
    return output(build_diff_graph(diff), fmt)
