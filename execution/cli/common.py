"""What every command shares: exit codes, the usage error, argument types."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from execution.contracts import MAX_AMOUNT_KRW
from execution.market_session import parse_at

T = TypeVar("T")

Command = Callable[[argparse.Namespace], int]
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2."""


def chart_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chart", nargs="?", type=Path, default=None,
                        help="chart YAML (default: config/scalp_execution.yaml)")


class ArgumentsRefused(UsageError):
    """The command line did not parse; ``str()`` is the one line to print."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{prog}: error: {message} (see {prog} --help)")
        self.message = message


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option's help ends with its default, unless the
    help already says it or there is none (a flag, an unset option)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or "default" in text or default is None
                or default is False or default == [] or default is argparse.SUPPRESS):
            return text
        shown = default if not isinstance(default, Path) else str(default)
        return f"{text} (default: {shown})".strip()


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``prog: error: ...``), exit 2,
    raised as :class:`ArgumentsRefused` (so ``main`` can say them as JSON too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ArgumentsRefused(self.prog, message)


def positive_decimal(text: str) -> Decimal:
    """An argument type: a positive amount of money in KRW (prices, capital), at most
    :data:`~execution.contracts.MAX_AMOUNT_KRW`."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as err:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from err
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    if value > MAX_AMOUNT_KRW:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_AMOUNT_KRW:,}: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """An argument type: a finite number >= 0 (durations)."""
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from err
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def non_empty(text: str) -> str:
    """An argument type: a string with something in it (symbols, ids)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


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


def port(text: str) -> int:
    """An argument type: a TCP port (0: any free one)."""
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}")
    return value


def parsed_by(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argument type from a parser whose ``ValueError`` says what is wrong (times,
    fault specifications): argparse shows the message as the option's error."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    convert.__name__ = parse.__name__  # argparse names the type in its messages
    return convert


#: an argument type: an exchange time, "YYYY-MM-DD HH:MM" in Asia/Seoul
exchange_time = parsed_by(parse_at)


def write_texts(folder: Path, texts: dict[str, str], option: str) -> None:
    """Write each ``{file name: text}`` into ``folder`` (an ``option``'s), or a usage error."""
    for name, text in texts.items():
        try:
            (folder / name).write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"{option} {folder}: cannot write: {err.strerror or err}") from err


def write_json(path: Path, data: object, option: str) -> None:
    """Write ``data`` as indented JSON to ``path`` (an ``option``'s file), or a usage error."""
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write: {err.strerror or err}") from err


def _int(text: str) -> int:
    if len(text) > 30:  # int() of thousands of digits is slow, and no count needs them
        raise argparse.ArgumentTypeError(f"not an integer of at most 30 digits: {text[:40]!r}")
    try:
        return int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from err


def progress_bar(label: str) -> Any:
    """A transient rich progress bar (label, bar, n/total, elapsed, remaining)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), transient=True)
