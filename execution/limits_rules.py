"""Rules over a limits file that JSON Schema cannot say: one value bounded by another.

The schema (``execution/schemas/limits.schema.json``) bounds every number on its
own; these run after it, on a document of the right shape, and report at the
value to change, like every other finding (``FILE:LINE:COL: [limit-order] ...``).

``limit-order``: ``adjust.slippage_warning_bps`` <= ``adjust.slippage_max_bps``, and for
each urgency ``adjust.first_round_pct_of_timeout`` <= ``adjust.last_round_pct_of_timeout``.
"""

from __future__ import annotations

from statecharts.errors import Problem
from statecharts.limits import Limits

RULES = ("limit-order",)
URGENCIES = ("low", "normal", "high")

# (lower key, upper key): the lower value must not exceed the upper one.
_ORDERED = (
    ("adjust.slippage_warning_bps", "adjust.slippage_max_bps"),
    *((f"adjust.first_round_pct_of_timeout.{u}", f"adjust.last_round_pct_of_timeout.{u}")
      for u in URGENCIES),
)


def limit_problems(limits: Limits) -> list[Problem]:
    """Every cross-field violation of a schema-valid limits document."""
    problems = []
    for lower, upper in _ORDERED:
        low, high = limits.get(lower), limits.get(upper)
        if low > high:
            line, column = limits.positions.get(lower, (1, 1))
            problems.append(Problem(limits.file, line, column, "limit-order",
                                    f"{lower} ({low}) must not exceed {upper} ({high})"))
    return problems
