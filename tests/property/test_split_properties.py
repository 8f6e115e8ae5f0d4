"""Invariants of plan_split / choose_strategy over random orders and parameters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from execution.contracts import SplitStrategy, Urgency
from execution.split import SplitParams, SplitPlan, choose_strategy, plan_split
from execution.volume_profile import VolumeProfile

PROFILE = VolumeProfile.load()
CONCRETE = [s for s in SplitStrategy if s is not SplitStrategy.AUTO]

params_st = st.builds(
    SplitParams,
    max_children=st.integers(1, 50),
    min_split_qty_shares=st.integers(1, 5_000),
    single_max_pct_of_touch=st.integers(0, 100),
    iceberg_min_pct_of_touch=st.integers(100, 1_000),
    vwap_min_qty_shares=st.integers(1, 100_000),
    twap_horizon_ms=st.integers(0, 3_600_000),
    vwap_horizon_ms=st.integers(0, 4 * 3_600_000),
    iceberg_display_pct=st.one_of(st.integers(1, 100), st.floats(0.5, 100)),
    child_max_wait_ms=st.integers(0, 120_000),
)
qty_st = st.integers(1, 1_000_000)
lot_st = st.sampled_from([1, 10])
# 08:00-16:00 covers pre-open, the session, the closing auction and after the close
start_st = st.integers(8 * 60, 16 * 60)


def make_plan(
    strategy: SplitStrategy, qty: int, params: SplitParams, lot: int, start: int, touch: int
) -> SplitPlan:
    return plan_split(
        strategy,
        qty,
        params,
        touch_size=touch,
        start_minute_of_day=start,
        profile=PROFILE,
        lot=lot,
    )


def horizon(strategy: SplitStrategy, params: SplitParams) -> int:
    if strategy is SplitStrategy.TWAP:
        return params.twap_horizon_ms
    if strategy is SplitStrategy.VWAP:
        return params.vwap_horizon_ms
    return 0


@settings(max_examples=600, deadline=None)
@given(
    strategy=st.sampled_from(CONCRETE),
    qty=qty_st,
    params=params_st,
    lot=lot_st,
    start=start_st,
    touch=st.integers(0, 1_000_000),
)
def test_plan_invariants(
    strategy: SplitStrategy, qty: int, params: SplitParams, lot: int, start: int, touch: int
) -> None:
    plan = make_plan(strategy, qty, params, lot, start, touch)
    sizes = [s.qty for s in plan.slices]

    assert plan.strategy is strategy
    assert sum(sizes) == qty
    assert all(q > 0 for q in sizes)
    assert 1 <= len(sizes) <= params.max_children

    # whole lots everywhere; the odd-lot remainder (qty % lot) rides on the last slice
    if qty < lot:
        assert sizes == [qty]
    else:
        assert all(q % lot == 0 for q in sizes[:-1])
        assert sizes[-1] % lot == qty % lot

    if qty < params.min_split_qty_shares:
        assert len(sizes) == 1

    offs = [s.offset_ms for s in plan.slices]
    assert offs == sorted(offs)
    assert all(0 <= o <= horizon(strategy, params) for o in offs)
    if strategy is not SplitStrategy.VWAP:  # VWAP skips sub-windows with no volume
        assert offs[0] == 0

    assert plan.requested_children >= len(sizes)
    assert plan.capped == (plan.requested_children > params.max_children)

    if strategy is SplitStrategy.ICEBERG:
        assert [s.display_qty for s in plan.slices] == sizes
        assert [s.after_previous for s in plan.slices] == [i > 0 for i in range(len(sizes))]
        assert all(q == sizes[0] for q in sizes[:-1])  # constant display, remainder last
        assert sizes[-1] <= sizes[0]
    else:
        assert all(s.display_qty is None and not s.after_previous for s in plan.slices)


@settings(max_examples=300, deadline=None)
@given(qty=qty_st, params=params_st, lot=lot_st)
def test_twap_sizes_differ_by_at_most_one_lot(qty: int, params: SplitParams, lot: int) -> None:
    plan = make_plan(SplitStrategy.TWAP, qty, params, lot, 600, 0)
    lots = [s.qty // lot for s in plan.slices]
    assert max(lots) - min(lots) <= 1
    assert lots == sorted(lots, reverse=True)  # the extra lots go to the first slices


@settings(max_examples=300, deadline=None)
@given(qty=qty_st, params=params_st, lot=lot_st, start=start_st)
def test_vwap_is_deterministic_and_within_cap(
    qty: int, params: SplitParams, lot: int, start: int
) -> None:
    a = make_plan(SplitStrategy.VWAP, qty, params, lot, start, 0)
    b = make_plan(SplitStrategy.VWAP, qty, params, lot, start, 0)
    assert a == b
    assert len(a.slices) <= min(params.max_children, max(1, qty // params.min_split_qty_shares))


@settings(max_examples=500, deadline=None)
@given(
    qty=qty_st,
    touch=st.integers(0, 1_000_000),
    urgency=st.sampled_from(list(Urgency)),
    params=params_st,
)
def test_choose_strategy_is_concrete_and_small_orders_are_single(
    qty: int, touch: int, urgency: Urgency, params: SplitParams
) -> None:
    chosen = choose_strategy(qty, touch, urgency, params)
    assert chosen is not SplitStrategy.AUTO
    if qty < params.min_split_qty_shares:
        assert chosen is SplitStrategy.SINGLE
    if urgency is Urgency.HIGH:
        assert chosen in (SplitStrategy.SINGLE, SplitStrategy.ICEBERG)
    plan = make_plan(chosen, qty, params, 1, 600, touch)
    assert sum(s.qty for s in plan.slices) == qty
