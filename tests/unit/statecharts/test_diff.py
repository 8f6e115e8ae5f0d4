"""The semantic chart diff (statecharts.diff), its reports and its drawing.

Each case edits ``tests/charts/diff/base.yaml`` in one way and states what the diff must
say; ``changed.yaml`` combines most kinds and is checked against golden outputs.
"""

from __future__ import annotations

import itertools
import json
import shutil
from typing import Any

import pytest
from conftest import (
    CHARTS,
    MINIMAL_CHART,
    PRODUCT_CHART,
    FlagCtx,
    build_flag_registry,
    read_limits,
)
from golden import assert_golden

from statecharts.compiler import compile_chart
from statecharts.diff import ChartDiff, diff_charts, diff_limits, same_behaviour
from statecharts.diff_report import summary, to_json, to_markdown, to_text
from statecharts.errors import EventRejected
from statecharts.limits import Limits
from statecharts.lint import lint
from statecharts.loader import load_chart
from statecharts.matrix import build_matrix, matrix_from_spec
from statecharts.render_diff import (
    ADDED,
    CHANGED,
    REMOVED,
    UNCHANGED,
    build_diff_graph,
    render_diff,
)
from statecharts.runtime import ChartRun
from statecharts.spec import ChartSpec, TransitionSpec

DIFF = CHARTS / "diff"
BASE_TEXT = (DIFF / "base.yaml").read_text(encoding="utf-8")
BASE = load_chart("base.yaml", BASE_TEXT)


def edited(*edits: tuple[str, str]) -> ChartSpec:
    text = BASE_TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return load_chart("new.yaml", text)


def diff_to(*edits: tuple[str, str]) -> tuple[ChartDiff, dict[str, Any]]:
    diff = diff_charts(BASE, edited(*edits))
    return diff, to_json(diff)


def cells(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["state"], c["event"]) for c in data["matrix"]]


FAILED_SHORT = "  - {event: checked, source: CHECKING, target: FAILED, guard: short}\n"
FAILED_BLOCKED = "  - {event: checked, source: CHECKING, target: FAILED, guard: blocked}\n"
TO_WORKING = "  - {event: checked, source: CHECKING, target: WORKING, unless: [blocked, short]}\n"
DONE_ESCAPE = "  - {event: done, source: WORKING, target: ESCAPING}\n"
PAUSED = (("  DONE: {final: true, role: success}\n",
           "  PAUSED: {entry: pause}\n  DONE: {final: true, role: success}\n"),
          (DONE_ESCAPE, DONE_ESCAPE + "  - {event: pause, source: WORKING, target: PAUSED}\n"
                                      "  - {event: resume, source: PAUSED, target: WORKING}\n"))


# -- no change ---------------------------------------------------------------------------
def test_comments_formatting_and_order_across_cells_are_no_change() -> None:
    diff = diff_charts(BASE, load_chart(DIFF / "reformatted.yaml"))
    assert not diff.changed and not diff.behaviour_changed
    assert summary(diff) == "no change"
    assert all(d.status == "unchanged" for d in diff.transitions)


def test_a_chart_is_no_change_from_itself() -> None:
    spec = load_chart(PRODUCT_CHART)
    assert not diff_charts(spec, load_chart(PRODUCT_CHART)).changed


def test_the_order_inside_a_conjunction_is_no_change() -> None:
    diff, _ = diff_to((TO_WORKING, TO_WORKING.replace("[blocked, short]", "[short, blocked]")))
    assert not diff.changed


# -- states ------------------------------------------------------------------------------
def test_state_added_and_removed() -> None:
    diff, data = diff_to(*PAUSED)
    assert [s["name"] for s in data["states"]["added"]] == ["PAUSED"]
    assert data["states"]["added"][0]["entry"] == "pause"
    added = {(t["source"], t["event"], t["target"]) for t in data["transitions"]["added"]}
    assert added == {("WORKING", "pause", "PAUSED"), ("PAUSED", "resume", "WORKING"),
                     ("PAUSED", "escape", "ESCAPING")}  # "*" now covers PAUSED too
    assert {("WORKING", "pause"), ("PAUSED", "resume"), ("PAUSED", "escape"),
            ("PAUSED", "error.execution")} == set(cells(data))
    assert diff.behaviour_changed
    back = to_json(diff_charts(edited(*PAUSED), BASE))
    assert [s["name"] for s in back["states"]["removed"]] == ["PAUSED"]
    assert len(back["transitions"]["removed"]) == 3 and back["behaviour_changed"]


