"""KIS answers mapped onto the engine's broker errors.

Every KIS answer carries ``rt_cd`` ("0" = success), ``msg_cd`` and ``msg1``. What a
``msg_cd`` means to the engine is configuration (:class:`ErrorCodes`): insufficient
balance becomes ``OrderRejected(INSUFFICIENT_BALANCE)`` (the GR061 path), an unknown
symbol ``OrderRejected(UNKNOWN_SYMBOL)`` (FS091); throttling and an expired token are
handled inside the REST client and only surface, as transient errors, when retries
run out. Messages carry the code and KIS's text, never a header or a secret.
"""

from __future__ import annotations

from execution.broker import (
    BrokerDisconnected,
    BrokerError,
    OrderRejected,
    RejectReason,
    TransientBrokerError,
)
from execution.brokers.kis.config import ErrorCodes


class KisAnswerError(BrokerError):
    """KIS refused a request (``rt_cd`` != "0"), or the server failed without an answer."""

    def __init__(self, path: str, msg_cd: str, msg1: str, http_status: int = 200) -> None:
        self.path, self.msg_cd, self.msg1, self.http_status = path, msg_cd, msg1, http_status
        code = msg_cd or f"HTTP {http_status}"
        super().__init__(f"KIS {code} on {path}: {msg1}".rstrip(": "))


class KisServerError(TransientBrokerError):
    """The server failed without a KIS answer (HTTP 5xx, or a gateway error): the
    request may or may not have been carried out."""


class KisThrottled(TransientBrokerError):
    """Still throttled (EGW00201) after the configured retries."""


class KisAuthError(TransientBrokerError):
    """No usable access token (issuance refused or limited); retried on the next call."""


class RealOrdersNotAllowed(OrderRejected):
    """A real-money order without the explicit opt-in."""

    def __init__(self) -> None:
        super().__init__(RejectReason.INVALID_ORDER,
                         "real-money orders need the explicit opt-in (--i-mean-real-money)")


def reject_reason(msg_cd: str, codes: ErrorCodes) -> RejectReason:
    if msg_cd in codes.insufficient_balance:
        return RejectReason.INSUFFICIENT_BALANCE
    if msg_cd in codes.unknown_symbol:
        return RejectReason.UNKNOWN_SYMBOL
    if msg_cd in codes.market_closed:
        return RejectReason.MARKET_CLOSED
    if msg_cd in codes.bad_price:
        return RejectReason.INVALID_ORDER
    return RejectReason.OTHER


def order_error(err: KisAnswerError, codes: ErrorCodes) -> OrderRejected:
    """What KIS refusing an order call means to the engine: a reject, never retried."""
    return OrderRejected(reject_reason(err.msg_cd, codes), f"{err.msg_cd} {err.msg1}".strip())


def transport_error(path: str, detail: str) -> BrokerDisconnected:
    """The connection failed: no answer at all."""
    return BrokerDisconnected(f"no answer from KIS on {path}: {detail}")
