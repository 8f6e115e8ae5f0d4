"""KRX trading sessions (exchange-calendars' ``XKRX``) with O(1) lookups.

Times are ``int`` epoch nanoseconds. The exchange clock is Asia/Seoul, taken as a
fixed UTC+9 (Korea has not observed daylight saving time since 1988), so the KST
calendar day of a timestamp is integer arithmetic.

Session bounds come from ``XKRX`` and include its late opens (10:00 on the first
trading day of the year) and holidays. ``XKRX``'s list of CSAT days (college entrance
exam: the whole schedule moves one hour later, 10:00-16:30) stops at 2020, so the
later CSAT days are overlaid from :data:`CSAT_DAYS` here. The overlay sets the
10:00/16:30 bounds rather than adding an hour, so it stays right if a later
exchange-calendars release adds those days itself.

Cost model: the calendar is built lazily, at most once per process and calendar name
(plus a rebuild if a date outside its range is asked for), over a few years around the
first date asked. Its whole schedule is then copied into a ``dict`` keyed by KST day
number, shared by every :class:`KrxSessions`, so :meth:`KrxSessions.is_open` is one dict
lookup and two integer compares; pandas is never touched per call. The finished table is
also cached on disk (:mod:`execution.session_cache`): the next process, or a sweep's
worker, reads it in milliseconds instead of building the calendar again.
"""

from __future__ import annotations

import functools
import re
import threading
import time as _time
import warnings
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from execution import session_cache

__all__ = [
    "CLOSING_AUCTION_MINUTES",
    "CSAT_DAYS",
    "KST",
    "KrxSessions",
    "default_sim_start",
    "epoch_ns",
    "parse_at",
]

KST = ZoneInfo("Asia/Seoul")

#: CSAT days after XKRX's own list ends (2020-12-03): KRX trades 10:00-16:30 KST.
#: 2026-11-19 is the announced date of the 2027 CSAT. Extend yearly.
CSAT_DAYS: frozenset[date] = frozenset(
    {
        date(2021, 11, 18),
        date(2022, 11, 17),
        date(2023, 11, 16),
        date(2024, 11, 14),
        date(2025, 11, 13),
        date(2026, 11, 19),
    }
)
_CSAT_OPEN = time(10, 0)
_CSAT_CLOSE = time(16, 30)

#: The last minutes of a KRX session are the closing call auction (15:20-15:30).
CLOSING_AUCTION_MINUTES = 10

_NS_PER_SECOND = 1_000_000_000
_MINUTE_NS = 60 * _NS_PER_SECOND
_DAY_NS = 86_400 * _NS_PER_SECOND
_KST_OFFSET_NS = 9 * 3_600 * _NS_PER_SECOND
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLOSED = (0, 0)  # bounds of a non-trading day: no timestamp satisfies 0 <= t < 0
_YEARS_AROUND = 1  # calendar range: Jan 1 of (year - 1) .. Dec 31 of (year + 1)
_SIM_START = time(10, 0)
_SIM_LOOKBACK_DAYS = 31


