"""The README as a test: every console transcript runs and prints what it shows; every
Python example marked ``<!-- test: run -->`` runs. See tests/readme_kit.py for the marks
(``skip``, ``slow``) and for ``...``, the way to write output that varies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.readme_kit import Block, blocks, matches, run_block, run_python, sandbox

CONSOLE = [b for b in blocks() if b.kind == "console"]
PYTHON = [b for b in blocks() if b.kind == "python" and b.mark == "run"]


def _param(block: Block) -> object:
    marks = [pytest.mark.slow] if block.mark == "slow" else []
    if block.mark == "skip":
        marks.append(pytest.mark.skip(reason=block.reason or "marked skip"))
    return pytest.param(block, id=block.id, marks=marks)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sandbox(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("block", [_param(b) for b in CONSOLE])
def test_console_transcript(block: Block, scratch: Path) -> None:
    problems = run_block(block, scratch)
    assert not problems, f"{block.id}:\n" + "\n\n".join(problems)


@pytest.mark.parametrize("block", [_param(b) for b in PYTHON])
def test_python_example(block: Block, scratch: Path) -> None:
    done = run_python(block, scratch)
    assert done.returncode == 0, f"{block.id}:\n{done.stdout}\n{done.stderr}"


def test_every_skip_says_why_and_python_examples_run() -> None:
    assert PYTHON, "no Python example is marked <!-- test: run -->"
    for block in CONSOLE:
        assert block.mark != "skip" or block.reason, f"{block.id}: say why it is skipped"


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    (["a", "b"], ["a", "b"], True),
    (["a"], ["a", "b"], False),
    ([], [], True),
    ([], ["x"], False),
    (["a", "...", "d"], ["a", "b", "c", "d"], True),
    (["a", "...", "d"], ["a", "d"], True),
    (["a", "..."], ["a"], True),
    (["x ... z"], ["x 123 z"], True),
    (["x ... z"], ["x 123 y"], False),
    (["(a+b)..."], ["(a+b) c"], True),
])
def test_matches(expected: list[str], actual: list[str], ok: bool) -> None:
    assert matches(expected, actual) is ok


def test_commands_and_continuations() -> None:
    [block] = blocks("```console\n$ one \\\n    two\nout 1\n$ three\n```\n")
    commands = block.commands()
    assert [c.text for c in commands] == ["one \\\n    two", "three"]
    assert commands[0].expected == ["out 1"] and commands[1].expected == []
