"""A scriptable broker and an engine harness, for this package's tests and for yours.

Test your own charts, limits and strategies against the races a real broker produces
(acks that never come, cancels racing fills, revises that answer a new order id, lost and
duplicated fill pushes) without a network.
"""

from execution.testing.actions import (
    Accept,
    AcceptThenHold,
    Action,
    Call,
    FalseAnswer,
    Hold,
    LoseAck,
    Nack,
    Raise,
    Reject,
    fail_times,
)
from execution.testing.clock import DAY_NS, START, START_NS, LoopClock
from execution.testing.harness import (
    TEST_LIMITS,
    TEST_TIMEOUTS_MS,
    EngineFactory,
    alert,
    base_limits,
    codes,
    finish,
    intent,
    make_context,
    make_engine,
    make_limits,
    path,
    run_async,
    running_engine,
    until,
    until_state,
)
from execution.testing.scripted import OTHER_SYMBOL, SYMBOL, ScriptedBroker

#: the states every sent execution passes through first
HEAD = ["INIT", "PRECHECK", "SPLITTING", "SENDING", "MONITORING"]

__all__ = [
    "DAY_NS",
    "HEAD",
    "OTHER_SYMBOL",
    "START",
    "START_NS",
    "SYMBOL",
    "TEST_LIMITS",
    "TEST_TIMEOUTS_MS",
    "Accept",
    "AcceptThenHold",
    "Action",
    "Call",
    "EngineFactory",
    "FalseAnswer",
    "Hold",
    "LoopClock",
    "LoseAck",
    "Nack",
    "Raise",
    "Reject",
    "ScriptedBroker",
    "alert",
    "base_limits",
    "codes",
    "fail_times",
    "finish",
    "intent",
    "make_context",
    "make_engine",
    "make_limits",
    "path",
    "run_async",
    "running_engine",
    "until",
    "until_state",
]
