"""The paper exchange: a local server speaking KIS's protocol over simulated markets.

``scalpchart exchange serve`` runs it. REST: ``/oauth2/tokenP``, ``/oauth2/Approval``,
``/uapi/hashkey`` and the domestic-stock trading and quotation calls (real and
virtual tr_ids alike); WebSocket: ``/tryitout`` (fill notices). One simulated
exchange (one market) for every account (:mod:`.market`), created on first use, on the
real clock, starting at a session moment of a recent trading day (or ``--at``, or the
scenario's start); accounts are views over it (their orders, cash and positions), created
on first use of the account number. Any app key and secret are accepted. Admin calls
(``/paper/admin/...``) switch faults and show the exchange's own records.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from execution.broker import BrokerError
from execution.brokers.kis.wire import DEFAULT_NOTICE_COLUMNS
from execution.contracts import Side
from execution.market_session import KST, KrxSessions, default_sim_start, epoch_ns
from execution.paper import contract as kis
from execution.paper import trading
from execution.paper.account import Event, LostAnswer, PaperAccount
from execution.paper.faults import PaperFaults
from execution.paper.market import PaperMarket
from execution.paper.realtime import Realtime
from execution.sim.exchange import SimulatedExchange
from execution.simulate.scenario import Scenario

log = logging.getLogger("execution.paper")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class PaperSettings:
    seed: int = 7
    start: datetime | None = None
    scenario: Scenario | None = None
    cash_krw: Decimal = Decimal(1_000_000_000)
    token_ttl_s: float = 86_400.0
    token_interval_s: float = 60.0
    ping_s: float = 10.0
    notice_columns: str = DEFAULT_NOTICE_COLUMNS
    no_latency: bool = False
    faults: PaperFaults = field(default_factory=PaperFaults)


@dataclass(slots=True)
class Token:
    app_key: str
    expires_at: float  # monotonic


class PaperExchange:
    def __init__(self, settings: PaperSettings) -> None:
        self.settings, self.faults = settings, settings.faults
        self.sessions = KrxSessions()
        scenario = settings.scenario
        start = settings.start or (scenario.start if scenario else None) \
            or default_sim_start(sessions=self.sessions)
        self.start_ns, self._t0 = epoch_ns(start), time.monotonic()
        self.market = PaperMarket(self._exchange)
        self.accounts: dict[str, PaperAccount] = {}
        self.tokens: dict[str, Token] = {}
        self.approvals: dict[str, str] = {}
        self.issued_at: dict[str, float] = {}
        self.realtime = Realtime(self.approvals, settings.notice_columns, settings.ping_s)
        self.requests: Counter[str] = Counter()
        self._window: dict[str, deque[float]] = {}

    def now_ns(self) -> int:
        return self.start_ns + int((time.monotonic() - self._t0) * 1e9)

    def account(self, cano: str, product: str) -> PaperAccount:
        key = f"{cano}-{product}"
        account = self.accounts.get(key)
        if account is None:
            account = self.accounts[key] = PaperAccount(
                key, self.market, self._publish, time.monotonic_ns)
        return account

    def stop(self) -> None:
        """Stop the market's background driver."""
        self.market.stop()

    def _exchange(self) -> SimulatedExchange:
        settings, sc = self.settings, self.settings.scenario
        kwargs: dict[str, Any] = {}
        if sc is not None:
            kwargs = {"book": sc.book, "latency": sc.latency, "faults": sc.faults,
                      "symbols": sc.symbols, "fee_bps": sc.commission_bps,
                      "driver_interval_ms": sc.book.step_ms}
        if settings.no_latency:
            kwargs.pop("latency", None)
            kwargs |= {"ack_latency_ms": 0.0, "fill_latency_ms": 0.0, "modify_latency_ms": 0.0}
        exchange = SimulatedExchange(seed=settings.seed, start_ns=self.now_ns(),
                                     time_source=time.monotonic, cash_krw=settings.cash_krw,
                                     is_open=self.sessions.is_open, **kwargs)
        exchange.start()
        return exchange

    def _publish(self, event: Event) -> None:
        self.realtime.publish(event)

    # -- auth -------------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        body = await _json(request)
        app_key, secret = str(body.get("appkey", "")), str(body.get("appsecret", ""))
        if body.get("grant_type") != "client_credentials" or not app_key or not secret:
            return _auth_error(403, "EGW00002", "grant_type, appkey and appsecret are required")
        now = time.monotonic()
        if now - self.issued_at.get(app_key, -1e18) < self.settings.token_interval_s:
            return _auth_error(403, kis.TOKEN_TOO_SOON.msg_cd, kis.TOKEN_TOO_SOON.msg1)
        self.issued_at[app_key] = now
        token = secrets.token_urlsafe(48)
        ttl = self.settings.token_ttl_s
        self.tokens[token] = Token(app_key, now + ttl)
        expires = datetime.fromtimestamp(self.now_ns() / 1e9, KST) + timedelta(seconds=ttl)
        return web.json_response({
            "access_token": token, "token_type": "Bearer", "expires_in": int(ttl),
            "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S")})

    async def approval(self, request: web.Request) -> web.Response:
        body = await _json(request)
        app_key = str(body.get("appkey", ""))
        if not app_key or not body.get("secretkey"):
            return _auth_error(403, "EGW00002", "appkey and secretkey are required")
        key = f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-" \
              f"{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        self.approvals[key] = app_key
        return web.json_response({"approval_key": key})

    async def hashkey(self, request: web.Request) -> web.Response:
        raw = await request.read()
        return web.json_response({"BODY": json.loads(raw or b"{}"),
                                  "HASH": hashlib.sha256(raw).hexdigest()})

    def _authorize(self, request: web.Request) -> tuple[str, web.Response | None]:
        bearer = request.headers.get("authorization", "")
        token = self.tokens.get(bearer.removeprefix("Bearer ").strip())
        app_key = request.headers.get("appkey", "")
        if token is None or token.app_key != app_key or not request.headers.get("appsecret"):
            return "", _gateway(kis.TOKEN_INVALID)
        if time.monotonic() >= token.expires_at:
            return "", _gateway(kis.TOKEN_EXPIRED)
        return app_key, None

    def _throttled(self, app_key: str) -> bool:
        fire, self.faults.throttle = PaperFaults.take(self.faults.throttle)
        if fire:
            return True
        limit = self.faults.rate_limit
        if limit <= 0:
            return False
        window = self._window.setdefault(app_key, deque())
        now = time.monotonic()
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False

    def expire_tokens(self) -> int:
        now = time.monotonic()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)
        return len(self.tokens)

    # -- trading ----------------------------------------------------------------------------
    async def uapi(self, request: web.Request) -> web.StreamResponse:
        self.requests[request.path] += 1
        routes = kis.ROUTES.get(request.path)
        if routes is None:
            return web.json_response({"rt_cd": "1", "msg_cd": "OPSQ0002",
                                      "msg1": "없는 서비스 코드 입니다"}, status=404)
        fire, self.faults.http500 = PaperFaults.take(self.faults.http500)
        if fire:
            return web.Response(status=500, text="Internal Server Error (paper fault)")
        app_key, refused = self._authorize(request)
        if refused is not None:
            return refused
        if self._throttled(app_key):
            return _gateway(kis.THROTTLED)
        tr_id = request.headers.get("tr_id", "")
        call = routes.get(tr_id)
        if call is None:
            return _answer(trading.Refused(kis.UNKNOWN_SERVICE, tr_id).reply())
        post = call in ("buy", "sell", "revise_cancel")
        data = await _json(request) if post else dict(request.query)
        continuing = request.headers.get("tr_cont", "").strip() in ("N", "M")
        try:
            reply = await self._dispatch(call, tr_id, app_key, data, continuing)
        except trading.Refused as err:
            return _answer(err.reply())
        except LostAnswer:
            return _drop(request)
        except BrokerError as err:  # the simulated exchange itself is unreachable
            log.warning("exchange unavailable: %s", err)
            return web.Response(status=502, text="Bad Gateway (paper: exchange unavailable)")
        if reply.lose:
            return _drop(request)
        if call == "revise_cancel" and self.faults.revise_slow_ms > 0:
            await asyncio.sleep(self.faults.revise_slow_ms / 1000)
        return _answer(reply)

    async def _dispatch(self, call: str, tr_id: str, app_key: str, data: dict[str, Any],
                        continuing: bool) -> trading.Reply:
        virtual = kis.is_virtual(tr_id)
        if call == "asking":
            return trading.asking_price(self.market.exchange, data)
        cano = trading.field_text(data, "CANO")
        product = trading.field_text(data, "ACNT_PRDT_CD")
        if len(cano) != 8 or len(product) != 2 or not (cano + product).isdigit():
            raise trading.Refused(kis.BAD_INPUT, "CANO is 8 digits, ACNT_PRDT_CD 2")
        account = self.account(cano, product)
        account.app_keys.add(app_key)
        if call in ("buy", "sell", "revise_cancel"):
            return await self._order_call(call, account, data, virtual)
        if call == "daily":
            return trading.daily_orders(account, data, virtual, continuing)
        if call == "cancellable":
            return trading.cancellable(account, data, continuing)
        return trading.balance(account, data, virtual, continuing)

    async def _order_call(self, call: str, account: PaperAccount, data: dict[str, Any],
                          virtual: bool) -> trading.Reply:
        if self.faults.slow_ms > 0:
            await asyncio.sleep(self.faults.slow_ms / 1000)
        if call == "revise_cancel":
            reply = await trading.order_rvsecncl(account, data, virtual)
            is_revise = data.get("RVSE_CNCL_DVSN_CD") == "01"
            if is_revise:
                reply.lose, self.faults.revise_lose = PaperFaults.take(self.faults.revise_lose)
            return reply
        side = Side.BUY if call == "buy" else Side.SELL
        reply = await trading.order_cash(account, side, data, virtual)
        reply.lose, self.faults.lose = PaperFaults.take(self.faults.lose)
        return reply

    # -- admin ------------------------------------------------------------------------------
    async def admin_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults.update(await _json(request))
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response(self.faults.as_json())

    async def admin_expire(self, request: web.Request) -> web.Response:
        return web.json_response({"expired": self.expire_tokens()})

    async def admin_drop_ws(self, request: web.Request) -> web.Response:
        body = await _json(request)
        dropped = await self.realtime.drop_all(float(body.get("blackout_s", 0.0)))
        return web.json_response({"dropped": dropped})

    async def admin_status(self, request: web.Request) -> web.Response:
        rt = self.realtime
        return web.json_response({
            "exchange_time": datetime.fromtimestamp(self.now_ns() / 1e9, KST).isoformat(),
            "accounts": sorted(self.accounts), "tokens": len(self.tokens),
            "market": {"started": self.market.started, "unrouted_fills": self.market.unrouted},
            "requests": dict(self.requests), "faults": self.faults.as_json(),
            "ws": {"sessions": len(rt.sessions), "sent": rt.sent, "dropped": rt.dropped,
                   "pongs": rt.pongs}})

    async def admin_orders(self, request: web.Request) -> web.Response:
        account = self.accounts.get(request.query.get("account", ""))
        if account is None:
            return web.json_response({"orders": []})
        statuses = account.statuses()
        orders = []
        for order in account.orders.values():
            status = statuses.get(order.sim_id)
            orders.append({
                "odno": order.odno, "orgn_odno": order.orgn_odno, "kind": order.kind,
                "symbol": order.symbol, "side": order.side.value, "ord_qty": order.ord_qty,
                "price": None if order.price is None else str(order.price),
                "filled": status.filled_qty if status else 0,
                "state": status.state.value if status else "n/a",
                "live": bool(status and not status.state.is_terminal),
                "accepted_mono_ns": order.accepted_mono_ns})
        return web.json_response({"orders": orders})


