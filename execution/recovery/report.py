"""What a recovery did, as ``scalpchart recover --format json`` prints it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from execution.broker import OrderStatus


@dataclass(slots=True)
class RecoveredExecution:
    id: str
    final_state: str | None  # None: an order the broker would not confirm (see unconfirmed)
    filled_qty: int
    broker_filled_qty: int | None  # None: the broker was not asked (a previous trading day)
    liquidated_qty: int = 0
    actions: list[dict[str, Any]] = field(default_factory=list)

    def act(self, action: str, **details: Any) -> None:
        self.actions.append({"action": action, **details})

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "final_state": self.final_state, "filled_qty": self.filled_qty,
                "broker_filled_qty": self.broker_filled_qty,
                "liquidated_qty": self.liquidated_qty, "actions": list(self.actions)}


@dataclass(slots=True)
class RecoveryReport:
    policy: str
    journal: str
    executions: list[RecoveredExecution] = field(default_factory=list)
    fills_added: int = 0  # fill events the broker reported that the journal did not have
    orphans_cancelled: list[str] = field(default_factory=list)  # broker order ids
    unknown_orders: list[OrderStatus] = field(default_factory=list)  # never touched
    unconfirmed: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Did this recovery change anything (a second run must not)?"""
        return bool(self.executions or self.fills_added or self.orphans_cancelled)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "journal": self.journal,
            "executions": [e.to_json() for e in self.executions],
            "fills_added": self.fills_added,
            "orphans_cancelled": list(self.orphans_cancelled),
            "unknown_orders": [_order(o) for o in self.unknown_orders],
            "unconfirmed": list(self.unconfirmed),
        }


def _order(status: OrderStatus) -> dict[str, Any]:
    return {"order_id": status.broker_order_id, "symbol": status.symbol,
            "side": status.side.value, "qty": status.qty, "filled_qty": status.filled_qty,
            "state": status.state.value}


def text(report: RecoveryReport) -> str:
    """The report for a person."""
    lines = [f"recover ({report.policy}) {report.journal}: "
             f"{len(report.executions)} unfinished execution(s)"]
    for execution in report.executions:
        broker = ("not asked" if execution.broker_filled_qty is None
                  else str(execution.broker_filled_qty))
        lines.append(f"  {execution.id}: -> {execution.final_state or 'UNCONFIRMED'}  filled "
                     f"{execution.filled_qty} (broker {broker})"
                     + (f", liquidated {execution.liquidated_qty}"
                        if execution.liquidated_qty else ""))
        for action in execution.actions:
            details = " ".join(f"{k}={v}" for k, v in action.items() if k != "action")
            lines.append(f"      {action['action']}" + (f"  {details}" if details else ""))
    lines.append(f"fills added: {report.fills_added}; orders cancelled: "
                 f"{len(report.orphans_cancelled)}"
                 + (f" ({', '.join(report.orphans_cancelled)})" if report.orphans_cancelled
                    else ""))
    if report.unknown_orders:
        lines.append(f"orders at the broker the journal does not know (not touched): "
                     f"{len(report.unknown_orders)}")
        for order in report.unknown_orders:
            lines.append(f"  {order.broker_order_id}: {order.side.value} {order.qty} "
                         f"{order.symbol}, filled {order.filled_qty}")
    if report.unconfirmed:
        lines.append("NOT confirmed by the broker (run recover again): " + ", ".join(
            f"{u['execution']}/{u['order']}" for u in report.unconfirmed))
    return "\n".join(lines)
