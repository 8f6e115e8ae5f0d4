"""Pure order-split planning: how many child orders, how big, and when.

No IO, no broker and no prices: :func:`choose_strategy` resolves
:attr:`SplitStrategy.AUTO` from the order size, the displayed touch size and the
urgency; :func:`plan_split` turns a strategy into a :class:`SplitPlan` of slices.

Decisions (all thresholds come from :class:`SplitParams`):

* **Children wanted.** SINGLE wants 1; TWAP and VWAP want ``qty //
  min_split_qty_shares`` (every child should carry at least that many shares);
  ICEBERG wants ``ceil(qty / display)``. When that exceeds ``max_children`` the plan
  is cut to ``max_children`` slices, ``capped`` is set and the engine raises GR060.
* **Small orders.** ``qty < min_split_qty_shares`` or ``qty < lot`` always gives one
  slice, whatever the strategy (the strategy name is kept in the plan).
* **Lots.** Slices are built from whole lots; the odd-lot remainder ``qty % lot`` is
  added to the *last* slice, so every slice but the last is a multiple of ``lot`` and
  the last one is too whenever ``qty`` is. KRX trades in lots of 1.
* **Zero-size slices** never appear: a slice that would get nothing (a zero-volume
  bucket, or fewer lots than slices) is dropped, which merges its share into the rest.
* **VWAP** cuts ``[start, start + vwap_horizon)`` into equal sub-windows (one per
  child) and sizes each child by the profile volume inside it, bucket weights
  prorated by overlap. The shipped profile has 5-minute buckets while the default
  horizon is one minute, so cutting at bucket starts would leave short windows
  unsplit; equal sub-windows keep splitting and still follow the curve (heavier
  children where the profile is heavier). Sub-windows without continuous-trading
  volume (the closing auction, before the open) get no child, so such a child's
  share moves to the others and the first release may come later than offset 0.
  The start is the exact time (not its whole minute), so sub-windows near a bucket
  edge are weighted by the buckets they really overlap. Inside one bucket the profile
  is flat: a VWAP horizon shorter than the profile's buckets (the default 40 s against
  5-minute buckets) that does not cross a bucket edge gives TWAP sizes.
  A window with no continuous-trading volume at all (before the open, in the
  closing auction, after the close) falls back to equal sizes, i.e. TWAP timing
  over the VWAP horizon.
* **ICEBERG** shows ``max(lot, iceberg_display_pct % of qty)`` (rounded down to lots);
  all slices have offset 0, the first is released at once and each later one
  (``after_previous``) only when the previous is done. Capped icebergs grow the
  display size to ``ceil(qty / max_children)`` in lots.
* **choose_strategy** with ``Urgency.HIGH``: SINGLE when the touch can absorb the
  order, otherwise ICEBERG, whose refills go out as soon as a slice fills (TWAP/VWAP
  would wait out a horizon, which a high-urgency order cannot afford).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

from execution.contracts import SplitStrategy, Urgency
from execution.volume_profile import VolumeProfile

__all__ = ["Slice", "SplitParams", "SplitPlan", "choose_strategy", "plan_split"]

_MS_PER_MINUTE = 60_000


@dataclass(frozen=True, slots=True)
class SplitParams:
    """The ``split:`` section of the limits YAML (same key names)."""

    max_children: int = 10
    """At most this many child orders (more requested: capped, GR060)."""
    min_split_qty_shares: int = 100
    """Below this quantity an order goes whole (SINGLE)."""
    single_max_pct_of_touch: float = 50
    """AUTO: SINGLE when the quantity is at most this % of the displayed touch size."""
    iceberg_min_pct_of_touch: float = 300
    """AUTO: ICEBERG when the quantity is at least this % of the touch (a thin book)."""
    vwap_min_qty_shares: int = 2000
    """AUTO: VWAP from this quantity on, when the touch is deep enough."""
    twap_horizon_ms: int = 30_000
    """TWAP slices go out evenly over this window."""
    vwap_horizon_ms: int = 60_000
    """VWAP slices follow the day's volume profile over this window."""
    iceberg_display_pct: float = 20
    """ICEBERG shows this % of the quantity at a time (at least one lot)."""
    child_max_wait_ms: int = 60_000
    """A child's own deadline after its scheduled time."""

    def __post_init__(self) -> None:
        _require(self.max_children >= 1, "max_children must be >= 1")
        _require(self.min_split_qty_shares >= 1, "min_split_qty_shares must be >= 1")
        _require(self.single_max_pct_of_touch >= 0, "single_max_pct_of_touch must be >= 0")
        _require(self.iceberg_min_pct_of_touch > 0, "iceberg_min_pct_of_touch must be > 0")
        _require(self.vwap_min_qty_shares >= 1, "vwap_min_qty_shares must be >= 1")
        _require(self.twap_horizon_ms >= 0, "twap_horizon_ms must be >= 0")
        _require(self.vwap_horizon_ms >= 0, "vwap_horizon_ms must be >= 0")
        _require(0 < self.iceberg_display_pct <= 100, "iceberg_display_pct must be in (0, 100]")
        _require(self.child_max_wait_ms >= 0, "child_max_wait_ms must be >= 0")

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> SplitParams:
        """Build from the limits YAML ``split:`` mapping; unknown keys are an error."""
        unknown = sorted(set(section) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown split parameter(s): {', '.join(unknown)}")
        kinds = {f.name: f.type for f in fields(cls)}  # "int" / "float" (postponed)
        values: dict[str, int | float] = {}
        for key, value in section.items():
            integral = kinds[key] == "int"
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"split parameter {key} must be a number, got {value!r}")
            if integral and not isinstance(value, int):
                raise ValueError(f"split parameter {key} must be an integer, got {value!r}")
            values[key] = value
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Slice:
    """One planned child order."""

    qty: int
    offset_ms: int  # release time relative to the start of SENDING
    after_previous: bool  # ICEBERG: released only once the previous slice is done
    display_qty: int | None  # visible size for iceberg slices (== qty); None otherwise


