"""The paper exchange's reading of KIS's contract: tr_ids, answer codes, page sizes.

Written independently of the adapter's request code (the two meet only in the
contract tests). Codes seen in KIS's answers in the wild are used as such; where the
public samples show no code for a case, the paper exchange uses its own ``PAPR``
codes, which no KIS server sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Call = Literal["buy", "sell", "revise_cancel", "daily", "cancellable", "balance", "asking"]

# path -> {tr_id: call}; legacy ids (TTTC0802U, TTTC0801U, TTTC0803U, TTTC8001R) included
ROUTES: dict[str, dict[str, Call]] = {
    "/uapi/domestic-stock/v1/trading/order-cash": {
        "TTTC0012U": "buy", "VTTC0012U": "buy", "TTTC0802U": "buy", "VTTC0802U": "buy",
        "TTTC0011U": "sell", "VTTC0011U": "sell", "TTTC0801U": "sell", "VTTC0801U": "sell",
    },
    "/uapi/domestic-stock/v1/trading/order-rvsecncl": {
        "TTTC0013U": "revise_cancel", "VTTC0013U": "revise_cancel",
        "TTTC0803U": "revise_cancel", "VTTC0803U": "revise_cancel",
    },
    "/uapi/domestic-stock/v1/trading/inquire-daily-ccld": {
        "TTTC0081R": "daily", "VTTC0081R": "daily", "CTSC9215R": "daily", "VTSC9215R": "daily",
        "TTTC8001R": "daily", "VTTC8001R": "daily",
    },
    "/uapi/domestic-stock/v1/trading/inquire-psbl-rvsecncl": {"TTTC0084R": "cancellable"},
    "/uapi/domestic-stock/v1/trading/inquire-balance": {
        "TTTC8434R": "balance", "VTTC8434R": "balance",
    },
    "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn": {
        "FHKST01010200": "asking",
    },
}
NOTICE_TR_IDS = ("H0STCNI0", "H0STCNI9")
MAX_SUBSCRIPTIONS = 40
WS_PATH = "/tryitout"


def is_virtual(tr_id: str) -> bool:
    return tr_id.startswith("V")


def page_rows(call: Call, virtual: bool) -> int:
    """Rows per page: daily orders 100 real / 15 virtual, balance 50 / 20, cancellable 50."""
    if call == "daily":
        return 15 if virtual else 100
    if call == "balance":
        return 20 if virtual else 50
    return 50


@dataclass(frozen=True, slots=True)
class Answer:
    msg_cd: str
    msg1: str


ORDER_DONE = Answer("APBK0013", "주문 전송 완료 되었습니다.")
VIRTUAL_DONE = {
    "buy": Answer("40600000", "모의투자 매수주문이 완료 되었습니다."),
    "sell": Answer("40600000", "모의투자 매도주문이 완료 되었습니다."),
    "revise": Answer("40610000", "모의투자 정정주문이 완료 되었습니다."),
    "cancel": Answer("40620000", "모의투자 취소주문이 완료 되었습니다."),
}
INQUIRY_DONE = Answer("KIOK0510", "조회가 완료되었습니다")
INQUIRY_EMPTY = Answer("KIOK0560", "조회할 내용이 없습니다")
INSUFFICIENT_CASH = Answer("APBK0919", "주문가능금액을 초과 했습니다")
UNKNOWN_SYMBOL = Answer("APBK0656", "해당종목정보가 없습니다.")
MARKET_CLOSED = Answer("APBK0918", "장운영시간이 아닙니다.")
BAD_TICK = Answer("APBK0506", "호가단위가 올바르지 않습니다.")
OUT_OF_BAND = Answer("PAPR0004", "가격제한폭을 벗어난 주문입니다. (paper)")
NOTHING_TO_REVISE = Answer("PAPR0001", "정정/취소할 수 있는 잔량이 없습니다. (paper)")
BAD_INPUT = Answer("PAPR0002", "입력 값이 올바르지 않습니다. (paper)")
REJECTED = Answer("PAPR0003", "주문이 거부되었습니다. (paper: simulated reject)")
UNKNOWN_SERVICE = Answer("OPSQ0002", "없는 서비스 코드 입니다")
THROTTLED = Answer("EGW00201", "초당 거래건수를 초과하였습니다.")
TOKEN_EXPIRED = Answer("EGW00123", "기간이 만료된 token 입니다.")
TOKEN_INVALID = Answer("EGW00121", "유효하지 않은 token 입니다.")
TOKEN_TOO_SOON = Answer("EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)")
