"""What a :class:`~execution.testing.scripted.ScriptedBroker` call does, scripted per call,
and the record of each call made."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from execution.broker import RejectReason


@dataclass(frozen=True)
class Accept:
    """Accept the order (the default when a script is empty)."""


@dataclass(frozen=True)
class Reject:
    """Raise :class:`~execution.broker.OrderRejected` (never retried by the engine)."""

    reason: RejectReason = RejectReason.OTHER
    detail: str = "scripted reject"


@dataclass(frozen=True)
class Nack:
    """Return an ack with ``accepted=False``."""

    reason: str = "scripted nack"


@dataclass(frozen=True)
class Raise:
    """Raise ``exc`` (a :class:`~execution.broker.BrokerDisconnected` also drops the
    connection)."""

    exc: BaseException


@dataclass(frozen=True)
class Hold:
    """Wait for ``event`` before handling the call (then take the next scripted action)."""

    event: asyncio.Event


@dataclass(frozen=True)
class AcceptThenHold:
    """Send only: place the order at once, then wait for ``event`` before returning the ack
    (an ack in flight: the order is live at the exchange, the engine does not know it yet)."""

    event: asyncio.Event


@dataclass(frozen=True)
class LoseAck:
    """Send, modify or cancel: do it at the exchange, then raise ``exc`` instead of
    answering (the connection dropped after the exchange acted). A resent order gets the
    first ack back."""

    exc: BaseException


@dataclass(frozen=True)
class FalseAnswer:
    """Cancel only: answer False although the order was live (and leave it live): a
    broker's False is a hint, never the truth."""


Action = Accept | Reject | Nack | Raise | Hold | AcceptThenHold | LoseAck | FalseAnswer
ACTIONS = (Accept, Reject, Nack, Raise, Hold, AcceptThenHold, LoseAck, FalseAnswer)


def fail_times(n: int, exc: BaseException) -> list[Action]:
    """``n`` failures with ``exc``; the call after them succeeds (script is then empty)."""
    return [Raise(exc) for _ in range(n)]


@dataclass(frozen=True)
class Call:
    """One recorded broker call."""

    kind: str  # send / modify / cancel / connect / status / find
    key: str  # client order id (send, find) or broker order id (modify, cancel, status)
    outcome: str  # accepted / rejected / nack / raised:<Type> / ok / not-live / unknown / ...
    price: Decimal | None = None
    qty: int | None = None
