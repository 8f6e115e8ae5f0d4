"""A disk cache of session tables, so that each process does not rebuild the calendar.

Building the XKRX calendar (exchange-calendars' lunar holiday arithmetic,
through pandas) takes about a second; every ``scalpchart`` process and every
worker of a sweep would pay it again. The finished table (session bounds per
KST day, CSAT overlay applied) is written once to the user's cache directory
and read back in a few milliseconds.

A cache file is named after everything its content depends on: the calendar,
its date range, the installed exchange-calendars version and a digest of
:mod:`execution.market_session`'s own overlay (the CSAT days and this format),
so an upgrade or an edit simply misses and rebuilds. Files are written
atomically (a temporary file renamed into place), so concurrent workers never
read half a table.

The directory is ``$SCALPCHART_CACHE_DIR``, else ``$XDG_CACHE_HOME/scalpchart``,
else ``~/.cache/scalpchart``; ``SCALPCHART_CACHE_DIR=off`` turns the cache off.
A cache that cannot be read or written only costs the rebuild (and one warning).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from datetime import date
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 2
ENV = "SCALPCHART_CACHE_DIR"
_warned = False


def cache_dir() -> Path | None:
    """Where session tables are cached (None: caching is off)."""
    configured = os.environ.get(ENV)
    if configured:
        return None if configured.lower() == "off" else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scalpchart"


def _library_version() -> str:
    try:
        return metadata.version("exchange-calendars")
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_path(name: str, start: date, end: date, overlay: Iterable[object]) -> Path | None:
    """The file for the table asked for ``start..end`` (what it covers may be clamped to the
    calendar's own range), or None when caching is off."""
    directory = cache_dir()
    if directory is None:
        return None
    digest = hashlib.sha256(
        repr((FORMAT, _library_version(), sorted(map(str, overlay)))).encode()
    ).hexdigest()[:16]
    return directory / f"sessions-{name}-{start.isoformat()}-{end.isoformat()}-{digest}.json"


Table = tuple[dict[int, tuple[int, int]], date, date]  # bounds by KST day, first, last day


def read(path: Path | None) -> Table | None:
    """The cached table (trading days' bounds, first and last day covered), or None."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        bounds = {int(day): (int(lo), int(hi)) for day, lo, hi in data["sessions"]}
        return bounds, date.fromisoformat(data["first"]), date.fromisoformat(data["last"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        _warn(f"ignoring unreadable session cache {path}: {err}")
        return None


def write(path: Path | None, table: Table) -> None:
    """Store ``table`` atomically; a failure is reported once and otherwise ignored."""
    if path is None:
        return
    bounds, first, last = table
    rows = [[day, lo, hi] for day, (lo, hi) in sorted(bounds.items())]
    payload = {"format": FORMAT, "first": first.isoformat(), "last": last.isoformat(),
               "sessions": rows}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(tmp, path)
    except OSError as err:
        _warn(f"cannot write the session cache {path}: {err} (set {ENV}=off to skip it)")


def _warn(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning(message)
