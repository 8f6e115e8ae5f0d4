"""The loader survives any bytes: every hostile document ends in a located problem (exit 1)
or a one-line "cannot read" (exit 2), in bounded time and memory, never a traceback or hang.
"""

from __future__ import annotations

import os
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import MINIMAL_CHART, PRODUCT_CHART, PRODUCT_LIMITS, build_flag_registry

from execution.cli import main
from execution.engine import Engine
from execution.settings import load_engine_limits, read_limits
from execution.sim import SimulatedExchange
from statecharts import compiler
from statecharts.document import DEFAULT_BUDGET, DocumentBudget, decode
from statecharts.errors import ChartError, DocumentInvalid, DocumentUnreadable, Problem
from statecharts.loader import load_chart
from statecharts.yamlsrc import read_yaml

CHART_TEXT = PRODUCT_CHART.read_text(encoding="utf-8")
LIMITS_TEXT = PRODUCT_LIMITS.read_text(encoding="utf-8")


def billion_laughs(levels: int = 9, fanout: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * fanout)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def problems(text: str, budget: DocumentBudget = DEFAULT_BUDGET) -> list[Problem]:
    with pytest.raises(DocumentInvalid) as info:
        read_yaml("doc.yaml", text, budget=budget)
    return info.value.problems


def one(text: str, budget: DocumentBudget = DEFAULT_BUDGET) -> Problem:
    (problem,) = problems(text, budget)
    return problem


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# -- cost bounds ------------------------------------------------------------------------

def test_alias_bomb_is_refused_quickly_and_in_little_memory() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        problem = one(billion_laughs())
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert problem.rule == "yaml-limit" and "alias" in problem.message
    assert time.perf_counter() - started < 5
    assert peak < 200 * 2**20  # it would be ~1 GB and never finish expanded


def test_alias_count_is_bounded() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 50) + "]\n"
    assert read_yaml("doc.yaml", text).data["b"] == [1] * 50
    problem = one(text, DocumentBudget(max_aliases=10))
    assert (problem.rule, problem.line) == ("yaml-limit", 2)
    assert "more than 10 aliases" in problem.message


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    problem = one("a: &a [1, *a]\n")
    assert (problem.rule, problem.line, problem.column) == ("yaml-syntax", 1, 11)


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_at_the_level_that_is_too_deep(style: str) -> None:
    depth = 5000 if style == "flow" else 300
    if style == "flow":
        text = "a: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x\n"
    problem = one(text)
    assert problem.rule in {"yaml-limit", "yaml-syntax"}  # libyaml stops flow nesting itself
    assert "nest" in problem.message


def test_nesting_within_the_budget_loads() -> None:
    text = "a: " + "[" * 60 + "1" + "]" * 60 + "\n"
    value = read_yaml("doc.yaml", text).data["a"]
    for _ in range(60):
        (value,) = value
    assert value == 1


def test_too_many_values_are_refused() -> None:
    text = "a: [" + ", ".join("1" for _ in range(200)) + "]\n"
    problem = one(text, DocumentBudget(max_nodes=100))
    assert problem.rule == "yaml-limit" and "more than 100 values" in problem.message


def test_a_document_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "a: '" + "x" * (DEFAULT_BUDGET.max_bytes + 10) + "'\n")
    with pytest.raises(DocumentInvalid) as info:
        read_yaml(path)
    [problem] = info.value.problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-limit", 1, 1)


@pytest.mark.parametrize("digits", [101, 401, 5000, 100_000])
def test_huge_integers_are_refused_at_the_value(digits: int) -> None:
    problem = one(f"stage:\n  precheck_timeout_ms: {'9' * digits}\n")
    assert (problem.rule, problem.line, problem.column) == ("yaml-number", 2, 24)
    assert f"{digits} digits" in problem.message


@pytest.mark.parametrize("number", ["1.0e400", "-1.0e400", "9.9e999"])
def test_floats_out_of_range_are_refused(number: str) -> None:
    problem = one(f"adjust:\n  slippage_max_bps: {number}\n")
    assert (problem.rule, problem.line, problem.column) == ("yaml-number", 2, 21)


