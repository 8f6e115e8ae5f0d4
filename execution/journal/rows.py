"""The journal's records as they are stored, and the storage interface.

:class:`JournalStore` is small on purpose (write a batch atomically; read executions and
events back) so that a server database can stand in for SQLite
(:class:`~execution.journal.store.SqliteStore`) when several engine processes share one
journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    session: int
    wall_ns: int
    exchange_ns: int
    execution_id: str
    kind: str
    child_id: str
    order_id: str
    data: Mapping[str, Any]


@dataclass(slots=True)  # (not frozen: built on the path to the first order, and cheaper)
class ExecutionRow:
    id: str
    session: int
    day: str
    symbol: str
    side: str
    qty: int
    intent: Mapping[str, Any]
    created_wall_ns: int
    final_state: str | None = None
    finished_wall_ns: int | None = None
    settled: bool = False


#: An event waiting to be written: (session, wall_ns, exchange_ns, execution_id, kind,
#: child_id, order_id, data).
PendingEvent = tuple[int, int, int, str, str, str, str, Mapping[str, Any]]


@dataclass(slots=True)
class Batch:
    """What one atomic write adds: new executions, finished ones, events."""

    executions: list[ExecutionRow] = field(default_factory=list)
    finished: list[tuple[str, str, int, bool]] = field(default_factory=list)  # id, state,
    #                                                                  wall ns, settled
    settled: list[str] = field(default_factory=list)
    events: list[PendingEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.executions or self.finished or self.settled or self.events)


class JournalStore(Protocol):
    """Durable storage of the journal."""

    @property
    def name(self) -> str:
        """Where it is (for messages)."""
        ...

    def begin_session(self, info: Mapping[str, Any], wall_ns: int) -> int:
        """Record an engine process starting on this journal; its session number."""
        ...

    def end_session(self, session: int, wall_ns: int) -> None:
        """The session ended cleanly: every record it made is written."""
        ...

    def unrecorded(self, current: int | None) -> list[EventRow]:
        """The first write-ahead record (it carries the intent) of each execution whose row
        a session that did not end cleanly never wrote (``current`` aside)."""
        ...

    def end_crashed(self, current: int, wall_ns: int) -> None:
        """Close the sessions that did not end cleanly (their executions are recovered)."""
        ...

    def write(self, batch: Batch) -> None:
        """Write ``batch`` atomically; durable when this returns. JournalError otherwise."""
        ...

    def has_execution(self, execution_id: str) -> bool: ...

    def executions(self, *, unsettled: bool = False, day: str | None = None,
                   ids: Sequence[str] = ()) -> list[ExecutionRow]: ...

    def events(self, execution_id: str | None = None, kinds: Sequence[str] = ()) -> list[EventRow]:
        ...

    def events_of_day(self, day: str, kinds: Sequence[str]) -> list[tuple[ExecutionRow, EventRow]]:
        """Events of the executions of one trading day (ISO date), with their execution."""
        ...

    def last_seq(self) -> int: ...

    def close(self) -> None: ...
