"""The durable journal: every intent, transition, order, answer, fill and result, written
ahead of the broker calls, so that a crashed engine can be recovered (see
:mod:`execution.recovery`) and a day audited (``scalpchart journal show``).

>>> journal = open_journal("day.sqlite")          # doctest: +SKIP
>>> engine = Engine(broker, journal=journal)      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from execution.journal.api import NULL_JOURNAL, Journal, JournalError, JournalIdTaken, NullJournal
from execution.journal.recorder import DurableJournal
from execution.journal.rows import JournalStore
from execution.journal.store import SqliteStore, Sync

__all__ = ["NULL_JOURNAL", "DurableJournal", "Journal", "JournalError", "JournalIdTaken",
           "JournalStore", "NullJournal", "SqliteStore", "Sync", "open_journal"]


def open_journal(path: Path | str, *, sync: Sync = "normal", flush_ms: float = 5.0,
                 info: dict[str, Any] | None = None) -> DurableJournal:
    """Open (creating or migrating) the journal at ``path`` for writing: JournalError when it
    is damaged, from a newer scalpchart, or in use by another process."""
    store = SqliteStore(path, sync=sync)
    try:
        return DurableJournal(store, flush_ms=flush_ms, info=info)
    except BaseException:
        store.close()
        raise
