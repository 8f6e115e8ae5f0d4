"""The drawings explain themselves: a legend, fonts sized for a README-wide page, shared
edges for parallel transitions, and a trace render titled with its execution's outcome."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from statecharts.loader import load_chart
from statecharts.render import FONT, TraceStep, build_graph, render, trace_title
from statecharts.spec import ChartSpec

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "config" / "scalp_execution.yaml"
DIAGRAMS = ROOT / "diagrams"
HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def spec() -> ChartSpec:
    return load_chart(CHART)


def _legend(source: str) -> str:
    match = re.search(r"^\s*legend \[.*?</TABLE>>", source, re.M | re.S)
    assert match, "no legend node in the DOT source"
    return match.group(0)


def test_the_chart_has_a_legend(spec: ChartSpec) -> None:
    text = _legend(render(spec, "dot").decode())
    assert "timeout: a state's time limit ran out" in text
    assert f"escape: from every working state to {spec.escape_target}" in text
    assert "double border: a final state" in text
    assert "error route" in text
    assert "visited" not in text  # nothing is visited without a trace
    # the committed drawing carries it too
    assert _legend((DIAGRAMS / "scalp_execution.dot").read_text(encoding="utf-8")) == text


def test_a_trace_legend_explains_filled_and_numbered(spec: ChartSpec) -> None:
    trace = [TraceStep("INIT"), TraceStep("PRECHECK", "start")]
    text = _legend(build_graph(spec, trace).source)
    assert "filled: visited by this execution" in text
    assert "(n) thick: transition taken" in text


def test_fonts_are_sized_for_a_readme(spec: ChartSpec) -> None:
    source = render(spec, "dot").decode()
    assert re.search(r"edge \[[^]]*fontsize=(\d+)", source).group(1) == FONT["edge"]  # type: ignore[union-attr]
    assert int(FONT["edge"]) >= 12 and int(FONT["node"]) >= 14


def test_parallel_transitions_share_one_edge(spec: ChartSpec) -> None:
    """The six guarded ``checked`` transitions PRECHECK -> FAILED are one edge, each guard
    on a line of its own, in the order they are tried."""
    statements = [x.strip() for x in build_graph(spec).body]
    edges = [x for x in statements if x.startswith("PRECHECK -> FAILED")
             and "checked" in x]
    assert len(edges) == 1
    guards = [t.label for t in spec.transitions
              if (t.source, t.event, t.target) == ("PRECHECK", "checked", "FAILED")]
    assert len(guards) > 1
    positions = [edges[0].index(f"[{g}]") for g in guards]
    assert positions == sorted(positions)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot binary not installed")
def test_the_shipped_drawing_fits_a_readme(spec: ChartSpec) -> None:
    """At ~900 px wide an edge label must stay legible: the drawing may be at most 130
    times as wide as the edge font is high (the former one was 229: 2062 pt at 9 pt)."""
    svg = (DIAGRAMS / "scalp_execution.svg").read_text(encoding="utf-8")
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert width / float(FONT["edge"]) <= 130, width


def test_trace_title_names_the_execution_and_outcome() -> None:
    assert trace_title("X1", "ESCAPED", ["FS092"], "filled 0/300") == (
        "execution X1: ESCAPED FS092 (filled 0/300)")
    assert trace_title("X2", "COMPLETE") == "execution X2: COMPLETE"
