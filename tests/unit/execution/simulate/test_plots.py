"""The simulate plots: integer counts, bars that do not blend, an axis fitted to the data
(the cap a line in view or a note), fill progress down to milliseconds, titled."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from execution.simulate.metrics import progress_grid
from execution.simulate.outcome import Outcome
from execution.simulate.plots import build_figures, write_plots
from execution.simulate.run import SimReport, simulate
from execution.simulate.scenario import load_scenario


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield None
    import matplotlib.pyplot as plt

    plt.close("all")


@cache
def report() -> SimReport:
    return simulate(load_scenario(), intents=12, seed=5)


def _bars(fig) -> list[Rectangle]:  # type: ignore[no-untyped-def]
    return [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and p.get_height() > 0]


def _texts(fig) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(t.get_text() for t in fig.axes[0].texts)


def test_titles_name_scenario_seed_and_n() -> None:
    rep = report()
    for name, fig in build_figures(rep.outcomes, rep.data).items():
        title = fig.axes[0].get_title()
        assert "scenario default" in title and "seed 5" in title and "n=12" in title, name


def test_histogram_counts_are_integers() -> None:
    fig = build_figures(report().outcomes, report().data)["slippage.png"]
    ticks = [t for t in fig.axes[0].get_yticks() if t >= 0]
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks), ticks


def test_bars_are_opaque_edged_and_side_by_side() -> None:
    fig = build_figures(report().outcomes, report().data)["slippage.png"]
    bars = _bars(fig)
    assert bars
    assert all(to_rgba(b.get_facecolor())[3] == 1.0 for b in bars)
    assert all(to_rgba(b.get_edgecolor())[3] > 0 and b.get_linewidth() > 0 for b in bars)
    assert len({b.get_facecolor() for b in bars}) == len(report().outcomes)
    spans = sorted((b.get_x(), b.get_x() + b.get_width()) for b in bars)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 1e-9, "two bars overlap"


def test_the_cap_does_not_squeeze_the_data() -> None:
    rep = report()
    fig = build_figures(rep.outcomes, rep.data)["slippage.png"]
    worst = max(o.slippage_bps or 0.0 for o in rep.outcomes["engine"])
    high = fig.axes[0].get_xlim()[1]
    assert worst < 20 and high < 20, "the axis follows the data, not the 50 bps cap"
    assert "cap 50 bps: beyond the axis" in _texts(fig)


def _with_slippage(o: Outcome, bps: float) -> Outcome:
    avg = o.arrival_mid * (1 + Decimal(bps) / 10_000 * o.intent.side.sign)
    return dataclasses.replace(o, notional=avg * o.filled_qty, filled_qty=o.filled_qty)


def test_a_cap_in_view_is_a_line_and_outliers_are_noted() -> None:
    rep = report()
    outcomes = copy.copy(rep.outcomes)
    engine = [o for o in outcomes["engine"]]
    filled = [i for i, o in enumerate(engine) if o.filled_qty]
    engine[filled[0]] = _with_slippage(engine[filled[0]], 40.0)  # near the cap: in view
    engine[filled[1]] = _with_slippage(engine[filled[1]], -900.0)  # far out: clipped
    outcomes["engine"] = engine
    fig = build_figures(outcomes, rep.data)["slippage.png"]
    ax = fig.axes[0]
    assert any(np.asarray(line.get_xdata(), dtype=float).tolist() == [50.0, 50.0]
               for line in ax.lines)
    low, high = ax.get_xlim()
    assert low > -100 and 50 < high < 60
    assert "1 outlier(s) beyond the axis" in _texts(fig)


def test_fill_progress_resolves_milliseconds() -> None:
    rep = report()
    grid = rep.data["engine"]["fill_progress"]["t_s"]
    assert grid == list(progress_grid(60.0))
    assert {0.001, 0.01, 0.1} <= set(grid)
    market = rep.data["baselines"]["market"]["fill_progress"]["filled_fraction"]
    assert market[grid.index(0.1)] > 0.5, "market orders fill within 100 ms"
    fig = build_figures(rep.outcomes, rep.data)["fill_progress.png"]
    assert fig.axes[0].get_xscale() in ("log", "symlog")


def test_write_plots_writes_pngs(tmp_path: Path) -> None:
    paths = write_plots(report().outcomes, report().data, tmp_path)
    assert [p.name for p in paths] == ["slippage.png", "shortfall.png", "fill_progress.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