def test_state_entry_handler_changed() -> None:
    diff, data = diff_to(("entry: check", "entry: verify"))
    assert data["states"]["changed"] == [{"name": "CHECKING", "behaviour": True, "changes": [
        {"field": "entry", "old": "check", "new": "verify", "behaviour": True}]}]
    assert data["matrix"] == [] and diff.behaviour_changed


def test_timeout_changed_shows_in_the_state_and_the_matrix_not_as_a_transition() -> None:
    _, data = diff_to(("{after: stage.check_timeout_ms, target: FAILED}",
                          "{after: stage.check_long_timeout_ms, target: ESCAPING}"))
    [state] = data["states"]["changed"]
    assert {c["field"] for c in state["changes"]} == {"timeout.after", "timeout.target"}
    assert data["matrix"] == [{"state": "CHECKING", "event": "timeout",
                               "old": [{"target": "FAILED", "guard": None}],
                               "new": [{"target": "ESCAPING", "guard": None}]}]
    assert data["transitions"] == {"added": [], "removed": [], "changed": []}


def test_timeout_since_and_removal() -> None:
    _, data = diff_to((", since: first_entry}", "}"))
    [change] = data["states"]["changed"][0]["changes"]
    assert change == {"field": "timeout.since", "old": "first_entry", "new": "entry",
                      "behaviour": True}
    assert data["matrix"] == []  # same target: only the clock differs
    _, data = diff_to(("    timeout: {after: stage.check_timeout_ms, target: FAILED}\n", ""))
    assert data["matrix"][0]["new"] == []  # the timeout event is now rejected in CHECKING


def test_a_timeout_code_is_behaviour_shown_on_the_state() -> None:
    diff, data = diff_to(("{after: stage.check_timeout_ms, target: FAILED}",
                          "{after: stage.check_timeout_ms, target: FAILED, code: FS098}"))
    [change] = data["states"]["changed"][0]["changes"]
    assert change == {"field": "timeout.code", "old": None, "new": "FS098",
                      "behaviour": True}
    assert diff.changed
    new = edited(("{after: stage.check_timeout_ms, target: FAILED}",
                  "{after: stage.check_timeout_ms, target: FAILED, code: FS098}"))
    [timeout] = [t for t in new.transitions if t.event == "timeout" and t.source == "CHECKING"]
    assert new.codes_of(timeout) == ("FS098",) and not timeout.guarded


def test_final_flip_cascades_into_error_route_and_escape() -> None:
    _, data = diff_to(("  DONE: {final: true, role: success}", "  DONE: {}"),
                      (DONE_ESCAPE, DONE_ESCAPE + "  - {event: finish, source: DONE, target: "
                                                  "ESCAPED}\n"))
    assert data["states"]["changed"][0]["changes"] == [
        {"field": "final", "old": True, "new": False, "behaviour": True}]
    assert {("DONE", "escape"), ("DONE", "error.execution"), ("DONE", "finish")} == set(
        cells(data))


def test_on_error_and_chart_error_target() -> None:
    _, data = diff_to(("on_error: ESCAPED", "on_error: FAILED"))
    assert data["states"]["changed"][0]["changes"][0]["field"] == "on_error"
    assert cells(data) == [("ESCAPING", "error.execution")]
    _, data = diff_to(("initial: IDLE\n", "initial: IDLE\nerrors: {target: FAILED}\n"))
    assert data["chart"]["changed"] == [{"field": "errors.target", "old": "ESCAPING",
                                         "new": "FAILED", "behaviour": True}]
    assert set(cells(data)) == {(s, "error.execution") for s in ("IDLE", "CHECKING", "WORKING")}


