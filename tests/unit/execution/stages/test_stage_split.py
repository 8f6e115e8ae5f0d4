"""Stage 2, OrderSplit: the split handler on a bare context (after a passing PreCheck)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.codes import Code
from execution.context import ExecutionContext
from execution.contracts import ChildStatus, PriceType, Side, SplitStrategy, Urgency
from execution.stages.precheck import run_checks
from execution.stages.split import split
from execution.testing import ScriptedBroker, intent, make_context


def _split(ctx: ExecutionContext) -> str:
    run_checks(ctx)
    assert ctx.precheck_failure is None
    return split(ctx, None)


def test_single_child_carries_the_whole_quantity() -> None:
    ctx = make_context(ScriptedBroker(), intent(50), execution_id="P")
    assert _split(ctx) == "split"
    (child,) = ctx.children
    assert (child.id, child.parent_id, child.sequence, child.client_order_id) == (
        "P-1", "P", 1, "P-1")
    assert child.qty == 50 and child.status is ChildStatus.PENDING
    assert child.price_type is PriceType.LIMIT
    assert child.price == child.original_price == Decimal(70_000)  # joins the near touch
    assert child.max_wait_ns == 60_000 * 10**6
    assert ctx.notes == {}


@pytest.mark.parametrize(("side", "urgency", "limit", "price"), [
    (Side.BUY, Urgency.NORMAL, None, 70_000),
    (Side.BUY, Urgency.HIGH, None, 70_100),  # takes the far touch
    (Side.BUY, Urgency.HIGH, 70_050, 70_000),  # never above the limit (snapped down)
    (Side.SELL, Urgency.NORMAL, None, 70_100),
    (Side.SELL, Urgency.HIGH, None, 70_000),
    (Side.SELL, Urgency.HIGH, 70_050, 70_100),  # never below the limit (snapped up)
])
def test_entry_price(side: Side, urgency: Urgency, limit: int | None, price: int) -> None:
    ctx = make_context(ScriptedBroker(), intent(10, side, urgency=urgency, limit=limit))
    _split(ctx)
    assert ctx.children[0].price == Decimal(price)


def test_twap_children_sum_to_the_parent_and_are_spread_over_the_horizon() -> None:
    ctx = make_context(ScriptedBroker(time_source=lambda: 0.0),
                       intent(550, strategy=SplitStrategy.TWAP))
    _split(ctx)
    assert [c.qty for c in ctx.children] == [110] * 5
    assert [c.sequence for c in ctx.children] == [1, 2, 3, 4, 5]
    start = ctx.services.now_ns()
    assert [(c.scheduled_ns - start) // 10**6 for c in ctx.children] == [
        0, 6_000, 12_000, 18_000, 24_000]
    assert not any(c.after_previous for c in ctx.children)


def test_capped_split_notes_gr060() -> None:
    ctx = make_context(ScriptedBroker(), intent(5_000, strategy=SplitStrategy.TWAP),
                       split={"max_children": 4})
    _split(ctx)
    assert ctx.plan is not None and ctx.plan.capped
    assert len(ctx.children) == 4
    assert sum(c.qty for c in ctx.children) == 5_000
    assert ctx.notes[Code.GR060] == {"requested": 50, "max": 4, "strategy": "twap"}


def test_iceberg_shows_a_slice_and_holds_the_rest_back() -> None:
    ctx = make_context(ScriptedBroker(), intent(1_000, strategy=SplitStrategy.ICEBERG))
    _split(ctx)
    assert [c.qty for c in ctx.children] == [200] * 5
    assert [c.display_qty for c in ctx.children] == [200] * 5
    assert [c.after_previous for c in ctx.children] == [False, True, True, True, True]


def test_vwap_follows_the_profile() -> None:
    ctx = make_context(ScriptedBroker(), intent(3_000, strategy=SplitStrategy.VWAP))
    _split(ctx)
    assert ctx.plan is not None and ctx.plan.strategy is SplitStrategy.VWAP
    assert sum(c.qty for c in ctx.children) == 3_000
    assert 1 < len(ctx.children) <= 10


@pytest.mark.parametrize(("qty", "touch", "urgency", "strategy"), [
    (50, 1_000, Urgency.NORMAL, SplitStrategy.SINGLE),  # below min_split_qty
    (400, 1_000, Urgency.NORMAL, SplitStrategy.SINGLE),  # <= 50 % of the touch
    (900, 1_000, Urgency.HIGH, SplitStrategy.SINGLE),  # the touch absorbs it
    (1_500, 1_000, Urgency.HIGH, SplitStrategy.ICEBERG),
    (3_000, 1_000, Urgency.NORMAL, SplitStrategy.ICEBERG),  # thin touch
    (2_500, 1_000, Urgency.NORMAL, SplitStrategy.VWAP),
    (1_500, 1_000, Urgency.NORMAL, SplitStrategy.TWAP),
])
def test_auto_strategy_reads_the_touch_on_the_taking_side(
        qty: int, touch: int, urgency: Urgency, strategy: SplitStrategy) -> None:
    broker = ScriptedBroker()
    broker.set_quote(70_000, 70_100, bid_size=1, ask_size=touch)  # a buy takes the ask
    ctx = make_context(broker, intent(qty, urgency=urgency, strategy=SplitStrategy.AUTO),
                       max_notional_krw=Decimal(10**12))
    _split(ctx)
    assert ctx.plan is not None and ctx.plan.strategy is strategy
    assert sum(c.qty for c in ctx.children) == qty


def test_split_uses_the_reduced_quantity() -> None:
    ctx = make_context(ScriptedBroker(), intent(1_000, strategy=SplitStrategy.TWAP),
                       capital_krw=Decimal("70410.82") * 333)  # the worst cost per share
    _split(ctx)
    assert ctx.qty == 333
    assert sum(c.qty for c in ctx.children) == 333
