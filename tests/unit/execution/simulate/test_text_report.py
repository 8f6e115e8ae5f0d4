"""The ``simulate`` text report: definitions on request, one number per cell, percentages
alike everywhere, every strategy of the report shown; per-intent codes in the JSON."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import pytest

from execution.cli import main
from execution.simulate.run import SimReport, simulate
from execution.simulate.scenario import load_scenario
from execution.simulate.text import render_text

CELL = re.compile(r"-|-?\d+(\.\d+)?( %)?")  # one number (or "-"), nothing else
PERCENT = re.compile(r"(\S+) %")


@cache
def report() -> SimReport:
    return simulate(load_scenario(), intents=8, seed=5)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every rich table, as lists of stripped cells."""
    return [[c.strip() for c in line.strip("│").split("│")]
            for line in text.splitlines() if line.startswith("│")]


def test_definitions_only_on_request() -> None:
    data = report().data
    plain = render_text(data)
    assert "Definitions" not in plain and "arrival_mid" not in plain
    assert plain.splitlines()[1].startswith("baselines: ")  # the tables follow the header
    assert "--explain" in plain
    explained = render_text(data, explain=True)
    tail = explained[explained.index("Definitions"):]
    for key in data["definitions"]:
        assert re.search(rf"^  {re.escape(key)}\s+\S", tail, re.M), key


def test_one_number_per_cell() -> None:
    rows = table_rows(render_text(report().data))
    assert len(rows) > 20
    for row in rows:
        for cell in row[1:]:  # the first column names the row
            if cell and not re.search(r"[A-Za-z]", cell):  # a figure, not a label
                assert CELL.fullmatch(cell), (row, cell)


def test_percentages_read_alike() -> None:
    text = render_text(report().data)
    found = PERCENT.findall(text)
    assert len(found) >= 10
    for value in found:
        assert re.fullmatch(r"-?\d+\.\d", value), value
    assert "%)" not in text.replace(" %)", "")  # no "99%" without the space
    ratio_rows = [r for r in table_rows(text) if r[0] in ("fully filled", "filled in horizon",
                                                         "fill ratio (qty)")]
    assert len(ratio_rows) == 3
    for row in ratio_rows:
        assert all(c.endswith(" %") for c in row[1:]), row


def test_every_strategy_of_the_report_is_a_column() -> None:
    data: dict[str, Any] = copy.deepcopy(report().data)
    data["baselines"]["peg_cross"] = copy.deepcopy(data["baselines"]["market"])
    text = render_text(data)
    headers = [line for line in text.splitlines() if line.startswith("┃")]
    tables_with_strategies = [h for h in headers if "engine" in h]
    assert len(tables_with_strategies) == 4  # side by side, by size, final states, codes
    assert all("peg_cross" in h for h in tables_with_strategies)
    assert "peg_cross" in text.splitlines()[1]


def test_per_intent_codes_in_the_json() -> None:
    rep = report()
    rows = rep.data["per_intent"]
    for i, row in enumerate(rows):
        for name, outs in rep.outcomes.items():
            assert row[name]["codes"] == outs[i].codes
    engine_codes = [c for row in rows for c in row["engine"]["codes"]]
    assert engine_codes, "the seeded run raises alerts (GR064 at least)"
    assert all(re.fullmatch(r"(FS|GR)\d{3}", c) for c in engine_codes)
    assert all(row["market"]["codes"] == [] for row in rows)


def test_explain_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--intents", "2", "--seed", "3", "--no-progress",
                 "--explain"]) == 0
    out = capsys.readouterr().out
    assert "\nDefinitions\n" in out and "  slippage_bps " in out