@dataclass(frozen=True, slots=True)
class SplitPlan:
    strategy: SplitStrategy  # never AUTO
    slices: tuple[Slice, ...]
    requested_children: int  # what the algorithm wanted before the max_children cap
    capped: bool  # True when GR060 limited the count

    @property
    def total_qty(self) -> int:
        return sum(s.qty for s in self.slices)


# ---------------------------------------------------------------------- choice
def choose_strategy(
    qty: int, touch_size: int, urgency: Urgency, params: SplitParams
) -> SplitStrategy:
    """Resolve AUTO. First matching rule wins:

    1. ``qty < min_split_qty_shares`` -> SINGLE
    2. ``qty <= single_max_pct_of_touch`` % of ``touch_size`` -> SINGLE
    3. ``Urgency.HIGH``: SINGLE if ``qty <= touch_size``, else ICEBERG
    4. ``qty >= iceberg_min_pct_of_touch`` % of ``touch_size`` (thin touch) -> ICEBERG
    5. ``qty >= vwap_min_qty_shares`` -> VWAP
    6. otherwise TWAP

    ``touch_size`` is the displayed size on the side the order would take; 0 (an
    empty touch) makes every order "thin" for rule 4.
    """
    _check_qty(qty)
    if touch_size < 0:
        raise ValueError(f"touch_size must be >= 0, got {touch_size}")
    if qty < params.min_split_qty_shares:
        return SplitStrategy.SINGLE
    if qty * 100 <= params.single_max_pct_of_touch * touch_size:
        return SplitStrategy.SINGLE
    if urgency is Urgency.HIGH:
        return SplitStrategy.SINGLE if qty <= touch_size else SplitStrategy.ICEBERG
    if qty * 100 >= params.iceberg_min_pct_of_touch * touch_size:
        return SplitStrategy.ICEBERG
    if qty >= params.vwap_min_qty_shares:
        return SplitStrategy.VWAP
    return SplitStrategy.TWAP