# ---------------------------------------------------------------------- helpers
def epoch_ns(dt: datetime) -> int:
    """Epoch nanoseconds of an aware datetime (naive ones are taken as Asia/Seoul)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=KST)
    return (dt - _EPOCH) // timedelta(microseconds=1) * 1_000


def _day_key(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


def _kst_ns(day: date, at: time) -> int:
    return epoch_ns(datetime.combine(day, at, tzinfo=KST))


def _ns_to_kst(ts_ns: int) -> datetime:
    return datetime.fromtimestamp(ts_ns // _NS_PER_SECOND, tz=KST)


# ---------------------------------------------------------------------- calendar
@functools.cache
def _fast_xkrx_class() -> Any:
    """``XKRXExchangeCalendar`` whose rule-based holidays are computed only near its range.

    Stock exchange-calendars evaluates XKRX's lunar holiday rules over pandas' default
    1970-2200 window (about 1.2 s per construction); bounding that window to the
    calendar's own range (plus a year of margin for substitute holidays) gives the same
    schedule several times faster. ``tests/unit/execution/test_market_session.py`` checks the
    schedules are identical.
    """
    from exchange_calendars.exchange_calendar import HolidayCalendar
    from exchange_calendars.exchange_calendar_xkrx import XKRXExchangeCalendar

    class _BoundedHolidays(HolidayCalendar):  # type: ignore[misc]
        def __init__(self, rules: Any, lo: date, hi: date) -> None:
            super().__init__(rules)
            self._lo, self._hi = lo, hi

        def holidays(self, start: Any = None, end: Any = None, return_name: bool = False) -> Any:
            start = self._lo if start is None else start
            end = self._hi if end is None else end
            return super().holidays(start, end, return_name)

    class _FastXKRX(XKRXExchangeCalendar):  # type: ignore[misc]
        def __init__(self, start: date, end: date) -> None:
            self._holiday_window = (start - timedelta(days=400), end + timedelta(days=400))
            super().__init__(start=start, end=end)

        @functools.cached_property
        def regular_holidays(self) -> Any:
            rules = XKRXExchangeCalendar.regular_holidays.fget(self).rules
            return _BoundedHolidays(rules, *self._holiday_window)

    return _FastXKRX


def _build_calendar(name: str, start: date, end: date) -> Any:
    with warnings.catch_warnings():
        # exchange-calendars 4.x reads tz-aware ``Series.values`` (a pandas 3.1 deprecation)
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        if name == "XKRX":
            return _fast_xkrx_class()(start, end)
        import exchange_calendars

        return exchange_calendars.get_calendar(name, start=start, end=end)


def _calendar_limits(name: str) -> tuple[date, date]:
    if name != "XKRX":
        return date.min, date.max
    from exchange_calendars.exchange_calendar_xkrx import XKRXExchangeCalendar

    return XKRXExchangeCalendar.bound_min().date(), XKRXExchangeCalendar.bound_max().date()


class _SessionTable:
    """Session bounds by KST day number for one calendar, shared process-wide."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bounds: dict[int, tuple[int, int]] = {}
        self.first: date | None = None
        self.last: date | None = None
        self.builds = 0  # calendar builds (cache misses)
        self.cache_hits = 0
        self.build_seconds = 0.0

    def covers(self, day: date) -> bool:
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def load_around(self, day: date) -> None:
        """(Re)build the calendar over a range including ``day`` and fill the table (from the
        disk cache when it has that range: then exchange-calendars is not even imported)."""
        start = date(day.year - _YEARS_AROUND, 1, 1)
        end = date(day.year + _YEARS_AROUND, 12, 31)
        if self.first is not None and self.last is not None:
            start, end = min(start, self.first), max(end, self.last)
        began = _time.perf_counter()
        path = session_cache.cache_path(self.name, start, end, self._overlay())
        cached = session_cache.read(path)
        if cached is not None and cached[1] <= day <= cached[2]:
            self._store(*cached)
            self.cache_hits += 1
        else:
            lo_limit, hi_limit = _calendar_limits(self.name)
            if not lo_limit <= day <= hi_limit:
                raise ValueError(
                    f"{day} is outside the {self.name} calendar's range {lo_limit}..{hi_limit}"
                )
            start, end = max(lo_limit, start), min(hi_limit, end)
            sessions = self._schedule(_build_calendar(self.name, start, end))
            self._store(sessions, start, end)
            session_cache.write(path, (sessions, start, end))
            self.builds += 1
        self.build_seconds = _time.perf_counter() - began

    def _overlay(self) -> list[object]:
        """What the table depends on besides the calendar library: the CSAT overlay."""
        return [self.name, _CSAT_OPEN, _CSAT_CLOSE, *sorted(CSAT_DAYS)]

    def _schedule(self, calendar: Any) -> dict[int, tuple[int, int]]:
        schedule = calendar.schedule
        sessions: dict[int, tuple[int, int]] = {}
        for label, open_ts, close_ts in zip(
            schedule.index, schedule["open"], schedule["close"], strict=True
        ):
            day = label.date()
            bounds = (int(open_ts.value), int(close_ts.value))
            if self.name == "XKRX" and day in CSAT_DAYS:
                bounds = (
                    max(bounds[0], _kst_ns(day, _CSAT_OPEN)),
                    max(bounds[1], _kst_ns(day, _CSAT_CLOSE)),
                )
            sessions[_day_key(day)] = bounds
        return sessions

    def _store(self, sessions: dict[int, tuple[int, int]], start: date, end: date) -> None:
        for key in range(_day_key(start), _day_key(end) + 1):
            self.bounds[key] = sessions.get(key, _CLOSED)
        self.first, self.last = start, end


_TABLES: dict[str, _SessionTable] = {}
_LOCK = threading.Lock()


def _table(name: str) -> _SessionTable:
    with _LOCK:
        table = _TABLES.get(name)
        if table is None:
            table = _TABLES[name] = _SessionTable(name)
        return table


