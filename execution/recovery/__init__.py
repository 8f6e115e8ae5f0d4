"""Crash recovery from the journal: :func:`recover` (``Engine.recover()``,
``scalpchart recover``)."""

from __future__ import annotations

from execution.recovery.recover import POLICIES, RESUME_REFUSED, RecoveryRefused, recover
from execution.recovery.report import RecoveredExecution, RecoveryReport

__all__ = ["POLICIES", "RESUME_REFUSED", "RecoveredExecution", "RecoveryRefused",
           "RecoveryReport", "recover"]
