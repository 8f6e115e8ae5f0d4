"""Render a chart with the ``graphviz`` package, from our own spec (stable node ids).

- working states are grouped in a cluster; the escape event is drawn as ONE
  edge from that cluster to the escape state instead of one arrow per state;
- final states are double-bordered; guard labels carry their FS/GR codes; timeouts
  are dashed; transitions sharing source, event and target share one edge (one guard
  a line, in the order tried); a legend says what each mark means;
- an optional run trace fills the visited states, draws the taken edges thick and
  numbered, and its title names the execution and its outcome.

DOT output needs no binary and is byte-stable (golden-tested); SVG and PNG use ``dot``.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import graphviz

from statecharts.spec import ChartSpec, StateSpec, TransitionSpec

HIGHLIGHT = "#d9480f"
VISITED_FILL = "#ffe8cc"
ESCAPE = "#c92a2a"
GREY = "#868e96"
# Sized for a page about 900 px wide (a README): the drawing is scaled to it, so the
# fonts are set large and parallel transitions share one edge to keep the width down.
FONT = {"title": "18", "node": "14", "edge": "12", "note": "12"}
WRAP = 32  # a guard expression longer than this breaks before each "and"


@dataclass(frozen=True, slots=True)
class TraceStep:
    state: str
    event: str = ""
    guard: str = ""  # the guard label of the transition taken ("" when unguarded)


def edge_label(spec: ChartSpec, t: TransitionSpec) -> str:
    """The event, and the guard expression with its codes when guarded."""
    if not t.guarded:
        return f"{t.event}\n{t.code}" if t.code else t.event
    return f"{t.event}\n{_guard_line(spec, t)}"


def _guard_line(spec: ChartSpec, t: TransitionSpec) -> str:
    codes = spec.codes_of(t)
    code = f" {'/'.join(codes)}" if codes else ""
    label = t.label if len(t.label) <= WRAP else t.label.replace(" and ", "\n and ")
    return f"[{label}]{code}" if t.guarded else "(unguarded)"


Key = tuple[str, str, str, str]


def _taken(trace: Sequence[TraceStep]) -> dict[Key, list[int]]:
    taken: dict[Key, list[int]] = {}
    for number, (prev, step) in enumerate(itertools.pairwise(trace), start=1):
        taken.setdefault((prev.state, step.event, step.state, step.guard), []).append(number)
    return taken


def new_graph(name: str, title: str, comment: str) -> graphviz.Digraph:
    """An empty chart drawing with the house style."""
    return graphviz.Digraph(name, graph_attr={
        "rankdir": "TB", "compound": "true", "fontname": "Helvetica", "nodesep": "0.3",
        "ranksep": "0.45", "label": title, "labelloc": "t", "fontsize": FONT["title"],
        "comment": comment,
    }, node_attr={"fontname": "Helvetica", "shape": "box", "style": "rounded",
                  "fontsize": FONT["node"]},
        edge_attr={"fontname": "Helvetica", "fontsize": FONT["edge"]})


def legend(graph: graphviz.Digraph, rows: Sequence[tuple[str, str]]) -> None:
    """A ``legend`` node: one row per (sample, meaning); a sample is HTML-like label text."""
    body = "".join(f'<TR><TD ALIGN="CENTER">{sample}</TD><TD ALIGN="LEFT">'
                   f"{html.escape(text, quote=False)}</TD></TR>" for sample, text in rows)
    graph.node("legend", shape="plaintext", fontsize=FONT["note"],
               label=f'<<TABLE BORDER="1" COLOR="{GREY}" CELLBORDER="0" CELLSPACING="2" '
                     f'CELLPADDING="3"><TR><TD COLSPAN="2"><B>legend</B></TD></TR>{body}'
                     "</TABLE>>")


def line_sample(colour: str = "black", pattern: str = "solid") -> str:
    """A line for a legend row, drawn as filled cells: ``solid``, ``dashed`` or ``dotted``."""
    widths = {"solid": [36], "dashed": [8, 6, 8, 6, 8], "dotted": [3, 4, 3, 4, 3, 4, 3]}[pattern]
    cells = "".join(f'<TD FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="3"'
                    + (f' BGCOLOR="{colour}"' if i % 2 == 0 else "") + "></TD>"
                    for i, w in enumerate(widths))
    return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{cells}' \
           "</TR></TABLE>"


def box_sample(label: str, fill: str = "", double: bool = False, colour: str = "black") -> str:
    """A state box for a legend row: double-bordered (final) and/or filled."""
    bg = f' BGCOLOR="{fill}"' if fill else ""
    inner = f'<TABLE BORDER="1" CELLBORDER="0" COLOR="{colour}"{bg}><TR><TD>{label}</TD></TR>' \
            "</TABLE>"
    if double:
        inner = f'<TABLE BORDER="1" CELLBORDER="0" CELLPADDING="1" COLOR="{colour}">' \
                f"<TR><TD>{inner}</TD></TR></TABLE>"
    return inner


def chart_legend_rows(spec: ChartSpec, traced: bool) -> list[tuple[str, str]]:
    rows = [
        (line_sample(pattern="dashed"), f"{spec.timeout_event}: a state's time limit ran out"),
        (line_sample(ESCAPE),
         f"{spec.escape_event}: from every working state to {spec.escape_target}"),
        (line_sample(GREY, "dotted"),
         f"error route (on_error); other handler errors -> {spec.error_target}"),
        (box_sample("STATE", double=True), "double border: a final state"),
    ]
    if traced:
        rows += [
            (box_sample("STATE", fill=VISITED_FILL, colour=HIGHLIGHT),
             "filled: visited by this execution"),
            (line_sample(HIGHLIGHT), "(n) thick: transition taken, n-th step"),
        ]
    return rows


def trace_title(execution_id: str, final_state: str, codes: Sequence[str] = (),
                detail: str = "") -> str:
    """The title line of a trace render: the execution and its outcome."""
    outcome = final_state + (f" {' '.join(codes)}" if codes else "")
    return f"execution {execution_id}: {outcome}" + (f" ({detail})" if detail else "")


def build_graph(spec: ChartSpec, trace: Sequence[TraceStep] = (),
                title: str | None = None) -> graphviz.Digraph:
    """The chart; with ``trace``, one execution's path over it (``title``: its outcome,
    see :func:`trace_title`)."""
    visited = {step.state for step in trace}
    taken = _taken(trace)
    heading = f"{spec.id} v{spec.version}" + (f"\n{title}" if title else "")
    graph = new_graph(spec.id, heading, f"rendered from {spec.id} {digest_mark(spec)}")
    working = [s for s in spec.states if not s.final and s.name != spec.escape_target]
    with graph.subgraph(name="cluster_working") as cluster:
        cluster.attr(label="working states", style="dashed", color=GREY)
        for state in working:
            cluster.node(state.name, **node_attrs(state.name, state.entry, False, visited))
    for state in spec.states:
        if state in working:
            continue
        graph.node(state.name, **node_attrs(state.name, state.entry, state.final, visited))
    _edges(spec, graph, working, taken)
    _error_routes(spec, graph)
    legend(graph, chart_legend_rows(spec, bool(trace)))
    return graph


def _edges(spec: ChartSpec, graph: graphviz.Digraph, working: Sequence[StateSpec],
           taken: dict[Key, list[int]]) -> None:
    """Every transition: escapes as one edge from the working box, taken ones thick and
    numbered, the others grouped by (source, event, target) into one edge each."""
    items: list[TransitionSpec | list[TransitionSpec]] = []
    groups: dict[tuple[str, str, str], list[TransitionSpec]] = {}
    escape_edge = False
    for t in spec.transitions:
        key = (t.source, t.event, t.target, t.label)
        if t.event == spec.escape_event and t.target == spec.escape_target and key not in taken:
            if not escape_edge and working:
                graph.edge(working[-1].name, t.target,
                           label=f"{t.event}\n(from every working state)",
                           ltail="cluster_working", color=ESCAPE, fontcolor=ESCAPE,
                           style="bold")
                escape_edge = True
        elif key in taken:
            items.append(t)
        else:
            group = groups.setdefault((t.source, t.event, t.target), [])
            if not group:
                items.append(group)
            group.append(t)
    for item in items:
        first = item[0] if isinstance(item, list) else item
        attrs = {"style": "dashed"} if first.event == spec.timeout_event else {}
        if isinstance(item, list):
            graph.edge(first.source, first.target, label=_shared_label(spec, item), **attrs)
            continue
        order = ",".join(str(n) for n in taken.pop((first.source, first.event, first.target,
                                                     first.label)))
        graph.edge(first.source, first.target, label=f"({order}) {edge_label(spec, first)}",
                   color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2.5", **attrs)
    for (source, event, target, _), numbers in taken.items():  # e.g. error routes in a trace
        graph.edge(source, target, label=f"({','.join(map(str, numbers))}) {event}",
                   color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2.5", style="dotted")


def _shared_label(spec: ChartSpec, group: Sequence[TransitionSpec]) -> str:
    """Transitions with one source, event and target share an edge: the event once, then
    each guard on a line of its own, in the order they are tried."""
    if len(group) == 1:
        return edge_label(spec, group[0])
    return "\n".join([group[0].event, *(_guard_line(spec, t) for t in group)])


def node_attrs(name: str, entry: str | None, final: bool,
               visited: set[str]) -> dict[str, str]:
    attrs = {"label": f"{name}\n({entry})" if entry else name}
    if final:
        attrs.update(shape="box", peripheries="2", style="rounded,bold")
    if name in visited:
        attrs.update(style="rounded,filled,bold", color=HIGHLIGHT, penwidth="2",
                     fillcolor=VISITED_FILL)
    return attrs


def _error_routes(spec: ChartSpec, graph: graphviz.Digraph) -> None:
    """Only routes that differ from the chart-wide default are drawn (the legend says it)."""
    for state in spec.states:
        if state.on_error:
            graph.edge(state.name, state.on_error, label="error", style="dotted", color=GREY,
                       fontcolor=GREY)


def render(spec: ChartSpec, fmt: str = "dot", trace: Sequence[TraceStep] = (),
           title: str | None = None) -> bytes:
    """The chart as DOT source (no binary needed), SVG or PNG (needs Graphviz's ``dot``)."""
    return output(build_graph(spec, trace, title), fmt)


def output(graph: Any, fmt: str) -> bytes:
    """A built graph as DOT source (no binary needed), SVG or PNG (needs ``dot``)."""
    if fmt == "dot":
        source: str = graph.source
        return source.encode()
    if fmt not in ("svg", "png"):
        raise ValueError(f"unknown format {fmt!r}: use dot, svg or png")
    return bytes(graph.pipe(format=fmt))


def digest_mark(spec: ChartSpec) -> str:
    """What every drawing of ``spec`` carries (in the DOT ``comment``, hence in SVG too)."""
    return f"sha256:{spec.digest[:16]}"


def staleness(spec: ChartSpec, suffix: str, committed: bytes) -> str | None:
    """Why a committed drawing of ``spec`` is out of date, or None when it is current.

    DOT (``.dot``, ``.gv``) must equal a fresh render byte for byte; SVG (whose bytes
    depend on the Graphviz version) must carry the chart's digest mark.
    """
    if suffix in (".dot", ".gv"):
        return None if committed == render(spec, "dot") else "differs from a fresh render"
    if suffix == ".svg":
        if digest_mark(spec).encode() in committed:
            return None
        return "was rendered from another version of the chart"
    raise ValueError(f"cannot check {suffix or 'a file without suffix'!r}: use .dot or .svg")