def _json_error(status: int, body: dict[str, str]) -> web.Response:
    return web.json_response(body, status=status)


def _auth_error(status: int, code: str, text: str) -> web.Response:
    return _json_error(status, {"error_code": code, "error_description": text})


def _gateway(answer: kis.Answer) -> web.Response:
    return _json_error(500, {"rt_cd": "1", "msg_cd": answer.msg_cd, "msg1": answer.msg1})


def _answer(reply: trading.Reply) -> web.Response:
    headers = {"tr_cont": reply.tr_cont} if reply.tr_cont else {}
    return web.json_response(reply.body, headers=headers | reply.headers)


def _drop(request: web.Request) -> web.Response:
    """Lose the answer: close the connection without a response."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body is not a JSON object")
    return data


def build_app(exchange: PaperExchange) -> web.Application:
    @web.middleware
    async def exchange_date(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:  # the exchange's clock, as KIS's servers send theirs
            moment = datetime.fromtimestamp(exchange.now_ns() / 1e9, UTC)
            response.headers["Date"] = format_datetime(moment, usegmt=True)
        return response

    app = web.Application(middlewares=[exchange_date])
    app.router.add_post("/oauth2/tokenP", exchange.token)
    app.router.add_post("/oauth2/Approval", exchange.approval)
    app.router.add_post("/uapi/hashkey", exchange.hashkey)
    app.router.add_route("*", "/uapi/{tail:.*}", exchange.uapi)
    app.router.add_get(kis.WS_PATH, exchange.realtime.handle)
    app.router.add_get(kis.WS_PATH + "/{tail:.*}", exchange.realtime.handle)
    app.router.add_post("/paper/admin/faults", exchange.admin_faults)
    app.router.add_post("/paper/admin/expire-tokens", exchange.admin_expire)
    app.router.add_post("/paper/admin/drop-ws", exchange.admin_drop_ws)
    app.router.add_get("/paper/admin/status", exchange.admin_status)
    app.router.add_get("/paper/admin/orders", exchange.admin_orders)
    return app
