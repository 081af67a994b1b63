"""Formula values and the coercions between them.

Words: a *value* is what a formula computes: `None` (blank), `str`, `int`/`float`, `bool`,
`datetime.date` (a calendar date in the workspace timezone), an aware `datetime.datetime`
(an instant; inputs are in UTC, `SET_TIMEZONE` attaches a named zone), a `list` (multi-select,
link and lookup values) or a `FormulaError`. *Truthy* follows Airtable: blank, 0, "", FALSE,
an empty list and an error value are false, everything else is true.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.formula.errors import Fail, FormulaError

Numeric = int | float


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`; fails with an error value if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Fail(f"unknown timezone {name!r}") from exc


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def truthy(value: Any) -> bool:
    if value is None or isinstance(value, FormulaError):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str | list):
        return len(value) > 0
    return True


def number_text(value: Numeric) -> str:
    """A number as Airtable writes it in text: no trailing `.0`."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    return str(value)


def to_number(value: Any) -> Numeric:
    """A value used in arithmetic: blank is 0, text must look like a number."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        try:
            number = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        except ValueError:
            raise Fail(f"{value!r} is not a number") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise Fail(f"{value!r} is not a number")
        return number
    if isinstance(value, list):
        if not value:
            return 0
        if len(value) == 1:
            return to_number(value[0])
    raise Fail(f"{to_text(value)!r} is not a number")


def to_text(value: Any) -> str:
    """A value used as text (the `&` operator and text functions)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return number_text(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{value.microsecond // 1000:03d}Z"
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(to_text(item) for item in value)
    return str(value)


def local_zone(moment: datetime, tz: str) -> tzinfo:
    """The zone a datetime is shown in: its own if set by SET_TIMEZONE, else the workspace's."""
    if isinstance(moment.tzinfo, ZoneInfo):
        return moment.tzinfo
    return zone(tz)


def local(moment: datetime, tz: str) -> datetime:
    """The wall-clock time of an instant, in the zone it is shown in."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone(tz))
    return moment.astimezone(local_zone(moment, tz))


def at_midnight(day: date, tz: str) -> datetime:
    """The instant a calendar day starts in the workspace timezone, in UTC."""
    return datetime.combine(day, time(0), zone(tz)).astimezone(UTC)


_ISO = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def parse_moment(text: str, tz: str) -> date | datetime:
    """Read a date or datetime written as text (ISO 8601, `YYYY/MM/DD`, US `M/D/YYYY`).

    A text without a time is a date; a time without an offset is wall-clock time in `tz`.
    """
    text = text.strip()
    match = _ISO.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, frac, offset = match.groups()
    else:
        us = _US.fullmatch(text)
        if not us:
            raise Fail(f"{text!r} is not a date")
        month, day, year, hour, minute, second = us.groups()
        frac = offset = None
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        micro = int((frac or "0").ljust(6, "0"))
        naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError:
        raise Fail(f"{text!r} is not a date") from None
    if offset is None:
        return naive.replace(tzinfo=zone(tz)).astimezone(UTC)
    if offset == "Z":
        return naive.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    return (naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))).astimezone(UTC)


def to_moment(value: Any, tz: str) -> date | datetime | None:
    """A value used as a date: dates and datetimes as they are, text parsed, blank is None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone(tz))
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_moment(value, tz)
    if isinstance(value, list) and len(value) == 1:
        return to_moment(value[0], tz)
    raise Fail(f"{to_text(value)!r} is not a date")


def to_instant(value: date | datetime, tz: str) -> datetime:
    """A date or datetime as an aware instant (a date starts at midnight in `tz`)."""
    if isinstance(value, datetime):
        return value
    return at_midnight(value, tz)


def display(value: Any, *, tz: str) -> str:
    """How a formula result is shown in a cell.

    Blank is "", numbers have no trailing `.0`, booleans are `TRUE`/`FALSE`, dates are
    `YYYY-MM-DD`, datetimes `YYYY-MM-DD HH:mm` in their zone (the workspace's unless
    SET_TIMEZONE chose one), lists are joined with ", " and error values are `#ERROR!`.
    """
    if value is None:
        return ""
    if isinstance(value, FormulaError):
        return str(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, datetime):
        return local(value, tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(display(item, tz=tz) for item in value)
    return str(value)