# ---------------------------------------------------------------------- sessions
class KrxSessions:
    """Continuous-trading session lookups for one exchange calendar (default XKRX).

    Cheap to construct: instances share the process-wide table of their calendar,
    which is built on the first lookup.
    """

    __slots__ = ("_bounds", "_table")

    def __init__(self, calendar_name: str = "XKRX") -> None:
        self._table = _table(calendar_name)
        self._bounds = self._table.bounds

    @property
    def calendar_name(self) -> str:
        return self._table.name

    def is_open(self, ts_ns: int) -> bool:
        """True inside the trading session: ``open <= ts_ns < close`` of its KST day."""
        bounds = self._bounds.get((ts_ns + _KST_OFFSET_NS) // _DAY_NS)
        if bounds is None:
            bounds = self._load((ts_ns + _KST_OFFSET_NS) // _DAY_NS)
        return bounds[0] <= ts_ns < bounds[1]

    def in_closing_auction(self, ts_ns: int) -> bool:
        """True in the last :data:`CLOSING_AUCTION_MINUTES` of the session (call auction)."""
        bounds = self._bounds.get((ts_ns + _KST_OFFSET_NS) // _DAY_NS)
        if bounds is None:
            bounds = self._load((ts_ns + _KST_OFFSET_NS) // _DAY_NS)
        return bounds[1] - CLOSING_AUCTION_MINUTES * _MINUTE_NS <= ts_ns < bounds[1]

    def session_bounds(self, day: date) -> tuple[int, int] | None:
        """``(open_ns, close_ns)`` of ``day`` (a KST date), or None on a non-trading day."""
        key = _day_key(day)
        bounds = self._bounds.get(key)
        if bounds is None:
            bounds = self._load(key)
        return None if bounds == _CLOSED else bounds

    def is_trading_day(self, day: date) -> bool:
        return self.session_bounds(day) is not None

    @staticmethod
    def trading_day(ts_ns: int) -> date:
        """The Asia/Seoul calendar date of ``ts_ns`` (whether or not the market opens)."""
        return date.fromordinal(_EPOCH_ORDINAL + (ts_ns + _KST_OFFSET_NS) // _DAY_NS)

    @staticmethod
    def minute_of_day(ts_ns: int) -> int:
        """Whole minutes since midnight KST (09:00 -> 540)."""
        return (ts_ns + _KST_OFFSET_NS) % _DAY_NS // _MINUTE_NS

    @staticmethod
    def minute_of_day_exact(ts_ns: int) -> float:
        """Minutes since midnight KST with the fraction (09:00:30 -> 540.5)."""
        return (ts_ns + _KST_OFFSET_NS) % _DAY_NS / _MINUTE_NS

    def _load(self, key: int) -> tuple[int, int]:
        with _LOCK:
            if key not in self._bounds:
                self._table.load_around(date.fromordinal(_EPOCH_ORDINAL + key))
        return self._bounds[key]


# ---------------------------------------------------------------------- sim start
def default_sim_start(now: datetime | None = None, sessions: KrxSessions | None = None) -> datetime:
    """Default simulated start: 10:00 KST of the most recent trading day that has reached it.

    That is today 10:00 when today is a trading day and ``now`` is 10:00 or later,
    otherwise 10:00 of the previous trading day (so a Sunday gives Friday, a Monday
    morning gives the previous trading day). If a session opens after 10:00 the
    session open is used instead, so the result is always inside a session.
    ``now`` defaults to the wall clock; a naive ``now`` is taken as Asia/Seoul.
    """
    now = datetime.now(KST) if now is None else now
    now_ns = epoch_ns(now)
    sessions = KrxSessions() if sessions is None else sessions
    day = KrxSessions.trading_day(now_ns)
    for _ in range(_SIM_LOOKBACK_DAYS):
        bounds = sessions.session_bounds(day)
        if bounds is not None:
            start_ns = max(_kst_ns(day, _SIM_START), bounds[0])
            if start_ns < bounds[1] and start_ns <= now_ns:
                return _ns_to_kst(start_ns)
        day -= timedelta(days=1)
    raise ValueError(f"no trading day in the {_SIM_LOOKBACK_DAYS} days up to {now.isoformat()}")


_AT_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def parse_at(text: str) -> datetime:
    """Parse ``"YYYY-MM-DD HH:MM"`` (Asia/Seoul) into an aware datetime."""
    candidate = text.strip()
    hint = "expected 'YYYY-MM-DD HH:MM' in Asia/Seoul time, e.g. '2025-03-14 10:00'"
    if not _AT_PATTERN.fullmatch(candidate):
        raise ValueError(f"invalid time {text!r}: {hint}")
    try:
        parsed = datetime.strptime(candidate, "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise ValueError(f"invalid time {text!r}: {exc}; {hint}") from None
    return parsed.replace(tzinfo=KST)
