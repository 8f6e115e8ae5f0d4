"""The REST client: headers, the per-app-key token bucket, KIS answers, paging.

Every call waits for a token of the app key's bucket (order calls first), sends KIS's
headers (``authorization``, ``appkey``, ``appsecret``, ``tr_id``, ``custtype``,
``tr_cont``) and reads ``rt_cd``/``msg_cd``/``msg1``. A throttled answer (EGW00201) is
retried after a wait, an expired token (EGW00123) once after issuing a new one;
anything else KIS refuses raises :class:`KisAnswerError`, and a request that got no
answer at all raises :class:`BrokerDisconnected`. Errors never carry headers, query
strings or bodies (the account number and the secrets stay out of every message).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from execution.brokers.kis.auth import TokenManager
from execution.brokers.kis.clock import ServerClock
from execution.brokers.kis.config import KisConfig, KisCredentials
from execution.brokers.kis.errors import (
    KisAnswerError,
    KisServerError,
    KisThrottled,
    transport_error,
)
from execution.brokers.kis.limiter import NORMAL, URGENT, bucket_for

log = logging.getLogger("execution.brokers.kis.rest")
MORE = ("F", "M")  # response tr_cont values that mean "another page follows"


@dataclass(frozen=True, slots=True)
class KisResponse:
    status: int
    tr_cont: str
    body: dict[str, Any]

    @property
    def more(self) -> bool:
        return self.tr_cont in MORE


class KisRest:
    def __init__(self, config: KisConfig, creds: KisCredentials,
                 session: aiohttp.ClientSession | None = None) -> None:
        self.config, self._creds = config, creds
        self._session = session
        self._own_session = session is None
        self.bucket = bucket_for(creds.app_key, config.rate_per_s, config.burst)
        self.clock = ServerClock()
        self.tokens = TokenManager(config, creds, self._post_auth)
        self.calls = 0
        self.throttled = 0

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.config.http_timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._own_session = True

    async def close(self) -> None:
        if self._session is not None and self._own_session and not self._session.closed:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError("KisRest is not open")
        return self._session

    # -- one request ----------------------------------------------------------------------
    async def _send(self, method: str, path: str, headers: Mapping[str, str],
                    params: Mapping[str, str] | None,
                    body: Mapping[str, str] | None) -> KisResponse:
        url = self.config.rest_url + path
        sent = time.time()
        try:
            async with self.session.request(
                method, url, headers=dict(headers), params=params,
                data=None if body is None else json.dumps(body)) as resp:
                text = await resp.text()
                status, tr_cont = resp.status, resp.headers.get("tr_cont", "")
                self.clock.observe(resp.headers.get("Date"), sent, time.time())
        except (TimeoutError, aiohttp.ClientError) as err:
            raise transport_error(path, type(err).__name__) from None
        self.calls += 1
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            if status >= 500:
                raise KisServerError(f"HTTP {status} without a KIS answer on {path}")
            raise KisAnswerError(path, "", "answer is not a JSON object", status)
        return KisResponse(status, tr_cont, parsed)

    async def _post_auth(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        """The token and approval calls: no bearer token, KIS's own error fields."""
        await self.bucket.acquire(URGENT)
        headers = {"content-type": "application/json; charset=utf-8"}
        resp = await self._send("POST", path, headers, None, body)
        if resp.status != 200:
            code = str(resp.body.get("error_code") or resp.body.get("msg_cd") or "")
            text = str(resp.body.get("error_description") or resp.body.get("msg1") or "")
            raise KisAnswerError(path, code, text, resp.status)
        return resp.body

    async def call(self, method: str, path: str, tr_id: str, *,
                   params: Mapping[str, str] | None = None,
                   body: Mapping[str, str] | None = None, tr_cont: str = "",
                   urgent: bool = False) -> KisResponse:
        """One KIS call, retried when throttled or when the token expired."""
        codes = self.config.errors
        renewed = False
        throttled = 0
        while True:
            await self.bucket.acquire(URGENT if urgent else NORMAL)
            token = await self.tokens.token()
            headers = {"content-type": "application/json; charset=utf-8",
                       "authorization": f"Bearer {token}", "appkey": self._creds.app_key,
                       "appsecret": self._creds.app_secret, "tr_id": tr_id, "custtype": "P",
                       "tr_cont": tr_cont}
            resp = await self._send(method, path, headers, params, body)
            rt_cd = str(resp.body.get("rt_cd", ""))
            msg_cd = str(resp.body.get("msg_cd", ""))
            if resp.status == 200 and rt_cd == "0":
                return resp
            if msg_cd in codes.rate_limited:
                self.throttled += 1
                throttled += 1
                if throttled > self.config.throttled_retries:
                    raise KisThrottled(f"KIS {msg_cd} on {path}: still throttled after "
                                       f"{throttled - 1} retries")
                self.bucket.penalize(self.config.throttled_wait_s)
                log.info("%s throttled (%s); retrying after %.2f s", path, msg_cd,
                         self.config.throttled_wait_s)
                await asyncio.sleep(self.config.throttled_wait_s)
                continue
            if msg_cd in codes.token_expired and not renewed:
                log.info("%s: access token expired (%s); issuing a new one", path, msg_cd)
                self.tokens.invalidate(token)
                renewed = True
                continue
            msg1 = str(resp.body.get("msg1", ""))
            if resp.status >= 500 and (not msg_cd or msg_cd.startswith("EGW")):
                raise KisServerError(f"HTTP {resp.status} {msg_cd} on {path}: {msg1}".strip())
            raise KisAnswerError(path, msg_cd, msg1, resp.status)

    # -- paging ---------------------------------------------------------------------------
    async def pages(self, path: str, tr_id: str, params: Mapping[str, str], *,
                    max_pages: int = 50) -> AsyncIterator[KisResponse]:
        """GET ``path`` page by page: while the answer's ``tr_cont`` is F or M, ask again
        with ``tr_cont: N`` and the answer's ``ctx_area_fk100``/``ctx_area_nk100``."""
        query = dict(params)
        tr_cont = ""
        for _ in range(max_pages):
            resp = await self.call("GET", path, tr_id, params=query, tr_cont=tr_cont)
            yield resp
            if not resp.more:
                return
            query["CTX_AREA_FK100"] = str(resp.body.get("ctx_area_fk100", ""))
            query["CTX_AREA_NK100"] = str(resp.body.get("ctx_area_nk100", ""))
            tr_cont = "N"
        log.warning("%s: stopped after %d pages", path, max_pages)
