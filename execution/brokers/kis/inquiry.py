"""Reading KIS's inquiry answers (lower-case keys): daily orders, cancellable orders,
balance, asking price; and what the daily orders say of each order's state.

A daily-orders row is one KIS order: an original, a revise (``orgn_odno`` set, not
cancelled: the rest of the original moved to it) or a cancel (``orgn_odno`` set,
``cncl_yn`` "Y"). Totals are per row: ``tot_ccld_qty`` at ``avg_prvs``, ``rmn_qty``
still working.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from execution.broker import OrderState
from execution.brokers.kis.endpoints import SELL_CODE
from execution.contracts import Quote, Side


class BadAnswer(ValueError):
    """An inquiry answer missing a field or carrying a malformed number."""


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None:
        raise BadAnswer(f"missing field {key!r}")
    return str(value).strip()


def _int(row: Mapping[str, Any], key: str, default: int | None = None) -> int:
    if default is not None and not str(row.get(key, "")).strip():
        return default
    text = _text(row, key)
    try:
        return int(Decimal(text or "0"))
    except InvalidOperation:
        raise BadAnswer(f"field {key!r} is not a number: {text!r}") from None


def _dec(row: Mapping[str, Any], key: str) -> Decimal:
    text = str(row.get(key, "") or "0").strip()
    try:
        return Decimal(text)
    except InvalidOperation:
        raise BadAnswer(f"field {key!r} is not a number: {text!r}") from None


def _origin(row: Mapping[str, Any]) -> str:
    """``orgn_odno``; empty (or all zeros) for an original order."""
    text = str(row.get("orgn_odno", "") or "").strip()
    return "" if not text.strip("0") else text


@dataclass(frozen=True, slots=True)
class DailyRow:
    odno: str
    orgn_odno: str
    branch: str  # ord_gno_brno: the org number to revise or cancel the order with
    symbol: str
    side: Side
    ord_qty: int
    ord_unpr: Decimal
    ord_dvsn_cd: str
    filled: int
    avg_price: Decimal
    remaining: int
    cancelled: bool
    rejected_qty: int
    cancelled_qty: int  # cnc_cfrm_qty: cancels of part (or all) of this order confirmed
    ord_tmd: str

    @classmethod
    def parse(cls, row: Mapping[str, Any]) -> DailyRow:
        return cls(
            odno=_text(row, "odno"),
            orgn_odno=_origin(row),
            branch=str(row.get("ord_gno_brno", "") or "").strip(),
            symbol=_text(row, "pdno"),
            side=Side.SELL if _text(row, "sll_buy_dvsn_cd") == SELL_CODE else Side.BUY,
            ord_qty=_int(row, "ord_qty"),
            ord_unpr=_dec(row, "ord_unpr"),
            ord_dvsn_cd=str(row.get("ord_dvsn_cd", "") or ""),
            filled=_int(row, "tot_ccld_qty"),
            avg_price=_dec(row, "avg_prvs"),
            remaining=_int(row, "rmn_qty"),
            cancelled=str(row.get("cncl_yn", "N")).strip().upper() == "Y",
            rejected_qty=_int(row, "rjct_qty", default=0),
            cancelled_qty=_int(row, "cnc_cfrm_qty", default=0),
            ord_tmd=str(row.get("ord_tmd", "") or ""),
        )

    @property
    def is_cancel(self) -> bool:
        return bool(self.orgn_odno) and self.cancelled

    @property
    def is_revise(self) -> bool:
        return bool(self.orgn_odno) and not self.cancelled


@dataclass(frozen=True, slots=True)
class RowState:
    state: OrderState
    replaced_by: str = ""


def derive_states(rows: Iterable[DailyRow]) -> dict[str, RowState]:
    """Each order's state from a day's rows (a row's revise children replace it once
    nothing is left on it)."""
    rows = list(rows)
    revised: dict[str, str] = {}
    for row in rows:  # newest last wins when an order was revised more than once
        if row.is_revise:
            previous = revised.get(row.orgn_odno)
            if previous is None or row.odno > previous:
                revised[row.orgn_odno] = row.odno
    states: dict[str, RowState] = {}
    for row in rows:
        states[row.odno] = _state(row, revised.get(row.odno, ""))
    return states


def _state(row: DailyRow, replaced_by: str) -> RowState:
    if row.is_cancel:
        return RowState(OrderState.CANCELLED)
    if row.remaining > 0:
        return RowState(OrderState.LIVE)
    if row.ord_qty > 0 and row.filled >= row.ord_qty:
        return RowState(OrderState.FILLED)
    if replaced_by:
        return RowState(OrderState.REPLACED, replaced_by)
    if row.rejected_qty > 0 and row.filled == 0:
        return RowState(OrderState.REJECTED)
    return RowState(OrderState.CANCELLED)


def cancellable_odnos(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """ODNOs of an ``inquire-psbl-rvsecncl`` answer with something left to revise/cancel."""
    return {_text(row, "odno") for row in rows if _int(row, "psbl_qty", default=0) > 0}


def balance_cash(body: Mapping[str, Any]) -> Decimal | None:
    """Orderable cash in ``inquire-balance``'s ``output2``: the D+2 deposit,
    ``prvs_rcdl_excc_amt``."""
    out = body.get("output2")
    first = out[0] if isinstance(out, list) and out else out
    if not isinstance(first, Mapping) or "prvs_rcdl_excc_amt" not in first:
        return None
    return _dec(first, "prvs_rcdl_excc_amt")


def asking_quote(symbol: str, body: Mapping[str, Any], ts_ns: int) -> Quote | None:
    """The top of book of an ``inquire-asking-price-exp-ccn`` answer (None: no quote)."""
    out = body.get("output1")
    if not isinstance(out, Mapping) or not out:
        return None
    ask, bid = _dec(out, "askp1"), _dec(out, "bidp1")
    if ask <= 0 or bid <= 0 or bid >= ask:
        return None
    return Quote(symbol, bid, ask, _int(out, "bidp_rsqn1", 0), _int(out, "askp_rsqn1", 0),
                 ts_ns)
