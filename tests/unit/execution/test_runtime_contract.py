"""A chart or limits file that validates must run: each case that used to pass ``validate``
and break at run time is now refused at its token, by ``validate`` and by the Engine alike;
the edits that are harmless (renaming the escape or timeout event everywhere) still run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import PRODUCT_CHART, PRODUCT_LIMITS
from hostile_kit import cli, run_intent
from statemachine import StateChart

from execution.engine import Engine
from execution.guards import REGISTRY
from execution.limits_rules import limit_problems
from execution.paths import LIMITS_SCHEMA
from execution.settings import read_limits
from execution.sim import SimulatedExchange
from statecharts.errors import DocumentInvalid
from statecharts.reserved import event_conflict, reserved_events

CHART = PRODUCT_CHART.read_text(encoding="utf-8")
LIMITS = PRODUCT_LIMITS.read_text(encoding="utf-8")


def edited(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    return text


def position(text: str, line_text: str, token: str) -> tuple[int, int]:
    """1-based line and column of ``token`` in the first line containing ``line_text``."""
    for number, line in enumerate(text.splitlines(), 1):
        if line_text in line:
            return number, line.index(token, line.index(line_text)) + 1
    raise AssertionError(f"{line_text!r} not in the document")


def refused(path: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("validate", *args, "--format", "json")
    assert result.code == 1, result
    found: list[dict[str, Any]] = json.loads(result.out)["findings"]
    return found


def escape_renamed(name: str) -> str:
    return edited(CHART, ("escape: {event: escape,", f"escape: {{event: {name},"),
                  ("  - event: escape\n", f"  - event: {name}\n"))


# -- the chart ----------------------------------------------------------------------------

CHART_CASES = {
    # name: (edits, rule, (line text, token) of the finding)
    "event named send": ([("escape: {event: escape,", "escape: {event: send,"),
                          ("  - event: escape\n", "  - event: send\n")],
                         "reserved-name", ("escape: {event: send", "send")),
    "event named model": ([("{event: exhausted, source: ADJUSTING, target: ESCAPING}\n",
                            "{event: exhausted, source: ADJUSTING, target: ESCAPING}\n"
                            "  - {event: model, source: ADJUSTING, target: ESCAPING}\n")],
                          "reserved-name", ("{event: model", "model")),
    "event named final": ([("timeout_event: timeout", "timeout_event: final"),
                           ("event: timeout\n", "event: final\n")],
                          "reserved-name", ("timeout_event: final", "final")),
    "event named error": ([("{event: exhausted, source: ADJUSTING, target: ESCAPING}\n",
                            "{event: exhausted, source: ADJUSTING, target: ESCAPING}\n"
                            "  - {event: error, source: SENDING, target: COMPLETE}\n")],
                          "reserved-name", ("{event: error", "error")),
    "event named error_execution": ([("escape: {event: escape,",
                                      "escape: {event: error_execution,"),
                                     ("  - event: escape\n", "  - event: error_execution\n")],
                                    "reserved-name", ("escape: {event: error_", "error_")),
    "start renamed": ([("{event: start, source: INIT", "{event: begin, source: INIT")],
                      "unhandled-event", ("initial: INIT", "INIT")),
    "sent renamed": ([("{event: sent,", "{event: dispatched,")],
                     "unhandled-event", ("entry: send", "send")),
    "filled renamed": ([("{event: filled,", "{event: done,"),
                        ("  - event: filled\n", "  - event: done\n")],
                       "unhandled-event", ("entry: monitor", "monitor")),
    "errors to COMPLETE": ([("errors: {target: ESCAPING}", "errors: {target: COMPLETE}")],
                           "error-route", ("errors: {target: COMPLETE}", "COMPLETE")),
    "on_error to COMPLETE": ([("on_error: ESCAPED", "on_error: COMPLETE")],
                             "error-route", ("on_error: COMPLETE", "COMPLETE")),
    "final without a role": ([("    role: failed\n", "")],
                             "final-role", ("  FAILED:", "FAILED")),
    "a stage without handler or timeout": ([("    entry: split\n    timeout: {after: "
                                             "stage_timeouts.splitting_timeout_ms, "
                                             "target: FAILED, code: FS098}\n", "")],
                                           "stuck-state", ("  SPLITTING:", "SPLITTING")),
    "timeout on a missing limit": ([("after: stage_timeouts.escaping_timeout_ms",
                                     "after: stage_timeouts.escape_timeout_ms")],
                                   "unknown-limit", ("after: stage_timeouts.escape", "stage_")),
}


@pytest.mark.parametrize("case", sorted(CHART_CASES))
def test_chart_that_would_break_at_run_time_is_refused_at_its_token(
        tmp_path: Path, case: str) -> None:
    changes, rule, (line_text, token) = CHART_CASES[case]
    text = edited(CHART, *changes)
    path = tmp_path / "chart.yaml"
    path.write_text(text, encoding="utf-8")
    found = refused(path, str(path))
    assert [(p["rule"], p["line"], p["column"]) for p in found] == [
        (rule, *position(text, line_text, token))]
    with pytest.raises(DocumentInvalid) as info:
        Engine(SimulatedExchange(seed=1, start_ns=0), chart=path)
    assert [p.rule for p in info.value.problems] == [rule]


def test_reserved_names_come_from_the_library() -> None:
    public = {name for name in dir(StateChart) if not name.startswith("_")}
    assert public <= reserved_events()
    assert {"send", "model", "final", "code"} <= reserved_events()
    assert not {"escape", "start", "checked", "filled", "timeout", "bail"} & reserved_events()
    # an event the library matches against error.execution, or reads as a second event
    assert "error.execution" in (event_conflict("error") or "")
    assert "'error.execution'" in (event_conflict("error_execution") or "")
    assert event_conflict("errors") is None and event_conflict("done") is None


def test_every_stage_handler_declares_what_it_raises() -> None:
    assert set(REGISTRY.emits) == set(REGISTRY.handlers)
    assert REGISTRY.emits["monitor"] == ("filled", "stalled")
    assert REGISTRY.emits["finish"] == ()
    assert REGISTRY.start_event == "start"


@pytest.mark.parametrize("name", ["bail", "state", "errors", "run", "machine", "done"])
def test_renaming_the_escape_event_everywhere_validates_and_escapes(
        tmp_path: Path, name: str) -> None:
    path = tmp_path / "chart.yaml"
    path.write_text(escape_renamed(name), encoding="utf-8")
    assert cli("validate", path).code == 0
    outcome = run_intent(path, escape_after_ms=1)
    assert (outcome.final_state, outcome.errors, outcome.loop_errors) == ("ESCAPED", [], [])


def test_renaming_the_timeout_event_everywhere_validates_and_runs(tmp_path: Path) -> None:
    path = tmp_path / "chart.yaml"
    path.write_text(edited(CHART, ("timeout_event: timeout", "timeout_event: expired"),
                           ("event: timeout\n", "event: expired\n")), encoding="utf-8")
    assert cli("validate", path).code == 0
    outcome = run_intent(path)
    assert outcome.role == "success" and not outcome.errors and not outcome.loop_errors


# -- the limits ---------------------------------------------------------------------------

LIMIT_CASES = {
    # name: (old text, new text, rule); the finding is at the new value (the last word)
    "slippage_max_bps 1e400": ("slippage_max_bps: 50", "slippage_max_bps: 1.0e400",
                               "yaml-number"),
    "step_pct 1e400": ("step_pct: 0.1", "step_pct: 1.0e400", "yaml-number"),
    "401-digit timeout": ("precheck_timeout_ms: 5000", "precheck_timeout_ms: " + "9" * 401,
                          "yaml-number"),
    "timeout over a day": ("precheck_timeout_ms: 5000", "precheck_timeout_ms: 86400001",
                           "schema"),
    "iceberg_display_pct 0": ("iceberg_display_pct: 20", "iceberg_display_pct: 0", "schema"),
    "notional limit 0": ("max_notional_krw: 500000000", "max_notional_krw: 0", "schema"),
    "min split qty 0": ("min_split_qty_shares: 100", "min_split_qty_shares: 0", "schema"),
    "warning above maximum": ("slippage_warning_bps: 30", "slippage_warning_bps: 60",
                              "limit-order"),
    "first round after last": ("first_round_pct_of_timeout: {low: 70",
                               "first_round_pct_of_timeout: {low: 95", "limit-order"),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_limits_that_would_break_at_run_time_are_refused_at_the_value(
        tmp_path: Path, case: str) -> None:
    old, new, rule = LIMIT_CASES[case]
    text = edited(LIMITS, (old, new))
    path = tmp_path / "limits.yaml"
    path.write_text(text, encoding="utf-8")
    found = refused(path, "--limits", str(path))
    assert [(p["rule"], p["line"], p["column"]) for p in found] == [
        (rule, *position(text, new, new.split()[-1]))]
    with pytest.raises(DocumentInvalid):
        run_intent(limits=path)


def test_limit_order_names_both_values() -> None:
    limits = read_limits(PRODUCT_LIMITS)
    assert limit_problems(limits) == []
    text = edited(LIMITS, ("slippage_warning_bps: 30", "slippage_warning_bps: 60"))
    with pytest.raises(DocumentInvalid) as info:
        read_limits("limits.yaml", text)
    [problem] = info.value.problems
    assert "slippage_warning_bps (60)" in problem.message
    assert "slippage_max_bps (50)" in problem.message


def _bound(spec: dict[str, Any], end: str) -> Any:
    """The smallest or largest value the schema allows for a leaf."""
    if spec.get("type") == "boolean":
        return end == "max"
    if end == "max":
        return spec["maximum"]
    if "exclusiveMinimum" in spec:
        return spec["exclusiveMinimum"] + (1 if spec["type"] == "integer" else 0.01)
    return spec["minimum"]


def _extreme_limits(schema: dict[str, Any], end: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, spec in schema["properties"].items():
        if "const" in spec:
            out[key] = spec["const"]
        elif "enum" in spec:
            out[key] = spec["enum"][0]
        elif spec.get("type") == "object":
            out[key] = _extreme_limits(spec, end)
        else:
            out[key] = _bound(spec, end)
    return out


def test_every_number_in_the_schema_is_bounded() -> None:
    schema = json.loads(LIMITS_SCHEMA.read_text(encoding="utf-8"))

    def leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
        if node.get("type") == "object":
            return [leaf for sub in node["properties"].values() for leaf in leaves(sub)]
        return [node]

    numbers = [leaf for leaf in leaves(schema) if leaf.get("type") in ("integer", "number")]
    assert numbers and all("maximum" in leaf for leaf in numbers)
    assert all("minimum" in leaf or "exclusiveMinimum" in leaf for leaf in numbers)


@pytest.mark.parametrize("end", ["min", "max"])
def test_limits_at_the_schema_bounds_validate_and_run(tmp_path: Path, end: str) -> None:
    schema = json.loads(LIMITS_SCHEMA.read_text(encoding="utf-8"))
    path = tmp_path / "limits.yaml"
    path.write_text(json.dumps(_extreme_limits(schema, end)), encoding="utf-8")
    assert cli("validate", "--limits", path).code == 0
    outcome = run_intent(limits=path)
    assert outcome.final_state in {"COMPLETE", "ESCAPED", "FAILED"}
    assert outcome.errors == [] and outcome.loop_errors == []
