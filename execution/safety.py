"""The engine's safety state, set by the micro-risk loop or an operator."""

from __future__ import annotations

from enum import Enum


class SafetyState(Enum):
    NORMAL = "NORMAL"
    WARNING = "WARNING"
    FAIL = "FAIL"
    LOCKDOWN = "LOCKDOWN"

    @property
    def allows_trading(self) -> bool:
        return self in (SafetyState.NORMAL, SafetyState.WARNING)
