"""The child-order status table: which moves are legal.

Modelled on the FIX order-state machine (and NautilusTrader's): a move the table does
not allow is logged as an error and not applied, so a late or reordered broker message
can never silently overwrite a status the broker has already confirmed.
"""

from __future__ import annotations

import logging

from execution.contracts import ChildOrder, ChildStatus

log = logging.getLogger("execution.orders")

S = ChildStatus
_WORKING = {S.ACCEPTED, S.PARTIALLY_FILLED}
_ENDED_BY_BROKER = {S.FILLED, S.CANCELLED, S.EXPIRED}
_RESOLVED = _WORKING | _ENDED_BY_BROKER | {S.REJECTED}

ALLOWED: dict[ChildStatus, frozenset[ChildStatus]] = {
    S.PENDING: frozenset({S.PENDING_SUBMIT, S.CANCELLED}),
    S.PENDING_SUBMIT: frozenset(_RESOLVED | {S.UNKNOWN}),
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.UNKNOWN}
                          | _ENDED_BY_BROKER),
    S.PARTIALLY_FILLED: frozenset({S.PENDING_CANCEL, S.PENDING_REPLACE, S.UNKNOWN}
                                  | _ENDED_BY_BROKER),
    S.PENDING_CANCEL: frozenset(_WORKING | _ENDED_BY_BROKER | {S.UNKNOWN}),
    S.PENDING_REPLACE: frozenset(_WORKING | _ENDED_BY_BROKER | {S.PENDING_CANCEL, S.UNKNOWN}),
    S.UNKNOWN: frozenset(_RESOLVED | {S.PENDING_CANCEL}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def allowed(old: ChildStatus, new: ChildStatus) -> bool:
    return new is old or new in ALLOWED[old]


def move(child: ChildOrder, new: ChildStatus, why: str = "") -> bool:
    """Set ``child.status`` to ``new`` when the table allows it; log and refuse otherwise."""
    old = child.status
    if new is old:
        return True
    if new not in ALLOWED[old]:
        log.error("%s: illegal status move %s -> %s (%s); kept %s", child.id, old.value,
                  new.value, why or "no reason given", old.value)
        return False
    child.status = new
    return True


def after_fill(child: ChildOrder) -> ChildStatus:
    """The status a fill leaves a child in: FILLED when nothing remains; a pending cancel
    or replace stays pending; otherwise PARTIALLY_FILLED."""
    if child.remaining <= 0:
        return S.FILLED
    if child.status in (S.PENDING_CANCEL, S.PENDING_REPLACE, S.PENDING_SUBMIT, S.UNKNOWN):
        return child.status
    return S.PARTIALLY_FILLED


def working(child: ChildOrder) -> ChildStatus:
    """The live status that matches the child's fills (after a cancel or replace failed)."""
    if child.remaining <= 0:
        return S.FILLED
    return S.PARTIALLY_FILLED if child.filled_qty else S.ACCEPTED



def settle_pending(child: ChildOrder, pending: ChildStatus, why: str) -> None:
    """A cancel or replace was answered (or failed): back to the live status that matches
    the child's fills, unless a fill or the broker has moved it on meanwhile."""
    if child.status is pending:
        move(child, working(child), why)


def cancel_unsent(children: list[ChildOrder], why: str) -> None:
    """Children never sent that will not be: CANCELLED, with the reason."""
    for child in children:
        if child.status is S.PENDING and move(child, S.CANCELLED, why):
            child.reject_reason = f"cancelled before sending: {why}"
