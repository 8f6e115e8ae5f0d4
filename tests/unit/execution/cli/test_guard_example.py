"""docs/guard-example: a user's guard, loaded with --plugin, in an edited chart. The chart
there is the shipped one plus two insertions (regenerate it with UPDATE_GOLDEN=1 after a
chart edit)."""

from __future__ import annotations

import os
from pathlib import Path

from execution.cli.plugins import load_plugins
from execution.guards import REGISTRY

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "docs" / "guard-example"
FIRST_CHECK = "  - {event: checked, source: PRECHECK, target: SPLITTING, unless: [precheck_blocked, qty_reduced]}\n"  # noqa: E501
GUARD_TRANSITION = "  - {event: checked, source: PRECHECK, target: FAILED, guard: tiny_order}\n"
GUARD_DECLARATION = ("  tiny_order:\n    description: fewer than 10 shares, not worth the fees"
                     " (docs/guard-example)\n")


def example_chart(shipped: str) -> str:
    """The shipped chart with the example's guard: first among PreCheck's transitions."""
    lines = shipped.splitlines(keepends=True)
    lines[0] = "# yaml-language-server: $schema=../../statecharts/schemas/chart.schema.json\n"
    text = "".join(lines)
    assert FIRST_CHECK in text and "\nguards:\n" in text
    text = text.replace(FIRST_CHECK, GUARD_TRANSITION + FIRST_CHECK, 1)
    return text.replace("\nguards:\n", "\nguards:\n" + GUARD_DECLARATION, 1)


def test_the_example_chart_is_the_shipped_one_plus_the_guard() -> None:
    expected = example_chart((ROOT / "config" / "scalp_execution.yaml").read_text("utf-8"))
    path = EXAMPLE / "chart.yaml"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(expected, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == expected, (
        "docs/guard-example/chart.yaml is stale: regenerate it with UPDATE_GOLDEN=1 "
        "pytest tests/unit/execution/cli/test_guard_example.py")


def test_the_plugin_registers_its_guard() -> None:
    load_plugins([str(EXAMPLE / "my_guards.py")], entry_point_group="scalpchart.none")
    assert "tiny_order" in REGISTRY.guards
    load_plugins([str(EXAMPLE / "my_guards.py")], entry_point_group="scalpchart.none")  # twice
