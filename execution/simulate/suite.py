"""``simulate --suite DIR``: every scenario of a folder, one report each, one table.

The JSON is ``{"scenarios": {NAME: REPORT}}`` (each REPORT as ``simulate`` writes
it), plus ``"met"`` (every scenario met its targets) and ``"wall_s"``. The table
(:func:`render_suite`) shows, scenario by scenario, the engine against every
baseline present in the reports, and which targets each scenario missed.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from execution.sim.vclock import ClockKind
from execution.simulate.run import simulate
from execution.simulate.scenario import Scenario, load_scenario
from execution.simulate.text import by_strategy, fmt, pct


@dataclass(slots=True)
class SuiteReport:
    data: dict[str, Any]
    names: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return bool(self.data["met"])


def scenario_files(folder: Path) -> list[Path]:
    """The scenario YAML files of ``folder``, by name (``*.yaml`` and ``*.yml``)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix in (".yaml", ".yml"))


def load_suite(folder: Path) -> list[Scenario]:
    """Every scenario of ``folder``; raises DocumentInvalid / OSError on the first bad one."""
    return [load_scenario(path) for path in scenario_files(folder)]


def run_suite(scenarios: list[Scenario], *, intents: int | None = None,
              seed: int | None = None, clock: ClockKind = "virtual",
              chart: Path | None = None, limits: Path | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> SuiteReport:
    """Simulate each scenario (``intents``/``seed`` override each one's own; ``chart`` /
    ``limits`` replace the shipped chart and each scenario's limits)."""
    started = time.perf_counter()
    reports: dict[str, Any] = {}
    for scenario in scenarios:
        name = scenario.name
        if name in reports:
            raise ValueError(f"two scenarios are named {name!r}: {scenario.file}")
        tick = None if progress is None else (
            lambda done, total, n=name: progress(n, done, total))
        reports[name] = simulate(scenario, intents=intents, seed=seed, clock=clock,
                                 chart=chart, limits=limits, progress=tick).data
    data = {"scenarios": reports,
            "met": all(r["targets"]["met"] for r in reports.values()),
            "missed": {n: r["targets"]["missed"] for n, r in reports.items()
                       if not r["targets"]["met"]},
            "wall_s": round(time.perf_counter() - started, 3)}
    return SuiteReport(data, list(reports))


#: The shortfall by urgency: the engine's urgencies trade patience for speed (HIGH takes
#: the far touch at once), while the baselines ignore urgency; a mean over a scenario's
#: mix hides where the engine gains and where it pays for speed.
URGENCY_COLUMN = "IS low/normal/high"
URGENCIES = ("low", "normal", "high")


def by_urgency(report: Mapping[str, Any]) -> str:
    """``report``'s mean shortfall per urgency, ``-`` where it had no such intent."""
    groups = report.get("by_urgency", {})
    return " / ".join(fmt(groups[u]["shortfall_bps"]["mean"], 1) if u in groups else "-"
                      for u in URGENCIES)


def suite_table(data: Mapping[str, Any]) -> Table:
    table = Table(title="Suite: engine against the baselines, scenario by scenario "
                        "(bps; positive = cost)", title_justify="left")
    for col in ("scenario", "strategy", "IS mean", URGENCY_COLUMN, "slip p95", "slip max",
                "fully filled", "in horizon", "targets"):
        table.add_column(col, justify="left" if col in ("scenario", "strategy", "targets")
                         else "right")
    for name, report in data["scenarios"].items():
        targets = report["targets"]
        verdict = "met" if targets["met"] else "MISSED: " + ", ".join(targets["missed"])
        for i, (strategy, r) in enumerate(by_strategy(report).items()):
            slip = r["slippage_bps"]
            table.add_row(name if i == 0 else "", strategy, fmt(r["shortfall_bps"]["mean"]),
                          by_urgency(r), fmt(slip["p95"]), fmt(slip["max"]),
                          pct(r["fully_filled_ratio"]),
                          pct(r["filled_within_horizon_ratio"]),
                          verdict if i == 0 else "")
        table.add_section()
    return table


def _target_lines(name: str, targets: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, body in targets.items():
        if not isinstance(body, dict):
            continue
        figures = ", ".join(f"{k} {fmt(v, 4)}" for k, v in body.items()
                            if k not in ("met", "violations"))
        if key == "session_rules":
            figures = ", ".join(f"{s}: {len(v)}" for s, v in body["violations"].items())
            figures = (f"continuous fills after 15:20 or in a VI: {figures}; engine runs "
                       f"meeting a VI: {body['engine_runs_with_vi']}")
        if key == "reconciliation":
            figures = "engine fills and orders match the exchange" if body["met"] else (
                "engine fills or orders do not match the exchange")
        lines.append(f"  {name} {key}: {figures} -> {'met' if body['met'] else 'MISSED'}")
    return lines


def render_suite(data: Mapping[str, Any], width: int = 140) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    console.print(suite_table(data))
    for name, report in data["scenarios"].items():
        for line in _target_lines(name, report["targets"]):
            console.print(line, soft_wrap=True)
    met = sum(r["targets"]["met"] for r in data["scenarios"].values())
    console.print(f"{met} of {len(data['scenarios'])} scenarios met every target; "
                  f"wall time {data['wall_s']:.1f} s", soft_wrap=True)
    return buffer.getvalue()
