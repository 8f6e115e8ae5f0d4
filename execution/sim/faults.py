"""Fault injection settings for the simulated exchange, and their CLI syntax.

``parse_faults("reject=0.2,disconnect=2,latency=50,dup=0.1,reorder=1")``
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What can go wrong, all of it deterministic from the exchange's seed.

    - ``reject_rate``: probability that a valid new order is refused (OTHER);
    - ``disconnects``: number of episodes in which the connection drops right
      after an order was accepted (its ack is lost);
    - ``extra_latency_ms``: added to every ack, modify and cancel latency;
    - ``duplicate_fill_rate``: probability that a pushed fill is pushed twice;
    - ``reorder_fills``: pushed fills get a random extra delay of a few ms, so
      fills close together in time may arrive out of order;
    - ``disconnect_windows``: (start, end) in seconds of exchange time since the
      exchange started; inside a window every call raises BrokerDisconnected,
      ``connect()`` fails and pushes are dropped. With ``auto_reconnect`` the
      session comes back by itself at the end of the window (as a broker SDK
      that reconnects does); without, it stays down until ``connect()``;
    - ``slow_ack_rate`` / ``slow_ack_ms``: that share of new orders waits
      ``slow_ack_ms`` more before it reaches the market (and is acknowledged);
    - ``replace_on_modify``: a re-price is a cancel-replace that answers a new order
      id (KRX brokers' revise); the old id ends REPLACED;
    - ``lost_answer_rate``: that share of sends, modifies and cancels is carried out
      at the exchange but the answer is lost (TransientBrokerError);
    - ``lost_push_rate``: that share of fill pushes never arrives (only polling or an
      order-status query finds those fills).
    """

    reject_rate: float = 0.0
    disconnects: int = 0
    extra_latency_ms: float = 0.0
    duplicate_fill_rate: float = 0.0
    reorder_fills: bool = False
    disconnect_windows: tuple[tuple[float, float], ...] = ()
    auto_reconnect: bool = True
    slow_ack_rate: float = 0.0
    slow_ack_ms: float = 0.0
    replace_on_modify: bool = False
    lost_answer_rate: float = 0.0
    lost_push_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("reject_rate", "duplicate_fill_rate", "slow_ack_rate", "lost_answer_rate",
                     "lost_push_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if self.disconnects < 0:
            raise ValueError(f"disconnects must be >= 0, got {self.disconnects}")
        if self.extra_latency_ms < 0:
            raise ValueError(f"extra_latency_ms must be >= 0, got {self.extra_latency_ms}")
        if not self.slow_ack_ms >= 0:
            raise ValueError(f"slow_ack_ms must be >= 0, got {self.slow_ack_ms}")
        for start, end in self.disconnect_windows:
            if not 0 <= start < end:
                raise ValueError(f"bad disconnect window ({start}, {end}): need 0 <= start < end")

    def down_at(self, elapsed_s: float) -> bool:
        """True inside a disconnect window (``elapsed_s``: seconds since the exchange started)."""
        return any(start <= elapsed_s < end for start, end in self.disconnect_windows)

    @property
    def any(self) -> bool:
        """True when at least one fault is switched on."""
        return self != FaultConfig()


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be within 0..1")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _millis(text: str) -> float:
    value = float(text)
    if not value >= 0.0:  # also rejects nan
        raise ValueError("must be >= 0")
    return value


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("must be one of 1/0, true/false, yes/no, on/off")


# spec key -> (FaultConfig field, value parser)
_KEYS: dict[str, tuple[str, Any]] = {
    "reject": ("reject_rate", _rate),
    "disconnect": ("disconnects", _count),
    "latency": ("extra_latency_ms", _millis),
    "dup": ("duplicate_fill_rate", _rate),
    "reorder": ("reorder_fills", _flag),
    "replace": ("replace_on_modify", _flag),
    "lost_answer": ("lost_answer_rate", _rate),
    "lost_push": ("lost_push_rate", _rate),
}
_ALIASES = {
    "reject_rate": "reject",
    "disconnects": "disconnect",
    "extra_latency_ms": "latency",
    "duplicate": "dup",
    "duplicate_fill_rate": "dup",
    "reorder_fills": "reorder",
    "replace_on_modify": "replace",
    "lost_answer_rate": "lost_answer",
    "lost_push_rate": "lost_push",
}


def parse_faults(spec: str) -> FaultConfig:
    """Parse ``key=value`` pairs separated by commas; an empty spec means no faults.

    Keys: reject, disconnect, latency, dup, reorder (or the FaultConfig field
    names). Raises ValueError naming the offending part.
    """
    config = FaultConfig()
    seen: set[str] = set()
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        key = _ALIASES.get(key, key)
        if not sep or not value.strip():
            raise ValueError(f"bad fault spec part {part!r}: expected key=value")
        if key not in _KEYS:
            known = ", ".join(_KEYS)
            raise ValueError(f"bad fault spec part {part!r}: unknown key (known: {known})")
        if key in seen:
            raise ValueError(f"bad fault spec part {part!r}: {key} given twice")
        seen.add(key)
        field_name, parser = _KEYS[key]
        try:
            parsed = parser(value.strip())
        except ValueError as exc:
            raise ValueError(f"bad fault spec part {part!r}: {exc}") from None
        config = replace(config, **{field_name: parsed})
    return config