# ---------------------------------------------------------------------- planning
def plan_split(
    strategy: SplitStrategy,
    qty: int,
    params: SplitParams,
    *,
    touch_size: int,
    start_minute_of_day: float,
    profile: VolumeProfile,
    lot: int = 1,
) -> SplitPlan:
    """Plan the slices of a ``qty``-share order (see the module docstring for rules).

    ``start_minute_of_day`` (exchange clock) and ``profile`` are used by VWAP only;
    ``touch_size`` is validated but does not change sizes yet (display sizing is a
    fixed percentage of the order).
    """
    _check_qty(qty)
    if lot < 1:
        raise ValueError(f"lot must be >= 1, got {lot}")
    if touch_size < 0:
        raise ValueError(f"touch_size must be >= 0, got {touch_size}")
    if strategy is SplitStrategy.AUTO:
        raise ValueError("plan_split needs a concrete strategy; resolve AUTO first")
    if strategy is SplitStrategy.SINGLE or qty < params.min_split_qty_shares or qty < lot:
        display = qty if strategy is SplitStrategy.ICEBERG else None
        return SplitPlan(strategy, (Slice(qty, 0, False, display),), 1, False)
    if strategy is SplitStrategy.ICEBERG:
        return _plan_iceberg(qty, params, lot)
    wanted = max(1, qty // params.min_split_qty_shares)
    count = min(wanted, params.max_children, qty // lot)
    if strategy is SplitStrategy.TWAP:
        horizon_ms = params.twap_horizon_ms
        weights = [1.0] * count
    else:
        horizon_ms = params.vwap_horizon_ms
        weights = _vwap_weights(profile, start_minute_of_day, horizon_ms, count)
    sizes = _allocate(qty, lot, weights)
    slices = tuple(
        Slice(size, i * horizon_ms // count, False, None)
        for i, size in enumerate(sizes)
        if size > 0
    )
    return SplitPlan(strategy, slices, wanted, wanted > params.max_children)


def _plan_iceberg(qty: int, params: SplitParams, lot: int) -> SplitPlan:
    display = max(lot, _floor_to(qty * params.iceberg_display_pct / 100, lot))
    wanted = -(-qty // display)
    capped = wanted > params.max_children
    if capped:
        display = _ceil_to(-(-qty // params.max_children), lot)
    count = -(-qty // display)
    sizes = [display] * (count - 1) + [qty - display * (count - 1)]
    slices = tuple(Slice(size, 0, i > 0, size) for i, size in enumerate(sizes))
    return SplitPlan(SplitStrategy.ICEBERG, slices, wanted, capped)


def _vwap_weights(
    profile: VolumeProfile, start_minute: float, horizon_ms: int, count: int
) -> list[float]:
    """Profile volume in each of ``count`` equal sub-windows of the VWAP window."""
    step = horizon_ms / count / _MS_PER_MINUTE
    weights = [
        profile.volume_between(start_minute + i * step, start_minute + (i + 1) * step)
        for i in range(count)
    ]
    if not sum(weights) > 0:  # no continuous volume in the window (or zero horizon)
        return [1.0] * count
    return weights


def _allocate(qty: int, lot: int, weights: Sequence[float]) -> list[int]:
    """Split ``qty`` in proportion to ``weights`` in whole lots (largest remainder).

    Ties go to the earlier slice; the odd-lot part ``qty % lot`` goes to the last
    slice that received anything. Slices may come back as 0 (the caller drops them).
    """
    lots, odd = divmod(qty, lot)
    total = math.fsum(weights)
    ideal = [lots * w / total for w in weights]
    counts = [math.floor(x) for x in ideal]
    left = lots - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - ideal[i], i))
    for k in range(left):
        counts[by_remainder[k % len(by_remainder)]] += 1
    sizes = [c * lot for c in counts]
    last = max(i for i, s in enumerate(sizes) if s > 0) if lots else len(sizes) - 1
    sizes[last] += odd
    return sizes


# ---------------------------------------------------------------------- helpers
def _floor_to(value: float, lot: int) -> int:
    return int(value) // lot * lot


def _ceil_to(value: int, lot: int) -> int:
    return -(-value // lot) * lot


def _check_qty(qty: int) -> None:
    if qty <= 0:
        raise ValueError(f"qty must be positive, got {qty}")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
