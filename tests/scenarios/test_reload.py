"""A rejected edit leaves the running configuration as it was; an accepted one applies to
new executions only."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.engine import Engine
from execution.testing import (
    ScriptedBroker,
    finish,
    intent,
    make_engine,
    until_state,
)
from statecharts.errors import ChartInvalid

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
        tmp_path: Path, name: str, old: str, new: str, rule: str) -> None:
    broker = ScriptedBroker()
    engine = make_engine(broker)
    before = _snapshot(engine)
    edited = _edited(tmp_path, name, old, new)
    kind = "chart" if name.startswith("scalp") else "limits"
    with pytest.raises(ChartInvalid) as err:
        engine.reload(**{kind: edited})
    assert rule in {p.rule for p in err.value.problems}
    assert all(p.file == str(edited) for p in err.value.problems)
    assert _snapshot(engine) == before
    execution = engine.submit(intent(10, cid="after-reject"))
    await until_state(execution, "MONITORING")
    broker.fill_child("after-reject-1")
    assert (await finish(execution)).final_state == "COMPLETE"
    await engine.close()


async def test_accepted_limits_edit_applies_to_new_executions(tmp_path: Path) -> None:
    engine = make_engine(ScriptedBroker())
    edited = _edited(tmp_path, "limits.yaml", "max_rounds: 3", "max_rounds: 1")
    engine.reload(limits=edited)
    assert engine.services.limits.max_rounds == 1
    await engine.close()
