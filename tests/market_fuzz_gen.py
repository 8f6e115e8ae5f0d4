"""Random but plausible scenario documents for the market fuzz (``market_fuzz_kit``).

:func:`random_scenario` draws one from a seed: a price in any KRX tick band (a few ticks
from a band's edge a quarter of the time, penny stocks too) on any board, calm to
violent, thin to deep books, slow and lossy brokers, starts across the day (the pre-open
auction, right before 15:20, the closing auction), forced VIs, prices near the static VI
band and the +-30 % limits, and 2-6 intents of every urgency, split strategy and size
(limits beyond the price limits too). :func:`random_limits` draws the engine's limits
for the same seed (half of the time the shipped ones). Both are YAML text, read by the
real loaders, so the schemas are exercised as well.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import Any

import yaml

from execution import paths
from execution.ticks import snap

DAY = "2024-06-03"  # a Monday, a trading day


def _loguniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _price(value: float) -> int:
    return int(snap(Decimal(str(max(value, 1.0))).quantize(Decimal(1))))


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _latency(rng: random.Random, slow: bool) -> dict[str, Any]:
    if rng.random() < 0.25:
        return {"model": "constant", "ms": rng.choice([0, 1, 5, 20, 80, 400 if slow else 30])}
    median = _loguniform(rng, 2, 400 if slow else 40)
    body: dict[str, Any] = {"model": "lognormal", "median_ms": round(median, 1),
                            "sigma": round(rng.uniform(0, 1.5 if slow else 0.8), 2)}
    if rng.random() < 0.7:
        body["cap_ms"] = round(median * rng.uniform(2, 40), 1)
    return body


def _faults(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.3:  # a well-behaved broker
        return {"reject_rate": 0.002, "auto_reconnect": True}
    faults: dict[str, Any] = {
        "reject_rate": round(rng.choice([0, 0.002, 0.02, 0.1, 0.3]), 3),
        "duplicate_fill_rate": round(rng.choice([0, 0, 0.05, 0.3]), 2),
        "reorder_fills": rng.random() < 0.4,
        "replace_on_modify": rng.random() < 0.4,
        "lost_answer_rate": round(rng.choice([0, 0, 0.05, 0.2]), 2),
        "lost_push_rate": round(rng.choice([0, 0, 0.1, 0.3]), 2),
        "auto_reconnect": rng.random() < 0.6,
    }
    if rng.random() < 0.5:
        faults["slow_ack"] = {"rate": round(rng.uniform(0, 0.5), 2),
                              "extra_ms": rng.choice([100, 400, 2000, 8000])}
    if rng.random() < 0.4:
        lo = rng.uniform(0, 20)
        faults["disconnect"] = {"probability": round(rng.uniform(0.1, 1.0), 2),
                                "start_s": [round(lo, 1), round(lo + rng.uniform(0, 20), 1)],
                                "duration_s": round(_loguniform(rng, 0.2, 30), 2)}
    if rng.random() < 0.2:
        start = rng.uniform(0, 30)
        faults["windows"] = [[round(start, 1), round(start + rng.uniform(0.5, 10), 1)]]
    return faults


def _symbol(rng: random.Random) -> dict[str, Any]:
    board = rng.choice(["kospi200", "kospi", "kosdaq"])
    kind = rng.random()
    if kind < 0.25:  # a few ticks either side of a tick band's edge
        edge = rng.choice([2_000, 5_000, 20_000, 50_000, 200_000, 500_000])
        base = _price(edge * (1 + rng.uniform(-0.01, 0.01)))
    elif kind < 0.3:  # a penny stock: one tick is tens of bps
        base = _price(rng.uniform(150, 1_000))
    else:
        base = _price(_loguniform(rng, 1_000, 900_000))  # every tick band
    body: dict[str, Any] = {"weight": 1, "board": board, "base_price": base,
                            "typical_size": round(_loguniform(rng, 20, 60_000)),
                            "daily_vol": round(_loguniform(rng, 0.005, 0.15), 4)}
    auction = base
    if rng.random() < 0.5:  # opened away from the base
        auction = _price(base * (1 + rng.uniform(-0.15, 0.15)))
        body["auction_price"] = auction
    where = rng.random()
    if where < 0.25:  # near the static VI band (10 % from the auction price)
        start = auction * (1 + rng.choice([-1, 1]) * rng.uniform(0.085, 0.099))
    elif where < 0.4:  # near the daily price limits (+-30 % from the base)
        start = base * (1 + rng.choice([-1, 1]) * rng.uniform(0.27, 0.299))
    elif where < 0.6:
        start = auction * (1 + rng.uniform(-0.05, 0.05))
    else:
        start = 0
    if start:
        body["start_price"] = _price(start)
    if rng.random() < 0.2:
        body["drift_per_hour"] = round(rng.uniform(-0.1, 0.1), 3)
    if rng.random() < 0.15:
        body["vi"] = {"static": round(rng.uniform(0.02, 0.2), 3),
                      "dynamic_continuous": round(rng.uniform(0.005, 0.08), 3)}
    return body


def _start_s(rng: random.Random) -> int:
    """Seconds after midnight (KST): the pre-open auction, the day, right before 15:20,
    the closing auction."""
    kind = rng.random()
    if kind < 0.15:
        return rng.randint(8 * 3600 + 30 * 60, 9 * 3600 - 1)
    if kind < 0.3:
        return rng.randint(15 * 3600 + 17 * 60, 15 * 3600 + 20 * 60 - 1)
    if kind < 0.4:
        return rng.randint(15 * 3600 + 20 * 60, 15 * 3600 + 29 * 60 + 50)
    if kind < 0.45:
        return rng.randint(9 * 3600, 9 * 3600 + 120)
    return rng.randint(9 * 3600, 15 * 3600 + 17 * 60)


def _intents(rng: random.Random, typical: int, price: int) -> dict[str, Any]:
    urgencies = rng.sample(["low", "normal", "high"], rng.randint(1, 3))
    strategies = rng.sample(["auto", "single", "vwap", "twap", "iceberg"], rng.randint(1, 5))
    size_max = max(1, round(typical * _loguniform(rng, 0.001, 20)))  # 1 share to 20 levels
    if rng.random() < 0.85:  # mostly within the engine's risk limits (10,000 shares, 500M)
        size_max = min(size_max, 10_000, max(1, int(5e8 // price)))
    size_min = rng.randint(1, size_max)
    body: dict[str, Any] = {
        "count": rng.randint(2, 6),
        "sides": rng.choice([{"buy": 1}, {"sell": 1}, {"buy": 1, "sell": 1}]),
        "urgency": {u: rng.randint(1, 3) for u in urgencies},
        "strategy": {s: 1 for s in strategies},
        "size": {"min": min(size_min, size_max), "max": size_max,
                 "distribution": rng.choice(["loguniform", "uniform"])},
    }
    if rng.random() < 0.35:  # a limit from inside the spread to beyond the +-30 % limits
        body["limit_offset_bps"] = round(rng.choice([0, 5, 30, 100, 800, 3500]) *
                                         rng.uniform(0.5, 1.5), 1)
    if rng.random() < 0.4:
        body["max_notional_krw"] = max(1, round(_loguniform(rng, 1e6, 6e8)))
    return body


def random_limits(seed: int) -> str | None:
    """The engine's limits for the case of ``seed``: the shipped ones (None) half of the
    time, else a copy with the session, auction, urgency and timing knobs drawn."""
    rng = random.Random(f"limits/{seed}")
    if rng.random() < 0.5:
        return None
    doc: dict[str, Any] = yaml.safe_load(paths.default_limits().read_text(encoding="utf-8"))
    session, adjust = doc["session"], doc["adjust"]
    session["closing_auction"] = rng.choice(["refuse", "join"])
    session["auction_policy"] = rng.choice(["keep", "shrink"])
    session["auction_keep_pct"] = rng.choice([0, 25, 50, 100])
    session["end_margin_ms"] = rng.choice([500, 2000, 5000])
    adjust["max_rounds"] = rng.randint(1, 5)
    adjust["high_urgency_joins_wide_tick"] = rng.random() < 0.5
    adjust["high_passive_max_ms"] = rng.choice([0, 0, 500, 5000])
    doc["escape"]["liquidate_on_escape"] = rng.random() < 0.3
    doc["monitor"]["adjust_interval_ms"] = rng.choice([100, 250, 1000, 2000])
    doc["stage_timeouts"]["monitoring_timeout_ms"] = rng.choice([5000, 20000, 60000])
    doc["split"]["iceberg_display_pct"] = rng.choice([5, 20, 50])
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False)


def limits_name(seed: int) -> str:
    return f"fuzz-{seed}-limits.yaml"


def random_scenario(seed: int) -> str:
    """A random but plausible scenario document (YAML text) drawn from ``seed``; its
    ``engine.limits`` names :func:`limits_name` when :func:`random_limits` draws some."""
    rng = random.Random(seed)
    code = "FZ0001"
    symbol = _symbol(rng)
    start = _start_s(rng)
    # The engine's own timeouts do not scale with the horizon, and a VI lasts two minutes:
    # the runner's guard (three horizons + 60 s) would cut a shorter one in a VI.
    horizon = rng.choice([60, 60, 90, 120])
    doc: dict[str, Any] = {
        "version": 1, "name": f"fuzz-{seed}", "description": "random market (market fuzz)",
        "seed": seed, "start": f"{DAY} {_hms(start)[:5]}", "horizon_s": horizon,
    }
    if rng.random() < 0.6:  # to the second, and spread over up to two minutes
        lo = start
        doc["arrivals"] = {"from": _hms(lo), "to": _hms(lo + rng.randint(1, 120))}
    flow = {"rate_per_s": round(_loguniform(rng, 0.05, 10), 3),
            "size_frac": round(_loguniform(rng, 0.001, 0.2), 4),
            "size_sigma": round(rng.uniform(0.3, 1.8), 2),
            "max_ticks": rng.randint(0, 4), "max_tilt": round(rng.uniform(0, 0.9), 2)}
    doc["market"] = {
        "step_ms": rng.choice([20, 50, 50, 100]),
        "queue_model": rng.choice(["conservative", "probabilistic"]),
        "depth_levels": rng.randint(1, 15),
        "liquidity_tau_s": round(_loguniform(rng, 3, 90), 1),
        "limit_size_frac": round(_loguniform(rng, 0.002, 0.2), 4),
        "cancel_size_frac": round(_loguniform(rng, 0.002, 0.2), 4),
        "flow": flow, "symbols": {code: symbol},
    }
    if rng.random() < 0.35:  # a forced VI during the intents
        doc["events"] = [{"at": _hms(start + rng.randint(0, horizon + 30)), "symbol": code,
                          "event": "vi"} for _ in range(rng.randint(1, 2))]
    # Without phases the exchange trades continuously all day, but the engine still plans
    # with KRX's calendar (15:20, the closing auction): only starts well before 15:20.
    if rng.random() < 0.1 and start < 15 * 3600 + 10 * 60:
        doc["sessions"] = False  # continuous all day (the paper exchange's market)
        doc.pop("events", None)  # a VI needs the phases (the loader says so)
    doc["engine"] = {}
    if rng.random() < 0.15:
        doc["engine"]["capital_krw"] = round(_loguniform(rng, 1e5, 1e9))
    if random_limits(seed) is not None:
        doc["engine"]["limits"] = limits_name(seed)
    if rng.random() < 0.2:
        # (KRX's VI is 2 minutes; the engine holds its orders through one, so a longer
        # one would only outlast the runner's guard)
        doc["rules"] = {"vi_s": rng.choice([10, 60, 120]),
                        "random_end_s": rng.choice([0, 5, 30])}
    slow = rng.random() < 0.35
    doc["latency"] = {"order_entry": _latency(rng, slow), "modify_cancel": _latency(rng, slow),
                      "fill_notification": _latency(rng, slow)}
    doc["faults"] = _faults(rng)
    doc["intents"] = _intents(rng, int(symbol["typical_size"]),
                              int(symbol.get("start_price", symbol["base_price"])))
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False)


class _Dumper(yaml.SafeDumper):
    """Strings quoted (YAML 1.1 would read an unquoted ``08:53:42`` as a number)."""


_Dumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style='"'))
