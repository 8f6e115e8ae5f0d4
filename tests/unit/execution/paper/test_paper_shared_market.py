"""The paper exchange runs one market for every account: two accounts, each with its own
app key, token, approval key and HTS id, trade in the same book over real HTTP and a real
WebSocket (the server in-process on a free port). The market is quiet (no flow of others,
next to no liquidity events, a flat fair value), so what trades is what the accounts send."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp

from execution.brokers.kis import wire
from execution.market_session import KST
from execution.paper import PaperExchange, PaperSettings
from execution.paper.serve import running
from execution.simulate.scenario import load_scenario

T = "/uapi/domestic-stock/v1/trading"
ASKING = "/uapi/domestic-stock/v1/quotations/inquire-asking-price-exp-ccn"
SYM = "005930"
CASH = Decimal(10_000_000_000)
FEE_BPS = Decimal("1.5")
QUIET = f"""
version: 1
name: quiet
seed: 20240603
start: "2024-06-03 10:00"
market:
  step_ms: 50
  queue_model: conservative
  depth_levels: 10
  liquidity_tau_s: 10000000
  limit_size_frac: 0.02
  cancel_size_frac: 0.05
  flow: {{rate_per_s: 0, size_frac: 0.0025, size_sigma: 1.2, max_ticks: 2, max_tilt: 0.8}}
  symbols:
    "{SYM}": {{weight: 1, ref_price: 75000, typical_size: 20000, daily_vol: 0.000001}}
latency:
  order_entry: {{model: constant, ms: 0}}
  modify_cancel: {{model: constant, ms: 0}}
  fill_notification: {{model: constant, ms: 0}}
fees:
  commission_bps: {FEE_BPS}
intents:
  size: {{min: 10, max: 100}}
