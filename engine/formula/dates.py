"""Date arithmetic: time units, DATEADD, DATETIME_DIFF, IS_SAME granularity and workdays.

Words: a *unit* is one of milliseconds, seconds, minutes, hours, days, weeks, months,
quarters, years, written in full (singular or plural, any case) or abbreviated as
ms, s, m, h, d, w, M, Q, y (abbreviations are case-sensitive: `m` is minutes, `M` months).
Calendar units (days and longer) move the wall clock in the workspace timezone, as moment.js
does; shorter units move the instant.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from engine.formula.errors import Fail
from engine.formula.values import at_midnight, local

_ABBREVIATIONS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours",
                  "d": "days", "w": "weeks", "M": "months", "Q": "quarters", "y": "years"}
UNITS = ("milliseconds", "seconds", "minutes", "hours", "days", "weeks", "months",
         "quarters", "years")
_MILLIS = {"milliseconds": 1, "seconds": 1000, "minutes": 60_000, "hours": 3_600_000,
           "days": 86_400_000, "weeks": 604_800_000}
CALENDAR_UNITS = frozenset({"days", "weeks", "months", "quarters", "years"})


def unit(text: str) -> str:
    """The canonical unit name for `text`, or an error value."""
    if text in _ABBREVIATIONS:
        return _ABBREVIATIONS[text]
    name = text.strip().lower()
    if not name.endswith("s"):
        name += "s"
    if name in UNITS:
        return name
    raise Fail(f"unknown time unit {text!r}")


def add_months(moment: datetime, months: int) -> datetime:
    """Move by calendar months, keeping the day unless the month is shorter."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise Fail("date out of range")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _js_round(value: float) -> int:
    return math.floor(value + 0.5)


def add(moment: date | datetime, count: float, name: str, tz: str) -> date | datetime:
    """DATEADD: a date stays a date for calendar units; otherwise the result is an instant."""
    try:
        if name in CALENDAR_UNITS:
            if isinstance(moment, datetime):
                wall = local(moment, tz)
                return _shift(wall, count, name).astimezone(UTC if not _named(moment) else wall.tzinfo)
            start = datetime(moment.year, moment.month, moment.day)
            return _shift(start, count, name).date()
        instant = moment if isinstance(moment, datetime) else _midnight(moment, tz)
        return instant + timedelta(milliseconds=count * _MILLIS[name])
    except OverflowError:
        raise Fail("date out of range") from None


def _named(moment: datetime) -> bool:
    return isinstance(moment.tzinfo, ZoneInfo)


def _midnight(day: date, tz: str) -> datetime:
    return at_midnight(day, tz)


def _shift(wall: datetime, count: float, name: str) -> datetime:
    if name == "days":
        return wall + timedelta(days=_js_round(count))
    if name == "weeks":
        return wall + timedelta(days=7 * _js_round(count))
    months = {"months": 1, "quarters": 3, "years": 12}[name]
    return add_months(wall, _js_round(count) * months)


def _month_diff(a: datetime, b: datetime) -> float:
    """moment.js's monthDiff: whole months from a to b plus the fraction of the next."""
    if a.day < b.day:
        return -_month_diff(b, a)
    whole = (b.year - a.year) * 12 + (b.month - a.month)
    anchor = add_months(a, whole)
    if b < anchor:
        anchor2 = add_months(a, whole - 1)
        adjust = (b - anchor) / (anchor - anchor2)
    else:
        anchor2 = add_months(a, whole + 1)
        adjust = (b - anchor) / (anchor2 - anchor)
    return -(whole + adjust) or 0.0


def diff(first: date | datetime, second: date | datetime, name: str, tz: str) -> int:
    """DATETIME_DIFF: first minus second in whole units, truncated toward zero."""
    a = first if isinstance(first, datetime) else _midnight(first, tz)
    b = second if isinstance(second, datetime) else _midnight(second, tz)
    if name in _MILLIS:
        millis = (a - b) / timedelta(milliseconds=1)
        return math.trunc(millis / _MILLIS[name])
    wall_a = local(a, tz).replace(tzinfo=None)
    wall_b = local(b, tz).replace(tzinfo=None)
    months = _month_diff(wall_a, wall_b)
    return math.trunc(months / {"months": 1, "quarters": 3, "years": 12}[name])


def same(first: date | datetime, second: date | datetime, name: str | None, tz: str) -> bool:
    """IS_SAME: equal instants, or equal when both are cut to the start of `name`."""
    a = first if isinstance(first, datetime) else _midnight(first, tz)
    b = second if isinstance(second, datetime) else _midnight(second, tz)
    if name is None or name == "milliseconds":
        return a == b
    wa = local(a, tz)
    wb = local(b, tz).astimezone(wa.tzinfo)
    keys: dict[str, Callable[[datetime], object]] = {
        "seconds": lambda m: (m.date(), m.hour, m.minute, m.second),
        "minutes": lambda m: (m.date(), m.hour, m.minute),
        "hours": lambda m: (m.date(), m.hour),
        "days": lambda m: m.date(),
        "weeks": lambda m: m.date() - timedelta(days=m.isoweekday() % 7),
        "months": lambda m: (m.year, m.month),
        "quarters": lambda m: (m.year, (m.month - 1) // 3),
        "years": lambda m: m.year,
    }
    return bool(keys[name](wa) == keys[name](wb))


def is_workday(day: date, holidays: set[date]) -> bool:
    return day.isoweekday() < 6 and day not in holidays


def workday(start: date, days: int, holidays: set[date]) -> date:
    """WORKDAY: the date `days` working days after (or before) `start`."""
    if abs(days) > 100_000:
        raise Fail("too many days")
    step = 1 if days >= 0 else -1
    current = start
    remaining = abs(days)
    while remaining:
        current += timedelta(days=step)
        if is_workday(current, holidays):
            remaining -= 1
    return current


def workday_diff(start: date, end: date, holidays: set[date]) -> int:
    """WORKDAY_DIFF: working days from start to end, both counted; negative if end < start."""
    if start > end:
        return -workday_diff(end, start, holidays)
    total_days = (end - start).days + 1
    weeks, rest = divmod(total_days, 7)
    count = weeks * 5
    for offset in range(rest):
        if (start + timedelta(days=weeks * 7 + offset)).isoweekday() < 6:
            count += 1
    return count - sum(1 for h in holidays if start <= h <= end and h.isoweekday() < 6)
