"""The broken-chart corpus: every document names, in its header, the problems it must produce.

Header lines look like ``# expect: RULE LINE`` (a problem in the chart itself) or
``# expect: RULE FILE:LINE`` (a problem in the companion ``<name>.limits.yaml``), optionally
followed by ``col COL``. The reported (file, rule, line) triples must equal the expected
ones exactly, and a problem with an expected column must be reported at that column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import (
    CHARTS,
    MINIMAL_CHART,
    PRODUCT_CHART,
    PRODUCT_LIMITS,
    ROOT,
    build_flag_registry,
    read_limits,
)

from statecharts.compiler import compile_chart
from statecharts.errors import ChartInvalid, DocumentInvalid, Problem
from statecharts.limits import load_limits
from statecharts.lint import RULES, lint
from statecharts.loader import load_chart, packaged_schema
from statecharts.spec import ChartSpec

BROKEN = sorted(p for p in (CHARTS / "broken").glob("*.yaml")
                if not p.name.endswith(".limits.yaml"))
# The registry the corpus charts are linted against: it lacks any handler not named here;
# its handlers raise these events, and every run is started with ``go``.
CORPUS_HANDLERS = frozenset({"work", "escape"})
CORPUS_EMITS = {"work": ("done",), "escape": ("escaped",)}
CORPUS_START = "go"
EXPECT = re.compile(r"# expect: (?P<rule>[a-z][a-z-]*) (?:(?P<file>[\w.-]+):)?(?P<line>\d+)"
                    r"(?: col (?P<col>\d+))?$")
SCHEMA_POINTER = re.compile(r"# yaml-language-server: \$schema=(?P<path>\S+)$")
LIMITS_SCHEMA = ROOT / "execution" / "schemas" / "limits.schema.json"

Expected = set[tuple[str, str, int]]


def expectations(chart: Path) -> Expected:
    """(file name, rule, line) from the leading ``# expect:`` comment lines."""
    return {(file, rule, line) for file, rule, line, _ in expected_columns(chart)}


def expected_columns(chart: Path) -> list[tuple[str, str, int, int | None]]:
    """(file name, rule, line, column or None) from the leading ``# expect:`` lines."""
    found = []
    for text in chart.read_text(encoding="utf-8").splitlines():
        match = EXPECT.fullmatch(text)
        if match is None:
            break
        column = int(match["col"]) if match["col"] else None
        found.append((match["file"] or chart.name, match["rule"], int(match["line"]), column))
    return found


def companion(chart: Path) -> Path:
    return chart.with_name(f"{chart.stem}.limits.yaml")


def problems_of(chart: Path) -> list[Problem]:
    """Everything that loading the chart (and its limits, if any) and linting it reports."""
    problems: list[Problem] = []
    limit_keys: set[str] | None = None
    limits = companion(chart)
    if limits.exists():
        try:
            limit_keys = set(read_limits(limits).keys())
        except DocumentInvalid as err:
            problems.extend(err.problems)
    try:
        spec = load_chart(chart)
    except ChartInvalid as err:
        return problems + err.problems
    return problems + lint(spec, handlers=CORPUS_HANDLERS, emits=CORPUS_EMITS,
                           start_event=CORPUS_START, limits=limit_keys)


def triples(problems: list[Problem]) -> Expected:
    return {(Path(p.file).name, p.rule, p.line) for p in problems}


def test_corpus_is_large_enough_and_covers_every_rule() -> None:
    assert len(BROKEN) >= 18
    covered = {rule for chart in BROKEN for _, rule, _ in expectations(chart)}
    required = {*RULES, "schema", "duplicate-key", "yaml-trap", "yaml-syntax"}
    assert required <= covered, f"no broken chart for {sorted(required - covered)}"


@pytest.mark.parametrize("chart", BROKEN, ids=lambda p: p.stem)
def test_broken_chart_reports_exactly_the_expected_problems(chart: Path) -> None:
    first_line = chart.read_text(encoding="utf-8").splitlines()[0]
    assert EXPECT.fullmatch(first_line), f"{chart.name}: first line must be '# expect: RULE LINE'"
    expected = expectations(chart)
    problems = problems_of(chart)
    assert triples(problems) == expected, "\n".join(str(p) for p in problems)
    for file, rule, line, column in expected_columns(chart):
        if column is not None:
            found = {p.column for p in problems
                     if (Path(p.file).name, p.rule, p.line) == (file, rule, line)}
            assert column in found, f"{rule} at line {line}: columns {found}, not {column}"


