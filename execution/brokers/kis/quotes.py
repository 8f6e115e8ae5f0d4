"""Quotes for a synchronous ``quote()``: a cache fed by REST in the background.

The Broker protocol's ``quote(symbol)`` and ``knows_symbol(symbol)`` do not wait, so
the adapter keeps the top of book of every *watched* symbol, refreshed from
``inquire-asking-price-exp-ccn`` (FHKST01010200) every ``quote_refresh_s``.
``await watch(symbol)`` adds a symbol and primes its quote: call it before submitting
an intent. A symbol KIS does not know (or quotes one-sided) is not known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from execution.broker import BrokerError, OrderRejected, RejectReason
from execution.brokers.kis.endpoints import ASKING_PRICE, asking_price_params, tr_id
from execution.brokers.kis.errors import KisAnswerError
from execution.brokers.kis.inquiry import BadAnswer, asking_quote
from execution.brokers.kis.rest import KisRest
from execution.contracts import Quote

log = logging.getLogger("execution.brokers.kis.quotes")


class QuoteBook:
    def __init__(self, rest: KisRest, now_ns: Callable[[], int]) -> None:
        self._rest, self._now_ns = rest, now_ns
        self._quotes: dict[str, Quote] = {}
        self.watched: set[str] = set()
        self.unknown: set[str] = set()

    def knows(self, symbol: str) -> bool:
        return symbol in self._quotes

    def quote(self, symbol: str) -> Quote:
        quote = self._quotes.get(symbol)
        if quote is None:
            detail = "unknown to KIS" if symbol in self.unknown else "not watched (call watch())"
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, f"{symbol}: {detail}")
        return quote

    async def watch(self, symbol: str) -> bool:
        """Watch ``symbol`` from now on; True when KIS quotes it."""
        self.watched.add(symbol)
        await self.refresh(symbol)
        return self.knows(symbol)

    async def refresh(self, symbol: str) -> None:
        config = self._rest.config
        try:
            resp = await self._rest.call("GET", ASKING_PRICE, tr_id("asking_price", config.mode),
                                         params=asking_price_params(symbol))
        except KisAnswerError as err:
            if err.msg_cd in config.errors.unknown_symbol:
                self._forget(symbol)
                return
            raise
        try:
            quote = asking_quote(symbol, resp.body, self._now_ns())
        except BadAnswer as err:
            log.warning("quote of %s unreadable: %s", symbol, err)
            return
        if quote is None:
            if symbol not in self._quotes:
                self._forget(symbol)
            return
        self.unknown.discard(symbol)
        self._quotes[symbol] = quote

    def _forget(self, symbol: str) -> None:
        self.unknown.add(symbol)
        self._quotes.pop(symbol, None)

    async def run(self, interval_s: float) -> None:
        """Refresh every watched symbol every ``interval_s`` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            for symbol in sorted(self.watched):
                try:
                    await self.refresh(symbol)
                except BrokerError as err:
                    log.warning("quote refresh of %s failed: %s", symbol, err)
