"""The shrink policy's decisions (:mod:`execution.orders.shrink`): how much of a child is
kept, what the broker's answer changes, what is owed or dropped, and the limits keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execution import paths
from execution.broker import TransientBrokerError
from execution.context import ExecutionContext
from execution.contracts import ChildOrder, ChildStatus, OrderRequest, PriceType, Side
from execution.orders.fills import register
from execution.orders.shrink import Cut, drop_owed, kept_qty, owe, shrink_child
from execution.settings import EngineLimits, from_limits, read_limits
from execution.testing import SYMBOL, ScriptedBroker
from execution.testing.actions import Raise
from execution.testing.harness import make_context
from statecharts.errors import DocumentInvalid


@pytest.mark.parametrize(("rest", "pct", "kept"), [
    (100, 50, 50), (101, 50, 50), (1, 50, 0), (7, 33.3, 2), (100, 0, 0), (100, 100, 100),
    (0, 50, 0), (3, 99.9, 2)])
def test_the_kept_share_is_rounded_down_to_whole_shares(rest: int, pct: float,
                                                        kept: int) -> None:
    assert kept_qty(rest, pct) == kept


@given(st.integers(0, 10**7), st.integers(0, 100))
def test_kept_is_the_floor_of_the_share(rest: int, pct: int) -> None:
    kept = kept_qty(rest, pct)
    assert 0 <= kept <= rest
    assert kept * 100 <= rest * pct < (kept + 1) * 100


# -- the limits --------------------------------------------------------------------------
def test_keep_is_the_default_policy() -> None:
    shipped = from_limits(read_limits())
    assert (shipped.auction_policy, shipped.auction_keep_pct) == ("keep", 50.0)
    assert (EngineLimits().auction_policy, EngineLimits().auction_keep_pct) == ("keep", 50.0)


def _limits_text(policy: str, keep_pct: str) -> str:
    text = Path(paths.default_limits()).read_text(encoding="utf-8")
    text = text.replace("auction_policy: keep ", f"auction_policy: {policy} ")
    return text.replace("auction_keep_pct: 50 ", f"auction_keep_pct: {keep_pct} ")


def test_the_policy_and_share_are_read_from_the_session_block() -> None:
    limits = from_limits(read_limits("limits.yaml", _limits_text("shrink", "25")))
    assert (limits.auction_policy, limits.auction_keep_pct) == ("shrink", 25.0)


@pytest.mark.parametrize(("policy", "keep_pct", "key"), [
    ("trim", "50", "auction_policy"), ("shrink", "150", "auction_keep_pct"),
    ("shrink", "-1", "auction_keep_pct")])
def test_a_bad_policy_or_share_is_refused_at_its_line(policy: str, keep_pct: str,
                                                       key: str) -> None:
    text = _limits_text(policy, keep_pct)
    with pytest.raises(DocumentInvalid) as info:
        read_limits("limits.yaml", text)
    [problem] = info.value.problems
    line = next(n for n, row in enumerate(text.splitlines(), 1) if f"  {key}:" in row)
    assert problem.line == line


# -- one child against the broker -----------------------------------------------------------
async def _working(broker: ScriptedBroker, qty: int = 100) -> tuple[ExecutionContext,
                                                                     ChildOrder]:
    ctx = make_context(broker)
    ctx.qty = qty
    ack = await broker.send(OrderRequest("T1-1", SYMBOL, Side.BUY, qty, Decimal(70_000),
                                         PriceType.LIMIT))
    child = ChildOrder(id="T1-1", parent_id="T1", sequence=1, qty=qty,
                       price=Decimal(70_000), price_type=PriceType.LIMIT, scheduled_ns=0,
                       max_wait_ns=0, client_order_id="T1-1", status=ChildStatus.ACCEPTED)
    ctx.children.append(child)
    register(ctx, child, ack.broker_order_id)
    return ctx, child


async def test_a_child_is_cut_from_what_the_broker_says_is_left() -> None:
    broker = ScriptedBroker()
    ctx, child = await _working(broker)
    broker.fill(child.broker_order_id, 40, push=False)  # the engine has not heard of it
    cut = await shrink_child(ctx, child, 50)
    assert cut == Cut("T1-1", 30, 30)  # 60 left: 30 kept, 30 cut
    [modify] = broker.calls_of("modify")
    assert (modify.price, modify.qty) == (Decimal(70_000), 70)  # the order's new total
    assert (child.qty, child.filled_qty, child.status) == (70, 40, ChildStatus.PARTIALLY_FILLED)
    assert ctx.fills.filled_qty == 40


async def test_a_child_the_broker_cannot_answer_for_is_left_alone() -> None:
    broker = ScriptedBroker()
    ctx, child = await _working(broker)
    broker.status_script.append(Raise(TransientBrokerError("busy")))
    assert await shrink_child(ctx, child, 50) is None
    assert broker.calls_of("modify") == [] and child.qty == 100


async def test_nothing_is_cut_when_the_share_keeps_it_all() -> None:
    broker = ScriptedBroker()
    ctx, child = await _working(broker, 1)
    assert await shrink_child(ctx, child, 100) is None
    assert broker.calls_of("modify") == [] and broker.calls_of("cancel") == []


async def test_owed_quantity_is_dropped_once_the_execution_is_over() -> None:
    ctx = make_context(ScriptedBroker())  # no chart run: over as far as owing goes
    owe(ctx, 30)
    assert ctx.owed_qty == 0
    assert [a.details["action"] for a in ctx.alerts] == ["dropped"]
    ctx.owed_qty = 20
    drop_owed(ctx, "risk off")
    drop_owed(ctx, "risk off")  # said once
    assert ctx.owed_qty == 0
    assert ctx.alerts[-1].details == {"id": "T1", "action": "dropped", "owed": "20",
                                      "reason": "risk off"}
    assert len(ctx.alerts) == 2