def test_integers_and_floats_within_range_load() -> None:
    data = read_yaml("doc.yaml", f"a: {'9' * 100}\nb: 1.5e300\n").data
    assert data == {"a": int("9" * 100), "b": 1.5e300}


# -- encodings ----------------------------------------------------------------------------

def test_utf8_with_and_without_bom_load_alike(tmp_path: Path) -> None:
    plain = write(tmp_path, "plain.yaml", CHART_TEXT.encode())
    bom = write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + CHART_TEXT.encode())
    assert load_chart(plain).states == load_chart(bom).states
    assert read_yaml("doc.yaml", "\ufeffa: 1\n").data == {"a": 1}


@pytest.mark.parametrize(("encoding", "words"), [
    ("utf-16", "UTF-16"), ("utf-32", "UTF-32"), ("utf-16-le", "NUL byte"),
    ("utf-16-be", "NUL byte"),
])
def test_utf16_and_utf32_are_named(tmp_path: Path, encoding: str, words: str) -> None:
    path = write(tmp_path, "chart.yaml", CHART_TEXT.encode(encoding))
    with pytest.raises(DocumentInvalid) as info:
        load_chart(path)
    [problem] = info.value.problems
    assert problem.rule == "yaml-encoding" and words in problem.message
    assert "UTF-8" in problem.message


def test_binary_content_is_located_at_its_first_bad_byte() -> None:
    data = b"chart: demo\nversion: 1\ndescription: caf\xe9\n"
    with pytest.raises(DocumentInvalid) as info:
        decode("doc.yaml", data)
    [problem] = info.value.problems
    assert (problem.rule, problem.line, problem.column) == ("yaml-encoding", 3, 17)
    assert "0xe9" in problem.message


def test_column_of_a_bad_byte_counts_characters_not_bytes() -> None:
    with pytest.raises(DocumentInvalid) as info:
        decode("doc.yaml", "a: é".encode() + b"\xff\n")  # é is two bytes, one character
    assert info.value.problems[0].column == 5


@pytest.mark.parametrize(("text", "column"), [("b: x\x07y", 5), ("b: éé x\x07y", 8),
                                             ('b: "ééé\x1b"', 8)])
def test_control_characters_are_located_in_characters(text: str, column: int) -> None:
    problem = one(f"a: 1\n{text}\n")
    assert (problem.rule, problem.line, problem.column) == ("yaml-encoding", 2, column)


def test_unencodable_text_in_memory_is_a_problem() -> None:
    problem = one("a: \udcff\n")
    assert (problem.rule, problem.line, problem.column) == ("yaml-encoding", 1, 4)


# -- tags ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "column"), [
    ("states: !!python/object:os.system {a: 1}\n", 1, 9),
    ("initial: !custom INIT\n", 1, 10),
    ("a:\n  - !!python/name:os.system\n", 2, 5),
    ("a: !!str 017\n", 1, 4),
    ("a: !!binary aGVsbG8=\n", 1, 4),
    ("? !!set\n: 1\n", 1, 3),
])
def test_every_tag_is_refused_at_its_location(text: str, line: int, column: int) -> None:
    problem = one(text)
    assert (problem.rule, problem.line, problem.column) == ("yaml-tag", line, column)


def test_a_tag_on_the_shipped_chart_is_refused_by_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "chart.yaml",
                 CHART_TEXT.replace("states:\n", "states: !!python/object:os.system\n", 1))
    assert main(["validate", str(path)]) == 1
    [line] = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"{path}:") and "[yaml-tag]" in line


# -- files that are not regular files -------------------------------------------------------

def _fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    return path


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    return tmp_path / "a.yaml"


