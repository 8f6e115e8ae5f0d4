"""``scalpchart run --batch FILE``: a strategy's intents replayed into one engine.

The file is a YAML list of intents (symbol, side, qty, optional limit, urgency,
strategy, ``after_ms`` and ``id``), validated by ``execution/schemas/batch.schema.json``.
Every intent is submitted at its time into one engine against one exchange, as a
strategy would, so the cross-execution rules (reservations, self-trade prevention, the
daily limit) act as they would live. The JSON answer has ``executions`` (one run's JSON
per intent, in input order), ``account`` (cash and signed positions) and ``alerts``.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from execution.contracts import ExecutionIntent, ExecutionResult, Side, SplitStrategy, Urgency
from statecharts.checked import read_checked

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "batch.schema.json"


@cache
def batch_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def load_batch(path: Path) -> list[tuple[float, ExecutionIntent]]:
    """(after_ms, intent) per entry, in file order; ChartInvalid with located problems."""
    source = read_checked(path, None, batch_schema())
    out = []
    for n, entry in enumerate(source.data, start=1):
        limit = entry.get("limit")
        intent = ExecutionIntent(
            entry["symbol"], Side(entry["side"]), entry["qty"],
            Decimal(str(limit)) if limit is not None else None,
            Urgency(entry.get("urgency", "normal")),
            SplitStrategy(entry.get("strategy", "auto")), entry.get("id", f"B{n}"))
        out.append((float(entry.get("after_ms", 0)), intent))
    return out


async def run_batch(engine: Any, exchange: Any,
                    entries: list[tuple[float, ExecutionIntent]]) -> list[ExecutionResult]:
    """Submit each intent at its time; return every result, in input order."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    order = sorted(range(len(entries)), key=lambda i: entries[i][0])  # stable: file order
    by_index: dict[int, asyncio.Future[ExecutionResult]] = {}
    for i in order:
        after_ms, intent = entries[i]
        wait = started + after_ms / 1000 - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        by_index[i] = engine.submit(intent).result
    futures = [by_index[i] for i in range(len(entries))]
    return list(await asyncio.gather(*futures))


def batch_json(results: list[ExecutionResult], exchange: Any) -> dict[str, Any]:
    account = exchange.account
    positions = {symbol: qty for symbol, qty in account.positions.items() if qty}
    alerts = [{"execution_id": r.execution_id, **a.to_json()} for r in results
              for a in r.alerts]
    return {
        "executions": [r.to_json() for r in results],
        "account": {"cash_krw": None if account.cash is None else str(account.cash),
                    "positions": positions},
        "alerts": alerts,
    }


def print_batch(data: dict[str, Any]) -> None:
    for run in data["executions"]:
        intent = run["intent"]
        print(f"{run['execution_id']:<8} {intent['side']:<4} {intent['qty']:>7} "
              f"{intent['symbol']}  {run['final_state']:<9} filled {run['filled_qty']:>7}  "
              f"{' '.join(run['codes']) or '-'}  {run['reason']}")
    account = data["account"]
    print(f"account: cash {account['cash_krw'] or 'unlimited'}  positions "
          + (", ".join(f"{s} {q:+d}" for s, q in account["positions"].items()) or "none"))
