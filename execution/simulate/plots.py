"""PNG plots of a simulation report (matplotlib, Agg backend).

Every strategy in the report (the engine and each baseline) gets a colour of its own;
titles name the scenario, the seed and the number of intents. The slippage histogram
has integer counts, side-by-side bars with edges, an x axis fitted to the data (the
0.5 % cap is a line when it lies in view, else a note, and clipped outliers are
counted); fill progress uses a symmetric log time axis, so a market order filling
within milliseconds is visible next to a passive order filling over a minute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from execution.simulate.metrics import COMPONENTS
from execution.simulate.outcome import Outcome

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The engine first, in blue; then the baselines (Okabe-Ito, readable by colour-blind eyes).
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
COMPONENT_COLOURS = dict(zip(COMPONENTS, ("#999999", "#0072b2", "#e69f00", "#cc79a7"),
                             strict=True))
# The slippage axis ends at the data or at Tukey's fences (3 interquartile ranges out, the
# range taken as at least MIN_IQR_BPS): intents further out are counted in a note, not
# drawn. The cap is in view once the data reach CAP_IN_VIEW of it.
MIN_IQR_BPS = 5.0
CAP_IN_VIEW = 0.6
BINS = 30
FIGSIZE = (8.0, 4.5)


def colours(names: Sequence[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def subtitle(data: Mapping[str, Any]) -> str:
    """``scenario NAME, seed S, n=N``: what every plot of one report says it shows."""
    return f"scenario {data['scenario']['name']}, seed {data['seed']}, n={data['intents']}"


def _strategies(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {"engine": data["engine"], **data["baselines"]}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def slippage_figure(outcomes: Mapping[str, Sequence[Outcome]], data: Mapping[str, Any],
                    cap_bps: float) -> Figure:
    from matplotlib.ticker import MaxNLocator

    fig: Figure
    fig, ax = _pyplot().subplots(figsize=FIGSIZE)
    names = list(outcomes)
    slips = {n: np.asarray([o.slippage_bps for o in outcomes[n] if o.slippage_bps is not None])
             for n in names}
    every = np.concatenate([v for v in slips.values()]) if names else np.zeros(0)
    lo, hi = -1.0, 1.0
    if every.size:  # Tukey's fences (3 IQR, at least 3 x 5 bps): values beyond are outliers
        q1, q3 = np.percentile(every, (25, 75))
        reach = 3 * max(float(q3 - q1), MIN_IQR_BPS)
        lo, hi = max(float(every.min()), q1 - reach), min(float(every.max()), q3 + reach)
    if hi - lo < 1.0:  # one value (or nearly): a window of 1 bps around it
        lo, hi = (lo + hi) / 2 - 0.5, (lo + hi) / 2 + 0.5
    if hi >= CAP_IN_VIEW * cap_bps:  # the data come near the cap: show it
        hi = max(hi, cap_bps)
    pad = (hi - lo) * 0.05
    lo, hi = float(lo - pad), float(hi + pad)
    shown = [slips[n][(slips[n] >= lo) & (slips[n] <= hi)] for n in names]
    palette = colours(names)
    ax.hist(shown, bins=np.linspace(lo, hi, BINS + 1), histtype="bar", rwidth=0.9,
            color=[palette[n] for n in names], edgecolor="black", linewidth=0.4,
            label=[f"{n} (n={len(slips[n])})" for n in names])
    notes = []
    if lo <= cap_bps <= hi:
        ax.axvline(cap_bps, color="black", linestyle="--", linewidth=1.2,
                   label=f"cap {cap_bps:g} bps")
    else:
        notes.append(f"cap {cap_bps:g} bps: beyond the axis (worst {every.max():.2f} bps)"
                     if every.size else f"cap {cap_bps:g} bps")
    clipped = int(sum(s.size for s in slips.values()) - sum(s.size for s in shown))
    if clipped:
        notes.append(f"{clipped} outlier(s) beyond the axis (all intents: {every.min():.2f}"
                     f" .. {every.max():.2f} bps)")
    if notes:
        ax.text(0.99, 0.97, "\n".join(notes), transform=ax.transAxes, ha="right", va="top",
                fontsize=8, bbox={"facecolor": "white", "edgecolor": "#999999"})
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(lo, hi)
    ax.set(xlabel="arrival-price slippage (bps, positive = cost)", ylabel="intents",
           title=f"Slippage per intent: {subtitle(data)}")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def shortfall_figure(data: Mapping[str, Any]) -> Figure:
    fig: Figure
    fig, ax = _pyplot().subplots(figsize=FIGSIZE)
    strategies = _strategies(data)
    names = list(strategies)
    width = 0.8 / len(COMPONENTS)
    for k, comp in enumerate(COMPONENTS):
        means = [strategies[n]["shortfall_bps"][comp] or 0.0 for n in names]
        ax.bar([i + (k - (len(COMPONENTS) - 1) / 2) * width for i in range(len(names))], means,
               width=width, label=comp, color=COMPONENT_COLOURS[comp], edgecolor="black",
               linewidth=0.4)
    totals = [strategies[n]["shortfall_bps"]["mean"] or 0.0 for n in names]
    ax.scatter(range(len(names)), totals, marker="D", color="black", zorder=3,
               label="total (mean)")
    ax.set_xticks(range(len(names)), names)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set(ylabel="mean bps of arrival notional (positive = cost)",
           title=f"Implementation shortfall components: {subtitle(data)}")
    ax.legend(fontsize=8)
    return fig


def progress_figure(data: Mapping[str, Any]) -> Figure:
    fig: Figure
    fig, ax = _pyplot().subplots(figsize=FIGSIZE)
    strategies = _strategies(data)
    palette = colours(list(strategies))
    for name, report in strategies.items():
        progress = report["fill_progress"]
        ax.step(progress["t_s"], [100 * v for v in progress["filled_fraction"]], where="post",
                label=name, color=palette[name], linewidth=1.8)
    ax.set_xscale("symlog", linthresh=1e-3, linscale=0.3)
    ticks = [0, 1e-3, 1e-2, 0.1, 1, 10, data["scenario"]["horizon_s"]]
    ax.set_xticks(ticks, ["0", "1 ms", "10 ms", "0.1 s", "1 s", "10 s",
                          f"{ticks[-1]:g} s"])
    ax.set_xlim(0, ticks[-1])
    ax.grid(True, which="major", color="#dddddd", linewidth=0.6)
    ax.set(xlabel="time since arrival (simulated; log scale from 1 ms)",
           ylabel="mean filled share of the quantity (%)", ylim=(0, 102),
           title=f"Fill progress: {subtitle(data)}")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def build_figures(outcomes: Mapping[str, Sequence[Outcome]], data: Mapping[str, Any],
                  cap_bps: float = 50.0) -> dict[str, Figure]:
    """The report's figures by file name (not saved: :func:`write_plots` saves them)."""
    return {"slippage.png": slippage_figure(outcomes, data, cap_bps),
            "shortfall.png": shortfall_figure(data),
            "fill_progress.png": progress_figure(data)}


def write_plots(outcomes: Mapping[str, Sequence[Outcome]], data: Mapping[str, Any],
                out_dir: Path) -> list[Path]:
    """slippage.png, shortfall.png and fill_progress.png in ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cap = float(data.get("targets", {}).get("slippage_cap", {}).get("cap_bps", 50.0))
    return [_save(fig, out_dir / name)
            for name, fig in build_figures(outcomes, data, cap).items()]


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return path

