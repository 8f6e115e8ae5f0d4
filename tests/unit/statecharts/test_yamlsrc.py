"""The strict YAML reader: plain scalars resolve only to unsurprising types; YAML 1.1 traps
and duplicate keys are reported with their positions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from statecharts.errors import DocumentInvalid, Problem
from statecharts.yamlsrc import read_yaml, resolve_plain


def load(text: str) -> object:
    return read_yaml("doc.yaml", textwrap.dedent(text)).data


def problems(text: str) -> list[Problem]:
    with pytest.raises(DocumentInvalid) as info:
        read_yaml("doc.yaml", textwrap.dedent(text))
    return info.value.problems


@pytest.mark.parametrize(
    ("plain", "value"),
    [
        ("true", True),
        ("false", False),
        ("null", None),
        ("~", None),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("1.5", 1.5),
        ("-0.25", -0.25),
        ("1.5e3", 1500.0),
        ("2.0E-2", 0.02),
        ("hello", "hello"),
        ("stage.precheck_timeout_ms", "stage.precheck_timeout_ms"),
        ("FS095", "FS095"),
    ],
)
def test_plain_scalars_resolve_to_the_unsurprising_type(plain: str, value: object) -> None:
    loaded = load(f"key: {plain}\n")
    assert loaded == {"key": value}
    assert type(loaded["key"]) is type(value)  # type: ignore[index]  # 1 == True is not enough


@pytest.mark.parametrize(
    ("plain", "words"),
    [
        ("on", "boolean"),
        ("off", "boolean"),
        ("yes", "boolean"),
        ("no", "boolean"),
        ("y", "boolean"),
        ("n", "boolean"),
        ("Yes", "boolean"),
        ("OFF", "boolean"),
        ("True", "lower-case"),
        ("FALSE", "lower-case"),
        ("Null", "lower-case"),
        ("1:30", "base-60"),
        ("017", "octal"),
        ("0x1F", "hex"),
        ("0o17", "hex/octal/binary"),
        ("1_000", "number"),
        ("1e3", "string, not a number"),
        (".5", "unusual number"),
        (".inf", "unusual number"),
    ],
)
def test_yaml_1_1_traps_are_reported_at_the_value(plain: str, words: str) -> None:
    (problem,) = problems(f"""\
        chart: demo
        nested:
          key: {plain}
        """)
    assert problem.rule == "yaml-trap"
    assert (problem.line, problem.column) == (3, 8)
    assert words in problem.message
    assert repr(plain) in problem.message
    assert "quote it" in problem.message


@pytest.mark.parametrize("quoted", ['"on"', "'no'", '"1:30"', "'017'", '"0x1F"', '"1_000"',
                                    '"1e3"', '"True"', '"true"', '"42"', '"null"'])
def test_quoted_values_stay_strings(quoted: str) -> None:
    assert load(f"key: {quoted}\n") == {"key": quoted[1:-1]}


def test_block_scalars_stay_strings() -> None:
    assert load("text: |\n  yes\n") == {"text": "yes\n"}
    assert load("text: >-\n  017\n") == {"text": "017"}


def test_trap_in_a_key_and_in_a_list_item() -> None:
    found = problems("""\
        on: 1
        "off": 2
        items: [1, 2, no]
        """)
    assert [(p.rule, p.line, p.column) for p in found] == [("yaml-trap", 1, 1),
                                                          ("yaml-trap", 3, 15)]


def test_every_trap_of_a_document_is_reported_at_once() -> None:
    found = problems("""\
        a: yes
        b:
          c: 1:30
          d: [017, 0x1F]
        """)
    assert [(p.line, p.column) for p in found] == [(1, 4), (3, 6), (4, 7), (4, 12)]
    assert {p.rule for p in found} == {"yaml-trap"}


def test_resolve_plain_returns_the_text_and_a_message_for_a_trap() -> None:
    assert resolve_plain("42") == (42, None)
    value, trap = resolve_plain("off")
    assert value == "off"
    assert trap is not None and "boolean" in trap


def test_duplicate_key_mentions_the_first_definition() -> None:
    (problem,) = problems("""\
        states:
          IDLE: {}
          BUSY: {}
          IDLE: {final: true}
        """)
    assert (problem.rule, problem.line, problem.column) == ("duplicate-key", 4, 3)
    assert "'IDLE'" in problem.message
    assert "first defined at line 2" in problem.message


def test_duplicate_top_level_key_with_scalar_values() -> None:
    (problem,) = problems("version: 1\nchart: demo\nversion: 2\n")
    assert (problem.rule, problem.line) == ("duplicate-key", 3)
    assert "line 1" in problem.message


def test_duplicates_in_different_mappings_are_fine() -> None:
    assert load("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


def test_positions_of_nested_keys_and_list_items() -> None:
    source = read_yaml("doc.yaml", textwrap.dedent("""\
        top:
          inner:
            - first
            - {k: 1, j: [a, b]}
        list:
        - 1
        - - 2
        """))
    assert source.positions["top"] == (1, 1)  # a mapping value: the key's position
    assert source.positions["top.inner"] == (2, 3)
    assert source.positions["top.inner[0]"] == (3, 7)
    assert source.positions["top.inner[1]"] == (4, 7)
    assert source.positions["top.inner[1].k"] == (4, 11)  # a scalar value: the value itself
    assert source.positions["top.inner[1].j[1]"] == (4, 21)
    assert source.positions["list[0]"] == (6, 3)
    assert source.positions["list[1][0]"] == (7, 5)


def test_where_falls_back_to_the_nearest_ancestor() -> None:
    source = read_yaml("doc.yaml", "a:\n  b:\n    - {c: 1}\n")
    assert source.where("a.b[0].missing") == source.positions["a.b[0]"] == (3, 7)
    assert source.where("nothing.here") == (1, 1)


def test_syntax_error_is_one_positioned_problem() -> None:
    (problem,) = problems("""\
        a:
          b: 1
         c: 2
        """)
    assert problem.rule == "yaml-syntax"
    assert problem.line == 3


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_document_is_a_problem(text: str) -> None:
    (problem,) = problems(text)
    assert problem.rule == "yaml-empty"


@pytest.mark.parametrize(("text", "rule"), [
    ("base: &b {x: 1}\nother:\n  <<: *b\n", "yaml-merge"),
    ("value: !custom thing\n", "yaml-tag"),
    ("? [a, b]\n: 1\n", "yaml-key"),
])
def test_unsupported_yaml_features_are_rejected(text: str, rule: str) -> None:
    assert [p.rule for p in problems(text)] == [rule]


def test_problem_carries_the_given_file_name() -> None:
    with pytest.raises(DocumentInvalid) as info:
        read_yaml("charts/x.yaml", "a: off\n")
    assert str(info.value) == ("charts/x.yaml:1:4: [yaml-trap] YAML 1.1 reads 'off' as a boolean;"
                               " quote it if a string is meant")


def test_duplicate_key_names_the_line_of_the_first_key_not_of_its_value(
        tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("a:\n  1\nb: 2\na: 3\n", encoding="utf-8")
    with pytest.raises(DocumentInvalid) as err:
        read_yaml(path)
    [problem] = err.value.problems
    assert (problem.line, problem.rule) == (4, "duplicate-key")
    assert "first defined at line 1" in problem.message
