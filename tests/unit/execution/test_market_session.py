from __future__ import annotations

import json
import time
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from execution.market_session import (
    KST,
    KrxSessions,
    _fast_xkrx_class,
    _table,
    default_sim_start,
    epoch_ns,
    parse_at,
)

SESSIONS = KrxSessions()


def at(text: str) -> int:
    return epoch_ns(parse_at(text))


def is_open(text: str) -> bool:
    return SESSIONS.is_open(at(text))


# ---------------------------------------------------------------------- is_open
def test_normal_weekday() -> None:  # Friday 2025-03-14
    assert not is_open("2025-03-14 08:59")
    assert is_open("2025-03-14 09:00")
    assert is_open("2025-03-14 10:00")
    assert is_open("2025-03-14 15:29")
    assert SESSIONS.is_open(at("2025-03-14 15:30") - 1)
    assert not is_open("2025-03-14 15:30")
    assert not is_open("2025-03-14 23:00")
    assert SESSIONS.session_bounds(date(2025, 3, 14)) == (
        at("2025-03-14 09:00"),
        at("2025-03-14 15:30"),
    )


def test_weekend_is_closed() -> None:
    assert not is_open("2025-03-15 10:00")
    assert not is_open("2025-03-16 10:00")
    assert SESSIONS.session_bounds(date(2025, 3, 15)) is None
    assert not SESSIONS.is_trading_day(date(2025, 3, 16))


@pytest.mark.parametrize(
    "day",
    [
        "2025-10-06",  # Chuseok
        "2025-10-09",  # Hangeul Day
        "2025-12-31",  # year-end closing day
        "2026-01-01",  # New Year's Day
        "2025-06-03",  # presidential election (ad hoc)
    ],
)
def test_krx_holidays_are_closed(day: str) -> None:
    assert not is_open(f"{day} 10:00")
    assert SESSIONS.session_bounds(date.fromisoformat(day)) is None


def test_first_trading_day_of_the_year_opens_at_10() -> None:
    assert not is_open("2026-01-02 09:30")
    assert is_open("2026-01-02 10:00")
    assert SESSIONS.session_bounds(date(2026, 1, 2)) == (
        at("2026-01-02 10:00"),
        at("2026-01-02 15:30"),
    )


def test_csat_day_runs_10_to_1630() -> None:
    # XKRX's own CSAT list stops at 2020-12-03 (it reports 09:00-15:30 for 2025-11-13);
    # market_session overlays the later CSAT days: the whole day moves one hour.
    assert not is_open("2025-11-13 09:30")
    assert is_open("2025-11-13 10:00")
    assert is_open("2025-11-13 16:29")
    assert not is_open("2025-11-13 16:30")
    assert SESSIONS.session_bounds(date(2025, 11, 13)) == (
        at("2025-11-13 10:00"),
        at("2025-11-13 16:30"),
    )


def test_csat_day_from_xkrx_itself() -> None:
    assert SESSIONS.session_bounds(date(2020, 12, 3)) == (
        at("2020-12-03 10:00"),
        at("2020-12-03 16:30"),
    )


def test_closing_auction_window() -> None:
    assert not SESSIONS.in_closing_auction(at("2025-03-14 15:19"))
    assert SESSIONS.in_closing_auction(at("2025-03-14 15:20"))
    assert SESSIONS.in_closing_auction(at("2025-03-14 15:29"))
    assert not SESSIONS.in_closing_auction(at("2025-03-14 15:30"))
    assert not SESSIONS.in_closing_auction(at("2025-03-15 15:25"))  # Saturday


def test_trading_day_and_minute_of_day_use_kst() -> None:
    late = at("2025-03-14 23:59")
    after_midnight = at("2025-03-15 00:01")  # still 2025-03-14 in UTC
    assert KrxSessions.trading_day(late) == date(2025, 3, 14)
    assert KrxSessions.trading_day(after_midnight) == date(2025, 3, 15)
    assert KrxSessions.minute_of_day(at("2025-03-14 10:00")) == 600
    assert KrxSessions.minute_of_day(at("2025-03-14 10:00") + 59_999_999_999) == 600
    assert KrxSessions.minute_of_day(after_midnight) == 1


def test_dates_outside_the_calendar_are_an_error() -> None:
    with pytest.raises(ValueError, match="outside the XKRX calendar"):
        SESSIONS.session_bounds(date(2051, 1, 3))


# ---------------------------------------------------------------------- caching
def test_sessions_share_one_table_and_lookups_do_not_rebuild() -> None:
    SESSIONS.is_open(at("2025-06-02 10:00"))  # warm up (2024-2026 at least)
    table = _table("XKRX")
    builds = table.builds
    other = KrxSessions()
    start = at("2025-01-01 00:00")
    for hour in range(0, 365 * 24, 5):
        other.is_open(start + hour * 3_600 * 1_000_000_000)
    assert table.builds == builds


