"""One exception root for the package; problems carry file, line, column and rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, printed as ``FILE:LINE:COL: [rule] message``."""

    file: str
    line: int
    column: int
    rule: str
    message: str
    path: str | None = None

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: [{self.rule}] {self.message}{where}"

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
        }
        if self.path:
            data["path"] = self.path
        return data


class ChartError(Exception):
    """Root of every error this package raises."""


class DocumentInvalid(ChartError):
    """A YAML document (a chart, limits, a scenario, a grid, a batch, a broker
    configuration) failed to load or check; carries every problem found, each
    ``FILE:LINE:COL: [rule] message``."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.rule))
        super().__init__("\n".join(str(p) for p in self.problems))


class ChartInvalid(DocumentInvalid):
    """A chart failed to load, lint or compile."""


class EventRejected(ChartError):
    """An event that has no enabled transition in the current state."""

    def __init__(self, state: str, event: str, reason: str = "no transition") -> None:
        super().__init__(f"event {event!r} rejected in state {state}: {reason}")
        self.state = state
        self.event = event
        self.reason = reason


class DocumentUnreadable(ChartError, OSError):
    """A document that cannot be read at all: missing, a directory, a FIFO or device, a
    symlink loop, no permission. (Also an :class:`OSError`, for callers that catch those.)"""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: cannot read: {reason}")
        self.file = file
        self.reason = reason
        self.filename, self.strerror = file, reason

    def __str__(self) -> str:
        return f"{self.file}: cannot read: {self.reason}"