@pytest.mark.parametrize("chart", BROKEN, ids=lambda p: p.stem)
def test_every_problem_prints_as_file_line_col_rule_message(chart: Path) -> None:
    problems = problems_of(chart)
    assert problems
    for problem in problems:
        assert Path(problem.file).name in {chart.name, companion(chart).name}
        text = str(problem)
        prefix = f"{problem.file}:{problem.line}:{problem.column}: [{problem.rule}] "
        assert text.startswith(prefix), text
        assert problem.line >= 1 and problem.column >= 1
        assert problem.message and problem.message in text


def test_load_raises_chart_invalid_carrying_every_problem() -> None:
    with pytest.raises(DocumentInvalid) as info:
        load_chart(CHARTS / "broken" / "multi_schema.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems) == 3
    assert all("[schema]" in line for line in lines)


@pytest.mark.parametrize("name", ["multi_lint", "multi_schema", "multi_yaml"])
def test_independent_mistakes_are_reported_together(name: str) -> None:
    chart = CHARTS / "broken" / f"{name}.yaml"
    expected = expectations(chart)
    assert len({rule_line[1:] for rule_line in expected}) >= 3
    assert triples(problems_of(chart)) == expected


def test_duplicate_key_names_the_first_definition() -> None:
    (problem,) = problems_of(CHARTS / "broken" / "duplicate_key.yaml")
    assert "'IDLE'" in problem.message
    assert "first defined at line 7" in problem.message


def test_schema_problem_names_the_unknown_key() -> None:
    (problem,) = problems_of(CHARTS / "broken" / "schema_transition_key.yaml")
    assert "unknown key 'when'" in problem.message
    assert problem.path == "transitions[0].when"


def test_minimal_chart_loads_and_lints_clean() -> None:
    spec = load_chart(MINIMAL_CHART)
    limits = read_limits(companion(MINIMAL_CHART))
    registry = build_flag_registry(spec)
    assert set(registry.handlers) == CORPUS_HANDLERS
    assert lint(spec, guards=registry.guards, handlers=registry.handlers,
                limits=set(limits.keys())) == []


def test_product_chart_lints_clean_against_its_limits(product_spec: ChartSpec) -> None:
    registry = build_flag_registry(product_spec)
    limits = read_limits(PRODUCT_LIMITS)
    problems = lint(product_spec, guards=registry.guards, handlers=registry.handlers,
                    limits=set(limits.keys()))
    assert problems == []
    assert set(product_spec.limit_keys()) <= set(limits.keys())


def test_compiler_rejects_a_registry_lacking_a_handler(product_spec: ChartSpec) -> None:
    """Also after an equal-looking registry was compiled and dropped: the class cache used to
    key on id(registry), so a new registry at a recycled address got the old class unchecked."""
    for _ in range(3):
        compile_chart(product_spec, build_flag_registry(product_spec))  # compiled, then freed
        lacking = build_flag_registry(product_spec)
        del lacking.handlers["split"]
        with pytest.raises(DocumentInvalid) as info:
            compile_chart(product_spec, lacking)
        assert [(p.rule, p.line) for p in info.value.problems] == [
            ("unknown-handler", product_spec.positions["states.SPLITTING.entry"][0])]


@pytest.mark.parametrize("document", [PRODUCT_CHART, MINIMAL_CHART], ids=["product", "minimal"])
def test_chart_points_editors_at_the_packaged_schema(document: Path) -> None:
    first = document.read_text(encoding="utf-8").splitlines()[0]
    match = SCHEMA_POINTER.fullmatch(first)
    assert match, f"{document.name}: first line must be the yaml-language-server $schema pointer"
    schema_file = (document.parent / match["path"]).resolve()
    assert schema_file.is_file()
    assert json.loads(schema_file.read_text(encoding="utf-8")) == packaged_schema()


def test_product_limits_validate_against_their_schema() -> None:
    if not LIMITS_SCHEMA.exists():
        pytest.skip(f"{LIMITS_SCHEMA.relative_to(ROOT)} is not written yet")
    limits = load_limits(PRODUCT_LIMITS, LIMITS_SCHEMA)
    assert limits.get("stage_timeouts.precheck_timeout_ms") == 5000
    pointer = SCHEMA_POINTER.fullmatch(PRODUCT_LIMITS.read_text(encoding="utf-8").splitlines()[0])
    assert pointer and (PRODUCT_LIMITS.parent / pointer["path"]).resolve() == LIMITS_SCHEMA