def test_description_and_version_are_not_behaviour() -> None:
    diff, data = diff_to(("version: 1", "version: 2"), ("  IDLE: {}", "  IDLE: {description: x}"))
    assert diff.changed and not diff.behaviour_changed
    assert data["chart"]["changed"][0]["behaviour"] is False
    assert data["states"]["changed"][0]["behaviour"] is False


# -- transitions -------------------------------------------------------------------------
def test_transition_added_that_can_win() -> None:
    added = "  - {event: done, source: WORKING, target: FAILED, guard: short}\n"
    diff, data = diff_to((DONE_ESCAPE, added + DONE_ESCAPE))
    assert data["transitions"]["added"] == [{"source": "WORKING", "event": "done",
                                             "target": "FAILED", "guard": "short",
                                             "position": 2, "behaviour": True}]
    assert cells(data) == [("WORKING", "done")] and diff.behaviour_changed


def test_transition_added_that_never_wins_is_no_behaviour_change() -> None:
    dead = "  - {event: done, source: WORKING, target: FAILED, guard: short}\n"
    diff, data = diff_to((DONE_ESCAPE, DONE_ESCAPE + dead))  # behind an unguarded one
    assert data["transitions"]["added"][0]["behaviour"] is False
    assert data["matrix"] == [] and not diff.behaviour_changed
    assert "(never wins)" in to_text(diff)


def test_transition_removed() -> None:
    _, data = diff_to((FAILED_SHORT, ""))
    assert data["transitions"]["removed"] == [{"source": "CHECKING", "event": "checked",
                                               "target": "FAILED", "guard": "short",
                                               "position": 3, "behaviour": True}]
    assert data["matrix"][0]["new"] == [{"target": "WORKING", "guard": "not blocked and not short"},
                                        {"target": "FAILED", "guard": "blocked"}]


def test_guard_expression_changed() -> None:
    _, data = diff_to(("target: DONE, guard: filled}", "target: DONE, guard: [filled, short]}"))
    [change] = data["transitions"]["changed"]
    assert change["changes"] == ["guard"] and change["behaviour"] is True
    assert (change["old"]["guard"], change["new"]["guard"]) == ("filled", "filled and short")
    _, data = diff_to((TO_WORKING, TO_WORKING.replace("[blocked, short]", "blocked")))
    [change] = data["transitions"]["changed"]
    assert change["new"]["guard"] == "not blocked" and change["changes"] == ["guard"]


def test_target_changed() -> None:
    _, data = diff_to((DONE_ESCAPE, DONE_ESCAPE.replace("ESCAPING", "FAILED")))
    [change] = data["transitions"]["changed"]
    assert change["changes"] == ["target"]
    assert (change["old"]["target"], change["new"]["target"]) == ("ESCAPING", "FAILED")
    assert (change["old_position"], change["new_position"]) == (2, 2)


def test_reorder_that_changes_the_winner_is_a_behaviour_change() -> None:
    diff, data = diff_to((FAILED_BLOCKED + FAILED_SHORT, FAILED_SHORT + FAILED_BLOCKED))
    [change] = data["transitions"]["changed"]
    assert change["changes"] == ["order"] and change["behaviour"] is True
    assert data["matrix"][0]["new"][1] == {"target": "FAILED", "guard": "short"}
    assert diff.behaviour_changed


def test_reorder_of_exclusive_transitions_is_reported_but_not_behaviour() -> None:
    diff, data = diff_to((TO_WORKING + FAILED_BLOCKED, FAILED_BLOCKED + TO_WORKING))
    [change] = data["transitions"]["changed"]
    assert change["changes"] == ["order"] and change["behaviour"] is False
    assert data["matrix"] == [] and not diff.behaviour_changed
    assert "Other changes" in to_markdown(diff)


def test_transition_description_is_not_behaviour() -> None:
    diff, data = diff_to((DONE_ESCAPE, DONE_ESCAPE.replace("}", ", description: the rest}")))
    [change] = data["transitions"]["changed"]
    assert change["changes"] == ["description"] and change["behaviour"] is False
    assert change["description"] == {"old": "", "new": "the rest"}
    assert not diff.behaviour_changed


