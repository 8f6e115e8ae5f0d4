"""Intraday volume profile used by VWAP order splitting.

The profile is a CSV of equally wide, contiguous time buckets (``start,weight,phase``;
see the comment header of ``execution/data/krx_volume_profile.csv``). Minutes are
minutes since midnight on the exchange clock (Asia/Seoul for KRX).

Only *continuous trading* buckets take part in :meth:`VolumeProfile.weights_between`;
closing call-auction buckets are kept (and validated) but never used by a continuous
VWAP window, since an order cannot be worked into an auction that matches once.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["PHASES", "VolumeProfile"]

HEADER = ("start", "weight", "phase")
PHASES = ("continuous", "closing_auction")
_MINUTES_PER_DAY = 24 * 60
_DEFAULT_RESOURCE = "data/krx_volume_profile.csv"


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    start: int
    weight: float
    phase: str


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    """An immutable intraday volume curve.

    ``starts[i]`` is the first minute of bucket ``i``; every bucket is
    ``bucket_minutes`` wide. ``continuous[i]`` is False for call-auction buckets.
    """

    bucket_minutes: int
    starts: tuple[int, ...]
    weights: tuple[float, ...]
    continuous: tuple[bool, ...]
    source: str = "<memory>"

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: Path | None = None) -> VolumeProfile:
        """Load and validate a profile; ``None`` gives the shipped KRX profile.

        The shipped profile is parsed once per process and the same instance is
        returned afterwards. An invalid file raises :class:`ValueError` with a
        ``file:line: message`` text.
        """
        if path is None:
            return _default_profile()
        return cls.parse(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str = "<string>") -> VolumeProfile:
        """Parse profile CSV text (``source`` names it in error messages)."""
        rows, last_line = _parse_rows(text.splitlines(), source)
        width = _check_layout(rows, source)
        continuous_total = sum(r.weight for r in rows if r.phase == "continuous")
        if not continuous_total > 0:
            raise ValueError(f"{source}:{last_line}: continuous-trading weights sum to 0")
        return cls(
            bucket_minutes=width,
            starts=tuple(r.start for r in rows),
            weights=tuple(r.weight for r in rows),
            continuous=tuple(r.phase == "continuous" for r in rows),
            source=source,
        )

    # ------------------------------------------------------------------ queries
    @property
    def first_minute(self) -> int:
        """Start of the first bucket (the session open for KRX: 540 = 09:00)."""
        return self.starts[0]

    @property
    def end_minute(self) -> int:
        """End of the last bucket (exclusive)."""
        return self.starts[-1] + self.bucket_minutes

    def weights_between(self, start_minute: float, end_minute: float) -> list[tuple[int, float]]:
        """Continuous-trading buckets overlapping ``[start_minute, end_minute)``.

        Returns ``(bucket_start_minute, weight)`` pairs in time order, where a bucket
        only partly inside the window contributes the overlapped fraction of its
        weight (volume is taken as uniform within a bucket). Auction buckets and
        buckets with no overlap are left out; an empty or inverted window gives ``[]``.
        """
        out: list[tuple[int, float]] = []
        if end_minute <= start_minute:
            return out
        width = self.bucket_minutes
        first = max(0, math.floor((start_minute - self.first_minute) / width))
        for i in range(first, len(self.starts)):
            b0 = self.starts[i]
            if b0 >= end_minute:
                break
            overlap = min(b0 + width, end_minute) - max(b0, start_minute)
            if overlap > 0 and self.continuous[i]:
                out.append((b0, self.weights[i] * overlap / width))
        return out

    def volume_between(self, start_minute: float, end_minute: float) -> float:
        """Total continuous-trading weight in ``[start_minute, end_minute)``."""
        return sum(w for _, w in self.weights_between(start_minute, end_minute))


@functools.cache
def _default_profile() -> VolumeProfile:
    resource = resources.files("execution").joinpath(_DEFAULT_RESOURCE)
    return VolumeProfile.parse(resource.read_text(encoding="utf-8"), source=str(resource))


# ---------------------------------------------------------------------- parsing
def _parse_rows(lines: Iterable[str], source: str) -> tuple[list[_Row], int]:
    """Rows of the file (comments and blank lines skipped) and the last line number."""
    rows: list[_Row] = []
    header_seen = False
    lineno = 0
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split(","))
        if not header_seen:
            if fields != HEADER:
                raise ValueError(
                    f"{source}:{lineno}: expected header {','.join(HEADER)!r}, got {line!r}"
                )
            header_seen = True
            continue
        rows.append(_parse_row(fields, lineno, source))
    if not header_seen:
        raise ValueError(f"{source}:{max(lineno, 1)}: missing header {','.join(HEADER)!r}")
    if len(rows) < 2:
        raise ValueError(f"{source}:{max(lineno, 1)}: need at least two buckets")
    return rows, lineno


def _parse_row(fields: tuple[str, ...], lineno: int, source: str) -> _Row:
    where = f"{source}:{lineno}"
    if len(fields) != len(HEADER):
        raise ValueError(f"{where}: expected {len(HEADER)} fields, got {len(fields)}")
    start_text, weight_text, phase = fields
    start = _parse_hhmm(start_text, where)
    try:
        weight = float(weight_text)
    except ValueError:
        raise ValueError(f"{where}: weight {weight_text!r} is not a number") from None
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"{where}: weight must be a finite number >= 0, got {weight_text}")
    if phase not in PHASES:
        raise ValueError(f"{where}: phase must be one of {', '.join(PHASES)}, got {phase!r}")
    return _Row(lineno, start, weight, phase)


def _parse_hhmm(text: str, where: str) -> int:
    hh, sep, mm = text.partition(":")
    if not (sep and len(hh) == 2 and len(mm) == 2 and hh.isdigit() and mm.isdigit()):
        raise ValueError(f"{where}: start must be HH:MM, got {text!r}")
    hours, minutes = int(hh), int(mm)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{where}: start {text!r} is not a time of day")
    return hours * 60 + minutes


def _check_layout(rows: list[_Row], source: str) -> int:
    """Check ordering, contiguity and phases; return the bucket width in minutes."""
    width = rows[1].start - rows[0].start
    for prev, row in itertools.pairwise(rows):
        where = f"{source}:{row.line}"
        if row.start <= prev.start:
            raise ValueError(f"{where}: buckets are not sorted ({row.start} after {prev.start})")
        if row.start - prev.start != width:
            raise ValueError(
                f"{where}: buckets are not contiguous: expected start "
                f"{_fmt(prev.start + width)}, got {_fmt(row.start)}"
            )
        if prev.phase == "closing_auction" and row.phase == "continuous":
            raise ValueError(f"{where}: continuous bucket after the closing auction")
    if rows[-1].start + width > _MINUTES_PER_DAY:
        raise ValueError(f"{source}:{rows[-1].line}: last bucket runs past midnight")
    if rows[0].phase != "continuous":
        raise ValueError(f"{source}:{rows[0].line}: the first bucket must be continuous")
    return width


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
