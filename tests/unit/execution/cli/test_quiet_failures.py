"""Each failure that once passed quietly (issue 17): a wrong limit name that validated, a
renamed final state that made `run` fail, an invalid chart that rendered, DOT text in a
.png, tracebacks for a missing `dot` or an output that cannot be written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from execution.cli import main

ROOT = Path(__file__).resolve().parents[4]
CHART = ROOT / "config" / "scalp_execution.yaml"
LIMITS = ROOT / "config" / "limits.yaml"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot not installed")


def cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def edited_chart(tmp_path: Path, old: str, new: str, name: str = "chart.yaml") -> Path:
    text = CHART.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# -- validate checks the limit references against the default limits ----------------------

def test_validate_without_limits_finds_a_misspelt_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = edited_chart(tmp_path, "monitoring_timeout_ms", "monitoring_timout_ms")
    code, out, _ = cli(capsys, "validate", chart)
    assert code == 1
    assert "[unknown-limit]" in out and "monitoring_timout_ms" in out
    assert "did you mean 'stage_timeouts.monitoring_timeout_ms'" in out


def test_validate_says_what_it_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "validate", CHART)
    assert code == 0
    assert out.strip().endswith(": chart ok, limits ok (config/limits.yaml)") or \
        out.strip().endswith(f"limits ok ({LIMITS})")
    code, out, _ = cli(capsys, "validate", CHART, "--format", "json")
    data = json.loads(out)
    assert data["findings"] == [] and data["checked"]["charts"] == [str(CHART)]
    assert data["checked"]["limits"].endswith("limits.yaml")


# -- final-state roles, not names, decide outcomes -----------------------------------------

def test_run_succeeds_with_a_renamed_success_state(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = edited_chart(tmp_path, "COMPLETE", "DONE")
    assert cli(capsys, "validate", chart)[0] == 0
    code, out, err = cli(capsys, "run", "--chart", chart, "--symbol", "005930", "--side", "buy",
                         "--qty", "300", "--clock", "virtual", "--format", "json")
    data = json.loads(out)
    assert data["final_state"] == "DONE" and data["filled_qty"] == 300, err
    assert code == 0


def test_run_fails_when_the_renamed_failure_state_is_reached(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = edited_chart(tmp_path, "FAILED", "BROKEN")
    code, out, _ = cli(capsys, "run", "--chart", chart, "--symbol", "005930", "--side", "buy",
                       "--qty", "300", "--clock", "virtual", "--format", "json",
                       "--safety-state", "LOCKDOWN")
    assert json.loads(out)["final_state"] == "BROKEN"
    assert code == 1


def test_simulate_counts_by_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Escapes and failures are counted from the chart's roles: renamed states still count,
    the same as under their shipped names."""
    counts = {}
    for name, chart in (("shipped", CHART),
                        ("renamed", edited_chart(tmp_path, "ESCAPED", "BAILED_OUT"))):
        code, out, _ = cli(capsys, "simulate", "--scenario", "stress", "--intents", "6",
                           "--seed", "3", "--chart", chart, "--format", "json",
                           "--no-progress")
        assert code == 0
        engine = json.loads(out)["engine"]
        counts[name] = (engine["escapes"]["count"], engine["failures"]["count"])
    assert counts["renamed"] == counts["shipped"]
    assert sum(counts["shipped"]) > 0  # the stress scenario does escape or fail some


# -- render ------------------------------------------------------------------------------

def test_render_refuses_an_invalid_chart(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    chart = edited_chart(tmp_path, "target: FAILED, code", "target: FAILD, code")
    code, out, err = cli(capsys, "render", chart)
    assert code == 1 and out == ""
    assert "[unknown-state]" in err and "FAILD" in err and "did you mean 'FAILED'" in err


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml"),
                                                (".dot", b"digraph"), (".gv", b"digraph")])
def test_render_writes_the_format_of_the_extension(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, magic: bytes) -> None:
    out = tmp_path / f"chart{suffix}"
    assert cli(capsys, "render", "-o", out)[0] == 0
    assert out.read_bytes().startswith(magic)


def test_render_refuses_an_unknown_extension_or_a_contradiction(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "render", "-o", tmp_path / "chart.pdf")
    assert code == 2 and "unknown extension '.pdf'" in err
    code, _, err = cli(capsys, "render", "--format", "svg", "-o", tmp_path / "chart.png")
    assert code == 2 and "contradicts" in err
    assert not list(tmp_path.iterdir())


def test_missing_dot_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot there
    code, out, err = cli(capsys, "render", "-o", tmp_path / "chart.svg")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "'dot'" in err and "Graphviz" in err


# -- outputs that cannot be written: refused before the work starts ------------------------

@pytest.mark.parametrize("argv", [
    ("render", "-o", "{missing}/chart.dot"),
    ("render", "-o", "{folder}"),
    ("run", "--symbol", "005930", "--side", "buy", "--qty", "300", "--clock", "virtual",
     "--trace-out", "{missing}/run.json"),
    ("simulate", "--intents", "1000000", "--out", "{file}/report"),
    ("simulate", "--intents", "1000000", "--out", "{file}"),
    ("diff", str(CHART), str(CHART), "-o", "{missing}/diff.dot"),
    ("sweep", str(ROOT / "config" / "sweeps" / "adjust.yaml"), "--out", "{file}"),
])
def test_an_unwritable_output_is_refused_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    file = tmp_path / "a-file"
    file.write_text("x", encoding="utf-8")
    names = {"missing": tmp_path / "no" / "such", "folder": tmp_path, "file": file}
    code, out, err = cli(capsys, *(a.format(**names) for a in argv))
    assert code == 2 and out == ""  # (a million intents would take hours: refused first)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert file.read_text(encoding="utf-8") == "x"


def test_invalid_scenario_exits_1_with_its_findings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bad.yaml"
    text = (ROOT / "config" / "scenarios" / "default.yaml").read_text(encoding="utf-8")
    scenario.write_text(text + "bogus_key: 1\n", encoding="utf-8")
    code, _, err = cli(capsys, "simulate", "--scenario", scenario, "--no-progress")
    assert code == 1 and f"{scenario}:" in err and "bogus_key" in err
    code, out, _ = cli(capsys, "simulate", "--scenario", scenario, "--format", "json")
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert finding["file"] == str(scenario) and finding["line"] == len(text.splitlines()) + 1