# -- guards ------------------------------------------------------------------------------
def test_guard_code_is_behaviour_and_description_is_not() -> None:
    diff, data = diff_to(("code: GR002", "code: GR009"))
    assert data["guards"]["changed"] == [{
        "name": "short", "behaviour": True,
        "old": {"code": "GR002", "description": "not enough capital"},
        "new": {"code": "GR009", "description": "not enough capital"}}]
    assert diff.behaviour_changed
    diff, data = diff_to(("not enough capital", "capital too low"))
    assert data["guards"]["changed"][0]["behaviour"] is False and not diff.behaviour_changed


def test_guard_added_and_removed() -> None:
    _, data = diff_to(("guard: filled}", "guard: complete}"),
                         ("  filled: {description: everything was filled}",
                          "  complete: {code: FS003, description: all done}"))
    assert data["guards"]["added"] == [{"name": "complete", "code": "FS003",
                                        "description": "all done"}]
    assert data["guards"]["removed"][0]["name"] == "filled"
    assert data["transitions"]["changed"][0]["changes"] == ["guard"]


# -- the behaviour of one cell -----------------------------------------------------------
def _t(target: str, guards: tuple[str, ...] = (), unless: tuple[str, ...] = ()) -> TransitionSpec:
    return TransitionSpec("e", "S", target, guards, unless)


def test_same_behaviour_sees_through_shadowing() -> None:
    both, a, b = _t("C", ("a", "b")), _t("A", ("a",)), _t("B", ("b",))
    assert same_behaviour([both, a, b], [both, b, a])  # when a and b hold, C wins either way
    assert not same_behaviour([a, b], [b, a])
    assert same_behaviour([_t("A", ("a",)), _t("B", (), ("a",))],
                          [_t("B", (), ("a",)), _t("A", ("a",))])
    assert not same_behaviour([a], [])
    assert same_behaviour([_t("X")], [_t("X"), _t("Y")])  # Y is never tried


CHECKED, DONE = ("CHECKING", "checked"), ("WORKING", "done")
VARIANTS = {  # edits, and the cells the compiled charts must disagree on
    "winner-changing swap": ([(FAILED_BLOCKED + FAILED_SHORT, FAILED_SHORT + FAILED_BLOCKED)],
                             {CHECKED}),
    "exclusive swap": ([(TO_WORKING + FAILED_BLOCKED, FAILED_BLOCKED + TO_WORKING)], set()),
    "removed": ([(FAILED_SHORT, "")], {CHECKED}),
    "guard changed": ([("target: DONE, guard: filled}", "target: DONE, guard: [filled, short]}")],
                      {DONE}),
    "dead added": ([(DONE_ESCAPE, DONE_ESCAPE + "  - {event: done, source: WORKING, "
                                                "target: FAILED, guard: short}\n")], set()),
    "live added": ([(DONE_ESCAPE, "  - {event: done, source: WORKING, target: FAILED, "
                                  "guard: short}\n" + DONE_ESCAPE)], {DONE}),
}


def _outcome(spec: ChartSpec, path: tuple[str, ...], event: str,
             flags: dict[str, bool]) -> tuple[str, frozenset[str]] | None:
    """Where the compiled chart goes (and by which guard) for ``event`` under ``flags``."""
    run = ChartRun(compile_chart(spec, build_flag_registry(spec, f"o-{spec.digest}")), spec,
                   FlagCtx())
    for step in path:
        run.dispatch(step)
    run.ctx.flags = flags
    try:
        run.dispatch(event)
    except EventRejected:
        return None
    step = run.trace[-1]
    return step.state, frozenset(step.guard.split(" and ")) if step.guard else frozenset()


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_behaviour_verdict_agrees_with_the_compiled_chart(variant: str) -> None:
    """Run both compiled charts under every guard combination: a cell differs in the
    diff's matrix exactly when some combination ends elsewhere (or by another guard)."""
    edits, expected = VARIANTS[variant]
    new = edited(*edits)
    reported = {(c.state, c.event) for c in diff_charts(BASE, new).matrix}
    assert reported == expected
    for (state, event), path in ((CHECKED, ("go",)), (DONE, ("go", "checked"))):
        names = sorted({g for spec in (BASE, new) for t in spec.transitions
                        if (t.source, t.event) == (state, event) for g in (*t.guards, *t.unless)})
        differs = any(
            _outcome(BASE, path, event, flags) != _outcome(new, path, event, flags)
            for bits in itertools.product((False, True), repeat=len(names))
            for flags in [dict(zip(names, bits, strict=True))])
        assert differs == ((state, event) in reported), (state, event)


