"""“Did you mean” for a name that is not known: the closest known one (difflib)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name``, or None when none is close enough."""
    choices = [k for k in known if isinstance(k, str)]
    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not found:  # a case slip (`complete` for `COMPLETE`) is close whatever its length
        lowered = {k.lower(): k for k in choices}
        return lowered.get(name.lower())
    return found[0]


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """``"; did you mean 'X'?"`` to append to a message, or ``""``."""
    if not isinstance(name, str):
        return ""
    match = closest(name, known)
    return f"; did you mean {match!r}?" if match is not None else ""