def test_is_open_is_cheap_after_warm_up() -> None:
    ts = at("2025-03-14 10:00")
    SESSIONS.is_open(ts)
    n = 100_000
    began = time.perf_counter()
    for _ in range(n):
        SESSIONS.is_open(ts)
    per_call = (time.perf_counter() - began) / n
    assert per_call < 5e-6  # measured ~0.15 us; the budget is 5 us


def test_fast_xkrx_matches_stock_exchange_calendars() -> None:
    import exchange_calendars

    start, end = date(2019, 1, 1), date(2026, 12, 31)
    with warnings.catch_warnings():  # exchange-calendars' own pandas deprecation warning
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        fast = _fast_xkrx_class()(start, end)
        stock = exchange_calendars.get_calendar("XKRX", start=start, end=end)
    assert fast.schedule.equals(stock.schedule)


# ---------------------------------------------------------------------- default_sim_start
def test_default_sim_start_on_a_sunday_is_friday_10() -> None:
    start = default_sim_start(datetime(2025, 3, 16, 12, 0, tzinfo=KST))
    assert start == datetime(2025, 3, 14, 10, 0, tzinfo=KST)
    assert start.utcoffset() == timedelta(hours=9)
    assert SESSIONS.is_open(epoch_ns(start))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-03-17 09:59", "2025-03-14 10:00"),  # Monday before 10:00 -> Friday
        ("2025-03-17 10:00", "2025-03-17 10:00"),
        ("2025-03-17 18:00", "2025-03-17 10:00"),
        ("2025-10-08 08:00", "2025-10-02 10:00"),  # inside the Chuseok closure
        ("2026-01-02 11:00", "2026-01-02 10:00"),  # late open at 10:00 is still open
        ("2025-11-13 12:00", "2025-11-13 10:00"),  # CSAT day
    ],
)
def test_default_sim_start_table(now: str, expected: str) -> None:
    start = default_sim_start(parse_at(now), SESSIONS)
    assert start == parse_at(expected)
    assert SESSIONS.is_open(epoch_ns(start))


def test_default_sim_start_naive_now_is_kst_and_default_now_works() -> None:
    assert default_sim_start(datetime(2025, 3, 16, 12, 0)) == parse_at("2025-03-14 10:00")
    start = default_sim_start()
    assert start <= datetime.now(KST)
    assert SESSIONS.is_open(epoch_ns(start))


# ---------------------------------------------------------------------- parse_at
def test_parse_at_good() -> None:
    parsed = parse_at("2025-03-14 10:05")
    assert parsed == datetime(2025, 3, 14, 10, 5, tzinfo=KST)
    assert parsed.utcoffset() == timedelta(hours=9)
    assert epoch_ns(parsed) == 1_741_914_300 * 1_000_000_000
    assert parse_at(" 2025-03-14 10:05 ") == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2025-03-14",
        "2025-03-14T10:00",
        "2025-03-14 10:00:00",
        "14/03/2025 10:00",
        "2025-3-14 10:00",
        "2025-02-30 10:00",
        "2025-03-14 25:00",
        "2025-03-14 10:60",
    ],
)
def test_parse_at_bad(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid time .*YYYY-MM-DD HH:MM"):
        parse_at(text)


def test_a_second_process_reads_the_table_from_the_disk_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from execution import session_cache
    from execution.market_session import _SessionTable

    monkeypatch.setenv(session_cache.ENV, str(tmp_path))
    first = _SessionTable("XKRX")  # a process of its own: nothing shared
    first.load_around(date(2025, 6, 2))
    assert (first.builds, first.cache_hits) == (1, 0)
    assert len(list(tmp_path.glob("sessions-XKRX-*.json"))) == 1
    second = _SessionTable("XKRX")
    second.load_around(date(2025, 6, 2))
    assert (second.builds, second.cache_hits) == (0, 1)
    assert second.bounds == first.bounds
    assert second.build_seconds < first.build_seconds


def table_key(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def test_a_broken_or_disabled_cache_only_costs_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from execution import session_cache
    from execution.market_session import _SessionTable

    monkeypatch.setenv(session_cache.ENV, str(tmp_path))
    path = session_cache.cache_path("XKRX", date(2024, 1, 1), date(2026, 12, 31),
                                    _SessionTable("XKRX")._overlay())
    assert path is not None
    path.write_text("{not json", encoding="utf-8")
    table = _SessionTable("XKRX")
    table.load_around(date(2025, 6, 2))
    assert (table.builds, table.cache_hits) == (1, 0)  # the broken file was a miss...
    rows = json.loads(path.read_text(encoding="utf-8"))["sessions"]  # ...and is rewritten
    assert [r[1:] for r in rows if r[0] == table_key(date(2025, 6, 2))] == [
        [at("2025-06-02 09:00"), at("2025-06-02 15:30")]]
    monkeypatch.setenv(session_cache.ENV, "off")
    assert session_cache.cache_dir() is None
    assert session_cache.cache_path("XKRX", date(2024, 1, 1), date(2026, 12, 31), []) is None
