"""Real-time fill notices (H0STCNI0 real, H0STCNI9 virtual) over KIS's WebSocket.

The stream subscribes with the approval key and the HTS id, keeps the AES key and iv
of the subscribe answer, echoes every PINGPONG unchanged, decrypts each data frame
and parses its records *by name* from the configured column version. It reconnects
with exponential backoff; after every (re)subscription it calls ``on_subscribed`` so
the adapter polls daily fills for whatever was pushed during the gap (KIS pushes a
notice once and never again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from execution.brokers.kis import wire
from execution.brokers.kis.endpoints import FILL_NOTICE, SELL_CODE
from execution.contracts import Side

log = logging.getLogger("execution.brokers.kis.notices")
MAX_SUBSCRIPTIONS = 40


@dataclass(frozen=True, slots=True)
class Notice:
    """One H0STCNI0/9 record, the fields the adapter uses."""

    odno: str
    """ODER_NO: the order this record is about."""
    origin_odno: str
    """OODER_NO: for a revise or cancel, the order it revised or cancelled."""
    account: str
    symbol: str
    side: Side
    order_qty: int
    qty: int
    """CNTG_QTY: the trade's quantity on a fill."""
    price: Decimal
    """CNTG_UNPR: the trade's price on a fill."""
    hhmmss: str
    """STCK_CNTG_HOUR: the trade's time, KST."""
    is_fill: bool
    """CNTG_YN "2"; "1" acknowledges an order, revise, cancel or reject."""
    rejected: bool  # RFUS_YN
    kind: str  # RCTF_CLS: 0 new, 1 revise, 2 cancel

    @classmethod
    def parse(cls, record: dict[str, str]) -> Notice:
        def number(name: str) -> Decimal:
            text = record.get(name, "").strip() or "0"
            try:
                return Decimal(text)
            except InvalidOperation:
                raise wire.WireError(f"notice field {name} is not a number: {text!r}") from None

        odno = record.get("ODER_NO", "").strip()
        if not odno:
            raise wire.WireError("notice without ODER_NO")
        return cls(
            odno=odno, origin_odno=record.get("OODER_NO", "").strip(),
            account=record.get("ACNT_NO", "").strip(),
            symbol=record.get("STCK_SHRN_ISCD", "").strip(),
            side=Side.SELL if record.get("SELN_BYOV_CLS", "").strip() == SELL_CODE else Side.BUY,
            order_qty=int(number("ODER_QTY")), qty=int(number("CNTG_QTY")),
            price=number("CNTG_UNPR"), hhmmss=record.get("STCK_CNTG_HOUR", "").strip(),
            is_fill=record.get("CNTG_YN", "").strip() == "2",
            rejected=record.get("RFUS_YN", "").strip() in ("1", "Y"),
            kind=record.get("RCTF_CLS", "").strip())


class NoticeStream:
    """A self-healing subscription to our account's fill notices."""

    def __init__(self, url: str, mode: str, hts_id: str, columns: str,
                 approval_key: Callable[[bool], Awaitable[str]],
                 session: Callable[[], aiohttp.ClientSession],
                 on_notice: Callable[[Notice], None],
                 on_subscribed: Callable[[], None],
                 backoff: tuple[float, float] = (0.5, 30.0)) -> None:
        self.url, self.tr_id, self._hts_id = url, FILL_NOTICE[mode], hts_id
        wire.columns(columns)  # an unknown version fails here, not on the first notice
        self._version = columns
        self._approval_key, self._session = approval_key, session
        self._on_notice, self._on_subscribed = on_notice, on_subscribed
        self._backoff = backoff
        self._key = self._iv = ""
        self.subscribed = False
        self.connects = self.pongs = self.bad_frames = 0

    async def run(self) -> None:
        """Connect, subscribe, read; on any failure wait (backoff) and start over."""
        delay = self._backoff[0]
        renew = False
        while True:
            try:
                key = await self._approval_key(renew)
                async with self._session().ws_connect(self.url, autoping=True) as ws:
                    self.connects += 1
                    await self._subscribe(ws, key)
                    delay = self._backoff[0]
                    renew = False
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except _Refused as err:
                log.warning("fill notices: subscription refused (%s); renewing the approval "
                            "key", err)
                renew = True
            except Exception as err:  # any failure of the link: reconnect after a wait
                log.warning("fill notices: connection lost (%s); reconnecting in %.1f s",
                            f"{type(err).__name__}: {err}"[:200], delay)
            self.subscribed = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse, approval_key: str) -> None:
        request = {"header": {"approval_key": approval_key, "custtype": "P", "tr_type": "1",
                              "content-type": "utf-8"},
                   "body": {"input": {"tr_id": self.tr_id, "tr_key": self._hts_id}}}
        await ws.send_str(json.dumps(request))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                if message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
                continue
            raw: str = message.data
            if wire.is_data_frame(raw):
                self._data(raw)
            else:
                await self._control(ws, raw)
        raise ConnectionResetError("the server closed the notice stream")

    async def _control(self, ws: aiohttp.ClientWebSocketResponse, raw: str) -> None:
        try:
            message: dict[str, Any] = json.loads(raw)
            header = message.get("header", {})
            tr_id = header.get("tr_id", "")
        except (ValueError, AttributeError):
            self.bad_frames += 1
            return
        if tr_id == "PINGPONG":
            await ws.send_str(raw)  # echoed unchanged
            self.pongs += 1
            return
        body = message.get("body") or {}
        if tr_id != self.tr_id or not body:
            return
        msg1 = str(body.get("msg1", ""))
        if str(body.get("rt_cd")) != "0" and "ALREADY" not in msg1.upper():
            raise _Refused(f"{body.get('msg_cd', '')} {msg1}".strip())
        output = body.get("output") or {}
        if output.get("key") and output.get("iv"):
            self._key, self._iv = str(output["key"]), str(output["iv"])
        if not msg1.upper().startswith("UNSUB"):  # SUBSCRIBE SUCCESS, ALREADY IN SUBSCRIBE
            self.subscribed = True
            self._on_subscribed()

    def _data(self, raw: str) -> None:
        try:
            frame = wire.parse_frame(raw)
            if frame.tr_id != self.tr_id:
                return
            payload = wire.decrypt(self._key, self._iv, frame.payload) if frame.encrypted \
                else frame.payload
            notices = [Notice.parse(r) for r in
                       wire.decode_records(payload, frame.count, self._version)]
        except wire.WireError as err:
            self.bad_frames += 1
            log.warning("fill notices: undecodable frame (%s)", err)
            return
        for notice in notices:
            self._on_notice(notice)


class _Refused(Exception):
    """The server answered the subscription with an error."""


async def stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