UNREADABLE: dict[str, Callable[[Path], Path]] = {
    "missing": lambda tmp: tmp / "missing.yaml",
    "directory": lambda tmp: tmp,
    "fifo": _fifo,
    "symlink-loop": _loop,
    "dev-zero": lambda tmp: Path("/dev/zero") if Path("/dev/zero").exists() else tmp / "x",
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_unreadable_files_raise_document_unreadable(tmp_path: Path, kind: str) -> None:
    path = UNREADABLE[kind](tmp_path)
    started = time.perf_counter()
    with pytest.raises(DocumentUnreadable) as info:
        load_chart(path)
    assert time.perf_counter() - started < 5  # a FIFO is never waited on
    assert str(info.value).startswith(f"{path}: cannot read: ")
    assert isinstance(info.value, OSError)  # callers that catch OSError keep working


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
@pytest.mark.parametrize("command", [
    ["validate", "{path}"],
    ["validate", "--limits", "{path}"],
    ["matrix", "{path}"],
    ["render", "{path}"],
    ["run", "--symbol", "005930", "--side", "buy", "--qty", "1", "--chart", "{path}"],
    ["run", "--symbol", "005930", "--side", "buy", "--qty", "1", "--limits", "{path}"],
])
def test_cli_says_unreadable_in_one_line_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, command: list[str]) -> None:
    path = UNREADABLE[kind](tmp_path)
    code = main([part.format(path=path) for part in command])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == err.strip().splitlines()[0]  # one line
    assert err.startswith(f"scalpchart: error: {path}: cannot read: "), err
    assert "Traceback" not in out + err


# -- every entry point: validate, matrix, run, Engine ----------------------------------------

HOSTILE = {
    "alias-bomb": billion_laughs().encode(),
    "deep": ("a: " + "[" * 3000 + "]" * 3000 + "\n").encode(),
    "long-int": LIMITS_TEXT.replace("precheck_timeout_ms: 5000", "precheck_timeout_ms: "
                                    + "9" * 5000).encode(),
    "tag": CHART_TEXT.replace("initial: INIT", "initial: !custom INIT").encode(),
    "binary": bytes(range(256)),
    "utf-16": CHART_TEXT.encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_chart_is_a_located_finding_everywhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    path = write(tmp_path, "chart.yaml", HOSTILE[name])
    for command in (["validate", str(path)], ["matrix", str(path)],
                    ["run", "--symbol", "005930", "--side", "buy", "--qty", "1",
                     "--chart", str(path)]):
        assert main(command) == 1
        out, err = capsys.readouterr()
        lines = (out + err).strip().splitlines()
        assert lines and all(line.startswith(f"{path}:") and "[" in line for line in lines)
    with pytest.raises(DocumentInvalid):
        Engine(SimulatedExchange(seed=1, start_ns=0), chart=path)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_limits_are_located_findings(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "limits.yaml", HOSTILE[name])
    with pytest.raises(DocumentInvalid) as info:
        load_engine_limits(path)
    assert all(p.file == str(path) and p.line >= 1 for p in info.value.problems)
    with pytest.raises(DocumentInvalid):
        read_limits(path)


def test_every_loader_error_is_a_chart_error(tmp_path: Path) -> None:
    """What callers of the library catch: ChartError covers unreadable and invalid alike."""
    for path in (tmp_path, write(tmp_path, "x.yaml", "a: [")):
        with pytest.raises(ChartError):
            load_chart(path)


def test_multiple_documents_are_refused() -> None:
    problem = one(textwrap.dedent("""\
        a: 1
        ---
        b: 2
        """))
    assert (problem.rule, problem.line) == ("yaml-syntax", 2)


def test_compiled_classes_are_kept_for_the_recent_charts_only() -> None:
    """Thousands of distinct valid charts (reloads, a fuzz run) must not each keep a class."""
    text = MINIMAL_CHART.read_text(encoding="utf-8")
    registry = None
    classes = []
    for version in range(1, compiler.CACHE_SIZE + 6):
        spec = load_chart(f"v{version}.yaml", text.replace("version: 1", f"version: {version}"))
        registry = registry or build_flag_registry(spec)
        classes.append((spec, compiler.compile_chart(spec, registry)))
    assert len(compiler._CACHE) <= compiler.CACHE_SIZE
    last_spec, last_class = classes[-1]
    assert compiler.compile_chart(last_spec, registry) is last_class
