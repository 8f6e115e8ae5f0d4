"""The intents of a run, and the per-intent seeds and fault windows.

Everything about intent ``i`` derives from ``(seed, i)`` alone, so intents are
independent, reproducible one by one, and the engine and the baselines meet
the same market for the same intent.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from execution.contracts import ExecutionIntent, Side, SplitStrategy, Urgency
from execution.sim.faults import FaultConfig
from execution.simulate.scenario import Scenario
from execution.ticks import snap

_BPS = Decimal(10_000)


def intent_seed(seed: int, index: int) -> int:
    """A 63-bit seed for intent ``index`` of a run (stable across Python versions)."""
    digest = hashlib.sha256(f"scalpchart/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = sorted(k for k, w in weights.items() if w > 0)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _size(rng: random.Random, lo: int, hi: int, distribution: str) -> int:
    if distribution == "uniform" or lo == hi:
        return rng.randint(lo, hi)
    return max(lo, min(hi, round(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))))


def make_intent(scenario: Scenario, seed: int, index: int) -> ExecutionIntent:
    """Intent ``index`` of a run with ``seed``: symbol, side, size and urgency from the mix."""
    mix = scenario.mix
    rng = random.Random(intent_seed(seed, index) ^ 0x1D)
    symbol = _pick(rng, scenario.symbol_weights)
    side = Side(_pick(rng, mix.sides))
    urgency = Urgency(_pick(rng, mix.urgency))
    strategy = SplitStrategy(_pick(rng, mix.strategy))
    qty = _size(rng, mix.size_min, mix.size_max, mix.size_distribution)
    if mix.max_notional_krw is not None:
        qty = max(1, min(qty, int(mix.max_notional_krw // scenario.symbols[symbol].ref_price)))
    limit = None
    if mix.limit_offset_bps is not None:
        ref = scenario.symbols[symbol].ref_price
        limit = snap(ref * (1 + side.sign * Decimal(str(mix.limit_offset_bps)) / _BPS),
                     "down" if side is Side.BUY else "up")
    return ExecutionIntent(symbol, side, qty, limit, urgency, strategy,
                           client_intent_id=f"I{index:05d}")


def arrival_ns(scenario: Scenario, seed: int, index: int) -> int:
    """When intent ``index`` arrives (exchange time, epoch ns): the scenario's start, or a
    uniform draw over its ``arrivals`` window."""
    from execution.market_session import epoch_ns

    if scenario.arrivals is None:
        return epoch_ns(scenario.start)
    lo, hi = (epoch_ns(t) for t in scenario.arrivals)
    rng = random.Random(intent_seed(seed, index) ^ 0xA77)
    return lo + int(rng.random() * (hi - lo)) // 1_000_000 * 1_000_000  # whole ms


def intent_faults(scenario: Scenario, seed: int, index: int) -> FaultConfig:
    """The scenario's faults, plus this intent's random disconnect window (if it drew one)."""
    faults = scenario.faults
    spec = scenario.disconnect
    if spec is None or spec.probability <= 0:
        return faults
    rng = random.Random(intent_seed(seed, index) ^ 0xD15C)
    hit, start = rng.random(), rng.uniform(*spec.start_s)
    if hit >= spec.probability:
        return faults
    window = (start, start + spec.duration_s)
    return replace(faults, disconnect_windows=(*faults.disconnect_windows, window))


def size_bucket(qty: int, edges: tuple[int, ...]) -> str:
    """``"<100"``, ``"100-999"``, ..., ``">=3000"`` for edges (100, 1000, 3000)."""
    if qty < edges[0]:
        return f"<{edges[0]}"
    for lo, hi in itertools.pairwise(edges):
        if lo <= qty < hi:
            return f"{lo}-{hi - 1}"
    return f">={edges[-1]}"


def bucket_names(edges: tuple[int, ...]) -> list[str]:
    names = [f"<{edges[0]}"]
    names += [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    return [*names, f">={edges[-1]}"]
