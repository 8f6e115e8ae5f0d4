"""Intents are checked at the boundary: an ExecutionIntent that exists can be executed, any
other raises InvalidIntent naming the field; bad CLI values are exit 2 in one line."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hostile_kit import cli

from execution.contracts import (
    MAX_AMOUNT_KRW,
    ExecutionIntent,
    InvalidIntent,
    Side,
    SplitStrategy,
    Urgency,
)

GOOD: dict[str, Any] = {"symbol": "005930", "side": Side.BUY, "qty": 10}


@pytest.mark.parametrize(("field", "value"), [
    ("qty", Decimal("10.5")),
    ("qty", Decimal(10)),
    ("qty", True),
    ("qty", 10.0),
    ("qty", "10"),
    ("qty", 0),
    ("qty", -5),
    ("side", "buy"),
    ("side", None),
    ("urgency", "high"),
    ("strategy", "twap"),
    ("limit_price", 75000.0),
    ("limit_price", 75000),
    ("limit_price", Decimal("Infinity")),
    ("limit_price", Decimal("-Infinity")),
    ("limit_price", Decimal("NaN")),
    ("limit_price", Decimal("sNaN")),
    ("limit_price", Decimal(0)),
    ("limit_price", Decimal(-1)),
    ("limit_price", MAX_AMOUNT_KRW + 1),
    ("symbol", ""),
    ("symbol", "   "),
    ("symbol", None),
    ("client_intent_id", 7),
])
def test_invalid_field_raises_invalid_intent_naming_it(field: str, value: Any) -> None:
    with pytest.raises(InvalidIntent) as info:
        ExecutionIntent(**{**GOOD, field: value})
    assert info.value.field == field
    assert field in str(info.value)
    assert isinstance(info.value, ValueError)  # what callers caught before


def test_valid_intents_are_built() -> None:
    intent = ExecutionIntent("005930", Side.SELL, 1, Decimal("75000"), Urgency.LOW,
                             SplitStrategy.ICEBERG, "client-1")
    assert intent.qty == 1 and intent.limit_price == Decimal(75000)
    assert ExecutionIntent(**GOOD, limit_price=MAX_AMOUNT_KRW).limit_price == MAX_AMOUNT_KRW


def test_replace_checks_again() -> None:
    intent = ExecutionIntent(**GOOD)
    with pytest.raises(InvalidIntent) as info:
        dataclasses.replace(intent, qty=True)
    assert info.value.field == "qty"


RUN = ["run", "--symbol", "005930", "--side", "buy", "--qty", "10", "--clock", "virtual"]


@pytest.mark.parametrize(("option", "value"), [
    ("--limit", "NaN"),
    ("--limit", "Infinity"),
    ("--limit", "-Infinity"),
    ("--limit", "sNaN"),
    ("--limit", "0"),
    ("--limit", "1e999999"),
    ("--limit", "abc"),
    ("--capital", "NaN"),
    ("--capital", "inf"),
    ("--capital", "1e999999"),
    ("--symbol", ""),
    ("--symbol", " "),
    ("--escape-after-ms", "nan"),
    ("--escape-after-ms", "inf"),
    ("--escape-after-ms", "-1"),
    ("--qty", "0"),
    ("--qty", "1.5"),
    ("--qty", "9" * 5000),
    ("--seed", "-1"),
])
def test_bad_run_values_are_exit_2_in_one_line(option: str, value: str) -> None:
    result = cli(*RUN, option, value)
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith("scalpchart run: error: ") and option in line
    assert result.out == ""


@pytest.mark.parametrize("argv", [
    ["bench", "--executions", "nan"],
    ["bench", "--concurrency", "0"],
    ["bench", "--fills-per-order", "-3"],
    ["bench", "--executions", "10"],
    ["simulate", "--intents", "0"],
    ["simulate", "--seed", "-1"],
    ["validate", "--format", "yaml"],
    ["frobnicate"],
])
def test_bad_values_of_other_commands_are_exit_2_in_one_line(argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith("scalpchart")


def test_help_is_exit_0() -> None:
    result = cli("--help")
    assert result.code == 0 and "validate" in result.out
