"""PNG plots of a simulation report (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

from execution.simulate.outcome import Outcome

COLORS = {"engine": "#1f77b4", "market": "#d62728", "passive": "#2ca02c",
          "peg_cross": "#9467bd"}


def write_plots(outcomes: dict[str, list[Outcome]], data: dict[str, object],
                out_dir: Path) -> list[Path]:
    """slippage.png, shortfall.png and fill_progress.png in ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    fig, ax = plt.subplots(figsize=(8, 4.5))
    slips = {n: [o.slippage_bps for o in outs if o.slippage_bps is not None]
             for n, outs in outcomes.items()}
    values = [v for vs in slips.values() for v in vs]
    lo, hi = (min(values), max(values)) if values else (-1.0, 1.0)
    bins = [lo + (hi - lo) * i / 40 for i in range(41)] if hi > lo else 10
    for name, vs in slips.items():
        ax.hist(vs, bins=bins, alpha=0.5, label=f"{name} (n={len(vs)})", color=COLORS.get(name))
    ax.axvline(50, color="k", linestyle="--", linewidth=1, label="0.5 % cap")
    ax.set(xlabel="arrival-price slippage (bps, positive = cost)", ylabel="intents",
           title="Slippage: engine vs baselines")
    ax.legend()
    written.append(_save(fig, out_dir / "slippage.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = list(outcomes)
    comps = ("delay", "impact", "opportunity", "fees")
    shortfall = {n: [o.shortfall() for o in outs] for n, outs in outcomes.items()}
    for k, comp in enumerate(comps):
        means = [sum(s[comp] for s in shortfall[n]) / max(1, len(shortfall[n])) for n in names]
        ax.bar([i + k * 0.2 for i in range(len(names))], means, width=0.2, label=comp)
    ax.set_xticks([i + 0.3 for i in range(len(names))], names)
    ax.axhline(0, color="k", linewidth=0.8)
    ax.set(ylabel="mean bps of arrival notional", title="Implementation shortfall components")
    ax.legend()
    written.append(_save(fig, out_dir / "shortfall.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name in names:
        report = data["engine"] if name == "engine" else data["baselines"][name]  # type: ignore[index]
        progress = report["fill_progress"]  # type: ignore[index]
        ax.step(progress["t_s"], progress["filled_fraction"], where="post", label=name,
                color=COLORS.get(name))
    ax.set(xlabel="seconds since arrival (simulated)", ylabel="mean filled fraction",
           ylim=(0, 1.02), title="Fill progress over time")
    ax.legend()
    written.append(_save(fig, out_dir / "fill_progress.png"))
    return written


def _save(fig: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return path