"""


class Trader:
    """One account's client: its own app key and token, and its own notice stream."""

    def __init__(self, session: aiohttp.ClientSession, url: str, cano: str) -> None:
        self.session, self.url, self.cano = session, url, cano
        self.app_key, self.hts_id, self.token = f"PSkey{cano}", f"hts-{cano}", ""
        self.notices: list[dict[str, str]] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def account(self) -> dict[str, str]:
        return {"CANO": self.cano, "ACNT_PRDT_CD": "01"}

    def headers(self, tr_id: str) -> dict[str, str]:
        return {"content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {self.token}", "appkey": self.app_key,
                "appsecret": "secret", "tr_id": tr_id, "custtype": "P"}

    async def login(self) -> None:
        async with self.session.post(self.url + "/oauth2/tokenP", json={
                "grant_type": "client_credentials", "appkey": self.app_key,
                "appsecret": "secret"}) as resp:
            self.token = (await resp.json())["access_token"]

    async def get(self, path: str, tr_id: str, query: dict[str, str]) -> dict[str, Any]:
        async with self.session.get(self.url + path, params=query,
                                    headers=self.headers(tr_id)) as resp:
            assert resp.status == 200, await resp.text()
            body: dict[str, Any] = await resp.json()
        assert body["rt_cd"] == "0", body
        return body

    async def order(self, side: str, qty: int, price: Decimal) -> str:
        """A limit order; its ODNO."""
        tr_id = "VTTC0011U" if side == "sell" else "VTTC0012U"
        async with self.session.post(self.url + f"{T}/order-cash", headers=self.headers(tr_id),
                                     data=json.dumps(self.account | {
                                         "PDNO": SYM, "ORD_DVSN": "00", "ORD_QTY": str(qty),
                                         "ORD_UNPR": str(price), "EXCG_ID_DVSN_CD": "KRX",
                                         "SLL_TYPE": "", "CNDT_PRIC": ""})) as resp:
            body = await resp.json()
        assert body["rt_cd"] == "0", body
        odno: str = body["output"]["ODNO"]
        return odno

    async def cancel(self, odno: str) -> dict[str, Any]:
        """Cancel all of ``odno`` (as this account); the answer."""
        body = self.account | {"KRX_FWDG_ORD_ORGNO": "", "ORGN_ODNO": odno, "ORD_DVSN": "00",
                               "RVSE_CNCL_DVSN_CD": "02", "ORD_QTY": "0", "ORD_UNPR": "0",
                               "QTY_ALL_ORD_YN": "Y", "EXCG_ID_DVSN_CD": "KRX"}
        async with self.session.post(self.url + f"{T}/order-rvsecncl", data=json.dumps(body),
                                     headers=self.headers("VTTC0013U")) as resp:
            answer: dict[str, Any] = await resp.json()
        return answer

    async def admin_orders(self) -> list[str]:
        """The exchange's own records of this account (``/paper/admin/orders``)."""
        async with self.session.get(self.url + "/paper/admin/orders",
                                    params={"account": self.cano + "-01"}) as resp:
            return [o["odno"] for o in (await resp.json())["orders"]]

    async def asking(self) -> dict[str, str]:
        body = await self.get(ASKING, "FHKST01010200",
                              {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": SYM})
        book: dict[str, str] = body["output1"]
        return book

    async def daily(self) -> dict[str, dict[str, str]]:
        day = datetime(2024, 6, 3, tzinfo=KST).strftime("%Y%m%d")
        body = await self.get(f"{T}/inquire-daily-ccld", "VTTC0081R", self.account | {
            "INQR_STRT_DT": day, "INQR_END_DT": day, "SLL_BUY_DVSN_CD": "00",
            "INQR_DVSN": "00", "PDNO": "", "CCLD_DVSN": "00", "ORD_GNO_BRNO": "", "ODNO": "",
            "INQR_DVSN_3": "00", "INQR_DVSN_1": "", "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""})
        return {row["odno"]: row for row in body["output1"]}

    async def cancellable(self) -> dict[str, str]:
        body = await self.get(f"{T}/inquire-psbl-rvsecncl", "TTTC0084R", self.account | {
            "INQR_DVSN_1": "0", "INQR_DVSN_2": "0", "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""})
        return {row["odno"]: row["psbl_qty"] for row in body["output"]}

    async def balance(self) -> tuple[dict[str, str], dict[str, str]]:
        """(held qty by symbol, the summary)."""
        body = await self.get(f"{T}/inquire-balance", "VTTC8434R", self.account | {
            "AFHR_FLPR_YN": "N", "OFL_YN": "", "INQR_DVSN": "02", "UNPR_DVSN": "01",
            "FUND_STTL_ICLD_YN": "N", "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00",
            "CTX_AREA_FK100": "", "CTX_AREA_NK100": ""})
        return {r["pdno"]: r["hldg_qty"] for r in body["output1"]}, body["output2"][0]

    async def listen(self) -> None:
        """Subscribe to this account's fill notices with its own approval key and HTS id."""
        async with self.session.post(self.url + "/oauth2/Approval", json={
                "grant_type": "client_credentials", "appkey": self.app_key,
                "secretkey": "secret"}) as resp:
            approval = (await resp.json())["approval_key"]
        ws = await self.session.ws_connect(self.url.replace("http", "ws") + "/tryitout")
        await ws.send_str(json.dumps({
            "header": {"approval_key": approval, "custtype": "P", "tr_type": "1",
                       "content-type": "utf-8"},
            "body": {"input": {"tr_id": "H0STCNI9", "tr_key": self.hts_id}}}))
        answer = json.loads((await ws.receive()).data)
        assert answer["body"]["msg1"] == "SUBSCRIBE SUCCESS"
        key, iv = answer["body"]["output"]["key"], answer["body"]["output"]["iv"]
        self._reader = asyncio.get_running_loop().create_task(self._read(ws, key, iv))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, key: str, iv: str) -> None:
        async for message in ws:
            raw = message.data
            if not isinstance(raw, str) or raw.startswith("{"):
                continue  # PINGPONG
            frame = wire.parse_frame(raw)
            fields = wire.decrypt(key, iv, frame.payload).split("^")
            self.notices.append(dict(zip(wire.columns("examples-2025-07"), fields, strict=True)))

    def fills(self) -> list[dict[str, str]]:
        return [n for n in self.notices if n["CNTG_YN"] == "2"]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()


Test = Callable[[PaperExchange, Trader, Trader], Awaitable[None]]


def paper(test: Test) -> None:
    async def main() -> None:
        settings = PaperSettings(scenario=load_scenario(text=QUIET), cash_krw=CASH, ping_s=30)
        async with running(settings) as (exchange, url), aiohttp.ClientSession() as session:
            a, b = Trader(session, url, "50000001"), Trader(session, url, "50000002")
            for trader in (a, b):
                await trader.login()
                await trader.listen()
            try:
                await test(exchange, a, b)
            finally:
                await a.close()
                await b.close()
    asyncio.run(main())


async def rest_best_bid(a: Trader, b: Trader, qty: int) -> tuple[str, Decimal, int]:
    """``a`` buys through the whole ask level and rests ``qty`` there, the best bid; the
    quote ``b`` asks for shows it. (ODNO, price, shares bought from the level.)"""
    book = await b.asking()
    price, level = Decimal(book["askp1"]), int(book["askp_rsqn1"])
    odno = await a.order("buy", level + qty, price)
    book = await b.asking()
    assert (Decimal(book["bidp1"]), book["bidp_rsqn1"]) == (price, str(qty))
    assert Decimal(book["askp1"]) > price
    return odno, price, level


async def until(check: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def fee(price: Decimal, qty: int) -> Decimal:
    return price * qty * FEE_BPS / Decimal(10_000)


def test_two_accounts_trade_in_one_book_each_with_its_own_notices_and_records() -> None:
    async def test(exchange: PaperExchange, a: Trader, b: Trader) -> None:
        buy, price, level = await rest_best_bid(a, b, 500)
        sell = await b.order("sell", 200, price)
        assert sell != buy

        def crossed(trader: Trader, odno: str) -> bool:
            return any(n["ODER_NO"] == odno and n["CNTG_QTY"] == "200"
                       and Decimal(n["CNTG_UNPR"]) == price for n in trader.fills())

        await until(lambda: crossed(a, buy) and crossed(b, sell), "both sides' fill notices")
        await asyncio.sleep(0.1)  # anything misrouted would have arrived by now
        for trader, odnos in ((a, {buy}), (b, {sell})):
            assert {n["ODER_NO"] for n in trader.notices} == odnos
            assert {(n["CUST_ID"], n["ACNT_NO"]) for n in trader.notices} == {
                (trader.hts_id, trader.cano + "01")}
        assert [n["SELN_BYOV_CLS"] for n in b.fills()] == ["01"]

        a_daily, b_daily = await a.daily(), await b.daily()
        assert list(a_daily) == [buy] and list(b_daily) == [sell]
        assert (a_daily[buy]["tot_ccld_qty"], a_daily[buy]["rmn_qty"]) == (str(level + 200),
                                                                           "300")
        assert (b_daily[sell]["tot_ccld_qty"], b_daily[sell]["rmn_qty"]) == ("200", "0")
        assert Decimal(b_daily[sell]["avg_prvs"]) == price
        assert await a.cancellable() == {buy: "300"} and await b.cancellable() == {}

        (a_held, a_sum), (b_held, b_sum) = await a.balance(), await b.balance()
        assert a_held == {SYM: str(level + 200)} and b_held == {SYM: "-200"}
        assert Decimal(b_sum["dnca_tot_amt"]) == CASH + price * 200 - fee(price, 200)
        bought = level + 200
        assert Decimal(a_sum["dnca_tot_amt"]) == CASH - price * bought - fee(price, bought)
        assert Decimal(a_sum["prvs_rcdl_excc_amt"]) == Decimal(a_sum["dnca_tot_amt"]) - price * 300
        book = await a.asking()
        assert book["bidp_rsqn1"] == "300"
        async with a.session.get(a.url + "/paper/admin/status") as resp:
            status = await resp.json()
        assert status["market"] == {"started": True, "unrouted_fills": 0}
        assert status["accounts"] == ["50000001-01", "50000002-01"]  # quotes made none

    paper(test)


def test_an_account_does_not_trade_with_its_own_resting_order() -> None:
    """KRX's rules in the spec say nothing of self-trade: within one account the paper
    exchange keeps the simulator's rule, an incoming order passes over its own resting
    orders (another account's are hit)."""
    async def test(exchange: PaperExchange, a: Trader, b: Trader) -> None:
        buy, price, level = await rest_best_bid(a, b, 500)
        own = await a.order("sell", 200, price)
        daily = await a.daily()
        assert (daily[own]["tot_ccld_qty"], daily[own]["rmn_qty"]) == ("0", "200")
        assert daily[buy]["tot_ccld_qty"] == str(level)
        assert await a.cancellable() == {buy: "500", own: "200"}
        other = await b.order("sell", 100, price)  # b's sell hits a's bid
        assert (await b.daily())[other]["tot_ccld_qty"] == "100"
        assert (await a.daily())[buy]["rmn_qty"] == "400"

    paper(test)


def test_order_numbers_are_unique_across_accounts_and_records_stay_apart() -> None:
    async def test(exchange: PaperExchange, a: Trader, b: Trader) -> None:
        bid = Decimal((await a.asking())["bidp1"])
        low = bid - 500  # rests below the touch, never trades in a quiet market
        placed: dict[str, list[str]] = {"a": [], "b": []}
        for _ in range(3):
            placed["a"].append(await a.order("buy", 10, low))
            placed["b"].append(await b.order("buy", 20, low))
        every = placed["a"] + placed["b"]
        assert len(set(every)) == 6 and all(len(o) == 10 and o.isdigit() for o in every)
        assert sorted(await a.daily()) == sorted(placed["a"])
        assert sorted(await b.daily()) == sorted(placed["b"])
        assert sorted(await b.cancellable()) == sorted(placed["b"])
        assert sorted(await a.admin_orders()) == sorted(placed["a"])
        refused = await b.cancel(placed["a"][0])  # another account's order is not b's
        assert (refused["rt_cd"], refused["msg_cd"]) == ("1", "PAPR0001")
        assert sorted(await a.cancellable()) == sorted(placed["a"])
        _, a_sum = await a.balance()
        assert Decimal(a_sum["prvs_rcdl_excc_amt"]) == CASH - low * 30  # only its own reserve
        book = await b.asking()
        level = next(i for i in range(1, 11) if Decimal(book[f"bidp{i}"]) == low)
        assert int(book[f"bidp_rsqn{level}"]) >= 90  # both accounts' orders are in the book

    paper(test)
