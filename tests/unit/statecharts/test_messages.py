"""Messages that say what to do: the typed fix for a YAML 1.1 trap, "did you mean", and
every stage's findings at once while the document can still be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution import paths
from execution.guards import REGISTRY
from execution.settings import read_limits
from statecharts.checked import intended_number, schema_types, typed_fix
from statecharts.errors import DocumentInvalid
from statecharts.lint import lint
from statecharts.loader import load_chart, packaged_schema
from statecharts.suggest import closest, did_you_mean

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "config" / "scalp_execution.yaml"
LIMITS = ROOT / "config" / "limits.yaml"


def chart_problems(old: str, new: str) -> list[str]:
    text = CHART.read_text(encoding="utf-8")
    assert old in text
    try:
        spec = load_chart("chart.yaml", text.replace(old, new, 1))
    except DocumentInvalid as err:
        return [str(p) for p in err.problems]
    keys = list(read_limits(LIMITS).keys())
    return [str(p) for p in lint(spec, registry=REGISTRY, limits=keys)]


def limits_problems(old: str, new: str) -> list[str]:
    text = LIMITS.read_text(encoding="utf-8")
    assert old in text
    path = Path("limits.yaml")
    try:
        from statecharts.limits import load_limits

        load_limits(path, paths.LIMITS_SCHEMA, text.replace(old, new, 1))
    except DocumentInvalid as err:
        return [str(p) for p in err.problems]
    return []


def test_a_boolean_trap_in_a_boolean_field_says_false() -> None:
    [problem] = chart_problems("    final: true\n", "    final: off\n")
    assert problem.endswith("[yaml-trap] YAML 1.1 reads 'off' as a boolean; "
                            "this field is a boolean: write false")
    assert "quote it" not in problem


def test_a_number_trap_in_an_integer_field_says_the_integer() -> None:
    [problem] = limits_problems("max_rounds: 3", "max_rounds: 5e8")
    assert problem.endswith("this field is a number: write 500000000")


def test_a_trap_in_a_string_field_says_quote_it() -> None:
    [problem] = chart_problems(
        "description: filled (or partially filled at the fill timeout); position handed off",
        "description: yes")
    assert problem.endswith("this field is a string: quote it ('yes')")


def test_yaml_and_schema_findings_come_together() -> None:
    text = CHART.read_text(encoding="utf-8").replace("    final: true\n", "    final: no\n", 1)
    text = text.replace("initial: INIT", "initial: INIT\nretries: 3", 1)
    with pytest.raises(DocumentInvalid) as caught:
        load_chart("chart.yaml", text)
    rules = sorted(p.rule for p in caught.value.problems)
    assert rules == ["schema", "yaml-trap"]


@pytest.mark.parametrize(("old", "new", "hint"), [
    ("target: FAILED, code", "target: FAILD, code", "did you mean 'FAILED'?"),
    ("guard: fill_timeout_partial", "guard: fill_timeout_partal",
     "did you mean 'fill_timeout_partial'?"),
    ("entry: split\n", "entry: splt\n", "did you mean 'split'?"),
    ("monitoring_timeout_ms", "monitoring_timout_ms",
     "did you mean 'stage_timeouts.monitoring_timeout_ms'?"),
    ("initial: INIT", "initial: INIT\ndescriptoin: x", "did you mean 'description'?"),
])
def test_did_you_mean(old: str, new: str, hint: str) -> None:
    problems = chart_problems(old, new)
    assert problems and all(hint in p for p in problems if "is not" in p or "unknown" in p)
    assert any(hint in p for p in problems)


def test_no_suggestion_when_nothing_is_close() -> None:
    assert did_you_mean("zzzzzz", ["COMPLETE", "FAILED"]) == ""
    assert closest("complete", ["COMPLETE"]) == "COMPLETE"


@pytest.mark.parametrize(("text", "value"), [("5e8", 5e8), ("1_000", 1000.0), (".5", 0.5),
                                             ("0x1F", 31.0), ("017", 17.0), ("1:30", 90.0),
                                             ("abc", None)])
def test_intended_number(text: str, value: float | None) -> None:
    assert intended_number(text) == value


def test_schema_types_follow_refs_and_patterns() -> None:
    schema = packaged_schema()
    assert schema_types(schema, "states.COMPLETE.final") == {"boolean"}
    assert "string" in schema_types(schema, "states.COMPLETE.description")
    assert typed_fix("yes", set()) is None
