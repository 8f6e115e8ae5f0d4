"""Fail-safe (FS) and guardrail (GR) codes: one registry for the whole engine.

Fail-safes stop or escape an execution; guardrails constrain it and warn.
Alerts read ``CODE: key=value ...`` (see :func:`alert_text`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Code(Enum):
    """Every FS/GR code, with its condition and its action."""

    FS090 = ("every child order failed to send", "stop the execution (FAILED)")
    FS091 = ("invalid or unknown symbol", "stop the execution, flag for investigation")
    FS092 = ("emergency escape executed", "log and alert")
    FS093 = ("fill timeout", "cancel unfilled orders")
    FS094 = ("slippage beyond the maximum", "stop adjusting and escape")
    FS095 = ("P0 event queue overflow", "pause: no new executions until the queue drains")
    FS096 = ("order state unconfirmed by the broker",
             "list the orders as unconfirmed, alert P0, keep asking the broker")
    FS097 = ("invalid or unexplained fill from the broker",
             "do not count it; alert and keep it for reconciliation")
    FS098 = ("a stage ran out of time before any order could work (PreCheck, split or send)",
             "stop the execution (FAILED); what was sent is settled with the broker")
    FS099 = ("every order ended at the broker (expired, cancelled by it) with nothing filled",
             "stop the execution (FAILED)")
    GR060 = ("too many child orders", "limit the split count")
    GR061 = ("insufficient balance", "reduce the quantity")
    GR062 = ("daily trade limit reached", "block further trades")
    GR063 = ("slippage warning", "limit the price adjustment")
    GR064 = ("fill delay", "warning")
    GR065 = ("self-trade prevented",
             "refuse the new intent, or cancel the resting one first (limits' policy)")
    GR066 = ("session-phase constraint: too little continuous trading left, or a call "
             "auction ahead", "plan for the time left, refuse, or join the closing auction "
             "(limits' policy)")
    GR067 = ("call auction or volatility interruption on the symbol",
             "pause re-pricing; keep the orders, or shrink them and restore the cut after it "
             "(limits' policy); re-quote from fresh prices after it")
    GR068 = ("price beyond the day's price limits", "refuse the intent")
    GR069 = ("one tick is a large share of the slippage cap",
             "wait in the queue instead of moving while the queue and time left allow it")
    GR070 = ("a pre-trade check refused the intent (safety state, duplicate intent, "
             "position cap, broker disconnected, spread, notional)", "refuse the intent")

    def __init__(self, condition: str, action: str) -> None:
        self.condition = condition
        self.action = action

    @property
    def is_fail_safe(self) -> bool:
        return self.name.startswith("FS")


def alert_text(code: Code, **details: object) -> str:
    """Format an alert as ``CODE: key=value key=value``."""
    parts = " ".join(f"{key}={value}" for key, value in details.items())
    return f"{code.name}: {parts}" if parts else f"{code.name}: {code.condition}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One raised code with its rendered message and structured details."""

    code: Code
    message: str
    at_ns: int = 0
    details: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, code: Code, at_ns: int = 0, **details: object) -> Alert:
        text = {k: str(v) for k, v in details.items()}
        return cls(code, alert_text(code, **details), at_ns, text)

    def to_json(self) -> dict[str, str]:
        return {"code": self.code.name, "message": self.message}