def test_the_matrix_from_the_spec_equals_the_compiled_one() -> None:
    for path in (PRODUCT_CHART, MINIMAL_CHART, DIFF / "base.yaml", DIFF / "changed.yaml"):
        spec = load_chart(path)
        assert matrix_from_spec(spec) == build_matrix(
            compile_chart(spec, build_flag_registry(spec, f"m-{path.name}")), spec)


# -- limits ------------------------------------------------------------------------------
def test_limits_by_dotted_path() -> None:
    old = Limits({"version": 1, "a": {"x": 1, "y": True, "z": 2}, "gone": 5})
    new = Limits({"version": 1, "a": {"x": 1.0, "y": 1, "z": 3}, "b": {"w": 7}})
    changes = {c.path: (c.old, c.new) for c in diff_limits(old, new)}
    assert changes == {"a.y": (True, 1), "a.z": (2, 3), "b.w": (None, 7), "gone": (5, None)}


def test_limits_files_unchanged() -> None:
    limits = read_limits(DIFF / "base.limits.yaml")
    assert diff_limits(limits, read_limits(DIFF / "base.limits.yaml")) == ()


# -- golden outputs ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def combined() -> ChartDiff:
    old = load_chart("tests/charts/diff/base.yaml", BASE_TEXT)
    new = load_chart("tests/charts/diff/changed.yaml",
                     (DIFF / "changed.yaml").read_text(encoding="utf-8"))
    assert lint(old) == [] and lint(new) == []
    return diff_charts(old, new)


def test_golden_markdown(combined: ChartDiff) -> None:
    assert_golden("changed.md", to_markdown(combined))


def test_golden_text(combined: ChartDiff) -> None:
    assert_golden("changed.txt", to_text(combined))


def test_golden_json(combined: ChartDiff) -> None:
    assert_golden("changed.json", json.dumps(to_json(combined), indent=2) + "\n")


def test_golden_dot(combined: ChartDiff) -> None:
    assert_golden("changed.dot", render_diff(combined, "dot").decode())


def test_markdown_puts_behaviour_first(combined: ChartDiff) -> None:
    text = to_markdown(combined)
    assert text.splitlines()[0].startswith("**Chart review**")
    assert text.index("### Behaviour changes") < text.index("### Other changes")


def test_union_drawing_colours(combined: ChartDiff) -> None:
    lines = [x.strip() for x in build_diff_graph(combined).body]

    def edge(source: str, target: str, needle: str) -> str:
        return next(x for x in lines if x.startswith(f"{source} -> {target}") and needle in x)

    assert ADDED in edge("REVIEWING", "WORKING", "approved")
    assert CHANGED in edge("CHECKING", "REVIEWING", "short")
    assert "was -> FAILED" in edge("CHECKING", "REVIEWING", "short")
    assert UNCHANGED in edge("IDLE", "CHECKING", "go")
    assert ADDED in edge("WORKING", "FAILED", "filled") and "never wins" in edge(
        "WORKING", "FAILED", "filled")
    removed_route = edge("ESCAPING", "ESCAPED", "error")
    assert REMOVED in removed_route and "dashed" in removed_route
    assert ADDED in next(x for x in lines if x.startswith("REVIEWING [")), "added state"


def test_removed_edges_are_red_and_dashed() -> None:
    diff = diff_charts(BASE, edited((FAILED_SHORT, "")))
    line = next(x for x in build_diff_graph(diff).body if "CHECKING -> FAILED" in x
                and "short" in x)
    assert REMOVED in line and "style=dashed" in line


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot binary not installed")
def test_union_drawing_as_svg(combined: ChartDiff) -> None:
    assert b"<svg" in render_diff(combined, "svg")[:400]


def test_unknown_render_format(combined: ChartDiff) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_diff(combined, "gif")
