"""Property: random batches of intents, submitted at random moments with fills interleaved,
never jointly exceed a limit: no self-trade (never both sides of a symbol live), the day's
trades, the position cap and the capital budget hold at every step, and every claim is
released once all have settled."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.contracts import Side
from execution.engine import Execution
from execution.testing import ScriptedBroker, intent, make_engine, run_async

SYMBOLS = ("005930", "000660", "035420")
CAPITAL = Decimal(20_000_000)
CAP, DAILY = 200, 5

BATCH = st.lists(st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(list(Side)),
                           st.integers(1, 300), st.integers(0, 3)), min_size=1, max_size=10)


def _check(engine_live: list[Execution], ledger: object) -> None:
    live = {(e.ctx.intent.symbol, e.ctx.intent.side) for e in engine_live
            if not e.run.done and e.ctx.precheck_failure is None and e.state != "PRECHECK"}
    assert not any((s, side.opposite) in live for s, side in live), live
    assert sum(ledger.trades_per_day.values()) <= DAILY  # type: ignore[attr-defined]
    assert all(abs(q) <= CAP for q in ledger.positions.values())  # type: ignore[attr-defined]
    spent = ledger.spent_krw + ledger.capital_claimed()  # type: ignore[attr-defined]
    assert spent <= CAPITAL, spent


async def _scenario(batch: list[tuple[str, Side, int, int]], seed: int) -> None:
    rng = random.Random(seed)
    broker = ScriptedBroker(symbols=SYMBOLS)
    engine = make_engine(broker, daily_trade_limit=DAILY, position_cap_shares=CAP,
                         capital_krw=CAPITAL, timeouts={"MONITORING": 120})
    executions: list[Execution] = []
    for n, (symbol, side, qty, turns) in enumerate(batch):
        for _ in range(turns):
            await asyncio.sleep(0)
            _check(executions, engine.services.ledger)
        executions.append(engine.submit(intent(qty, side, symbol=symbol, cid=f"R{n}")))
        live = broker.live_orders()
        if live and rng.random() < 0.5:
            order = rng.choice(live)
            broker.fill(order.broker_id, rng.randint(1, order.remaining))
        _check(executions, engine.services.ledger)
    for execution in executions:
        while not execution.result.done():
            _check(executions, engine.services.ledger)
            live = broker.live_orders()
            if live and rng.random() < 0.3:
                order = rng.choice(live)
                broker.fill(order.broker_id, rng.randint(1, order.remaining))
            await asyncio.sleep(0.005)
    _check(executions, engine.services.ledger)
    assert engine.services.ledger.claims == {}
    assert engine.services.ledger.live.total() == 0
    await engine.close()


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(batch=BATCH, seed=st.integers(0, 2**16))
def test_concurrent_intents_never_jointly_exceed_a_limit(
        batch: list[tuple[str, Side, int, int]], seed: int) -> None:
    run_async(lambda: _scenario(batch, seed), timeout=30)
