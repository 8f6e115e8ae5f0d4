"""What every command shares: exit codes, the usage error, argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

Command = Callable[[argparse.Namespace], int]
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2."""


def chart_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chart", nargs="?", type=Path, default=None,
                        help="chart YAML (default: config/scalp_execution.yaml)")


def positive_decimal(text: str) -> Decimal:
    """An argument type: a positive decimal number (prices, money)."""
    try:
        value = Decimal(text)
    except InvalidOperation as err:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from err
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argument type: an integer > 0."""
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def seed(text: str) -> int:
    """An argument type: an integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from err
