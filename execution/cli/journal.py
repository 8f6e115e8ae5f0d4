"""``scalpchart journal show PATH [--execution ID] [--day DATE]``: what a person needs to
audit a trading day from the journal, read-only (it never writes to it).

Without ``--execution``: per trading day, the trades counted (GR062), the positions
from the day's fills, and one line per execution (intent, final state, fills, its
orders, the codes it raised; unfinished ones flagged). With it: that execution's every
record, in order, on the engine's wall clock (Asia/Seoul).
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from execution.cli.common import EXIT_FINDINGS, EXIT_OK, UsageError
from execution.journal import JournalError, SqliteStore
from execution.journal.reading import day_state, unrecorded
from execution.journal.rows import EventRow, ExecutionRow
from execution.journal.schema import version
from execution.market_session import KST


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_journal_parser(sub: Any) -> None:
    p = sub.add_parser("journal", help="read a write-ahead journal")
    inner = p.add_subparsers(dest="journal_command", required=True)
    show = inner.add_parser("show", help="a day's executions, or one execution's records")
    show.add_argument("path", type=Path, help="the journal file (SQLite)")
    show.add_argument("--execution", metavar="ID", help="every record of this execution")
    show.add_argument("--day", type=_day, help="only this trading day (YYYY-MM-DD)")
    show.add_argument("--format", choices=("text", "json"), default="text",
                   help="output format on stdout")
    show.set_defaults(func=cmd_show)


def _clock(wall_ns: int) -> str:
    return datetime.fromtimestamp(wall_ns / 1e9, KST).strftime("%H:%M:%S.%f")


def summary(row: ExecutionRow, events: list[EventRow]) -> dict[str, Any]:
    result = next((e.data for e in reversed(events) if e.kind == "result"), None)
    orders = [e.order_id for e in events if e.kind == "order"]
    codes = list(dict.fromkeys(str(e.data.get("code")) for e in events if e.kind == "alert"))
    counted = sum(int(e.data["counted"]) for e in events
                  if e.kind == "fill" and not e.data.get("liquidation"))
    intent = row.intent
    return {"id": row.id, "day": row.day, "created": _clock(row.created_wall_ns),
            "intent": f"{intent['side']} {intent['qty']} {intent['symbol']} "
                      f"{intent['urgency']}" + (f" limit {intent['limit_price']}"
                                                if intent.get("limit_price") else ""),
            "final_state": row.final_state, "settled": row.settled, "filled_qty": counted,
            "avg_price": result.get("avg_price") if result else None,
            "recovered": bool(result and result.get("recovered")),
            "orders": orders, "codes": codes,
            "reason": result.get("reason", "") if result else ""}


def _event_json(event: EventRow) -> dict[str, Any]:
    return {"seq": event.seq, "time": _clock(event.wall_ns), "exchange_ns": event.exchange_ns,
            "session": event.session, "kind": event.kind, "child": event.child_id,
            "order": event.order_id, "data": dict(event.data)}


def _details(event: EventRow) -> str:
    d = event.data
    if event.kind == "transition":
        guard = f" [{d['guard']}]" if d.get("guard") else ""
        return f"{d['source'] or '-'} --{d['event'] or 'start'}{guard}--> {d['target']}"
    if event.kind in ("send", "plan"):
        price = d["price"] if d.get("price") else "market"
        how = "(ahead of its send)" if event.kind == "plan" else f"attempt {d['attempt']}"
        return (f"{d['side']} {d['qty']} {d['symbol']} @ {price}  client {d['client_order_id']}"
                f"  {how}" + ("  LIQUIDATION" if d.get("liquidation") else ""))
    if event.kind == "fill":
        return (f"{d['qty']} @ {d['price']} (counted {d['counted']}, cumulative "
                f"{d['cumulative']})  {d['event_id']}"
                + ("  liquidation" if d.get("liquidation") else ""))
    if event.kind == "alert":
        return str(d.get("message", ""))
    if event.kind == "result":
        return (f"{d.get('final_state')}  filled {d.get('filled_qty')}  avg "
                f"{d.get('avg_price')}  {d.get('reason', '')}"
                + ("  (recovered)" if d.get("recovered") else ""))
    return "  ".join(f"{k}={v}" for k, v in d.items() if v not in (None, "", [], {}))


def in_time_order(events: list[EventRow]) -> list[EventRow]:
    """Records in the order they happened (a transition is written after the order that
    followed it, which is journaled ahead)."""
    return sorted(events, key=lambda e: (e.wall_ns, e.seq))


def _print_execution(row: ExecutionRow, events: list[EventRow]) -> None:
    info = summary(row, events)
    state = info["final_state"] or "UNFINISHED (run scalpchart recover)"
    print(f"execution {row.id}  day {row.day}  {info['intent']}  -> {state}")
    intent = "  ".join(f"{k}={v}" for k, v in row.intent.items() if v not in (None, ""))
    print(f"  {_clock(row.created_wall_ns)}  {'intent':<11} {'':<28} {intent}")
    for event in events:
        where = " ".join(x for x in (event.child_id, event.order_id) if x)
        print(f"  {_clock(event.wall_ns)}  {event.kind:<11} {where:<28} {_details(event)}")


def _print_days(store: SqliteStore, rows: list[ExecutionRow]) -> None:
    by_day: dict[str, list[ExecutionRow]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    for day, day_rows in sorted(by_day.items()):
        state = day_state(store, date.fromisoformat(day))
        positions = ", ".join(f"{s} {q:+d}" for s, q in sorted(state.positions.items()) if q)
        print(f"day {day}: {len(day_rows)} execution(s), "
              f"{state.trades[date.fromisoformat(day)]} trade(s) counted (GR062); "
              f"positions: {positions or 'flat'}")
        for row in day_rows:
            info = summary(row, store.events(row.id))
            state_text = info["final_state"] or "UNFINISHED"
            flags = " recovered" if info["recovered"] else ""
            flags += "" if info["settled"] else " (orders unconfirmed: run scalpchart recover)"
            print(f"  {info['created'][:8]}  {row.id:<16} {info['intent']:<28} "
                  f"{state_text:<10} filled {info['filled_qty']:<6} avg "
                  f"{info['avg_price'] or '-':<10} orders {','.join(info['orders']) or '-'}"
                  + (f"  [{','.join(info['codes'])}]" if info["codes"] else "") + flags)


def cmd_show(args: argparse.Namespace) -> int:
    try:
        store = SqliteStore(args.path, readonly=True)
    except JournalError as err:
        raise UsageError(str(err)) from None
    try:
        return _show(args, store)
    except JournalError as err:
        raise UsageError(str(err)) from None
    finally:
        store.close()


def _show(args: argparse.Namespace, store: SqliteStore) -> int:
    if args.execution:
        rows = store.executions(ids=[args.execution]) or [
            row for row in unrecorded(store, None) if row.id == args.execution]
        if not rows:
            raise UsageError(f"{args.path}: no execution {args.execution!r}")
        events = in_time_order(store.events(args.execution))
        if args.format == "json":
            print(json.dumps({"execution": summary(rows[0], events),
                              "events": [_event_json(e) for e in events]}, indent=2))
        else:
            _print_execution(rows[0], events)
        return EXIT_OK if rows[0].settled else EXIT_FINDINGS
    day = args.day.isoformat() if args.day else None
    rows = store.executions(day=day) + [  # (a crashed run's, not recovered yet)
        row for row in unrecorded(store, None) if day is None or row.day == day]
    unfinished = sum(1 for row in rows if not row.settled)
    if args.format == "json":
        days: dict[str, Any] = {}
        for day in sorted({row.day for row in rows}):
            state = day_state(store, date.fromisoformat(day))
            days[day] = {"trades": state.trades[date.fromisoformat(day)],
                         "positions": {s: q for s, q in state.positions.items() if q}}
        print(json.dumps({"journal": str(args.path), "schema": version(store.db),
                          "sessions": len(store.sessions()), "days": days,
                          "unfinished": unfinished,
                          "executions": [summary(r, store.events(r.id)) for r in rows]},
                         indent=2))
    else:
        print(f"journal {args.path} (schema {version(store.db)}): {len(store.sessions())} "
              f"session(s), {len(rows)} execution(s)"
              + (f", {unfinished} UNFINISHED: run scalpchart recover" if unfinished else ""))
        _print_days(store, rows)
    return EXIT_FINDINGS if unfinished else EXIT_OK
