"""Every finding points at the offending token (line and column of the scalar), in block
and flow style alike: the guard's name, not the transition's ``- event:`` line."""

from __future__ import annotations

import textwrap

import pytest

from statecharts.errors import ChartInvalid, Problem
from statecharts.lint import lint
from statecharts.loader import load_chart

HEAD = textwrap.dedent("""\
    chart: mini
    version: 1
    initial: IDLE
    escape: {event: escape, target: ESCAPING}
    states:
      IDLE: {}
      WORKING: {entry: work}
      ESCAPING: {entry: escape, on_error: ESCAPED}
      DONE: {final: true, role: success}
      ESCAPED: {final: true, role: escaped}
    guards:
      ok: {description: the work succeeded}
    transitions:
    """)
TAIL = ("  - {event: escaped, source: ESCAPING, target: ESCAPED}\n"
        '  - {event: escape, source: "*", target: ESCAPING}\n')
HANDLERS = {"work", "escape"}

# Each case: one transition (as a mapping), the rule it breaks and the offending token.
CASES = {
    "unknown guard": ({"event": "done", "source": "WORKING", "target": "DONE",
                       "guard": "nope"}, "unknown-guard", "nope"),
    "unknown guard in a list": ({"event": "done", "source": "WORKING", "target": "DONE",
                                 "guard": ["ok", "nope"]}, "unknown-guard", "nope"),
    "unknown unless": ({"event": "done", "source": "WORKING", "target": "DONE",
                        "guard": "ok", "unless": ["ok", "missing"]}, "unknown-guard", "missing"),
    "unknown target": ({"event": "done", "source": "WORKING", "target": "DNOE"},
                       "unknown-state", "DNOE"),
    "unknown source in a list": ({"event": "done", "source": ["IDLE", "WROKING"],
                                  "target": "DONE"}, "unknown-state", "WROKING"),
    "final source": ({"event": "again", "source": "DONE", "target": "IDLE"},
                     "final-outgoing", "DONE"),
    "reserved event": ({"event": "send", "source": "WORKING", "target": "DONE"},
                       "reserved-name", "send"),
}


def flow(body: dict[str, object]) -> str:
    parts = []
    for key, value in body.items():
        text = f"[{', '.join(value)}]" if isinstance(value, list) else str(value)
        parts.append(f"{key}: {text}")
    return "  - {" + ", ".join(parts) + "}\n"


def block(body: dict[str, object]) -> str:
    lines = []
    for index, (key, value) in enumerate(body.items()):
        lead = "  - " if index == 0 else "    "
        if isinstance(value, list):
            lines.append(f"{lead}{key}:\n" + "".join(f"      - {item}\n" for item in value))
        else:
            lines.append(f"{lead}{key}: {value}\n")
    return "".join(lines)


def findings(text: str) -> list[Problem]:
    try:
        spec = load_chart("chart.yaml", text)
    except ChartInvalid as err:
        return err.problems
    return lint(spec, handlers=HANDLERS)


def token_position(text: str, token: str, after_line: int) -> tuple[int, int]:
    """The last occurrence of ``token`` as a whole word at or after ``after_line``."""
    found = (1, 1)
    for number, line in enumerate(text.splitlines(), 1):
        if number < after_line:
            continue
        for word_start in range(len(line)):
            if line.startswith(token, word_start) and not line[word_start - 1].isalnum() \
                    and not line[word_start + len(token):word_start + len(token) + 1].isalnum():
                found = (number, word_start + 1)
    return found


@pytest.mark.parametrize("style", ["flow", "block"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_finding_points_at_the_offending_token(case: str, style: str) -> None:
    body, rule, token = CASES[case]
    written = (flow if style == "flow" else block)(body)
    text = HEAD + written + TAIL
    first = HEAD.count("\n") + 1
    problems = [p for p in findings(text) if p.rule == rule]
    assert len(problems) == 1, "\n".join(map(str, findings(text)))
    [problem] = problems
    expected = token_position(HEAD + written, token, first)
    assert (problem.line, problem.column) == expected, f"{problem}\n{written}"


def test_on_error_and_timeout_targets_point_at_the_value() -> None:
    text = HEAD.replace("ESCAPING: {entry: escape, on_error: ESCAPED}",
                        "ESCAPING: {entry: escape, on_error: GONE}") + TAIL
    [problem] = findings(text)
    assert (problem.rule, problem.line, problem.column) == ("unknown-state", 8, 39)
    text = HEAD.replace("WORKING: {entry: work}",
                        "WORKING:\n    entry: work\n    timeout:\n"
                        "      after: stage.work_timeout_ms\n      target: LOST") + TAIL
    [problem] = findings(text)
    assert (problem.rule, problem.line, problem.column) == ("unknown-state", 11, 15)


def test_a_timeout_code_outside_the_registry_pattern_is_located() -> None:
    timeout = "    timeout: {after: stage.work_timeout_ms, target: ESCAPING, code: FS9}"
    text = HEAD.replace("  WORKING: {entry: work}\n",
                        f"  WORKING:\n    entry: work\n{timeout}\n")
    text += "  - {event: done, source: WORKING, target: DONE}\n" + TAIL
    assert timeout in text
    with pytest.raises(ChartInvalid) as info:
        load_chart("mini.yaml", text)
    [problem] = info.value.problems
    line = text.splitlines().index(timeout) + 1
    assert (problem.line, problem.column) == (line, timeout.index("FS9") + 1)
    assert "FS9" in problem.message
