"""Contract tests of the adapter's requests and its reading of KIS's answers, against a
scripted server answering with samples written from the spec (tests/kis_fake.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from kis_fake import (
    FakeKis,
    daily_page,
    daily_row,
    gateway,
    ok,
    order_answer,
    refused,
    run,
)

from execution.broker import (
    BrokerError,
    OrderRejected,
    OrderState,
    RejectReason,
    TransientBrokerError,
    UnknownOrder,
)
from execution.brokers.kis import KisBroker, KisConfig, KisCredentials
from execution.brokers.kis.errors import RealOrdersNotAllowed
from execution.contracts import OrderRequest, PriceType, Side

T = "/uapi/domestic-stock/v1/trading"
ORDER, RVSE, DAILY = f"{T}/order-cash", f"{T}/order-rvsecncl", f"{T}/inquire-daily-ccld"
PSBL, BALANCE = f"{T}/inquire-psbl-rvsecncl", f"{T}/inquire-balance"
ASKING = "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn"
CREDS = KisCredentials("PSappKEYcontract", "SECRETcontract", "htsid1")
BUY = OrderRequest("C-1", "005930", Side.BUY, 100, Decimal(75000), PriceType.LIMIT)
ORDER_BODY_KEYS = {"CANO", "ACNT_PRDT_CD", "PDNO", "ORD_DVSN", "ORD_QTY", "ORD_UNPR",
                   "EXCG_ID_DVSN_CD", "SLL_TYPE", "CNDT_PRIC"}
RVSE_BODY_KEYS = {"CANO", "ACNT_PRDT_CD", "KRX_FWDG_ORD_ORGNO", "ORGN_ODNO", "ORD_DVSN",
                  "RVSE_CNCL_DVSN_CD", "ORD_QTY", "ORD_UNPR", "QTY_ALL_ORD_YN",
                  "EXCG_ID_DVSN_CD"}
DAILY_QUERY_KEYS = {"CANO", "ACNT_PRDT_CD", "INQR_STRT_DT", "INQR_END_DT", "SLL_BUY_DVSN_CD",
                    "INQR_DVSN", "PDNO", "CCLD_DVSN", "ORD_GNO_BRNO", "ODNO", "INQR_DVSN_3",
                    "INQR_DVSN_1", "CTX_AREA_FK100", "CTX_AREA_NK100", "EXCG_ID_DVSN_CD"}

Scenario = Callable[[FakeKis, KisBroker], Awaitable[None]]


def with_broker(scenario: Scenario, mode: str = "virtual", tmp: Path | None = None,
                **changes: Any) -> FakeKis:
    """Run ``scenario`` with a broker (REST open, no background tasks) on a fresh fake."""
    async def main(cache: Path) -> FakeKis:
        fake = await FakeKis().start()
        config = replace(KisConfig(mode=mode, rate_per_s=1000, burst=1000,  # type: ignore[arg-type]
                                   throttled_wait_s=0.01, min_issue_interval_s=0,
                                   token_cache_dir=cache, allow_real_orders=True),
                         **changes).with_urls(fake.url)
        broker = KisBroker(config, CREDS)
        await broker.rest.open()
        try:
            await scenario(fake, broker)
        finally:
            await broker.close()
            await fake.stop()
        return fake
    if tmp is not None:
        result: FakeKis = run(main(tmp))
        return result
    with tempfile.TemporaryDirectory() as cache:  # never a token cached by another test
        result = run(main(Path(cache)))
    return result


def assert_headers(seen: Any, tr_id: str) -> None:
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["authorization"] == "Bearer eyJ0eXAiOiJKV1Qi.sample"
    assert headers["appkey"] == CREDS.app_key and headers["appsecret"] == CREDS.app_secret
    assert headers["tr_id"] == tr_id and headers["custtype"] == "P"


@pytest.mark.parametrize("mode, side, tr_id", [("virtual", Side.BUY, "VTTC0012U"),
                                               ("virtual", Side.SELL, "VTTC0011U"),
                                               ("real", Side.BUY, "TTTC0012U"),
                                               ("real", Side.SELL, "TTTC0011U")])
def test_order_cash_request_and_answer(mode: str, side: Side, tr_id: str) -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117057"))
        ack = await broker.send(replace(BUY, side=side))
        assert (ack.broker_order_id, ack.accepted) == ("0000117057", True)
        order = broker.registry.get("0000117057")
        assert order is not None and order.ref.orgno == "91252"
        # a resend of the same client order id is answered from memory
        assert await broker.send(replace(BUY, side=side)) == ack

    fake = with_broker(scenario, mode)
    token, send = fake.seen[0], fake.calls(ORDER)
    assert token.path == "/oauth2/tokenP" and token.body == {
        "grant_type": "client_credentials", "appkey": CREDS.app_key,
        "appsecret": CREDS.app_secret}
    assert len(send) == 1 and send[0].method == "POST"
    assert_headers(send[0], tr_id)
    body = send[0].body
    assert body is not None and set(body) == ORDER_BODY_KEYS
    assert all(isinstance(v, str) for v in body.values())
    assert (body["CANO"], body["ACNT_PRDT_CD"], body["PDNO"]) == ("50000000", "01", "005930")
    assert (body["ORD_DVSN"], body["ORD_QTY"], body["ORD_UNPR"]) == ("00", "100", "75000")
    assert body["EXCG_ID_DVSN_CD"] == "KRX"


def test_a_market_order_is_ord_dvsn_01_at_price_0() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117058"))
        await broker.send(OrderRequest("C-2", "005930", Side.SELL, 5, None, PriceType.MARKET))

    body = with_broker(scenario).calls(ORDER)[0].body
    assert body is not None and (body["ORD_DVSN"], body["ORD_UNPR"]) == ("01", "0")


@pytest.mark.parametrize("msg_cd, reason", [("APBK0919", RejectReason.INSUFFICIENT_BALANCE),
                                            ("40310000", RejectReason.OTHER),
                                            ("APBK0656", RejectReason.UNKNOWN_SYMBOL),
                                            ("APBK0918", RejectReason.MARKET_CLOSED),
                                            ("APBK0506", RejectReason.INVALID_ORDER),
                                            ("APBK9999", RejectReason.OTHER)])
def test_order_refusals_map_onto_reject_reasons(msg_cd: str, reason: RejectReason) -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, refused(msg_cd, "refused"), order_answer("0000117059"))
        with pytest.raises(OrderRejected) as caught:
            await broker.send(BUY)
        assert caught.value.reason is reason and msg_cd in str(caught.value)
        assert BUY.client_order_id not in broker.registry.in_doubt  # KIS answered: not placed
        # a refused send may be sent again (it was never placed)
        assert (await broker.send(BUY)).broker_order_id == "0000117059"

    with_broker(scenario)


def test_throttling_is_retried_after_a_wait_and_an_expired_token_renewed(tmp_path: Path) -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script("/oauth2/tokenP", {**_token("tok-1")}, {**_token("tok-2")})
        fake.script(ORDER, gateway("EGW00201", "초당 거래건수를 초과하였습니다."),
                    gateway("EGW00123", "기간이 만료된 token 입니다."), order_answer("0000117060"))
        ack = await broker.send(BUY)
        assert ack.broker_order_id == "0000117060"
        assert broker.rest.throttled == 1 and broker.rest.tokens.issued == 2

    fake = with_broker(scenario, tmp=tmp_path)
    auths = [s.headers["authorization"] for s in fake.calls(ORDER)]
    assert auths == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


def _token(token: str) -> dict[str, Any]:
    return {"access_token": token, "token_type": "Bearer", "expires_in": 86400,
            "access_token_token_expired": "2024-06-04 10:00:00"}


def test_gateway_failures_are_transient_and_kis_refusals_are_not() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(BALANCE, gateway("EGW00001", "일시적인 오류가 발생했습니다."),
                    refused("OPSQ0002", "없는 서비스 코드 입니다"))
        with pytest.raises(TransientBrokerError, match="EGW00001"):
            await broker.refresh_balance()
        with pytest.raises(BrokerError) as caught:
            await broker.refresh_balance()
        assert not isinstance(caught.value, TransientBrokerError)

    with_broker(scenario)


def test_throttled_past_the_retries_is_transient() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(BALANCE, gateway("EGW00201", "초당 거래건수를 초과하였습니다."))
        with pytest.raises(TransientBrokerError, match="still throttled after 2 retries"):
            await broker.refresh_balance()

    fake = with_broker(scenario, throttled_retries=2)
    assert len(fake.calls(BALANCE)) == 3


def test_a_lost_send_is_looked_up_before_it_is_ever_sent_again() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, lambda _s: web.Response(status=500, text="Internal Server Error"))
        with pytest.raises(TransientBrokerError):
            await broker.send(BUY)
        assert BUY.client_order_id in broker.registry.in_doubt
        # the daily orders show it was placed (with another order of the same details
        # that is older than the send: not ours)
        fake.script(DAILY, daily_page([daily_row("0000117062", ord_gno_brno="06010"),
                                       daily_row("0000000001", ord_tmd="000001")]))
        ack = await broker.send(BUY)
        assert ack.broker_order_id == "0000117062"
        adopted = broker.registry.get("0000117062")
        assert adopted is not None and adopted.ref.orgno == "06010"  # to cancel it with

    fake = with_broker(scenario)
    assert len(fake.calls(ORDER)) == 1  # never sent twice
    query = fake.calls(DAILY)[0].query
    assert set(query) == DAILY_QUERY_KEYS
    assert_headers(fake.calls(DAILY)[0], "VTTC0081R")
    assert (query["INQR_DVSN"], query["CCLD_DVSN"], query["SLL_BUY_DVSN_CD"]) == ("00", "00",
                                                                               "00")


def test_find_order_by_client_id_or_by_details() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117090"))
        await broker.send(BUY)
        fake.script(DAILY, daily_page([daily_row("0000117091", pdno="000660", ord_unpr="180000"),
                                       daily_row("0000117090")]))
        known = await broker.find_order(BUY)
        assert known is not None and (known.broker_order_id, known.client_order_id) == (
            "0000117090", "C-1")
        other = OrderRequest("C-7", "000660", Side.BUY, 100, Decimal(180000), PriceType.LIMIT)
        found = await broker.find_order(other)  # placed by a process that did not hear back
        assert found is not None and found.broker_order_id == "0000117091"
        assert found.client_order_id == "C-7" and found.state is OrderState.LIVE
        missing = OrderRequest("C-8", "035720", Side.SELL, 5, Decimal(45000), PriceType.LIMIT)
        assert await broker.find_order(missing) is None

    with_broker(scenario)


def test_a_lost_send_not_found_is_sent_once_more() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, lambda _s: web.Response(status=502, text="Bad Gateway"),
                    order_answer("0000117063"))
        with pytest.raises(TransientBrokerError):
            await broker.send(BUY)
        fake.script(DAILY, daily_page([], msg_cd="KIOK0560"))
        assert (await broker.send(BUY)).broker_order_id == "0000117063"

    assert len(with_broker(scenario).calls(ORDER)) == 2


def test_revise_adopts_the_new_odno_and_cancel_uses_it() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117064", orgno="06010"))
        fake.script(RVSE, ok(output={"KRX_FWDG_ORD_ORGNO": "06010", "ODNO": "0000117065",
                                     "ORD_TMD": "100002"}),
                    ok(output={"KRX_FWDG_ORD_ORGNO": "06010", "ODNO": "0000117066",
                               "ORD_TMD": "100003"}))
        await broker.send(BUY)
        ack = await broker.modify("0000117064", Decimal(75100), None)
        assert ack.broker_order_id == "0000117065"
        old, new = broker.registry.get("0000117064"), broker.registry.get("0000117065")
        assert old is not None and new is not None
        assert (old.state, old.replaced_by, new.origin) == (OrderState.REPLACED, "0000117065",
                                                            "0000117064")
        with pytest.raises(UnknownOrder):
            await broker.modify("0000117064", Decimal(75200), None)
        assert await broker.cancel("0000117064") is False  # replaced: not live any more
        assert await broker.cancel("0000117065") is True

    revise, cancel = with_broker(scenario).calls(RVSE)
    for seen in (revise, cancel):
        assert_headers(seen, "VTTC0013U")
        assert seen.body is not None and set(seen.body) == RVSE_BODY_KEYS
    assert revise.body is not None and cancel.body is not None
    assert (revise.body["ORGN_ODNO"], revise.body["KRX_FWDG_ORD_ORGNO"]) == ("0000117064",
                                                                            "06010")
    assert (revise.body["RVSE_CNCL_DVSN_CD"], revise.body["ORD_UNPR"],
            revise.body["QTY_ALL_ORD_YN"]) == ("01", "75100", "Y")
    assert (cancel.body["ORGN_ODNO"], cancel.body["RVSE_CNCL_DVSN_CD"],
            cancel.body["QTY_ALL_ORD_YN"]) == ("0000117065", "02", "Y")


def test_reducing_an_order_is_a_partial_cancel_and_keeps_its_odno() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117080"))
        fake.script(RVSE, ok(output={"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": "0000117081",
                                     "ORD_TMD": "100002"}),
                    ok(output={"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": "0000117082",
                               "ORD_TMD": "100003"}),
                    ok(output={"KRX_FWDG_ORD_ORGNO": "91252", "ODNO": "0000117083",
                               "ORD_TMD": "100004"}))
        await broker.send(BUY)
        ack = await broker.modify("0000117080", Decimal(75000), 60)  # same price: reduce
        assert ack.broker_order_id == "0000117080"
        order = broker.registry.get("0000117080")
        assert order is not None and order.qty == 60 and order.live
        ack = await broker.modify("0000117080", Decimal(75100), 50)  # reduce, then revise
        assert ack.broker_order_id == "0000117083"

    calls = with_broker(scenario).calls(RVSE)
    bodies = [c.body for c in calls]
    assert [(b["RVSE_CNCL_DVSN_CD"], b["ORD_QTY"], b["QTY_ALL_ORD_YN"]) for b in bodies
            if b is not None] == [("02", "40", "N"), ("02", "10", "N"), ("01", "0", "Y")]


def test_a_refused_cancel_of_a_filled_order_is_false() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117067"))
        fake.script(RVSE, refused("APBK0344", "정정취소 가능수량이 없습니다"))
        fake.script(DAILY, daily_page([daily_row("0000117067", tot_ccld_qty="100",
                                                 avg_prvs="75000", rmn_qty="0")]))
        await broker.send(BUY)
        assert await broker.cancel("0000117067") is False
        status = await broker.order_status("0000117067")
        assert (status.state, status.filled_qty, status.avg_price) == (OrderState.FILLED, 100,
                                                                       Decimal(75000))
        assert [e.event_id for e in broker.journal.events] == ["0000117067:100"]

    with_broker(scenario)


def test_daily_orders_page_with_tr_cont_and_the_context_keys() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(DAILY, daily_page([daily_row("0000000003", rmn_qty="0", tot_ccld_qty="100",
                                                 avg_prvs="75000")], "F", nk="KEY1"),
                    daily_page([daily_row("0000000002", rmn_qty="0", cncl_yn="N")], "M",
                               nk="KEY2"),
                    daily_page([daily_row("0000000001", rmn_qty="40", tot_ccld_qty="60",
                                          avg_prvs="75000")], "D"))
        status = await broker.order_status("0000000001")
        assert (status.state, status.filled_qty) == (OrderState.LIVE, 60)
        assert (await broker.order_status("0000000003")).state is OrderState.FILLED

    calls = with_broker(scenario).calls(DAILY)
    assert [c.headers.get("tr_cont", "") for c in calls[:3]] == ["", "N", "N"]
    assert [c.query["CTX_AREA_NK100"] for c in calls[:3]] == ["", "KEY1", "KEY2"]


def test_revise_and_cancel_rows_give_replaced_and_cancelled() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(DAILY, daily_page([
            daily_row("0000000012", orgn_odno="0000000011", cncl_yn="Y", ord_qty="70",
                      rmn_qty="0"),
            daily_row("0000000011", orgn_odno="0000000010", ord_qty="70", rmn_qty="0"),
            daily_row("0000000010", tot_ccld_qty="30", avg_prvs="75000", rmn_qty="0")]))
        old = await broker.order_status("0000000010")
        assert (old.state, old.replaced_by, old.filled_qty) == (OrderState.REPLACED,
                                                                "0000000011", 30)
        assert (await broker.order_status("0000000011")).state is OrderState.CANCELLED
        with pytest.raises(UnknownOrder):
            await broker.order_status("0000000099")

    with_broker(scenario)


def test_real_open_orders_read_the_cancellable_orders() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(ORDER, order_answer("0000117070"), order_answer("0000117071"))
        await broker.send(BUY)
        await broker.send(replace(BUY, client_order_id="C-9"))
        fake.script(PSBL, ok("KIOK0510", "조회가 완료되었습니다", ctx_area_fk100="",
                             ctx_area_nk100="", output=[{"odno": "0000117070", "psbl_qty": "100",
                                                         "ord_qty": "100", "pdno": "005930"}]))
        fake.script(DAILY, daily_page([daily_row("0000117071", tot_ccld_qty="100",
                                                 avg_prvs="75000", rmn_qty="0")]))
        assert await broker.open_orders() == ["0000117070"]

    fake = with_broker(scenario, "real")
    psbl = fake.calls(PSBL)[0]
    assert_headers(psbl, "TTTC0084R")
    assert set(psbl.query) == {"CANO", "ACNT_PRDT_CD", "INQR_DVSN_1", "INQR_DVSN_2",
                               "CTX_AREA_FK100", "CTX_AREA_NK100"}


def test_balance_and_asking_price() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        fake.script(BALANCE, ok("KIOK0510", "조회가 완료되었습니다", ctx_area_fk100="",
                                ctx_area_nk100="", output1=[],
                                output2=[{"dnca_tot_amt": "10000000",
                                          "prvs_rcdl_excc_amt": "9500000"}]))
        fake.script(ASKING, ok("KIOK0510", "조회가 완료되었습니다",
                               output1={"askp1": "75100", "bidp1": "75000",
                                        "askp_rsqn1": "1200", "bidp_rsqn1": "900"},
                               output2={"stck_prpr": "75000"}))
        await broker.refresh_balance()
        assert broker.available_cash() == Decimal(9_500_000)
        broker.journal.on_total("0000000001", "005930", Side.BUY, 10, Decimal(75000), 0, 10)
        assert broker.available_cash() == Decimal(9_500_000 - 750_000) - Decimal("112.50")
        assert await broker.watch("005930")
        quote = broker.quote("005930")
        assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (
            Decimal(75000), Decimal(75100), 900, 1200)
        fake.script(ASKING, refused("APBK0656", "해당종목정보가 없습니다."))
        assert not await broker.watch("999999")
        with pytest.raises(OrderRejected) as caught:
            broker.quote("999999")
        assert caught.value.reason is RejectReason.UNKNOWN_SYMBOL

    fake = with_broker(scenario)
    balance, asking = fake.calls(BALANCE)[0], fake.calls(ASKING)[0]
    assert_headers(balance, "VTTC8434R")
    assert {"CANO", "ACNT_PRDT_CD", "AFHR_FLPR_YN", "INQR_DVSN", "UNPR_DVSN",
            "FUND_STTL_ICLD_YN", "FNCG_AMT_AUTO_RDPT_YN", "PRCS_DVSN"} <= set(balance.query)
    assert_headers(asking, "FHKST01010200")
    assert asking.query == {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}


def test_real_orders_need_the_opt_in() -> None:
    async def scenario(fake: FakeKis, broker: KisBroker) -> None:
        with pytest.raises(RealOrdersNotAllowed, match="--i-mean-real-money"):
            await broker.send(BUY)

    assert with_broker(scenario, "real", allow_real_orders=False).calls(ORDER) == []
