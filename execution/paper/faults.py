"""Faults of the paper exchange's *protocol* layer, switchable while it runs.

The simulated exchange's own faults (rejects, slow acks, disconnect windows, from a
scenario file) stay as they are; these act on the KIS surface: HTTP 500s, answers
lost after the order was placed, slow answers, throttling (EGW00201), revise races.
Set them with ``--faults`` at start or ``POST /paper/admin/faults`` (JSON) later:

``http500=2,lose=1,slow_ms=300,throttle=3,rate_limit=20,revise_lose=1,revise_slow_ms=200``
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(slots=True)
class PaperFaults:
    http500: int = 0  # the next N trading requests answer HTTP 500 (not processed)
    lose: int = 0  # the next N orders are placed, then the connection drops (no answer)
    slow_ms: float = 0.0  # every order call waits this long before it reaches the market
    throttle: int = 0  # the next N requests answer EGW00201 (not processed)
    rate_limit: float = 0.0  # requests per second per app key (0: no limit)
    revise_lose: int = 0  # the next N revises are done, then the connection drops
    revise_slow_ms: float = 0.0  # a revise's answer waits this long after it was done

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from JSON or CLI values; raises ValueError naming a bad one."""
        known = {f.name: f.type for f in fields(self)}
        for key, raw in values.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r} (known: {', '.join(known)})")
            kind = int if known[key] in ("int", int) else float
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ValueError(f"fault {key}: not a number: {raw!r}") from None
            if value < 0:
                raise ValueError(f"fault {key} must be >= 0, got {raw!r}")
            setattr(self, key, value)

    def as_json(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @staticmethod
    def take(count: int) -> tuple[bool, int]:
        """Use one of ``count`` armed faults: (fires now, count left)."""
        return (True, count - 1) if count > 0 else (False, 0)


def parse_paper_faults(spec: str) -> PaperFaults:
    """``key=value`` pairs separated by commas (see the module docstring)."""
    faults = PaperFaults()
    values: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not value.strip():
            raise ValueError(f"bad fault {part!r}: expected key=value")
        values[key.strip()] = value.strip()
    faults.update(values)
    return faults
