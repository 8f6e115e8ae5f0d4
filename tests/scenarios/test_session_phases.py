"""KRX session phases through the whole engine, on the scriptable broker: the time left
before the closing auction (GR066), the closing-auction policy, the day's price limits
(GR068), the pause through a call auction or a VI and the re-quote after it (GR067)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from execution.codes import Alert
from execution.contracts import MarketPhase, Side, SplitStrategy, Urgency
from execution.market_session import KST, epoch_ns
from execution.orders.phase import holds_release
from execution.testing import HEAD, SYMBOL, EngineFactory, ScriptedBroker, alert, finish, path
from execution.testing.harness import intent, make_context, make_engine, until, until_state

#: 15:20 KST on Monday 2024-06-03: continuous trading ends, the closing auction begins.
CONTINUOUS_END_NS = epoch_ns(datetime(2024, 6, 3, 15, 20, tzinfo=KST))
CLOSE_NS = epoch_ns(datetime(2024, 6, 3, 15, 30, tzinfo=KST))


def _near_close(ms_before: float) -> ScriptedBroker:
    return ScriptedBroker(start_ns=CONTINUOUS_END_NS - int(ms_before * 1e6))


def _details(alerts: list[Alert], code: str) -> list[dict[str, str]]:
    return [a.details for a in alerts if a.code.name == code]


# ------------------------------------------------------------------ GR066: time left
async def test_an_intent_crossing_1520_is_planned_for_the_time_left() -> None:
    broker = _near_close(1_500)  # 1.5 s of continuous trading left, a 10 s fill timeout
    engine = make_engine(broker, timeouts={"MONITORING": 10_000}, min_time_left_ms=200,
                         end_margin_ms=1_000)
    execution = engine.submit(intent(50, cid="T"))
    await until_state(execution, "MONITORING")
    assert 400 <= execution.run.timeouts_ms["MONITORING"] <= 500  # 1.5 s less the margin
    broker.fill_child("T-1", 20)
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == 20
    assert path(result) == [*HEAD, "COMPLETE"]  # the shortened fill timeout ended it
    details = _details(result.alerts, "GR066")[0]
    assert details["action"] == "shortened" and details["was_ms"] == "10000"
    assert broker.live_orders() == []  # cancelled before 15:20
    assert broker.now_ns() < CONTINUOUS_END_NS
    await engine.close()


async def test_too_little_time_left_is_refused() -> None:
    broker = _near_close(900)
    engine = make_engine(broker, timeouts={"MONITORING": 10_000}, min_time_left_ms=500,
                         end_margin_ms=1_000)
    result = await engine.execute(intent(50, cid="R"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "FAILED"]
    assert result.trace[-1]["guard"] == "session_phase_refused"
    message = alert(result, "GR066")
    assert message.startswith("GR066: id=R guard=session_phase_refused phase=continuous left_ms=")
    assert message.endswith("min_ms=500 policy=refuse")
    assert result.precheck_failure == "session_phase"
    assert broker.calls == []
    await engine.close()


async def test_a_horizon_inside_the_session_is_not_touched(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine()  # 10:00 KST
    execution = engine.submit(intent(50, cid="N"))
    await until_state(execution, "MONITORING")
    assert execution.run.timeouts_ms["MONITORING"] == 300
    broker.fill_child("N-1")
    result = await finish(execution)
    assert "GR066" not in result.codes()


async def test_a_shortened_twap_sends_every_slice_in_the_first_half_of_the_time_left() -> None:
    broker = _near_close(2_000)
    engine = make_engine(broker, timeouts={"MONITORING": 10_000}, min_time_left_ms=200,
                         end_margin_ms=1_000, split={"twap_horizon_ms": 30_000})
    execution = engine.submit(intent(400, strategy=SplitStrategy.TWAP, cid="TW"))
    await until_state(execution, "MONITORING")
    offsets = [(c.scheduled_ns - execution.ctx.children[0].scheduled_ns) / 1e6
               for c in execution.ctx.children]
    assert max(offsets) < 500  # a 30 s horizon cut to half of the ~1 s left
    engine.escape("TW", "done")
    await finish(execution)
    await engine.close()


# ------------------------------------------------------------- GR066: closing auction
async def test_the_closing_auction_is_refused_by_default() -> None:
    broker = ScriptedBroker(start_ns=CONTINUOUS_END_NS + 60 * 10**9)
    broker.set_quote(70_000, 70_100, phase=MarketPhase.CLOSING_AUCTION, phase_ends_ns=CLOSE_NS)
    engine = make_engine(broker)
    result = await engine.execute(intent(50, cid="CA"))
    assert result.final_state == "FAILED"
    assert alert(result, "GR066").startswith(
        "GR066: id=CA guard=session_phase_refused phase=closing_auction")
    await engine.close()


async def test_join_rests_into_the_closing_auction_without_chasing_it() -> None:
    broker = ScriptedBroker(start_ns=CONTINUOUS_END_NS + 60 * 10**9)
    broker.set_quote(70_000, 70_100, phase=MarketPhase.CLOSING_AUCTION, phase_ends_ns=CLOSE_NS)
    engine = make_engine(broker, closing_auction="join", auction_grace_ms=30_000,
                         adjust_interval_ms=20)
    execution = engine.submit(intent(50, cid="J"))
    await until_state(execution, "MONITORING")
    # the fill timeout runs to the close (9 min) plus the grace
    assert execution.run.timeouts_ms["MONITORING"] >= 9 * 60_000 + 30_000 - 100
    await asyncio.sleep(0.4)  # longer than the test's 300 ms fill timeout
    assert execution.state == "MONITORING"
    assert broker.calls_of("modify") == [] and execution.ctx.adjust_rounds == 0
    broker.fill_child("J-1", 50, 70_050)  # the auction's single price
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == 50
    assert _details(result.alerts, "GR066")[0]["action"] == "join"
    assert _details(result.alerts, "GR067")[0]["action"] == "pause"
    await engine.close()


# ------------------------------------------------------------------ GR068: price limits
async def test_a_limit_beyond_the_price_limits_is_refused(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    broker.set_quote(70_000, 70_100, lower_limit=49_100, upper_limit=91_100)
    engine = new_engine()
    result = await engine.execute(intent(50, limit=95_000, cid="PL"))
    assert result.final_state == "FAILED"
    assert path(result) == ["INIT", "PRECHECK", "FAILED"]
    assert alert(result, "GR068") == (
        "GR068: id=PL guard=price_limit_refused limit=95000 lower_limit=49100 "
        "upper_limit=91100")
    assert result.precheck_failure == "price_limit" and broker.calls == []
    low = await engine.execute(intent(50, side=Side.SELL, limit=40_000, cid="PL2"))
    assert low.final_state == "FAILED" and "GR068" in low.codes()


async def test_a_limit_inside_the_price_limits_goes_on(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    broker.set_quote(70_000, 70_100, lower_limit=49_100, upper_limit=91_100)
    engine = new_engine()
    execution = engine.submit(intent(50, limit=91_100, cid="OK"))
    await until_state(execution, "MONITORING")
    broker.fill_child("OK-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and "GR068" not in result.codes()
    await engine.close()


# ------------------------------------------------------------- GR067: VI / auction pause
async def test_a_vi_pauses_repricing_and_the_fill_timeout_then_requotes_fresh(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20)  # arrival mid 70 050
    execution = engine.submit(intent(50, cid="V"))
    await until_state(execution, "MONITORING")
    broker.set_phase(MarketPhase.VI_AUCTION, broker.now_ns() + 120 * 10**9)
    await until(lambda: "GR067" in [a.code.name for a in execution.ctx.alerts], what="pause")
    rounds_before = execution.ctx.adjust_rounds
    await asyncio.sleep(0.5)  # beyond the 300 ms fill timeout: the pause does not use it up
    assert execution.state == "MONITORING"
    assert execution.ctx.adjust_rounds == rounds_before  # no rounds in the pause
    modifies = len(broker.calls_of("modify"))
    # the VI ends at a higher price: the child re-quotes at the fresh bid, not a round
    broker.set_quote(70_200, 70_300)
    await until(lambda: len(broker.calls_of("modify")) > modifies, what="re-quote")
    assert broker.calls_of("modify")[modifies].price == Decimal(70_200)
    resume = [d for d in _details(execution.ctx.alerts, "GR067") if d["action"] == "resume"]
    assert resume and resume[0]["bid"] == "70200" and resume[0]["requoted"] == "1"
    assert int(resume[0]["paused_ms"]) >= 500
    broker.fill_child("V-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == 50
    pause = _details(result.alerts, "GR067")[0]
    assert pause["action"] == "pause" and pause["phase"] == "vi_auction"
    assert pause["working"] == "1"


async def test_a_vi_into_1520_does_not_carry_the_orders_into_the_closing_auction() -> None:
    # Found by the market fuzz (seed 2034): a sell resting at 15:17 met VIs, the last one
    # running into the closing auction; each pause pushed the fill timeout back, past
    # 15:20, and the closing auction paused it again: the orders rested into the auction
    # the limits refuse (`closing_auction: refuse`) and the execution ran past 15:24.
    broker = _near_close(1_500)  # 1.5 s of continuous trading left, a 1 s fill timeout
    engine = make_engine(broker, timeouts={"MONITORING": 1_000}, min_time_left_ms=200,
                         end_margin_ms=300, adjust_interval_ms=20)
    execution = engine.submit(intent(50, cid="C"))
    await until_state(execution, "MONITORING")
    assert execution.run.timeouts_ms["MONITORING"] == 1_000  # fits: not shortened
    broker.set_phase(MarketPhase.VI_AUCTION, CONTINUOUS_END_NS)  # a VI up to 15:20
    loop = asyncio.get_running_loop()
    loop.call_later(1.5, broker.set_phase, MarketPhase.CLOSING_AUCTION, CLOSE_NS)
    result = await finish(execution)
    assert broker.now_ns() < CONTINUOUS_END_NS  # ended before 15:20, as planned
    assert broker.live_orders() == []
    assert result.final_state != "COMPLETE" and result.filled_qty == 0
    assert _details(result.alerts, "GR067")[0]["action"] == "pause"
    await engine.close()


async def test_the_requote_after_a_vi_stays_inside_the_slippage_cap(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20)  # arrival mid 70 050: the 50 bps cap is 70 400
    execution = engine.submit(intent(50, cid="VC"))
    await until_state(execution, "MONITORING")
    broker.set_phase(MarketPhase.VI_AUCTION)
    await until(lambda: execution.ctx.paused_since is not None, what="pause")
    broker.set_quote(71_000, 71_100)  # the VI ends 1.4 % higher
    await until(lambda: bool(broker.calls_of("modify")), what="re-quote")
    assert broker.calls_of("modify")[0].price == Decimal(70_400)


async def test_a_high_urgency_child_requotes_at_the_far_touch_after_a_vi(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    # A pause must not turn HIGH urgency passive: after the VI it takes the fresh far
    # touch, as its entry did (found on the vi_day scenario: a HIGH buy re-quoted at the
    # bid after a VI rested there while the price ran away, and ended with nothing filled).
    engine = new_engine(adjust_interval_ms=20)  # arrival 70 000 / 70 100: the cap is 70 400
    execution = engine.submit(intent(50, urgency=Urgency.HIGH, cid="VH"))
    await until_state(execution, "MONITORING")
    assert broker.calls_of("send")[0].price == Decimal(70_100)
    broker.set_phase(MarketPhase.VI_AUCTION)
    await until(lambda: execution.ctx.paused_since is not None, what="pause")
    broker.set_quote(70_200, 70_300)
    await until(lambda: bool(broker.calls_of("modify")), what="re-quote")
    assert broker.calls_of("modify")[0].price == Decimal(70_300)
    broker.fill_child("VH-1")
    result = await finish(execution)
    assert result.final_state == "COMPLETE" and result.filled_qty == 50


async def test_a_shortened_fill_timeout_does_not_outlive_its_execution() -> None:
    # the chart instance goes back to the engine's pool: the next intents get the
    # engine's own fill timeout, not the one shortened for the late intent
    broker = _near_close(1_500)
    engine = make_engine(broker, timeouts={"MONITORING": 10_000}, min_time_left_ms=200,
                         end_margin_ms=1_000)
    engine.pool().refill_enabled = False  # the finished instance is what the pool hands out
    late = engine.submit(intent(50, cid="L"))
    await until_state(late, "MONITORING")
    late_run = late.run
    assert late_run.timeouts_ms["MONITORING"] < 1_000
    engine.escape("L", "done")
    await finish(late)
    broker.advance(-3_600_000)  # back to 14:20
    runs = []
    for n in range(5):
        execution = engine.submit(intent(50, cid=f"E{n}"))
        await until_state(execution, "MONITORING")
        runs.append(execution.run)
        assert execution.run.timeouts_ms["MONITORING"] == 10_000
        engine.escape(execution.id, "done")
        await finish(execution)
    assert any(run is late_run for run in runs)  # the recycled instance was among them
    await engine.close()


# --------------------------------------------------- GR067: no new slice into an auction
async def test_a_slice_due_in_a_vi_is_held_and_goes_out_after_it_at_the_fresh_book(
        broker: ScriptedBroker, new_engine: EngineFactory) -> None:
    engine = new_engine(adjust_interval_ms=20, timeouts={"MONITORING": 5_000},
                        split={"twap_horizon_ms": 200})
    execution = engine.submit(intent(200, strategy=SplitStrategy.TWAP, cid="H"))
    await until_state(execution, "MONITORING")
    assert [c.key for c in broker.calls_of("send")] == ["H-1"]
    broker.set_phase(MarketPhase.VI_AUCTION)
    await until(lambda: "hold" in [d["action"] for d in _details(execution.ctx.alerts, "GR067")],
                what="a held slice")
    await asyncio.sleep(0.1)  # several looks inside the VI: still held, one alert
    assert [c.key for c in broker.calls_of("send")] == ["H-1"]
    holds = [d for d in _details(execution.ctx.alerts, "GR067") if d["action"] == "hold"]
    assert holds == [{"id": "H", "action": "hold", "child": "H-2", "phase": "vi_auction"}]
    broker.set_quote(70_200, 70_300)  # the VI ends higher: the slice joins the fresh bid
    await until(lambda: len(broker.calls_of("send")) == 2, what="the held slice")
    assert broker.calls_of("send")[1].key == "H-2"
    assert broker.calls_of("send")[1].price == Decimal(70_200)


def test_the_closing_auction_holds_slices_only_when_the_limits_do_not_join_it() -> None:
    broker = ScriptedBroker()
    broker.set_phase(MarketPhase.CLOSING_AUCTION)
    quote = broker.quote(SYMBOL)
    assert holds_release(make_context(broker), quote)
    assert not holds_release(make_context(broker, closing_auction="join"), quote)
    broker.set_phase(MarketPhase.CONTINUOUS)
    assert not holds_release(make_context(broker), broker.quote(SYMBOL))
