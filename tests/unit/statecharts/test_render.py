"""The renderer: golden DOT, staleness of diagrams/, drawing rules, trace overlay."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from statecharts.loader import load_chart
from statecharts.render import TraceStep, build_graph, render, staleness

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "config" / "scalp_execution.yaml"
DIAGRAMS = ROOT / "diagrams"


@pytest.fixture(scope="module")
def spec():  # type: ignore[no-untyped-def]
    return load_chart(CHART)


def test_dot_is_byte_stable(spec) -> None:  # type: ignore[no-untyped-def]
    assert render(spec, "dot") == render(load_chart(CHART), "dot")


def test_committed_dot_matches_the_chart(spec) -> None:  # type: ignore[no-untyped-def]
    committed = (DIAGRAMS / "scalp_execution.dot").read_bytes()
    assert committed == render(spec, "dot"), "diagrams/ is stale: run `make diagrams`"
    assert staleness(spec, ".dot", committed) is None  # what `render --check` uses
    assert staleness(spec, ".dot", committed + b" ") == "differs from a fresh render"


def test_committed_svg_was_rendered_from_this_chart(spec) -> None:  # type: ignore[no-untyped-def]
    svg = (DIAGRAMS / "scalp_execution.svg").read_text(encoding="utf-8")
    assert f"sha256:{spec.digest[:16]}" in svg, "diagrams/ is stale: run `make diagrams`"
    assert staleness(spec, ".svg", svg.encode()) is None
    assert staleness(spec, ".svg", svg.replace(spec.digest[:16], "0" * 16).encode())
    for state in spec.state_names:
        assert f">{state}</text>" in svg


def _statements(spec, trace=()) -> list[str]:  # type: ignore[no-untyped-def]
    """Every DOT statement (multi-line labels included), cluster bodies flattened."""
    return [x.strip() for x in build_graph(spec, trace).body if x.strip()]


def _node(spec, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(x for x in _statements(spec) if x.startswith(f"{name} ["))


def test_final_states_are_drawn_distinctly(spec) -> None:  # type: ignore[no-untyped-def]
    for name in spec.final_states:
        assert "peripheries=2" in _node(spec, name)
    assert "peripheries" not in _node(spec, "SENDING")


def test_guard_labels_carry_their_codes(spec) -> None:  # type: ignore[no-untyped-def]
    source = render(spec, "dot").decode()
    for guard in spec.guards.values():
        if guard.code:
            assert f"[{guard.name}] {guard.code}" in source or guard.code in source


def test_escape_is_one_edge_from_the_working_cluster(spec) -> None:  # type: ignore[no-untyped-def]
    escape_edges = [x for x in _statements(spec) if f"-> {spec.escape_target}" in x
                    and f'label="{spec.escape_event}' in x]
    assert len(escape_edges) == 1
    assert "ltail=cluster_working" in escape_edges[0]


def test_trace_overlay_highlights_states_and_taken_edges(spec) -> None:  # type: ignore[no-untyped-def]
    trace = [TraceStep("INIT"), TraceStep("PRECHECK", "start"),
             TraceStep("SPLITTING", "checked"), TraceStep("SENDING", "split"),
             TraceStep("ESCAPING", "escape"), TraceStep("ESCAPED", "escaped", "escape_executed")]
    source = build_graph(spec, trace).source
    assert source.count("fillcolor=\"#ffe8cc\"") == len({s.state for s in trace})
    assert "(1) start" in source and "(4) escape" in source
    taken_lines = [x for x in _statements(spec, trace) if "penwidth=2.5" in x]
    assert len(taken_lines) == len(trace) - 1
    # the escape actually taken is drawn from its real source, and the cluster edge remains
    assert any(x.startswith("SENDING -> ESCAPING") for x in taken_lines)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot binary not installed")
@pytest.mark.parametrize("fmt,magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_svg_and_png_render(spec, fmt: str, magic: bytes) -> None:  # type: ignore[no-untyped-def]
    assert magic in render(spec, fmt)[:400]


def test_unknown_format_is_an_error(spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown format"):
        render(spec, "gif")
