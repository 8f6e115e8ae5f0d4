"""Garbage-collector settings for a latency-sensitive process.

Each live execution holds a python-statemachine instance of a few thousand
objects; with a thousand of them alive, CPython's default thresholds trigger
full collections that stop the loop for hundreds of milliseconds (measured:
up to 0.9 s in ``scalpchart bench``). Two process-wide measures, both opt-in:

- :func:`freeze_long_lived` moves everything alive now (configuration, the
  compiled chart, the pool of pre-built chart instances) out of the collector's
  reach (``gc.freeze``): call it once the engine has warmed up;
- :func:`low_latency_thresholds` makes young-generation collections rarer, so
  the few that run are cheap relative to the work between them.
"""

from __future__ import annotations

import gc

DEFAULT_THRESHOLDS = (50_000, 20, 100)


def low_latency_thresholds(thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS) -> None:
    gc.set_threshold(*thresholds)


def freeze_long_lived() -> int:
    """Collect once, then freeze every surviving object; returns how many are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
