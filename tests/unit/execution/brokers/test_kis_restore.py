"""After a restart the KIS adapter's fill journal starts from what the engine counted
(from its journal): a poll books only what is new, a push of an old trade nothing."""

from __future__ import annotations

from decimal import Decimal

from execution.brokers.kis.journal import FillJournal
from execution.contracts import Side


def test_a_primed_order_books_only_the_fills_on_top() -> None:
    journal = FillJournal(Decimal("1.5"))
    journal.prime("0000100001", 300, Decimal(300 * 75_000))
    assert journal.on_total("0000100001", "005930", Side.BUY, 300, Decimal(75_000), 1, 500) \
        is None  # the engine had all of these
    event = journal.on_total("0000100001", "005930", Side.BUY, 400, Decimal(75_025), 2, 500)
    assert event is not None and event.filled_qty == 100 and event.cumulative_qty == 400
    assert event.event_id == "0000100001:400" and event.price == Decimal(75_100)
    # a push of a trade after the restart: below the level the polls reached, so it asks
    # for a poll (as before any restart), and the poll books it
    assert journal.on_push("0000100001", "005930", Side.BUY, 50, Decimal(75_100), 3, 500) \
        is None
    assert journal.on_total("0000100001", "005930", Side.BUY, 450, Decimal(75_100), 4, 500)
    assert journal.filled("0000100001") == 450
