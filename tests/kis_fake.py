"""A scripted KIS server for the adapter's contract tests: it records every request
(method, path, headers, query, body) and answers with samples written from the spec
(``../shared/spec/kis-open-api.md`` and KIS's published samples)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Answer = dict[str, Any] | Callable[["Seen"], web.StreamResponse | dict[str, Any]]

TOKEN_ANSWER = {"access_token": "eyJ0eXAiOiJKV1Qi.sample", "token_type": "Bearer",
                "expires_in": 86400, "access_token_token_expired": "2024-06-04 10:00:00"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeKis:
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _repeating: set[str] = field(default_factory=set)

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next calls of ``path`` with ``answers`` (the last one repeats until
        the path is scripted again)."""
        if path in self._repeating:
            self.answers.pop(path, None)
            self._repeating.discard(path)
        self.answers.setdefault(path, []).extend(answers)

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        seen = Seen(request.method, request.path, headers, dict(request.query), body)
        self.seen.append(seen)
        if request.path == "/oauth2/tokenP" and request.path not in self.answers:
            return web.json_response(TOKEN_ANSWER)
        queue = self.answers.get(request.path)
        if not queue:
            return web.json_response({"rt_cd": "1", "msg_cd": "TEST0000",
                                      "msg1": f"unscripted {request.path}"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if not queue[1:]:
            self._repeating.add(request.path)
        result = answer(seen) if callable(answer) else answer
        if isinstance(result, web.StreamResponse):
            return result
        body = dict(result)
        tr_cont = body.pop("_tr_cont", None)
        return web.json_response(body, headers=None if tr_cont is None else {"tr_cont": tr_cont})

    async def start(self) -> FakeKis:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def ok(msg_cd: str = "APBK0013", msg1: str = "주문 전송 완료 되었습니다.", **data: Any
       ) -> dict[str, Any]:
    return {"rt_cd": "0", "msg_cd": msg_cd, "msg1": msg1, **data}


def refused(msg_cd: str, msg1: str) -> dict[str, Any]:
    return {"rt_cd": "1", "msg_cd": msg_cd, "msg1": msg1}


def gateway(msg_cd: str, msg1: str) -> Callable[[Seen], web.StreamResponse]:
    """KIS's gateway errors come as HTTP 500 with a KIS body."""
    return lambda _seen: web.json_response(refused(msg_cd, msg1), status=500)


def order_answer(odno: str, orgno: str = "91252") -> dict[str, Any]:
    return ok(output={"KRX_FWDG_ORD_ORGNO": orgno, "ODNO": odno, "ORD_TMD": "100001"})


def daily_row(odno: str, **values: str) -> dict[str, str]:
    """One ``inquire-daily-ccld`` ``output1`` row (lower-case keys, string values)."""
    row = {"ord_dt": "20240603", "ord_gno_brno": "91252", "odno": odno, "orgn_odno": "",
           "ord_dvsn_name": "지정가", "sll_buy_dvsn_cd": "02", "sll_buy_dvsn_cd_name": "매수",
           "pdno": "005930", "prdt_name": "삼성전자", "ord_qty": "100", "ord_unpr": "75000",
           "ord_tmd": "100001", "tot_ccld_qty": "0", "avg_prvs": "0", "cncl_yn": "N",
           "tot_ccld_amt": "0", "ord_dvsn_cd": "00", "cnc_cfrm_qty": "0", "rmn_qty": "100",
           "rjct_qty": "0"}
    row.update(values)
    return row


def daily_page(rows: list[dict[str, str]], tr_cont: str = "D", nk: str = "",
               msg_cd: str = "KIOK0510") -> dict[str, Any]:
    return ok(msg_cd, "조회가 완료되었습니다", ctx_area_fk100="", ctx_area_nk100=nk,
              output1=rows, output2={"tot_ord_qty": "0", "tot_ccld_qty": "0"},
              _tr_cont=tr_cont)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
