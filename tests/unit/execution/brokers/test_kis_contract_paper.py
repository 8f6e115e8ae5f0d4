"""Contract tests of the paper exchange: requests written from the spec (not with the
adapter's code), answers checked for KIS's field names, letter case, codes and paging."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest

from execution.brokers.kis import wire
from execution.market_session import KST
from execution.paper import PaperExchange, PaperFaults, PaperSettings
from execution.paper.serve import running

T = "/uapi/domestic-stock/v1/trading"
START = datetime(2024, 6, 3, 10, 0, tzinfo=KST)
ACCOUNT = {"CANO": "50000000", "ACNT_PRDT_CD": "01"}


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str, exchange: PaperExchange) -> None:
        self.session, self.url, self.exchange = session, url, exchange
        self.token = ""
        self.app_key = "PSpaperKEY"

    async def login(self) -> None:
        async with self.session.post(self.url + "/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": self.app_key,
                "appsecret": "paperSECRET"}) as resp:
            self.token = (await resp.json())["access_token"]

    def headers(self, tr_id: str, tr_cont: str = "") -> dict[str, str]:
        return {"content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {self.token}", "appkey": self.app_key,
                "appsecret": "paperSECRET", "tr_id": tr_id, "custtype": "P", "tr_cont": tr_cont}

    async def post(self, path: str, tr_id: str, body: dict[str, Any]
                   ) -> tuple[int, dict[str, Any], dict[str, str]]:
        async with self.session.post(self.url + path, data=json.dumps(body),
                                     headers=self.headers(tr_id)) as resp:
            return resp.status, _body(await resp.text()), dict(resp.headers)

    async def get(self, path: str, tr_id: str, query: dict[str, str], tr_cont: str = ""
                  ) -> tuple[int, dict[str, Any], dict[str, str]]:
        async with self.session.get(self.url + path, params=query,
                                    headers=self.headers(tr_id, tr_cont)) as resp:
            return resp.status, _body(await resp.text()), dict(resp.headers)

    async def buy(self, qty: int = 10, price: str = "75000", tr_id: str = "VTTC0012U",
                  symbol: str = "005930") -> dict[str, Any]:
        _, body, _ = await self.post(f"{T}/order-cash", tr_id, ACCOUNT | {
            "PDNO": symbol, "ORD_DVSN": "00", "ORD_QTY": str(qty), "ORD_UNPR": price,
            "EXCG_ID_DVSN_CD": "KRX", "SLL_TYPE": "", "CNDT_PRIC": ""})
        return body


def _body(text: str) -> dict[str, Any]:
    """A KIS JSON answer, or {} for a plain-text failure page."""
    body: dict[str, Any] = json.loads(text) if text.startswith("{") else {}
    return body


def paper(test: Callable[[Client], Awaitable[None]], **settings: Any) -> None:
    async def main() -> None:
        settings.setdefault("start", START)
        async with running(PaperSettings(**settings)) as (exchange, url), \
                aiohttp.ClientSession() as session:
            client = Client(session, url, exchange)
            await client.login()
            await test(client)
    asyncio.run(main())


def daily_query(**values: str) -> dict[str, str]:
    return ACCOUNT | {"INQR_STRT_DT": "20240603", "INQR_END_DT": "20240603",
                      "SLL_BUY_DVSN_CD": "00", "INQR_DVSN": "00", "PDNO": "", "CCLD_DVSN": "00",
                      "ORD_GNO_BRNO": "", "ODNO": "", "INQR_DVSN_3": "00", "INQR_DVSN_1": "",
                      "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""} | values


def test_tokens_and_the_approval_key() -> None:
    async def test(client: Client) -> None:
        async with client.session.post(client.url + "/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": "other", "appsecret": "s"}) as r:
            body = await r.json()
        assert set(body) == {"access_token", "token_type", "expires_in",
                             "access_token_token_expired"}
        assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
        assert body["access_token_token_expired"] == "2024-06-04 10:00:00"
        async with client.session.post(client.url + "/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": "other", "appsecret": "s"}) as r:
            assert r.status == 403 and (await r.json())["error_code"] == "EGW00133"
        async with client.session.post(client.url + "/oauth2/Approval", json={
                "grant_type": "client_credentials", "appkey": "other", "secretkey": "s"}) as r:
            assert set(await r.json()) == {"approval_key"}

    paper(test)


@pytest.mark.parametrize("tr_id, msg_cd", [("TTTC0012U", "APBK0013"), ("VTTC0012U", "40600000"),
                                           ("TTTC0802U", "APBK0013")])
def test_order_cash_answers_upper_case_output(tr_id: str, msg_cd: str) -> None:
    async def test(client: Client) -> None:
        body = await client.buy(tr_id=tr_id)
        assert (body["rt_cd"], body["msg_cd"]) == ("0", msg_cd) and body["msg1"]
        output = body["output"]
        assert set(output) == {"KRX_FWDG_ORD_ORGNO", "ODNO", "ORD_TMD"}
        assert len(output["ODNO"]) == 10 and output["ODNO"].isdigit()
        assert len(output["ORD_TMD"]) == 6 and output["ORD_TMD"].startswith("10")

    paper(test)


def test_order_refusals() -> None:
    async def test(client: Client) -> None:
        assert (await client.buy(symbol="999999"))["msg_cd"] == "APBK0656"
        assert (await client.buy(qty=10_000, price="75000"))["msg_cd"] == "APBK0919"
        assert (await client.buy(price="75050"))["msg_cd"] == "APBK0506"  # off the tick ladder
        _, body, _ = await client.post(f"{T}/order-cash", "VTTC0012U", ACCOUNT | {
            "PDNO": "005930", "ORD_DVSN": "00", "ORD_QTY": 10, "ORD_UNPR": "75000"})
        assert body["rt_cd"] == "1" and "ORD_QTY must be a string" in body["msg1"]
        _, body, _ = await client.post(f"{T}/order-cash", "VTTC9999U", {})
        assert (body["rt_cd"], body["msg_cd"]) == ("1", "OPSQ0002")

    paper(test, cash_krw=Decimal(1_000_000))


def test_auth_failures_are_gateway_errors() -> None:
    async def test(client: Client) -> None:
        good = client.token
        client.token = "forged"
        status, body, _ = await client.post(f"{T}/order-cash", "VTTC0012U", {})
        assert (status, body["msg_cd"]) == (500, "EGW00121")
        client.token = good
        client.exchange.expire_tokens()
        status, body, _ = await client.post(f"{T}/order-cash", "VTTC0012U", {})
        assert (status, body["rt_cd"], body["msg_cd"]) == (500, "1", "EGW00123")

    paper(test)


def test_revise_answers_a_new_odno_and_cancel_a_cancel_order() -> None:
    async def test(client: Client) -> None:
        first = (await client.buy(price="74000"))["output"]
        revise = ACCOUNT | {"KRX_FWDG_ORD_ORGNO": first["KRX_FWDG_ORD_ORGNO"],
                            "ORGN_ODNO": first["ODNO"], "ORD_DVSN": "00",
                            "RVSE_CNCL_DVSN_CD": "01", "ORD_QTY": "0", "ORD_UNPR": "74100",
                            "QTY_ALL_ORD_YN": "Y", "EXCG_ID_DVSN_CD": "KRX"}
        _, body, _ = await client.post(f"{T}/order-rvsecncl", "VTTC0013U", revise)
        assert body["rt_cd"] == "0" and body["msg_cd"] == "40610000"
        second = body["output"]["ODNO"]
        assert second != first["ODNO"]
        cancel = revise | {"ORGN_ODNO": second, "RVSE_CNCL_DVSN_CD": "02", "ORD_UNPR": "0"}
        _, body, _ = await client.post(f"{T}/order-rvsecncl", "TTTC0013U", cancel)
        assert body["rt_cd"] == "0" and body["output"]["ODNO"] not in (first["ODNO"], second)
        _, body, _ = await client.post(f"{T}/order-rvsecncl", "TTTC0013U", cancel)
        assert (body["rt_cd"], body["msg_cd"]) == ("1", "PAPR0001")
        _, daily, _ = await client.get(f"{T}/inquire-daily-ccld", "VTTC0081R", daily_query())
        rows = {r["odno"]: r for r in daily["output1"]}
        assert rows[second]["orgn_odno"] == first["ODNO"] and rows[second]["cncl_yn"] == "N"
        assert rows[first["ODNO"]]["rmn_qty"] == "0" and rows[second]["rmn_qty"] == "0"
        cancels = [r for r in daily["output1"] if r["cncl_yn"] == "Y"]
        assert len(cancels) == 1 and cancels[0]["orgn_odno"] == second
        assert cancels[0]["ord_qty"] == "10" and rows[second]["cnc_cfrm_qty"] == "10"

    paper(test)


DAILY_ROW_KEYS = {"ord_dt", "ord_gno_brno", "odno", "orgn_odno", "sll_buy_dvsn_cd", "pdno",
                  "ord_qty", "ord_unpr", "ord_tmd", "tot_ccld_qty", "avg_prvs", "cncl_yn",
                  "rmn_qty", "rjct_qty", "cnc_cfrm_qty", "ord_dvsn_cd", "tot_ccld_amt"}


@pytest.mark.parametrize("tr_id, rows", [("VTTC0081R", 15), ("TTTC0081R", 100)])
def test_daily_orders_are_lower_case_and_paged(tr_id: str, rows: int) -> None:
    async def test(client: Client) -> None:
        for _ in range(rows + 5):
            await client.buy(qty=1, price="74000")
        pages, tr_cont, query = [], "", daily_query()
        while True:
            status, body, headers = await client.get(f"{T}/inquire-daily-ccld", tr_id, query,
                                                     tr_cont)
            assert status == 200 and body["rt_cd"] == "0"
            pages.append(body["output1"])
            if headers["tr_cont"] not in ("F", "M"):
                break
            tr_cont = "N"
            query = query | {"CTX_AREA_FK100": body["ctx_area_fk100"],
                             "CTX_AREA_NK100": body["ctx_area_nk100"]}
        assert [len(p) for p in pages] == [rows, 5]
        odnos = [r["odno"] for p in pages for r in p]
        assert odnos == sorted(odnos, reverse=True) and len(set(odnos)) == rows + 5
        assert set(pages[0][0]) >= DAILY_ROW_KEYS and all(k.islower() for k in pages[0][0]
                                                          if k != "excg_id_dvsn_Cd")
        assert set(body["output2"]) >= {"tot_ord_qty", "tot_ccld_qty", "tot_ccld_amt"}

    paper(test)


def test_cancellable_orders_balance_and_asking_price() -> None:
    async def test(client: Client) -> None:
        placed = (await client.buy(price="74000"))["output"]["ODNO"]
        _, body, _ = await client.get(f"{T}/inquire-psbl-rvsecncl", "TTTC0084R", ACCOUNT | {
            "INQR_DVSN_1": "0", "INQR_DVSN_2": "0", "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""})
        assert [(r["odno"], r["psbl_qty"]) for r in body["output"]] == [(placed, "10")]
        _, body, _ = await client.get(f"{T}/inquire-balance", "VTTC8434R", ACCOUNT | {
            "AFHR_FLPR_YN": "N", "OFL_YN": "", "INQR_DVSN": "02", "UNPR_DVSN": "01",
            "FUND_STTL_ICLD_YN": "N", "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00",
            "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""})
        summary = body["output2"][0]
        assert summary["dnca_tot_amt"] == "1000000000"
        assert Decimal(summary["prvs_rcdl_excc_amt"]) == 1_000_000_000 - 740_000
        _, body, _ = await client.get("/uapi/domestic-stock/v1/quotations/"
                                      "inquire-asking-price-exp-ccn", "FHKST01010200",
                                      {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"})
        book = body["output1"]
        assert {f"askp{i}" for i in range(1, 11)} | {f"bidp_rsqn{i}" for i in range(1, 11)} <= set(
            book)
        assert Decimal(book["bidp1"]) < Decimal(book["askp1"]) and "stck_prpr" in body["output2"]

    paper(test)


def test_the_date_header_is_the_exchange_clock() -> None:
    async def test(client: Client) -> None:
        _, _, headers = await client.get(f"{T}/inquire-daily-ccld", "VTTC0081R", daily_query())
        moment = parsedate_to_datetime(headers["Date"])
        assert abs((moment - START).total_seconds()) < 5

    paper(test)


def test_protocol_faults_throttle_500_and_lost_answers() -> None:
    async def test(client: Client) -> None:
        client.exchange.faults.update({"throttle": 1, "http500": 1})
        status, _, _ = await client.get(f"{T}/inquire-daily-ccld", "VTTC0081R", daily_query())
        assert status == 500  # http500 first: not processed
        status, body, _ = await client.get(f"{T}/inquire-daily-ccld", "VTTC0081R", daily_query())
        assert (status, body["msg_cd"]) == (500, "EGW00201")
        client.exchange.faults.update({"lose": 1})
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.buy()
        _, body, _ = await client.get(f"{T}/inquire-daily-ccld", "VTTC0081R", daily_query())
        assert len(body["output1"]) == 1  # placed all the same
        client.exchange.faults.update({"rate_limit": 2})
        codes = [(await client.get(f"{T}/inquire-daily-ccld", "VTTC0081R", daily_query()))[1]
                 ["rt_cd"] for _ in range(3)]
        assert codes == ["0", "0", "1"]

    paper(test)


def test_fill_notices_are_encrypted_26_field_records_and_pingpong_is_sent() -> None:
    async def test(client: Client) -> None:
        async with client.session.post(client.url + "/oauth2/Approval", json={
                "grant_type": "client_credentials", "appkey": client.app_key,
                "secretkey": "paperSECRET"}) as r:
            approval = (await r.json())["approval_key"]
        async with client.session.ws_connect(client.url.replace("http", "ws") + "/tryitout") as ws:
            await ws.send_str(json.dumps({
                "header": {"approval_key": approval, "custtype": "P", "tr_type": "1",
                           "content-type": "utf-8"},
                "body": {"input": {"tr_id": "H0STCNI9", "tr_key": "htsid"}}}))
            answer = json.loads((await ws.receive()).data)
            assert answer["header"]["tr_id"] == "H0STCNI9"
            assert answer["body"]["msg1"] == "SUBSCRIBE SUCCESS" and answer["body"]["rt_cd"] == "0"
            key, iv = answer["body"]["output"]["key"], answer["body"]["output"]["iv"]
            assert (len(key), len(iv)) == (32, 16)
            await client.buy(qty=10, price="75100")  # marketable: fills at once
            records: list[dict[str, str]] = []
            pings = 0
            while len(records) < 2 or not pings:
                raw = (await asyncio.wait_for(ws.receive(), 5)).data
                if raw.startswith("{"):
                    assert json.loads(raw)["header"]["tr_id"] == "PINGPONG"
                    pings += 1
                    await ws.send_str(raw)
                    continue
                frame = wire.parse_frame(raw)
                assert (frame.encrypted, frame.tr_id, frame.count) == (True, "H0STCNI9", 1)
                fields = wire.decrypt(key, iv, frame.payload).split("^")
                assert len(fields) == 26
                records.append(dict(zip(wire.columns("examples-2025-07"), fields, strict=True)))
            ack, fill = records
            assert (ack["CNTG_YN"], fill["CNTG_YN"]) == ("1", "2")
            assert (fill["CNTG_QTY"], fill["CNTG_UNPR"], fill["STCK_SHRN_ISCD"]) == (
                "10", "75100", "005930")
            assert fill["ODER_NO"] == ack["ODER_NO"] and fill["SELN_BYOV_CLS"] == "02"
            await asyncio.sleep(0.05)
            assert client.exchange.realtime.pongs >= 1

    paper(test, ping_s=0.1, faults=PaperFaults())
