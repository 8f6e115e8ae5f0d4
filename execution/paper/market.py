"""The paper exchange's one market: every account trades in the same simulated exchange.

:class:`PaperMarket` owns the :class:`~execution.sim.exchange.SimulatedExchange` (created
on first use, on the running loop), numbers KIS orders (an ODNO is unique across the
server, whichever account it belongs to) and routes each fill the exchange pushes to the
account its order was sent for: when two accounts trade with each other, each side is a
fill of its own account. Accounts (:class:`~execution.paper.account.PaperAccount`) are
views over it: their orders are sent with the account as the exchange's party, so cash,
positions and the orders each account sees stay its own.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from execution.contracts import FillEvent
from execution.sim.exchange import SimulatedExchange

log = logging.getLogger("execution.paper")
FillSink = Callable[[FillEvent], None]


class PaperMarket:
    def __init__(self, factory: Callable[[], SimulatedExchange]) -> None:
        self._factory = factory
        self._exchange: SimulatedExchange | None = None
        self._serial = itertools.count(1)
        self._sinks: dict[str, FillSink] = {}
        self.unrouted = 0  # fills of an order no account sent (none, unless a bug)

    @property
    def exchange(self) -> SimulatedExchange:
        """The market (started on first use: call it on the server's loop)."""
        if self._exchange is None:
            self._exchange = self._factory()
            self._exchange.subscribe_fills(self._route)
        return self._exchange

    @property
    def started(self) -> bool:
        return self._exchange is not None

    def next_odno(self) -> str:
        """A new KIS order number (ten digits), unique across the server."""
        return f"{next(self._serial) + 100_000:010d}"

    def join(self, party: str, on_fill: FillSink) -> None:
        """Deliver the fills of ``party``'s orders to ``on_fill``."""
        if party in self._sinks:
            raise ValueError(f"account {party} already trades on this market")
        self._sinks[party] = on_fill

    def _route(self, fill: FillEvent) -> None:
        party = self.exchange.party_of(fill.order_id)
        sink = self._sinks.get(party)
        if sink is None:
            self.unrouted += 1
            log.error("fill %s of order %s belongs to no account (party %r)",
                      fill.event_id, fill.order_id, party)
            return
        sink(fill)

    def stop(self) -> None:
        """Stop the market's background driver (if it was started)."""
        if self._exchange is not None:
            self._exchange.stop()
