"""Execution ids that are unique across restarts and processes, and ordered by time.

An id is a prefix, then 10 Crockford base32 characters of the wall-clock millisecond and
4 of a random number drawn once per millisecond and counted up within it (the scheme
of ULID's monotonic variant, shortened): ``X01J9ZK3M7QWR4T2``. Two engines, started in
the same millisecond or years apart, draw different ids; one engine's ids sort in the
order it issued them. A child order's client id is its execution's id with a sequence
number (``X01J9ZK3M7QWR4T2-1``), so it is unique as well, and stable across retries.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
TIME_CHARS, RANDOM_CHARS = 10, 4
_RANDOM_SPACE = 32 ** RANDOM_CHARS


def base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    if value:
        raise ValueError(f"value does not fit in {width} base32 characters")
    return "".join(reversed(chars))


class IdSource:
    """Issues ``prefix`` + time + randomness ids, strictly increasing within one source."""

    def __init__(self, prefix: str = "X", *, clock_ns: Callable[[], int] = time.time_ns,
                 random_below: Callable[[int], int] = secrets.randbelow) -> None:
        self.prefix = prefix
        self._clock_ns, self._random_below = clock_ns, random_below
        self._last_ms = -1
        self._last_random = 0

    def next(self) -> str:
        ms = self._clock_ns() // 1_000_000
        if ms <= self._last_ms:  # same millisecond (or the clock stepped back): count up
            ms, rand = self._last_ms, self._last_random + 1
            if rand >= _RANDOM_SPACE:
                ms, rand = ms + 1, self._random_below(_RANDOM_SPACE // 2)
        else:  # half the space, so counting up within a millisecond cannot overflow it
            rand = self._random_below(_RANDOM_SPACE // 2)
        self._last_ms, self._last_random = ms, rand
        return f"{self.prefix}{base32(ms, TIME_CHARS)}{base32(rand, RANDOM_CHARS)}"
