"""``scalpchart diff``: exit codes, formats, git revisions, validation, the README example."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PRODUCT_CHART, PRODUCT_LIMITS, ROOT
from golden import assert_golden

from execution.cli import main
from statecharts.render_diff import ADDED, CHANGED, REMOVED, UNCHANGED

EXAMPLE = ("docs/review-example/before.yaml", "docs/review-example/after.yaml",
           "--limits-old", "docs/review-example/limits-before.yaml",
           "--limits-new", "docs/review-example/limits-after.yaml")
CHART_TEXT = PRODUCT_CHART.read_text(encoding="utf-8")
SYMBOL = "  - {event: checked, source: PRECHECK, target: FAILED, guard: symbol_unknown}\n"
DAILY = "  - {event: checked, source: PRECHECK, target: FAILED, guard: daily_limit_reached}\n"
ADJUSTED_OK = ("  - {event: adjusted, source: ADJUSTING, target: MONITORING, "
               "unless: [slippage_breach, adjust_capped]}\n")
ADJUSTED_BREACH = ("  - {event: adjusted, source: ADJUSTING, target: ESCAPING, "
                   "guard: slippage_breach}\n")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["diff", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def chart(tmp_path: Path, name: str, *edits: tuple[str, str]) -> str:
    text = CHART_TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the example's file labels are relative to the checkout


# -- the README example: a real edit of the shipped chart and limits --------------------
@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("fmt,golden", [("text", "review.txt"), ("markdown", "review.md")])
def test_review_example(capsys: pytest.CaptureFixture[str], fmt: str, golden: str) -> None:
    code, out, _ = run(capsys, *EXAMPLE, "--format", fmt)
    assert code == 1
    assert_golden(golden, out)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert out.strip() in readme, f"README's review example is not the real {fmt} output"


@pytest.mark.usefixtures("at_root")
def test_review_example_drawing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "review.dot"
    code, _, err = run(capsys, *EXAMPLE, "--render", "dot", "-o", str(out_file))
    assert code == 1 and f"wrote {out_file}" in err
    assert_golden("review.dot", out_file.read_text(encoding="utf-8"))


def test_the_example_before_is_the_shipped_chart() -> None:
    """The example's "before" is a snapshot of config/ (only the schema path differs)."""
    for snapshot, shipped in (("before.yaml", PRODUCT_CHART),
                              ("limits-before.yaml", PRODUCT_LIMITS)):
        text = (ROOT / "docs" / "review-example" / snapshot).read_text(encoding="utf-8")
        assert text.split("\n", 1)[1] == shipped.read_text(encoding="utf-8").split("\n", 1)[1]


def test_committed_review_picture_is_current() -> None:
    svg = (ROOT / "diagrams" / "review-example.svg").read_text(encoding="utf-8")
    dot = (ROOT / "tests" / "charts" / "diff" / "golden" / "review.dot").read_text("utf-8")
    marks = re.findall(r"sha256:[0-9a-f]{16}", dot)
    assert len(marks) == 2 and all(m in svg for m in marks), "run `make diagrams`"
    for colour in (ADDED, REMOVED, CHANGED, UNCHANGED):
        assert colour in svg


