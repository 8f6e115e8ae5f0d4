"""What a sweep leaves behind: the variants table, the Pareto plot, the best limits file."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from execution.study.grid import Grid
from statecharts.yamlsrc import read_yaml

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s,#}\]]+')


def _cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(data: Mapping[str, Any], width: int = 120) -> str:
    """The variants table (means over scenarios and seeds), the best variant marked."""
    table = Table(title=f"sweep {data['grid']}: {len(data['variants'])} variants x "
                        f"{len(data['scenarios'])} scenarios x {len(data['seeds'])} seeds",
                  title_justify="left")
    table.add_column("variant")
    for path in data["varied"]:
        table.add_column(path, justify="right")
    for column in ("shortfall bps", "fully filled", "worst slip bps", "escapes", "pareto"):
        table.add_column(column, justify="right")
    best = data["best"]["id"]
    for row in data["variants"]:
        name = f"{row['id']} (best)" if row["id"] == best else row["id"]
        table.add_row(name, *(str(row["variant"][p]) for p in data["varied"]),
                      _cell(row["shortfall_bps_mean"]), _cell(row["fully_filled_ratio"], 3),
                      _cell(row["slippage_max_bps"]), str(row["escapes"]),
                      "*" if row["pareto"] else "")
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    console.print(table)
    workers = data["workers"]
    chosen = data["best"]
    console.print(f"best: {chosen['id']} {json.dumps(chosen['variant'])} "
                  f"({'meets' if chosen['meets_targets'] else 'no variant meets'} the targets; "
                  f"{chosen['criterion']})", soft_wrap=True)
    console.print(f"{len(data['cells'])} cells in {data['wall_s']:.1f} s on "
                  f"{workers['count']} {workers['kind']} worker(s)", soft_wrap=True)
    return buffer.getvalue()


def yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def best_limits_text(grid: Grid, variant: Mapping[str, Any], label: str) -> str:
    """The base limits file with the best variant's values written in place (comments and
    layout kept, so it diffs against the base line by line); checked by reading it back."""
    from execution.settings import read_limits

    source = read_yaml(grid.limits.file, grid.limits.text)
    lines = grid.limits.text.splitlines(keepends=True)
    places = sorted(((source.positions[path], path, value) for path, value in variant.items()),
                    reverse=True)  # right to left: a flow mapping may hold several on one line
    for (line, col), path, value in places:
        text = lines[line - 1]
        token = _TOKEN.match(text, col - 1)
        if token is None:
            raise ValueError(f"{grid.limits.file}:{line}:{col}: no value to replace for {path}")
        lines[line - 1] = text[: token.start()] + yaml_scalar(value) + text[token.end():]
    result = "".join(lines)
    if not result.endswith("\n"):
        result += "\n"
    result += f"# {label}\n"
    written = read_limits(grid.limits.file, result)
    for path, value in variant.items():
        if written.get(path) != value or type(written.get(path)) is not type(value):
            raise ValueError(f"writing {path}={value!r} into the limits did not round-trip")
    return result


def write_pareto_plot(data: Mapping[str, Any], path: Path) -> Path:
    """Shortfall against fully-filled ratio per variant; the front joined, the best starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in data["variants"]
            if r["shortfall_bps_mean"] is not None and r["fully_filled_ratio"] is not None]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter([r["fully_filled_ratio"] for r in rows], [r["shortfall_bps_mean"] for r in rows],
               color="tab:gray", label="variant")
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["fully_filled_ratio"])
    ax.plot([r["fully_filled_ratio"] for r in front], [r["shortfall_bps_mean"] for r in front],
            color="tab:blue", marker="o", label="Pareto front")
    for r in rows:
        ax.annotate(r["id"], (r["fully_filled_ratio"], r["shortfall_bps_mean"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)
    best = data["best"]
    if best["shortfall_bps_mean"] is not None and best["fully_filled_ratio"] is not None:
        ax.scatter([best["fully_filled_ratio"]], [best["shortfall_bps_mean"]], marker="*",
                   s=250, color="tab:red", label=f"best ({best['id']})", zorder=3)
    ax.set_xlabel("fully-filled ratio (mean over scenarios and seeds)")
    ax.set_ylabel("implementation shortfall, bps (mean)")
    ax.set_title("sweep: shortfall against fully-filled ratio (lower right is better)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
