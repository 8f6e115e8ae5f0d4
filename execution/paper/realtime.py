"""The paper exchange's real-time endpoint: fill notices (H0STCNI0/H0STCNI9) over a
WebSocket, encrypted as KIS does (AES-256-CBC, base64), PINGPONG heartbeats.

A session subscribes with an approval key (from ``/oauth2/Approval``) and an HTS id;
it then receives the notices of every account its app key has traded. A notice is
sent once: a session that is down misses it (fills are then found in the daily
orders, as with KIS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from execution.brokers.kis import wire
from execution.market_session import KST
from execution.paper.account import Event
from execution.paper.contract import MAX_SUBSCRIPTIONS, NOTICE_TR_IDS

log = logging.getLogger("execution.paper.realtime")
_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(eq=False)
class Session:
    ws: web.WebSocketResponse
    app_key: str = ""
    subscriptions: dict[str, str] = field(default_factory=dict)  # tr_id -> tr_key (HTS id)
    key: str = field(default_factory=lambda: "".join(secrets.choice(_CHARS) for _ in range(32)))
    iv: str = field(default_factory=lambda: "".join(secrets.choice(_CHARS) for _ in range(16)))
    pongs: int = 0


class Realtime:
    def __init__(self, approvals: dict[str, str], columns: str, ping_s: float) -> None:
        self._approvals = approvals  # approval key -> app key
        self.columns = columns
        wire.columns(columns)
        self.ping_s = ping_s
        self.sessions: set[Session] = set()
        self.blackout_until = 0.0
        self.sent = self.dropped = self.pongs = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        if loop.time() < self.blackout_until:
            return web.Response(status=503, text="real-time service unavailable (paper fault)")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = Session(ws)
        self.sessions.add(session)
        pinger = loop.create_task(self._ping(session))
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_text(session, message.data)
        finally:
            pinger.cancel()
            self.sessions.discard(session)
        return ws

    async def _ping(self, session: Session) -> None:
        while not session.ws.closed:
            await asyncio.sleep(self.ping_s)
            stamp = datetime.now(KST).strftime("%Y%m%d%H%M%S")
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.send_str(json.dumps(
                    {"header": {"tr_id": "PINGPONG", "datetime": stamp}}))

    async def _on_text(self, session: Session, raw: str) -> None:
        try:
            message: dict[str, Any] = json.loads(raw)
            header, body = message["header"], message.get("body") or {}
        except (ValueError, KeyError, TypeError):
            await self._answer(session, "", "", "1", "OPSP0001", "invalid json")
            return
        if header.get("tr_id") == "PINGPONG":
            session.pongs += 1
            self.pongs += 1
            return
        app_key = self._approvals.get(str(header.get("approval_key", "")))
        tr_input = body.get("input") or {}
        tr_id, tr_key = str(tr_input.get("tr_id", "")), str(tr_input.get("tr_key", ""))
        if app_key is None:
            await self._answer(session, tr_id, tr_key, "1", "OPSP0011", "invalid approval")
            return
        if tr_id not in NOTICE_TR_IDS or not tr_key:
            await self._answer(session, tr_id, tr_key, "1", "OPSP0002", "invalid tr_id/tr_key")
            return
        session.app_key = app_key
        if str(header.get("tr_type")) == "2":
            session.subscriptions.pop(tr_id, None)
            await self._answer(session, tr_id, tr_key, "0", "OPSP0002", "UNSUBSCRIBE SUCCESS")
            return
        if len(session.subscriptions) >= MAX_SUBSCRIPTIONS and tr_id not in session.subscriptions:
            await self._answer(session, tr_id, tr_key, "1", "OPSP0008", "MAX SUBSCRIBE OVER")
            return
        session.subscriptions[tr_id] = tr_key
        await self._answer(session, tr_id, tr_key, "0", "OPSP0000", "SUBSCRIBE SUCCESS",
                           {"iv": session.iv, "key": session.key})

    async def _answer(self, session: Session, tr_id: str, tr_key: str, rt_cd: str, msg_cd: str,
                      msg1: str, output: dict[str, str] | None = None) -> None:
        body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
        if output is not None:
            body["output"] = output
        await session.ws.send_str(json.dumps(
            {"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body}))

    # -- notices --------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Send ``event`` to every session subscribed for its account (once, now)."""
        targets = [s for s in self.sessions
                   if s.subscriptions and s.app_key in event.account.app_keys]
        if not targets:
            self.dropped += 1
            return
        for session in targets:
            for tr_id, tr_key in session.subscriptions.items():
                record = notice_record(event, tr_key)
                payload = wire.encode_records([_only(record, self.columns)], self.columns)
                frame = wire.Frame(True, tr_id, 1, wire.encrypt(session.key, session.iv, payload))
                asyncio.get_running_loop().create_task(self._send(session, frame.encode()))

    async def _send(self, session: Session, text: str) -> None:
        try:
            await session.ws.send_str(text)
            self.sent += 1
        except (ConnectionError, RuntimeError):
            self.dropped += 1

    async def drop_all(self, blackout_s: float) -> int:
        """Close every session (a dropped link); refuse new ones for ``blackout_s``."""
        self.blackout_until = asyncio.get_running_loop().time() + blackout_s
        sessions = list(self.sessions)
        for session in sessions:
            await session.ws.close()
        return len(sessions)


def _only(record: dict[str, str], version: str) -> dict[str, str]:
    names = set(wire.columns(version))
    return {k: v for k, v in record.items() if k in names}


def notice_record(event: Event, hts_id: str) -> dict[str, str]:
    """The 26 fields (of every published version) of one notice."""
    order, fill, account = event.order, event.fill, event.account
    kind = {"order": "0", "revise": "1", "cancel": "2"}[order.kind]
    price = "0" if order.price is None else str(int(order.price))
    if fill is not None:
        moment = datetime.fromtimestamp(fill.ts_ns / 1e9, KST).strftime("%H%M%S")
        qty, unpr, filled, accepted = str(fill.filled_qty), str(int(fill.price)), "2", "2"
    else:
        moment, qty, unpr, filled, accepted = order.ord_tmd, "0", "0", "1", "1"
    return {
        "CUST_ID": hts_id, "ACNT_NO": account.cano + account.product, "ODER_NO": order.odno,
        "OODER_NO": order.orgn_odno, "ODER_QTY": str(order.ord_qty),
        "SELN_BYOV_CLS": "01" if order.side.value == "sell" else "02", "RCTF_CLS": kind,
        "ODER_KIND": "01" if order.price is None else "00", "ODER_COND": "0",
        "STCK_SHRN_ISCD": order.symbol, "CNTG_QTY": qty, "CNTG_UNPR": unpr,
        "STCK_CNTG_HOUR": moment, "RFUS_YN": "0", "CNTG_YN": filled, "ACPT_YN": accepted,
        "BRNC_NO": account.orgno, "ACNT_NO2": account.cano + account.product,
        "ACNT_NAME": "PAPER", "ORD_COND_PRC": "0", "ORD_EXG_GB": "1", "POPUP_YN": "Y",
        "FILLER": "", "CRDT_CLS": "10", "CRDT_LOAN_DATE": "", "CNTG_ISNM40": order.symbol,
        "ODER_PRC": price,
    }