# -- exit codes --------------------------------------------------------------------------
def test_comments_and_formatting_are_exit_0(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    new = chart(tmp_path, "new.yaml",
                ("# Check an edit with", "# (reworded) Check an edit with"),
                ("  - {event: start, source: INIT, target: PRECHECK}\n",
                 "  - event: start   # the first step\n    source: INIT\n    target: PRECHECK\n"))
    code, out, _ = run(capsys, str(PRODUCT_CHART), new)
    assert code == 0 and out.endswith(": no change\n")


def test_reorder_that_never_changes_the_winner_is_exit_0(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    new = chart(tmp_path, "new.yaml", (ADJUSTED_OK, ""), (ADJUSTED_BREACH, ADJUSTED_BREACH
                                                          + ADJUSTED_OK))
    code, out, _ = run(capsys, str(PRODUCT_CHART), new)
    assert code == 0
    assert "no behaviour change; other changes: 1 transition" in out


def test_reorder_that_changes_the_winner_is_exit_1(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    new = chart(tmp_path, "new.yaml", (SYMBOL + DAILY, DAILY + SYMBOL))
    code, out, _ = run(capsys, str(PRODUCT_CHART), new, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert set(data) >= {"states", "transitions", "guards", "limits", "matrix"}
    assert [(c["state"], c["event"]) for c in data["matrix"]] == [("PRECHECK", "checked")]
    [moved] = data["transitions"]["changed"]
    assert moved["changes"] == ["order"] and moved["new"]["guard"] == "daily_limit_reached"


def test_limits_change_alone_is_exit_1(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    limits = tmp_path / "limits.yaml"
    limits.write_text(PRODUCT_LIMITS.read_text(encoding="utf-8").replace(
        "max_rounds: 3", "max_rounds: 4"), encoding="utf-8")
    code, out, _ = run(capsys, str(PRODUCT_CHART), str(PRODUCT_CHART), "--limits-old",
                       str(PRODUCT_LIMITS), "--limits-new", str(limits), "--format", "json")
    assert code == 1
    assert json.loads(out)["limits"]["changed"] == [
        {"path": "adjust.max_rounds", "old": 3, "new": 4}]


# -- validation and usage: exit 2 --------------------------------------------------------
def test_an_invalid_new_chart_is_exit_2_with_positions(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    new = chart(tmp_path, "new.yaml", ("guard: p0_overflow}", "guard: p0_overflw}"))
    code, out, err = run(capsys, str(PRODUCT_CHART), new)
    assert code == 2 and out == ""
    line = err.strip().splitlines()[0]
    assert line.startswith(f"{new}:") and "[unknown-guard]" in line


def test_the_old_chart_is_not_checked_against_todays_registry(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A change that removes a guard from the code: the old chart still names it."""
    old = chart(tmp_path, "old.yaml",
                (DAILY, DAILY + "  - {event: checked, source: PRECHECK, target: FAILED, "
                                "guard: retired_check}\n"),
                ("guards:\n", "guards:\n  retired_check: {description: gone from the code}\n"))
    code, out, _ = run(capsys, old, str(PRODUCT_CHART))
    assert code == 1 and "retired_check" in out


def test_invalid_yaml_and_limits_are_exit_2(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    new = chart(tmp_path, "new.yaml", ("version: 1", "version: 1\nversion: 2"))
    limits = tmp_path / "limits.yaml"
    limits.write_text("version: 1\nbogus: 1\n", encoding="utf-8")
    code, _, err = run(capsys, str(PRODUCT_CHART), new, "--limits-old", str(PRODUCT_LIMITS),
                       "--limits-new", str(limits))
    assert code == 2
    assert f"{new}:" in err and "[duplicate-key]" in err
    assert f"{limits}:" in err and "[schema]" in err


@pytest.mark.parametrize("extra,message", [
    (("--limits-old", "config/limits.yaml"), "give both --limits-old and --limits-new"),
    (("--render", "svg"), "--render needs -o FILE"),
    (("-o", "out.gif"), "unknown suffix"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], extra: tuple[str, ...],
                      message: str) -> None:
    code, _, err = run(capsys, str(PRODUCT_CHART), str(PRODUCT_CHART), *extra)
    assert code == 2 and message in err


def test_missing_file_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, str(PRODUCT_CHART), str(tmp_path / "nope.yaml"))
    assert code == 2 and "cannot read" in err


# -- git revisions -----------------------------------------------------------------------
def git(repo: Path, *argv: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", *argv], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    git(tmp_path, "init", "-q")
    (tmp_path / "config").mkdir()
    shutil.copy(PRODUCT_CHART, tmp_path / "config" / "chart.yaml")
    shutil.copy(PRODUCT_LIMITS, tmp_path / "config" / "limits.yaml")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "shipped")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_git_revision_against_the_working_copy(capsys: pytest.CaptureFixture[str],
                                               repo: Path) -> None:
    path = repo / "config" / "chart.yaml"
    path.write_text(CHART_TEXT.replace(SYMBOL + DAILY, DAILY + SYMBOL), encoding="utf-8")
    limits = repo / "config" / "limits.yaml"
    limits.write_text(limits.read_text(encoding="utf-8").replace("max_rounds: 3",
                                                                 "max_rounds: 2"))
    code, out, _ = run(capsys, "HEAD:config/chart.yaml", "config/chart.yaml",
                       "--limits-old", "HEAD:config/limits.yaml",
                       "--limits-new", "config/limits.yaml")
    assert code == 1
    assert out.startswith("HEAD:config/chart.yaml -> config/chart.yaml: behaviour changes: "
                          "1 matrix cell, 1 transition, 1 limit")
    code, out, _ = run(capsys, "HEAD:config/chart.yaml", "HEAD:./config/chart.yaml")
    assert code == 0 and out.endswith("no change\n")


def test_git_revisions_with_an_invalid_document(capsys: pytest.CaptureFixture[str],
                                                repo: Path) -> None:
    path = repo / "config" / "chart.yaml"
    path.write_text(CHART_TEXT.replace("    entry: split\n", "    entry: split\n    final: yes\n"),
                    encoding="utf-8")
    git(repo, "commit", "-q", "-am", "broken")
    code, _, err = run(capsys, "HEAD~1:config/chart.yaml", "HEAD:config/chart.yaml")
    assert code == 2
    [finding] = err.strip().splitlines()
    assert finding.startswith("HEAD:config/chart.yaml:") and "[yaml-trap]" in finding
    line = int(finding.split(":")[2])
    assert CHART_TEXT.splitlines()[line - 2].strip() == "entry: split"


@pytest.mark.parametrize("arg,message", [
    ("NOPE:config/chart.yaml", "cannot read from git"),
    ("HEAD:config/missing.yaml", "does not exist in 'HEAD'"),
    ("HEAD:config", "cannot read from git"),  # a directory, not a file
])
def test_bad_revision_or_path_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                                 repo: Path, arg: str, message: str) -> None:
    del repo
    code, out, err = run(capsys, arg, "config/chart.yaml")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and arg in err
