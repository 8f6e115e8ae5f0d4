"""Simulation scenarios: a YAML file validated by ``execution/schemas/scenario.schema.json``.

Errors are reported like chart errors, as ``FILE:LINE:COL: [rule] message``
(strict YAML first, then every schema violation at once, then cross-field
checks), raised as :class:`~statecharts.errors.DocumentInvalid`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from execution.market_session import parse_at
from execution.sim.faults import FaultConfig
from execution.sim.latency import LatencyModel, LatencyProfile
from execution.sim.params import BookParams
from execution.sim.queues import QueueModel
from execution.sim.rules import MarketRules, ViRates
from execution.sim.symbols import SYMBOLS, SymbolSpec
from execution.ticks import is_on_ladder
from statecharts.checked import read_checked
from statecharts.errors import DocumentInvalid, Problem
from statecharts.yamlsrc import Source

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "scenario.schema.json"
DEFAULT_NAME = "default.yaml"


@cache
def scenario_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@dataclass(frozen=True, slots=True)
class DisconnectSpec:
    probability: float
    start_s: tuple[float, float]
    duration_s: float


@dataclass(frozen=True, slots=True)
class IntentMix:
    count: int = 200
    sides: dict[str, float] = field(default_factory=lambda: {"buy": 1.0, "sell": 1.0})
    urgency: dict[str, float] = field(default_factory=lambda: {"normal": 1.0})
    strategy: dict[str, float] = field(default_factory=lambda: {"auto": 1.0})
    size_min: int = 10
    size_max: int = 5000
    size_distribution: str = "loguniform"
    size_buckets: tuple[int, ...] = (100, 1000, 3000)
    limit_offset_bps: float | None = None
    max_notional_krw: int | None = None  # cap qty x ref price (a strategy sizes within risk)


@dataclass(frozen=True, slots=True)
class Targets:
    """What the engine must achieve on a scenario (defaults: issue 13's, for every one)."""

    max_slippage_bps: float = 50.0
    shortfall_reduction_vs_market: float = 0.30
    fully_filled_ratio: float = 0.99
    at_least_peg_cross: bool = True


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    file: str
    seed: int
    start: datetime
    horizon_s: float
    book: BookParams
    symbols: dict[str, SymbolSpec]
    symbol_weights: dict[str, float]
    latency: LatencyProfile
    faults: FaultConfig  # fixed faults of every intent (windows included)
    disconnect: DisconnectSpec | None  # random per-intent disconnect windows
    commission_bps: Decimal
    mix: IntentMix
    limits_path: Path | None = None
    capital_krw: Decimal | None = None
    description: str = ""
    arrivals: tuple[datetime, datetime] | None = None  # [from, to): spread arrivals
    forced_vi: tuple[tuple[datetime, str], ...] = ()  # (when, symbol)
    sessions: bool = True  # KRX phases: call auctions, VIs (False: continuous all day)
    rules: MarketRules = field(default_factory=MarketRules)
    targets: Targets = field(default_factory=Targets)


def default_scenario_path() -> Path:
    from execution import paths

    return paths.config_dir() / "scenarios" / DEFAULT_NAME


def load_scenario(path: Path | str | None = None, text: str | None = None) -> Scenario:
    """Read, validate and build a scenario (default: ``config/scenarios/default.yaml``)."""
    file = Path(path) if path is not None else default_scenario_path()
    source = read_checked(file, text, scenario_schema())
    problems = _cross_checks(source)
    if problems:
        raise DocumentInvalid(problems)
    return _build(source, file)


def _cross_checks(source: Source) -> list[Problem]:
    return _market_checks(source) + _other_checks(source)


def _market_checks(source: Source) -> list[Problem]:
    data = source.data
    problems: list[Problem] = []
    size = data["intents"]["size"]
    if size["min"] > size["max"]:
        problems.append(source.problem("intents.size.min", "scenario",
                                       f"size min {size['min']} exceeds max {size['max']}"))
    for code, body in data["market"]["symbols"].items():
        path = f"market.symbols.{code}"
        if code not in SYMBOLS and not ({"typical_size", "daily_vol"} <= set(body)
                                        and {"ref_price", "base_price"} & set(body)):
            problems.append(source.problem(path, "scenario", f"unknown symbol {code}: give "
                                           "base_price, typical_size and daily_vol"))
        if "ref_price" in body and "base_price" in body:
            problems.append(source.problem(f"{path}.base_price", "scenario",
                                           "give base_price or its older name ref_price, "
                                           "not both"))
        for key in ("ref_price", "base_price", "start_price", "auction_price"):
            ref = body.get(key)
            if ref is not None and not is_on_ladder(Decimal(ref)):
                problems.append(source.problem(f"{path}.{key}", "scenario",
                                               f"{key} {ref} is off the KRX tick ladder"))
    if not any(b["weight"] > 0 for b in data["market"]["symbols"].values()):
        problems.append(source.problem("market.symbols", "scenario", "every symbol weight is 0"))
    return problems


def _other_checks(source: Source) -> list[Problem]:
    data = source.data
    problems: list[Problem] = []
    for key in ("sides", "urgency", "strategy"):
        weights = data["intents"].get(key)
        if weights is not None and not any(w > 0 for w in weights.values()):
            problems.append(source.problem(f"intents.{key}", "scenario",
                                           f"every {key} weight is 0"))
    disconnect = data.get("faults", {}).get("disconnect")
    if disconnect and disconnect["start_s"][0] > disconnect["start_s"][1]:
        problems.append(source.problem("faults.disconnect.start_s", "scenario",
                                       "start_s is [earliest, latest]: earliest > latest"))
    for i, (start, end) in enumerate(data.get("faults", {}).get("windows", [])):
        if not start < end:
            problems.append(source.problem(f"faults.windows[{i}]", "scenario",
                                           f"window [{start}, {end}] must have start < end"))
    if "start" in data:
        try:
            parse_at(data["start"])
        except ValueError as err:
            problems.append(source.problem("start", "scenario", str(err)))
    return problems + _time_checks(source)


def _time_checks(source: Source) -> list[Problem]:
    data = source.data
    problems: list[Problem] = []
    arrivals = data.get("arrivals")
    times: list[tuple[str, str]] = []
    if arrivals is not None:
        times += [("arrivals.from", arrivals["from"]), ("arrivals.to", arrivals["to"])]
    if data.get("events") and data.get("sessions") is False:
        problems.append(source.problem("events", "scenario", "events (forced VIs) need the "
                                       "KRX phases (sessions: false has none)"))
    for i, event in enumerate(data.get("events", [])):
        times.append((f"events[{i}].at", event["at"]))
        if event["symbol"] not in data["market"]["symbols"]:
            problems.append(source.problem(f"events[{i}].symbol", "scenario",
                                           f"symbol {event['symbol']} is not in market.symbols"))
    for path, text in times:
        try:
            _clock(text)
        except ValueError as err:
            problems.append(source.problem(path, "scenario", str(err)))
    if (arrivals is not None and not problems
            and not _clock(arrivals["from"]) < _clock(arrivals["to"])):
        problems.append(source.problem("arrivals", "scenario",
                                           f"arrivals from {arrivals['from']} must be before "
                                           f"to {arrivals['to']}"))
    return problems


def _clock(text: str) -> time:
    """``HH:MM`` or ``HH:MM:SS`` as a time of day."""
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid time of day {text!r}: expected HH:MM or HH:MM:SS") from None


def _on_day(day: datetime, text: str) -> datetime:
    return datetime.combine(day.date(), _clock(text), tzinfo=day.tzinfo)

def _latency(body: dict[str, Any]) -> LatencyModel:
    if body["model"] == "constant":
        return LatencyModel.constant(float(body["ms"]))
    cap = body.get("cap_ms")
    return LatencyModel.lognormal(float(body["median_ms"]), float(body["sigma"]),
                                  None if cap is None else float(cap))


def _book(market: dict[str, Any]) -> BookParams:
    flow = market.get("flow", {})
    defaults = BookParams()
    return BookParams(
        step_ms=float(market.get("step_ms", defaults.step_ms)),
        depth_levels=int(market.get("depth_levels", defaults.depth_levels)),
        liquidity_tau_s=float(market.get("liquidity_tau_s", defaults.liquidity_tau_s)),
        limit_size_frac=float(market.get("limit_size_frac", defaults.limit_size_frac)),
        cancel_size_frac=float(market.get("cancel_size_frac", defaults.cancel_size_frac)),
        flow_rate_per_s=float(flow.get("rate_per_s", defaults.flow_rate_per_s)),
        flow_size_frac=float(flow.get("size_frac", defaults.flow_size_frac)),
        flow_size_sigma=float(flow.get("size_sigma", defaults.flow_size_sigma)),
        flow_max_ticks=int(flow.get("max_ticks", defaults.flow_max_ticks)),
        max_tilt=float(flow.get("max_tilt", defaults.max_tilt)),
        queue_model=QueueModel(market["queue_model"]),
    )


def _symbol(code: str, body: dict[str, Any], rules: MarketRules) -> SymbolSpec:
    base = SYMBOLS.get(code)
    price = body.get("base_price", body.get("ref_price"))
    board = str(body.get("board", base.board if base else "kospi200"))
    vi = None
    if "vi" in body:
        default = MarketRules().vi_rates[board]
        vi = ViRates(float(body["vi"].get("static", default.static)),
                     float(body["vi"].get("dynamic_continuous", default.dynamic_continuous)),
                     float(body["vi"].get("dynamic_closing", default.dynamic_closing)))
    return SymbolSpec(
        code=code,
        name=base.name if base else code,
        ref_price=Decimal(price) if price is not None else base.ref_price,  # type: ignore[union-attr]
        typical_size=int(body.get("typical_size", base.typical_size if base else 0)),
        daily_vol=float(body.get("daily_vol", base.daily_vol if base else 0.0)),
        board=board,
        vi=vi,
        drift_per_hour=float(body.get("drift_per_hour", 0.0)),
        start_price=None if "start_price" not in body else Decimal(body["start_price"]),
        auction_price=None if "auction_price" not in body else Decimal(body["auction_price"]),
        price_band=Decimal(str(rules.price_limit)),
    )


_RULE_KEYS = ("opening_auction_s", "closing_auction_s", "random_end_s", "vi_s", "price_limit")


def _rules(body: dict[str, Any]) -> MarketRules:
    """``rules:``: the exchange's defaults, with the numbers the scenario gives."""
    given: dict[str, Any] = {key: float(body[key]) for key in _RULE_KEYS if key in body}
    return replace(MarketRules(), **given)


def _targets(body: dict[str, Any]) -> Targets:
    d = Targets()
    return Targets(
        max_slippage_bps=float(body.get("max_slippage_bps", d.max_slippage_bps)),
        shortfall_reduction_vs_market=float(body.get("shortfall_reduction_vs_market",
                                                     d.shortfall_reduction_vs_market)),
        fully_filled_ratio=float(body.get("fully_filled_ratio", d.fully_filled_ratio)),
        at_least_peg_cross=bool(body.get("at_least_peg_cross", d.at_least_peg_cross)),
    )


def _faults(body: dict[str, Any]) -> tuple[FaultConfig, DisconnectSpec | None]:
    slow = body.get("slow_ack", {"rate": 0.0, "extra_ms": 0.0})
    faults = FaultConfig(
        reject_rate=float(body.get("reject_rate", 0.0)),
        duplicate_fill_rate=float(body.get("duplicate_fill_rate", 0.0)),
        reorder_fills=bool(body.get("reorder_fills", False)),
        auto_reconnect=bool(body.get("auto_reconnect", True)),
        slow_ack_rate=float(slow["rate"]),
        slow_ack_ms=float(slow["extra_ms"]),
        disconnect_windows=tuple((float(a), float(b)) for a, b in body.get("windows", [])),
        replace_on_modify=bool(body.get("replace_on_modify", False)),
        lost_answer_rate=float(body.get("lost_answer_rate", 0.0)),
        lost_push_rate=float(body.get("lost_push_rate", 0.0)),
    )
    d = body.get("disconnect")
    disconnect = None if d is None else DisconnectSpec(
        float(d["probability"]), (float(d["start_s"][0]), float(d["start_s"][1])),
        float(d["duration_s"]))
    return faults, disconnect


def _mix(body: dict[str, Any]) -> IntentMix:
    d = IntentMix()
    size = body["size"]
    offset = body.get("limit_offset_bps")
    return IntentMix(
        count=int(body.get("count", d.count)),
        sides=dict(body.get("sides", d.sides)),
        urgency=dict(body.get("urgency", d.urgency)),
        strategy=dict(body.get("strategy", d.strategy)),
        size_min=int(size["min"]),
        size_max=int(size["max"]),
        size_distribution=str(size.get("distribution", d.size_distribution)),
        size_buckets=tuple(sorted(set(body.get("size_buckets", d.size_buckets)))),
        limit_offset_bps=None if offset is None else float(offset),
        max_notional_krw=body.get("max_notional_krw"),
    )


def _build(source: Source, file: Path) -> Scenario:
    data = source.data
    market = data["market"]
    faults, disconnect = _faults(data.get("faults", {}))
    latency = data["latency"]
    engine = data.get("engine", {})
    limits = engine.get("limits")
    capital = engine.get("capital_krw")
    start = parse_at(data.get("start", "2024-06-03 10:00"))
    rules = _rules(data.get("rules", {}))
    arrivals = data.get("arrivals")
    return Scenario(
        name=data["name"],
        file=str(file),
        seed=int(data["seed"]),
        start=start,
        horizon_s=float(data.get("horizon_s", 60.0)),
        book=_book(market),
        symbols={code: _symbol(code, body, rules) for code, body in market["symbols"].items()},
        symbol_weights={code: float(body["weight"]) for code, body in market["symbols"].items()},
        latency=LatencyProfile(_latency(latency["order_entry"]),
                               _latency(latency["modify_cancel"]),
                               _latency(latency["fill_notification"])),
        faults=faults,
        disconnect=disconnect,
        commission_bps=Decimal(str(data.get("fees", {}).get("commission_bps", 1.5))),
        mix=_mix(data["intents"]),
        limits_path=None if limits is None else (file.parent / limits),
        capital_krw=None if capital is None else Decimal(capital),
        description=str(data.get("description", "")),
        arrivals=None if arrivals is None else (_on_day(start, arrivals["from"]),
                                                _on_day(start, arrivals["to"])),
        forced_vi=tuple((_on_day(start, e["at"]), e["symbol"]) for e in data.get("events", [])),
        sessions=bool(data.get("sessions", True)),
        rules=rules,
        targets=_targets(data.get("targets", {})),
    )
