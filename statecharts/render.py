"""Render a chart with the ``graphviz`` package, from our own spec (stable node ids).

- working states are grouped in a cluster; the escape event is drawn as ONE
  edge from that cluster to the escape state instead of one arrow per state;
- final states are double-bordered and filled;
- guard labels carry their FS/GR codes; timeouts are dashed;
- an optional run trace highlights visited states and taken edges, numbered.

DOT output needs no binary and is byte-stable (golden-tested); SVG and PNG use ``dot``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import graphviz

from statecharts.spec import ChartSpec, TransitionSpec

HIGHLIGHT = "#d9480f"
VISITED_FILL = "#ffe8cc"
FINAL_FILL = "#e7f5ff"


@dataclass(frozen=True, slots=True)
class TraceStep:
    state: str
    event: str = ""
    guard: str = ""  # the guard label of the transition taken ("" when unguarded)


def edge_label(spec: ChartSpec, t: TransitionSpec) -> str:
    """The event, and the guard expression with its codes when guarded."""
    if not t.guarded:
        return t.event
    codes = spec.codes_of(t)
    code = f" {'/'.join(codes)}" if codes else ""
    return f"{t.event}\n[{t.label}]{code}"


Key = tuple[str, str, str, str]


def _taken(trace: Sequence[TraceStep]) -> dict[Key, list[int]]:
    taken: dict[Key, list[int]] = {}
    for number, (prev, step) in enumerate(itertools.pairwise(trace), start=1):
        taken.setdefault((prev.state, step.event, step.state, step.guard), []).append(number)
    return taken


def new_graph(name: str, title: str, comment: str) -> graphviz.Digraph:
    """An empty chart drawing with the house style."""
    return graphviz.Digraph(name, graph_attr={
        "rankdir": "TB", "compound": "true", "fontname": "Helvetica", "nodesep": "0.5",
        "label": title, "labelloc": "t", "comment": comment,
    }, node_attr={"fontname": "Helvetica", "shape": "box", "style": "rounded"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"})


def build_graph(spec: ChartSpec, trace: Sequence[TraceStep] = ()) -> graphviz.Digraph:
    visited = {step.state for step in trace}
    taken = _taken(trace)
    graph = new_graph(spec.id, f"{spec.id} v{spec.version}",
                      f"rendered from {spec.id} {digest_mark(spec)}")
    working = [s for s in spec.states if not s.final and s.name != spec.escape_target]
    with graph.subgraph(name="cluster_working") as cluster:
        cluster.attr(label="working states", style="dashed", color="#868e96")
        for state in working:
            cluster.node(state.name, **node_attrs(state.name, state.entry, False, visited))
    for state in spec.states:
        if state in working:
            continue
        graph.node(state.name, **node_attrs(state.name, state.entry, state.final, visited))
    escape_edges_drawn = False
    for t in spec.transitions:
        key = (t.source, t.event, t.target, t.label)
        is_escape = t.event == spec.escape_event and t.target == spec.escape_target
        if is_escape and key not in taken:
            if not escape_edges_drawn and working:
                graph.edge(working[0].name, t.target,
                           label=f"{t.event}\n(from every working state)",
                           ltail="cluster_working", color="#c92a2a", fontcolor="#c92a2a",
                           style="bold")
                escape_edges_drawn = True
            continue
        attrs = {"label": edge_label(spec, t)}
        if t.event == spec.timeout_event:
            attrs["style"] = "dashed"
        if key in taken:
            order = ",".join(str(n) for n in taken.pop(key))
            attrs.update(color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2.5",
                         label=f"({order}) {attrs['label']}")
        graph.edge(t.source, t.target, **attrs)
    for (source, event, target, _), numbers in taken.items():  # e.g. error routes in a trace
        graph.edge(source, target, label=f"({','.join(map(str, numbers))}) {event}",
                   color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2.5", style="dotted")
    _error_routes(spec, graph)
    return graph


def node_attrs(name: str, entry: str | None, final: bool,
               visited: set[str]) -> dict[str, str]:
    attrs = {"label": f"{name}\n({entry})" if entry else name}
    fills = []
    if final:
        attrs.update(shape="box", peripheries="2", style="rounded,filled,bold")
        fills.append(FINAL_FILL)
    if name in visited:
        attrs.update(style="rounded,filled,bold", color=HIGHLIGHT, penwidth="2")
        fills = [VISITED_FILL]
    if fills:
        attrs["fillcolor"] = fills[0]
    return attrs


def _error_routes(spec: ChartSpec, graph: graphviz.Digraph) -> None:
    """Only routes that differ from the chart-wide default are drawn; the default is noted."""
    graph.node("errors_note", shape="note", style="", fontsize="9",
               label=f"handler errors -> {spec.error_target}\nunless a state says on_error")
    for state in spec.states:
        if state.on_error:
            graph.edge(state.name, state.on_error, label="error", style="dotted", color="#868e96",
                       fontcolor="#868e96")


def render(spec: ChartSpec, fmt: str = "dot", trace: Sequence[TraceStep] = ()) -> bytes:
    """The chart as DOT source (no binary needed), SVG or PNG (needs Graphviz's ``dot``)."""
    return output(build_graph(spec, trace), fmt)


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
