"""What an engine takes from its journal at start: the day's trade count (GR062) and
positions, and whether an earlier run left executions unfinished."""

from __future__ import annotations

from execution.context import Services
from execution.journal.reading import day_state
from execution.journal.recorder import DurableJournal


def restore_day(services: Services, journal: DurableJournal) -> None:
    """The current KRX trading day's trades and signed positions, as the journal has them
    (replacing what the ledger held: nothing trades before recovery has run)."""
    state = day_state(journal.store, services.sessions.trading_day(services.now_ns()))
    ledger = services.ledger
    ledger.trades_per_day.clear()
    ledger.trades_per_day.update(state.trades)
    ledger.positions.clear()
    ledger.positions.update(state.positions)


def needs_recovery(journal: DurableJournal) -> bool:
    """Does the journal hold executions of an earlier run that are not finished?"""
    store = journal.store
    return bool(store.executions(unsettled=True) or store.unrecorded(journal.session))
