"""One cell of a sweep: a limits variant, a scenario and a seed, simulated by a pure function.

A :class:`Cell` carries everything its simulation depends on as *content*
(chart text, the whole limits document, scenario text, seed, intents), so a
worker needs nothing but this package: not the grid's files, not the order in
which cells run. Its key is the content hash of those inputs and of the code
version (:func:`code_version`), which is what a resumed sweep looks results up
by. :func:`run_cell` is the same function in-process, in a local worker process
or on a Dask worker, and returns a JSON-able dict.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import execution
import statecharts
from execution import paths

_CODE_SUFFIXES = (".py", ".json", ".csv", ".yaml")


@cache
def code_version() -> str:
    """A digest of this package's code and data, the libraries that shape a result and the
    Python version: cached cells computed by other code are never reused."""
    digest = hashlib.sha256()
    for package in (execution, statecharts):
        root = Path(next(iter(package.__path__))).resolve()
        for file in sorted(root.rglob("*")):
            if file.suffix in _CODE_SUFFIXES and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root.parent)).encode())
                digest.update(file.read_bytes())
    for library in ("python-statemachine", "numpy"):
        digest.update(f"{library}=={metadata.version(library)}".encode())
    digest.update(platform.python_version().encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cell:
    variant_id: str
    variant: tuple[tuple[str, Any], ...]  # the varied (path, value) pairs, for the report
    limits: Mapping[str, Any]  # the whole limits document of the variant
    scenario: str  # the scenario's name
    scenario_file: str  # where it came from (messages only)
    scenario_text: str
    chart_file: str
    chart_text: str
    seed: int
    intents: int | None  # None: the scenario's own count
    code: str  # code_version() of the process that made the cell

    @property
    def key(self) -> str:
        """The content hash of everything the result depends on."""
        content = json.dumps([self.chart_text, self.limits, self.scenario_text, self.seed,
                              self.intents, self.code], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(content.encode()).hexdigest()[:24]


def _chart_path(cell: Cell) -> Path | None:
    """A file holding the cell's chart: the shipped one (None), the named file when it holds
    the same text, else a copy written once per machine under the temp directory."""
    if cell.chart_text == paths.default_chart().read_text(encoding="utf-8"):
        return None
    named = Path(cell.chart_file)
    if named.is_file() and named.read_text(encoding="utf-8") == cell.chart_text:
        return named
    digest = hashlib.sha256(cell.chart_text.encode()).hexdigest()[:16]
    copy = Path(tempfile.gettempdir()) / f"scalpchart-chart-{digest}.yaml"
    if not copy.is_file():
        fd, tmp = tempfile.mkstemp(dir=copy.parent, suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(cell.chart_text)
        os.replace(tmp, copy)
    return copy


def run_cell(cell: Cell) -> dict[str, Any]:
    """Simulate one cell (the engine only: the baselines do not depend on the limits)."""
    from execution.settings import from_limits
    from execution.simulate.metrics import strategy_report
    from execution.simulate.run import run_intents
    from execution.simulate.scenario import load_scenario
    from statecharts.limits import Limits

    if cell.code != code_version():
        raise RuntimeError(f"this worker runs code {code_version()}, the sweep {cell.code}: "
                           "install the same scalpchart on every worker")
    scenario = load_scenario(cell.scenario_file, cell.scenario_text)
    limits = from_limits(Limits(cell.limits, f"<variant {cell.variant_id}>"))
    count = cell.intents or scenario.mix.count
    outcomes = run_intents(scenario, count, cell.seed, limits, chart=_chart_path(cell),
                           strategies=("engine",))["engine"]
    report = strategy_report(outcomes, scenario.mix.size_buckets, scenario.horizon_s)
    shortfall, slippage = report["shortfall_bps"], report["slippage_bps"]
    assert isinstance(shortfall, dict) and isinstance(slippage, dict)
    escapes = report["escapes"]
    assert isinstance(escapes, dict)
    return {
        "key": cell.key,
        "variant_id": cell.variant_id,
        "variant": dict(cell.variant),
        "scenario": cell.scenario,
        "seed": cell.seed,
        "intents": count,
        "engine": {
            "shortfall_bps_mean": shortfall["mean"],
            "fully_filled_ratio": report["fully_filled_ratio"],
            "slippage_max_bps": slippage["max"],
            "escapes": escapes["count"],
            "final_states": report["final_states"],
        },
    }
