"""Execution ids: unique across restarts and processes, ordered by time within one."""

from __future__ import annotations

import itertools

from execution.ids import ALPHABET, IdSource, base32


def test_ids_are_unique_and_ordered_within_a_source() -> None:
    source = IdSource("X")
    ids = [source.next() for _ in range(20_000)]  # many fall in one millisecond
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 15 and i[0] == "X" and set(i[1:]) <= set(ALPHABET) for i in ids)


def test_two_sources_started_at_the_same_moment_differ() -> None:
    """Two engines (or a restarted one) in the same millisecond: the random part differs."""
    clock = itertools.repeat(1_700_000_000_000_000_000).__next__
    draws = iter([5, 77])
    first = IdSource(clock_ns=clock, random_below=lambda n: next(draws))
    second = IdSource(clock_ns=clock, random_below=lambda n: next(draws))
    assert first.next() != second.next()


def test_a_clock_stepping_back_never_repeats_an_id() -> None:
    times = iter([5_000_000, 4_000_000, 5_000_000])
    source = IdSource(clock_ns=lambda: next(times), random_below=lambda n: 0)
    ids = [source.next() for _ in range(3)]
    assert len(set(ids)) == 3 and ids == sorted(ids)


def test_base32() -> None:
    assert base32(0, 2) == "00" and base32(31, 2) == "0Z" and base32(32, 2) == "10"
