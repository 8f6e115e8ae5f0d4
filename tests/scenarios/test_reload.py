"""A rejected edit leaves the running configuration as it was; an accepted one applies to
new executions only."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.engine import Engine
from execution.testing.harness import EngineFactory, finish, intent, make_engine, until_state
from execution.testing.scripted import ScriptedBroker
from statecharts.errors import DocumentInvalid

ROOT = Path(__file__).resolve().parents[2]


def _edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (ROOT / "config" / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _snapshot(engine: Engine) -> tuple[object, ...]:
    return (engine.spec, engine.chart, dict(engine.timeouts_ms), engine.services.limits)


@pytest.mark.parametrize(("name", "old", "new", "rule"), [
    ("scalp_execution.yaml", "target: FAILED, guard: split_empty",
     "target: FAILD, guard: split_empty", "unknown-state"),
    ("scalp_execution.yaml", "    entry: adjust\n", "    entry: adjust\n    final: off\n",
     "yaml-trap"),
    ("limits.yaml", "max_rounds: 3", "max_rounds: 0", "schema"),
    ("limits.yaml", "  monitoring_timeout_ms: 60000", "  monitoring_wait_ms: 60000", "schema"),
])
async def test_rejected_edit_keeps_the_running_configuration(
        tmp_path: Path, name: str, old: str,
        new: str, rule: str, broker: ScriptedBroker, engine: Engine) -> None:
    before = _snapshot(engine)
    edited = _edited(tmp_path, name, old, new)
    kind = "chart" if name.startswith("scalp") else "limits"
    with pytest.raises(DocumentInvalid) as err:
        engine.reload(**{kind: edited})
    assert rule in {p.rule for p in err.value.problems}
    assert all(p.file == str(edited) for p in err.value.problems)
    assert _snapshot(engine) == before
    execution = engine.submit(intent(10, cid="after-reject"))
    await until_state(execution, "MONITORING")
    broker.fill_child("after-reject-1")
    assert (await finish(execution)).final_state == "COMPLETE"


async def test_accepted_limits_edit_applies_to_new_executions(tmp_path: Path) -> None:
    engine = make_engine(ScriptedBroker())
    edited = _edited(tmp_path, "limits.yaml", "max_rounds: 3", "max_rounds: 1")
    engine.reload(limits=edited)
    assert engine.services.limits.max_rounds == 1
    await engine.close()


async def test_a_reload_never_changes_a_live_execution(
        tmp_path: Path, broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    """max_rounds 3 -> 1 while an execution is live: it keeps the limits it started with."""
    engine = new_engine(adjust_interval_ms=15)
    live = engine.submit(intent(10, cid="LIVE"))
    await until_state(live, "MONITORING")
    engine.reload(limits=_edited(tmp_path, "limits.yaml", "max_rounds: 3", "max_rounds: 1"))
    assert live.ctx.limits.max_rounds == 3 and engine.services.limits.max_rounds == 1
    result = await finish(live, timeout=5)
    assert result.adjust_rounds == 3  # the live execution's own limits, to its end
    fresh = engine.submit(intent(10, cid="NEW"))
    assert fresh.ctx.limits.max_rounds == 1


async def test_a_reload_keeps_the_constructors_stage_timeout_overrides(tmp_path: Path) -> None:
    engine = make_engine(ScriptedBroker(), timeouts={"MONITORING": 123})
    engine.reload(limits=_edited(tmp_path, "limits.yaml", "max_rounds: 3", "max_rounds: 2"))
    assert engine.timeouts_ms["MONITORING"] == 123
    engine.reload(chart=ROOT / "config" / "scalp_execution.yaml")
    assert engine.timeouts_ms["MONITORING"] == 123
    await engine.close()


async def test_escape_works_for_a_live_execution_after_a_reload_renames_the_event(
        tmp_path: Path, broker: ScriptedBroker, engine: Engine) -> None:
    live = engine.submit(intent(10, cid="OLD"))
    await until_state(live, "MONITORING")
    renamed = _edited(tmp_path, "scalp_execution.yaml", "escape: {event: escape,",
                      "escape: {event: bail_out,")
    text = renamed.read_text(encoding="utf-8").replace("  - event: escape\n",
                                                       "  - event: bail_out\n")
    renamed.write_text(text, encoding="utf-8")
    engine.reload(chart=renamed)
    assert engine.spec.escape_event == "bail_out"
    assert engine.escape("OLD", "risk") is True  # by its own chart's escape event
    assert (await finish(live)).final_state == "ESCAPED"
    fresh = engine.submit(intent(10, symbol="000660", cid="NEW"))
    await until_state(fresh, "MONITORING")
    assert engine.escape("NEW", "risk") is True
    assert (await finish(fresh)).final_state == "ESCAPED"
