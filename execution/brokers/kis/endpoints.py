"""The adapter's side of KIS's REST contract: paths, tr_ids and request bodies.

Bodies and query parameters are upper case, all values strings (KIS's samples); the
paper exchange has its own, separately written, reading of the same contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from execution.brokers.kis.config import KisConfig, Mode
from execution.contracts import OrderRequest, PriceType, Side

TRADING = "/uapi/domestic-stock/v1/trading"
ORDER_CASH = f"{TRADING}/order-cash"
ORDER_RVSECNCL = f"{TRADING}/order-rvsecncl"
PSBL_RVSECNCL = f"{TRADING}/inquire-psbl-rvsecncl"
DAILY_CCLD = f"{TRADING}/inquire-daily-ccld"
BALANCE = f"{TRADING}/inquire-balance"
ASKING_PRICE = "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn"
FILL_NOTICE = {"real": "H0STCNI0", "virtual": "H0STCNI9"}

# call -> (real tr_id, virtual tr_id); None: KIS has no virtual version of the call
TR_IDS: dict[str, tuple[str, str | None]] = {
    "buy": ("TTTC0012U", "VTTC0012U"),
    "sell": ("TTTC0011U", "VTTC0011U"),
    "revise_cancel": ("TTTC0013U", "VTTC0013U"),
    "cancellable": ("TTTC0084R", None),
    "daily": ("TTTC0081R", "VTTC0081R"),
    "balance": ("TTTC8434R", "VTTC8434R"),
    "asking_price": ("FHKST01010200", "FHKST01010200"),
}
LIMIT, MARKET = "00", "01"  # ORD_DVSN
REVISE, CANCEL = "01", "02"  # RVSE_CNCL_DVSN_CD
SELL_CODE, BUY_CODE = "01", "02"  # SLL_BUY_DVSN_CD / SELN_BYOV_CLS


def tr_id(call: str, mode: Mode) -> str:
    real, virtual = TR_IDS[call]
    chosen = real if mode == "real" else virtual
    if chosen is None:
        raise ValueError(f"KIS has no {mode} tr_id for {call}")
    return chosen


def side_code(side: Side) -> str:
    return BUY_CODE if side is Side.BUY else SELL_CODE


def price_text(price: Decimal | None) -> str:
    """KRW prices are whole numbers; a market order's price is "0"."""
    return "0" if price is None else str(int(price))


def _account(config: KisConfig) -> dict[str, str]:
    return {"CANO": config.cano, "ACNT_PRDT_CD": config.product_code}


def order_body(config: KisConfig, order: OrderRequest) -> dict[str, str]:
    market = order.price_type is PriceType.MARKET
    return _account(config) | {
        "PDNO": order.symbol,
        "ORD_DVSN": MARKET if market else LIMIT,
        "ORD_QTY": str(order.qty),
        "ORD_UNPR": price_text(None if market else order.price),
        "EXCG_ID_DVSN_CD": config.exchange_id,
        "SLL_TYPE": "01" if order.side is Side.SELL else "",
        "CNDT_PRIC": "",
    }


@dataclass(frozen=True, slots=True)
class OrderRef:
    """How KIS names an order: its number and the org number of its KRX forwarding."""

    odno: str
    orgno: str


def revise_body(config: KisConfig, ref: OrderRef, *, cancel: bool, qty: int | None,
                price: Decimal | None) -> dict[str, str]:
    """Revise (new price; ``qty`` None = all that is left) or cancel (``qty`` None = all)."""
    market = not cancel and price is None
    return _account(config) | {
        "KRX_FWDG_ORD_ORGNO": ref.orgno,
        "ORGN_ODNO": ref.odno,
        "ORD_DVSN": MARKET if market else LIMIT,
        "RVSE_CNCL_DVSN_CD": CANCEL if cancel else REVISE,
        "ORD_QTY": "0" if qty is None else str(qty),
        "ORD_UNPR": "0" if cancel or market else price_text(price),
        "QTY_ALL_ORD_YN": "Y" if qty is None else "N",
        "EXCG_ID_DVSN_CD": config.exchange_id,
    }


def daily_params(config: KisConfig, day: str, *, odno: str = "", symbol: str = "",
                 newest_first: bool = True) -> dict[str, str]:
    return _account(config) | {
        "INQR_STRT_DT": day, "INQR_END_DT": day, "SLL_BUY_DVSN_CD": "00",
        "INQR_DVSN": "00" if newest_first else "01", "PDNO": symbol, "CCLD_DVSN": "00",
        "ORD_GNO_BRNO": "", "ODNO": odno, "INQR_DVSN_3": "00", "INQR_DVSN_1": "",
        "CTX_AREA_FK100": "", "CTX_AREA_NK100": "", "EXCG_ID_DVSN_CD": config.exchange_id,
    }


def cancellable_params(config: KisConfig) -> dict[str, str]:
    return _account(config) | {"INQR_DVSN_1": "0", "INQR_DVSN_2": "0",
                               "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""}


def balance_params(config: KisConfig) -> dict[str, str]:
    return _account(config) | {
        "AFHR_FLPR_YN": "N", "OFL_YN": "", "INQR_DVSN": "02", "UNPR_DVSN": "01",
        "FUND_STTL_ICLD_YN": "N", "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00",
        "CTX_AREA_FK100": "", "CTX_AREA_NK100": "",
    }


def asking_price_params(symbol: str) -> dict[str, str]:
    return {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol}
