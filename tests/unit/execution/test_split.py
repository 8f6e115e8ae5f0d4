from __future__ import annotations

import pytest

from execution.contracts import SplitStrategy, Urgency
from execution.split import SplitParams, SplitPlan, choose_strategy, plan_split
from execution.volume_profile import VolumeProfile

PROFILE = VolumeProfile.load()
PARAMS = SplitParams()  # the defaults mirror config/limits.yaml
OPEN = 9 * 60
NOON = 12 * 60


def plan(
    strategy: SplitStrategy,
    qty: int,
    params: SplitParams = PARAMS,
    *,
    start: int = 10 * 60,
    lot: int = 1,
) -> SplitPlan:
    return plan_split(
        strategy,
        qty,
        params,
        touch_size=1_000,
        start_minute_of_day=start,
        profile=PROFILE,
        lot=lot,
    )


def qtys(p: SplitPlan) -> list[int]:
    return [s.qty for s in p.slices]


def offsets(p: SplitPlan) -> list[int]:
    return [s.offset_ms for s in p.slices]


# ---------------------------------------------------------------------- params
def test_params_from_limits_section() -> None:
    section = {
        "max_children": 10,
        "min_split_qty_shares": 100,
        "single_max_pct_of_touch": 50,
        "iceberg_min_pct_of_touch": 300,
        "vwap_min_qty_shares": 2000,
        "twap_horizon_ms": 30000,
        "vwap_horizon_ms": 60000,
        "iceberg_display_pct": 20,
        "child_max_wait_ms": 60000,
    }
    assert SplitParams.from_mapping(section) == PARAMS
    assert SplitParams.from_mapping({"iceberg_display_pct": 12.5}).iceberg_display_pct == 12.5


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_kids": 3}, "unknown split parameter"),
        ({"max_children": 2.5}, "must be an integer"),
        ({"max_children": True}, "must be a number"),
        ({"twap_horizon_ms": "30s"}, "must be a number"),
        ({"max_children": 0}, "max_children must be >= 1"),
        ({"iceberg_display_pct": 0}, "iceberg_display_pct"),
        ({"iceberg_display_pct": 150}, "iceberg_display_pct"),
    ],
)
def test_params_reject_bad_values(section: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SplitParams.from_mapping(section)


# ---------------------------------------------------------------------- SINGLE
def test_single_is_one_slice() -> None:
    p = plan(SplitStrategy.SINGLE, 5_000)
    assert p.strategy is SplitStrategy.SINGLE
    assert qtys(p) == [5_000]
    assert p.slices[0].offset_ms == 0
    assert not p.slices[0].after_previous
    assert p.slices[0].display_qty is None
    assert (p.requested_children, p.capped) == (1, False)


@pytest.mark.parametrize(
    "strategy", [SplitStrategy.TWAP, SplitStrategy.VWAP, SplitStrategy.ICEBERG]
)
def test_orders_below_min_split_are_never_split(strategy: SplitStrategy) -> None:
    p = plan(strategy, 99)
    assert qtys(p) == [99]
    assert p.strategy is strategy
    assert p.slices[0].display_qty == (99 if strategy is SplitStrategy.ICEBERG else None)


def test_auto_must_be_resolved_first() -> None:
    with pytest.raises(ValueError, match="AUTO"):
        plan(SplitStrategy.AUTO, 500)


@pytest.mark.parametrize(("qty", "lot"), [(0, 1), (-5, 1), (100, 0)])
def test_invalid_inputs(qty: int, lot: int) -> None:
    with pytest.raises(ValueError):
        plan(SplitStrategy.TWAP, qty, lot=lot)


# ---------------------------------------------------------------------- TWAP
def test_twap_even_slices_evenly_spaced() -> None:
    p = plan(SplitStrategy.TWAP, 500)
    assert qtys(p) == [100] * 5
    assert offsets(p) == [0, 6_000, 12_000, 18_000, 24_000]
    assert (p.requested_children, p.capped) == (5, False)
    assert all(not s.after_previous and s.display_qty is None for s in p.slices)


def test_twap_remainder_goes_to_the_first_slices() -> None:
    p = plan(SplitStrategy.TWAP, 503)
    assert qtys(p) == [101, 101, 101, 100, 100]


def test_twap_with_lots_keeps_round_lots_and_puts_odd_lot_last() -> None:
    p = plan(SplitStrategy.TWAP, 735, lot=10)
    assert qtys(p) == [110, 110, 110, 100, 100, 100, 105]
    assert all(q % 10 == 0 for q in qtys(p)[:-1])


def test_twap_cap_sets_capped_and_requested_children() -> None:
    p = plan(SplitStrategy.TWAP, 2_500)
    assert p.requested_children == 25
    assert p.capped
    assert len(p.slices) == PARAMS.max_children
    assert qtys(p) == [250] * 10
    assert offsets(p) == [i * 3_000 for i in range(10)]


# ---------------------------------------------------------------------- VWAP
def test_vwap_follows_the_profile_open_heavier_than_midday() -> None:
    params = SplitParams(vwap_horizon_ms=4 * 3_600_000)  # 09:00-13:00
    p = plan(SplitStrategy.VWAP, 10_000, params, start=OPEN)
    assert p.capped and p.requested_children == 100
    assert len(p.slices) == 10
    assert sum(qtys(p)) == 10_000
    first, middle = qtys(p)[0], qtys(p)[7]  # 09:00-09:24 vs 11:48-12:12
    assert first > 2 * middle
    assert qtys(p)[0] > qtys(p)[1] > qtys(p)[2] > qtys(p)[7]  # the open decays
    assert max(qtys(p)[4:]) < 1.1 * min(qtys(p)[4:])  # flat from late morning
    assert offsets(p) == [i * 1_440_000 for i in range(10)]


def test_vwap_sizes_are_proportional_to_profile_volume() -> None:
    params = SplitParams(vwap_horizon_ms=10 * 60_000)  # two 5-minute buckets
    p = plan(SplitStrategy.VWAP, 200, params, start=OPEN)
    assert len(p.slices) == 2
    w0, w1 = PROFILE.weights[0], PROFILE.weights[1]
    assert qtys(p)[0] == round(200 * w0 / (w0 + w1))
    assert offsets(p) == [0, 300_000]


def test_vwap_rising_into_the_close() -> None:
    params = SplitParams(vwap_horizon_ms=30 * 60_000)  # 14:50-15:20
    p = plan(SplitStrategy.VWAP, 600, params, start=14 * 60 + 50)
    assert qtys(p) == sorted(qtys(p))
    assert qtys(p)[-1] > qtys(p)[0]


def test_vwap_never_sizes_into_the_closing_auction() -> None:
    params = SplitParams(vwap_horizon_ms=20 * 60_000)  # 15:10-15:30, last half is auction
    p = plan(SplitStrategy.VWAP, 400, params, start=15 * 60 + 10)
    assert sum(qtys(p)) == 400
    assert max(offsets(p)) < 10 * 60_000  # every slice released before 15:20


def test_vwap_outside_the_session_falls_back_to_even_sizes() -> None:
    p = plan(SplitStrategy.VWAP, 400, start=8 * 60)
    assert qtys(p) == [100] * 4
    assert offsets(p) == [0, 15_000, 30_000, 45_000]


def test_vwap_short_horizon_still_splits() -> None:
    p = plan(SplitStrategy.VWAP, 600)  # default 60 s horizon inside one 5-minute bucket
    assert qtys(p) == [100] * 6
    assert offsets(p) == [i * 10_000 for i in range(6)]


# ---------------------------------------------------------------------- ICEBERG
def test_iceberg_display_and_refill_flags() -> None:
    p = plan(SplitStrategy.ICEBERG, 1_000)
    assert qtys(p) == [200] * 5
    assert [s.display_qty for s in p.slices] == qtys(p)
    assert [s.after_previous for s in p.slices] == [False, True, True, True, True]
    assert offsets(p) == [0] * 5
    assert (p.requested_children, p.capped) == (5, False)


def test_iceberg_last_slice_takes_the_remainder() -> None:
    p = plan(SplitStrategy.ICEBERG, 1_234)
    assert qtys(p) == [246] * 5 + [4]
    assert p.slices[-1].display_qty == 4


def test_iceberg_display_is_at_least_one_lot() -> None:
    params = SplitParams(iceberg_display_pct=1, max_children=200)
    p = plan(SplitStrategy.ICEBERG, 150, params, lot=10)
    assert qtys(p) == [10] * 15


def test_iceberg_cap_grows_the_display_size() -> None:
    params = SplitParams(iceberg_display_pct=5)
    p = plan(SplitStrategy.ICEBERG, 1_000, params)
    assert p.requested_children == 20
    assert p.capped
    assert qtys(p) == [100] * 10
    assert [s.display_qty for s in p.slices] == [100] * 10


# ---------------------------------------------------------------------- choice
@pytest.mark.parametrize(
    ("qty", "touch", "urgency", "expected"),
    [
        (99, 0, Urgency.NORMAL, SplitStrategy.SINGLE),  # below min_split
        (99, 10, Urgency.HIGH, SplitStrategy.SINGLE),
        (500, 1_000, Urgency.NORMAL, SplitStrategy.SINGLE),  # <= 50 % of touch
        (5_000, 10_000, Urgency.LOW, SplitStrategy.SINGLE),
        (800, 1_000, Urgency.HIGH, SplitStrategy.SINGLE),  # touch absorbs it
        (1_000, 1_000, Urgency.HIGH, SplitStrategy.SINGLE),
        (1_001, 1_000, Urgency.HIGH, SplitStrategy.ICEBERG),  # walks the book otherwise
        (5_000, 100, Urgency.HIGH, SplitStrategy.ICEBERG),
        (300, 100, Urgency.NORMAL, SplitStrategy.ICEBERG),  # >= 300 % of touch
        (300, 0, Urgency.NORMAL, SplitStrategy.ICEBERG),  # empty touch
        (50_000, 10_000, Urgency.LOW, SplitStrategy.ICEBERG),
        (2_999, 1_000, Urgency.NORMAL, SplitStrategy.VWAP),  # large, touch ample
        (2_000, 1_000, Urgency.NORMAL, SplitStrategy.VWAP),
        (1_999, 1_000, Urgency.NORMAL, SplitStrategy.TWAP),
        (299, 100, Urgency.NORMAL, SplitStrategy.TWAP),
        (600, 1_000, Urgency.LOW, SplitStrategy.TWAP),
    ],
)
def test_choose_strategy_decision_table(
    qty: int, touch: int, urgency: Urgency, expected: SplitStrategy
) -> None:
    assert choose_strategy(qty, touch, urgency, PARAMS) is expected


def test_choose_strategy_uses_params_thresholds() -> None:
    params = SplitParams(
        min_split_qty_shares=10,
        single_max_pct_of_touch=10,
        iceberg_min_pct_of_touch=1_000,
        vwap_min_qty_shares=500,
    )
    assert choose_strategy(9, 0, Urgency.NORMAL, params) is SplitStrategy.SINGLE
    assert choose_strategy(100, 1_000, Urgency.NORMAL, params) is SplitStrategy.SINGLE
    assert choose_strategy(200, 1_000, Urgency.NORMAL, params) is SplitStrategy.TWAP
    assert choose_strategy(600, 1_000, Urgency.NORMAL, params) is SplitStrategy.VWAP
    assert choose_strategy(600, 60, Urgency.NORMAL, params) is SplitStrategy.ICEBERG


def test_choose_strategy_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        choose_strategy(0, 100, Urgency.NORMAL, PARAMS)
    with pytest.raises(ValueError):
        choose_strategy(100, -1, Urgency.NORMAL, PARAMS)
