"""The paper exchange's trading calls: orders, revise/cancel, daily orders, cancellable
orders, balance, asking price. Each takes the parsed request and returns a reply; the
server (``server.py``) does authentication, faults and framing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from execution.broker import OrderRejected, OrderStatus, RejectReason, UnknownOrder
from execution.contracts import Side
from execution.market_session import KST
from execution.paper import contract as kis
from execution.paper.account import PaperAccount, PaperOrder
from execution.sim.exchange import SimulatedExchange

_DIGITS = re.compile(r"^\d+$")


@dataclass(slots=True)
class Reply:
    body: dict[str, Any]
    tr_cont: str = ""
    lose: bool = False  # drop the connection instead of answering (set by the server)
    order: PaperOrder | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, answer: kis.Answer, detail: str = "") -> None:
        super().__init__(answer.msg_cd)
        self.answer, self.detail = answer, detail

    def reply(self) -> Reply:
        msg1 = f"{self.answer.msg1} {self.detail}".strip()
        return Reply({"rt_cd": "1", "msg_cd": self.answer.msg_cd, "msg1": msg1})


def ok(answer: kis.Answer, **data: Any) -> dict[str, Any]:
    return {"rt_cd": "0", "msg_cd": answer.msg_cd, "msg1": answer.msg1, **data}


def field_text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise Refused(kis.BAD_INPUT, f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise Refused(kis.BAD_INPUT, f"{name} must be a string")
    return value.strip()


def field_int(data: Mapping[str, Any], name: str) -> int:
    text = field_text(data, name)
    if not _DIGITS.match(text):
        raise Refused(kis.BAD_INPUT, f"{name} must be digits, got {text!r}")
    return int(text)


def num(value: Decimal | int | None) -> str:
    if value is None:
        return "0"
    text = format(Decimal(value).normalize(), "f")
    return text


def rejected(err: OrderRejected) -> Refused:
    reason = err.reason
    if reason is RejectReason.UNKNOWN_SYMBOL:
        return Refused(kis.UNKNOWN_SYMBOL)
    if reason is RejectReason.INSUFFICIENT_BALANCE:
        return Refused(kis.INSUFFICIENT_CASH)
    if reason is RejectReason.MARKET_CLOSED:
        return Refused(kis.MARKET_CLOSED)
    if reason is RejectReason.PRICE_OUT_OF_BAND:
        return Refused(kis.OUT_OF_BAND, err.detail)
    if reason is RejectReason.INVALID_ORDER:
        tick = "tick" in err.detail
        return Refused(kis.BAD_TICK if tick else kis.BAD_INPUT, "" if tick else err.detail)
    return Refused(kis.REJECTED)


def _price(data: Mapping[str, Any]) -> Decimal | None:
    dvsn = field_text(data, "ORD_DVSN")
    unpr = field_int(data, "ORD_UNPR")
    if dvsn == "01":
        return None
    if dvsn != "00":
        raise Refused(kis.BAD_INPUT, f"ORD_DVSN {dvsn!r} (the paper exchange knows 00 and 01)")
    if unpr <= 0:
        raise Refused(kis.BAD_INPUT, "a limit order needs ORD_UNPR > 0")
    return Decimal(unpr)


def _done(call: str, virtual: bool) -> kis.Answer:
    return kis.VIRTUAL_DONE[call] if virtual else kis.ORDER_DONE


def _order_output(account: PaperAccount, order: PaperOrder) -> dict[str, str]:
    return {"KRX_FWDG_ORD_ORGNO": account.orgno, "ODNO": order.odno, "ORD_TMD": order.ord_tmd}


# -- orders -------------------------------------------------------------------------------
async def order_cash(account: PaperAccount, side: Side, data: Mapping[str, Any],
                     virtual: bool) -> Reply:
    symbol = field_text(data, "PDNO")
    qty = field_int(data, "ORD_QTY")
    price = _price(data)
    field_text(data, "EXCG_ID_DVSN_CD", required=False)
    if qty <= 0:
        raise Refused(kis.BAD_INPUT, "ORD_QTY must be > 0")
    try:
        order = await account.place(side, symbol, qty, price)
    except OrderRejected as err:
        raise rejected(err) from None
    body = ok(_done(side.value, virtual), output=_order_output(account, order))
    return Reply(body, order=order)


async def order_rvsecncl(account: PaperAccount, data: Mapping[str, Any],
                         virtual: bool) -> Reply:
    original = account.orders.get(field_text(data, "ORGN_ODNO"))
    if original is None or original.kind == "cancel":
        raise Refused(kis.NOTHING_TO_REVISE, "unknown ORGN_ODNO")
    if field_text(data, "KRX_FWDG_ORD_ORGNO") != account.orgno:
        raise Refused(kis.BAD_INPUT, "KRX_FWDG_ORD_ORGNO does not match the order")
    code = field_text(data, "RVSE_CNCL_DVSN_CD")
    every = field_text(data, "QTY_ALL_ORD_YN")
    if code not in ("01", "02") or every not in ("Y", "N"):
        raise Refused(kis.BAD_INPUT, "RVSE_CNCL_DVSN_CD is 01/02, QTY_ALL_ORD_YN Y/N")
    qty: int | None = None if every == "Y" else field_int(data, "ORD_QTY")
    if qty is not None and qty <= 0:
        raise Refused(kis.BAD_INPUT, "ORD_QTY must be > 0 unless QTY_ALL_ORD_YN is Y")
    try:
        if code == "02":
            row = await account.cancel(original, qty)
            if row is None:
                raise Refused(kis.NOTHING_TO_REVISE)
            return Reply(ok(_done("cancel", virtual), output=_order_output(account, row)),
                         order=row)
        new = await account.revise(original, _price(data), qty)
    except UnknownOrder:
        raise Refused(kis.NOTHING_TO_REVISE) from None
    except OrderRejected as err:
        raise rejected(err) from None
    return Reply(ok(_done("revise", virtual), output=_order_output(account, new)), order=new)


# -- inquiries ------------------------------------------------------------------------------
def _kind_name(order: PaperOrder) -> str:
    if order.kind != "order":
        return "정정" if order.kind == "revise" else "취소"
    return "시장가" if order.price is None else "지정가"


def daily_row(account: PaperAccount, order: PaperOrder,
              statuses: dict[str, OrderStatus]) -> dict[str, str]:
    status = statuses.get(order.sim_id)
    filled = status.filled_qty if status else 0
    avg = status.avg_price if status and status.filled_qty else None
    remaining = status.remaining if status else 0
    side_code = "01" if order.side is Side.SELL else "02"
    return {
        "ord_dt": order.ord_dt, "ord_gno_brno": account.orgno, "odno": order.odno,
        "orgn_odno": order.orgn_odno,
        "ord_dvsn_name": _kind_name(order),
        "sll_buy_dvsn_cd": side_code, "sll_buy_dvsn_cd_name": "매도" if side_code == "01"
        else "매수", "pdno": order.symbol, "prdt_name": order.symbol,
        "ord_qty": str(order.ord_qty), "ord_unpr": num(order.price), "ord_tmd": order.ord_tmd,
        "tot_ccld_qty": str(filled), "avg_prvs": num(avg),
        "cncl_yn": "Y" if order.kind == "cancel" else "N",
        "tot_ccld_amt": num((avg or 0) * filled), "loan_dt": "", "ordr_empno": "",
        "ord_dvsn_cd": "01" if order.price is None else "00",
        "cnc_cfrm_qty": str(order.ord_qty if order.kind == "cancel"
                            else account.cancelled_qty(order.odno)),
        "rmn_qty": str(remaining), "rjct_qty": "0", "ccld_cndt_name": "없음",
        "infm_tmd": "", "ctac_tlno": "", "prdt_type_cd": "300", "excg_dvsn_cd": "02",
        "excg_id_dvsn_Cd": "KRX", "ord_orgno": account.orgno,
    }


def daily_orders(account: PaperAccount, data: Mapping[str, Any], virtual: bool,
                 continuing: bool) -> Reply:
    start, end = field_int(data, "INQR_STRT_DT"), field_int(data, "INQR_END_DT")
    if len(str(start)) != 8 or len(str(end)) != 8:
        raise Refused(kis.BAD_INPUT, "INQR_STRT_DT/INQR_END_DT are YYYYMMDD")
    side = field_text(data, "SLL_BUY_DVSN_CD")
    symbol, odno = field_text(data, "PDNO", required=False), field_text(data, "ODNO",
                                                                      required=False)
    ccld = field_text(data, "CCLD_DVSN")
    newest_first = field_text(data, "INQR_DVSN") != "01"
    statuses = account.statuses()
    rows = [daily_row(account, o, statuses) for o in account.orders.values()
            if start <= int(o.ord_dt) <= end]
    rows = [r for r in rows
            if (side in ("", "00") or r["sll_buy_dvsn_cd"] == side)
            and (not symbol or r["pdno"] == symbol) and (not odno or r["odno"] == odno)
            and (ccld != "01" or int(r["tot_ccld_qty"]) > 0)
            and (ccld != "02" or int(r["rmn_qty"]) > 0)]
    rows.sort(key=lambda r: r["odno"], reverse=newest_first)
    page, cont, nk = _page(rows, "odno", data, newest_first, continuing,
                           kis.page_rows("daily", virtual))
    totals = {
        "tot_ord_qty": str(sum(int(r["ord_qty"]) for r in rows)),
        "tot_ccld_qty": str(sum(int(r["tot_ccld_qty"]) for r in rows)),
        "tot_ccld_amt": num(sum(Decimal(r["tot_ccld_amt"]) for r in rows)),
        "prsm_tlex_smtl": "0", "pchs_avg_pric": "0",
    }
    answer = kis.INQUIRY_DONE if page else kis.INQUIRY_EMPTY
    return Reply(ok(answer, ctx_area_fk100=_fk(data), ctx_area_nk100=nk, output1=page,
                    output2=totals), tr_cont=cont)


def cancellable(account: PaperAccount, data: Mapping[str, Any], continuing: bool) -> Reply:
    statuses = account.statuses()
    rows = []
    for order in account.orders.values():
        if order.kind == "cancel" or not account.live(order, statuses):
            continue
        status = statuses[order.sim_id]
        rows.append({
            "ord_gno_brno": account.orgno, "odno": order.odno, "orgn_odno": order.orgn_odno,
            "ord_dvsn_name": "지정가" if order.price is not None else "시장가",
            "pdno": order.symbol, "prdt_name": order.symbol, "rvse_cncl_dvsn_name": "",
            "ord_qty": str(order.ord_qty), "ord_unpr": num(order.price),
            "ord_tmd": order.ord_tmd, "tot_ccld_qty": str(status.filled_qty),
            "tot_ccld_amt": num((status.avg_price or 0) * status.filled_qty),
            "psbl_qty": str(status.remaining),
            "sll_buy_dvsn_cd": "01" if order.side is Side.SELL else "02",
            "ord_dvsn_cd": "01" if order.price is None else "00", "mgco_aptm_odno": "",
            "excg_dvsn_cd": "02", "excg_id_dvsn_cd": "KRX", "excg_id_dvsn_name": "KRX",
            "stpm_cndt_pric": "0", "stpm_efct_occr_yn": "N",
        })
    rows.sort(key=lambda r: r["odno"])
    page, cont, nk = _page(rows, "odno", data, False, continuing,
                           kis.page_rows("cancellable", False))
    return Reply(ok(kis.INQUIRY_DONE if page else kis.INQUIRY_EMPTY,
                    ctx_area_fk100=_fk(data), ctx_area_nk100=nk, output=page), tr_cont=cont)


def balance(account: PaperAccount, data: Mapping[str, Any], virtual: bool,
            continuing: bool) -> Reply:
    snapshot = account.exchange.account_of(account.account)
    cash = snapshot.cash if snapshot.cash is not None else Decimal(0)
    available = snapshot.available if snapshot.available is not None else cash
    rows = []
    for symbol, qty in sorted(snapshot.positions.items()):
        price = account.exchange.quote(symbol).mid
        rows.append({"pdno": symbol, "prdt_name": symbol, "trad_dvsn_name": "현금",
                     "hldg_qty": str(qty), "ord_psbl_qty": str(max(qty, 0)),
                     "pchs_avg_pric": "0", "pchs_amt": "0", "prpr": num(price),
                     "evlu_amt": num(price * qty), "evlu_pfls_amt": "0"})
    page, cont, nk = _page(rows, "pdno", data, False, continuing,
                           kis.page_rows("balance", virtual))
    summary = {"dnca_tot_amt": num(cash), "nxdy_excc_amt": num(available),
               "prvs_rcdl_excc_amt": num(available), "thdt_tlex_amt": num(snapshot.fees_paid),
               "tot_evlu_amt": num(cash)}
    return Reply(ok(kis.INQUIRY_DONE, ctx_area_fk100=_fk(data), ctx_area_nk100=nk,
                    output1=page, output2=[summary]), tr_cont=cont)


def asking_price(exchange: SimulatedExchange, data: Mapping[str, Any]) -> Reply:
    """The market's ten levels a side: every account's resting orders are in them."""
    symbol = field_text(data, "FID_INPUT_ISCD")
    field_text(data, "FID_COND_MRKT_DIV_CODE")
    if not exchange.knows_symbol(symbol):
        raise Refused(kis.UNKNOWN_SYMBOL)
    depth = exchange.depth(symbol, 10)
    book: dict[str, str] = {"aspr_acpt_hour": _hhmmss(depth.ts_ns)}
    for side, levels in (("askp", depth.asks), ("bidp", depth.bids)):
        for i in range(10):
            level = levels[i] if i < len(levels) else None
            book[f"{side}{i + 1}"] = num(level.price) if level else "0"
            book[f"{side}_rsqn{i + 1}"] = str(level.size) if level else "0"
    book["total_askp_rsqn"] = str(sum(level.size for level in depth.asks))
    book["total_bidp_rsqn"] = str(sum(level.size for level in depth.bids))
    quote = exchange.quote(symbol)
    info = {"stck_prpr": num(quote.mid.quantize(Decimal(1))), "stck_shrn_iscd": symbol,
            "stck_sdpr": num(exchange.spec(symbol).ref_price), "antc_cnpr": "0"}
    return Reply(ok(kis.INQUIRY_DONE, output1=book, output2=info))


# -- paging -------------------------------------------------------------------------------
def _fk(data: Mapping[str, Any]) -> str:
    return str(data.get("CTX_AREA_FK100", "") or "")


def _page(rows: list[dict[str, str]], key: str, data: Mapping[str, Any], descending: bool,
          continuing: bool, size: int) -> tuple[list[dict[str, str]], str, str]:
    """One page after the continuation key (the last key of the previous page); the
    ``tr_cont`` answer header (F/M: more follows; D/E: the last page) and the next key."""
    after = str(data.get("CTX_AREA_NK100", "") or "").strip() if continuing else ""
    if after:
        rows = [r for r in rows if (r[key] < after if descending else r[key] > after)]
    page, more = rows[:size], len(rows) > size
    cont = ("M" if continuing else "F") if more else ("E" if continuing else "D")
    return page, cont, page[-1][key] if more else ""


def _hhmmss(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, KST).strftime("%H%M%S")
