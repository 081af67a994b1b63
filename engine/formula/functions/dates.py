"""Date and time functions: TODAY, NOW, DATEADD, DATETIME_DIFF, DATETIME_FORMAT,
DATETIME_PARSE, DATESTR, TIMESTR, TONOW, FROMNOW, YEAR ... SECOND, WEEKDAY, WEEKNUM, WORKDAY,
WORKDAY_DIFF, IS_BEFORE, IS_AFTER, IS_SAME, SET_TIMEZONE, SET_LOCALE, CREATED_TIME, LAST_MODIFIED_TIME.

Words: any argument that should be a date may also be text (`'2026-03-01'`,
`'2026-03-01 14:30'`, ISO 8601 with an offset) and is read in the workspace timezone. Date
parts and formats are computed in the workspace timezone, or in the zone chosen with
SET_TIMEZONE. A blank date gives a blank result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.formula import dates
from engine.formula.datefmt import LocalizedMoment, format_moment, parse_with_format, week_of_year
from engine.formula.env import Env
from engine.formula.errors import Fail
from engine.formula.nodes import String
from engine.formula.operators import order_moments
from engine.formula.registry import function
from engine.formula.values import at_midnight, local, to_moment, to_number, to_text, zone

DATE = "date"
Moment = date | datetime


def _moment(value: Any, env: Env) -> Moment | None:
    return to_moment(value, env.tz)


def _wall(moment: Moment, env: Env) -> datetime:
    """The wall-clock time of a date or datetime, aware, in the zone it is shown in."""
    if isinstance(moment, datetime):
        return local(moment, env.tz)
    return datetime(moment.year, moment.month, moment.day, tzinfo=zone(env.tz))


@function("TODAY", category=DATE, signature="TODAY()", result="date", max_args=0,
          description="The current date in the workspace timezone.",
          example="IS_AFTER(TODAY(), '2000-01-01')", example_result="TRUE")
def today(env: Env) -> date:
    return local(env.current_time(), env.tz).date()


@function("NOW", category=DATE, signature="NOW()", result="datetime", max_args=0,
          description="The current date and time.",
          example="IS_BEFORE(NOW(), '3000-01-01')", example_result="TRUE")
def now(env: Env) -> datetime:
    return env.current_time()


def _dateadd_kind(kinds: Sequence[str], nodes: Sequence[Any]) -> str:
    node = nodes[2] if len(nodes) > 2 else None
    if kinds[0] == "date" and isinstance(node, String):
        try:
            if dates.unit(node.value) in dates.CALENDAR_UNITS:
                return "date"
        except Fail:
            return "datetime"
    return "datetime"


@function("DATEADD", category=DATE, signature="DATEADD(date, count, units)", min_args=3,
          max_args=3, result=_dateadd_kind,
          description="Adds `count` units (days, weeks, months, quarters, years, hours, "
          "minutes, seconds, milliseconds, or d, w, M, Q, y, h, m, s, ms) to a date.",
          example="DATEADD('2026-01-31', 1, 'months')", example_result="2026-02-28")
def dateadd(env: Env, value: Any, count: Any, units: Any) -> Moment | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    return dates.add(moment, float(to_number(count)), dates.unit(to_text(units)), env.tz)


@function("DATETIME_DIFF", category=DATE, signature="DATETIME_DIFF(date1, date2, [units])",
          result="number", min_args=2, max_args=3,
          description="`date1` minus `date2` in whole units (seconds if omitted), truncated "
          "toward zero.",
          example="DATETIME_DIFF('2026-03-10', '2026-03-01', 'days')", example_result="9")
def datetime_diff(env: Env, first: Any, second: Any, units: Any = None) -> int | None:
    a, b = _moment(first, env), _moment(second, env)
    if a is None or b is None:
        return None
    name = dates.unit(to_text(units)) if units is not None else "seconds"
    return dates.diff(a, b, name, env.tz)


@function("DATETIME_FORMAT", category=DATE, signature="DATETIME_FORMAT(date, [format])",
          min_args=1, max_args=2,
          description="Writes a date as text with moment.js-style specifiers (YYYY, MM, DD, "
          "HH, mm, Do, MMMM, dddd, A, Q, X, L, LL, LLL, ...); ISO 8601 in UTC if no format.",
          example="DATETIME_FORMAT('2026-03-01 14:05', 'YYYY/MM/DD h:mm A')",
          example_result="2026/03/01 2:05 PM")
def datetime_format(env: Env, value: Any, fmt: Any = None) -> str | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    if fmt is None:
        return to_text(moment if isinstance(moment, datetime) else at_midnight(moment, env.tz))
    return format_moment(_wall(moment, env), to_text(fmt), getattr(value, "locale", "en"))


@function("DATETIME_PARSE", category=DATE, signature="DATETIME_PARSE(text, [format], [locale])",
          result="datetime", min_args=1, max_args=3,
          description="Reads a date from text, optionally with a moment.js-style format; a "
          "time without an offset is read in the workspace timezone.",
          example="DATESTR(DATETIME_PARSE('4 Mar 2026', 'D MMM YYYY'))",
          example_result="2026-03-04")
def datetime_parse(env: Env, value: Any, fmt: Any = None, locale: Any = None) -> datetime | None:
    if fmt is None or isinstance(value, date):
        moment = _moment(value, env)
        if moment is None:
            return None
        return moment if isinstance(moment, datetime) else at_midnight(moment, env.tz)
    text = to_text(value)
    if text.strip() == "":
        return None
    wall, absolute = parse_with_format(text, to_text(fmt))
    if absolute:
        return wall.replace(tzinfo=UTC)
    return wall.replace(tzinfo=zone(env.tz)).astimezone(UTC)


@function("DATESTR", category=DATE, signature="DATESTR(date)", min_args=1, max_args=1,
          description="The date as text, YYYY-MM-DD, in the workspace timezone.",
          example="DATESTR('2026-03-01 23:30')", example_result="2026-03-01")
def datestr(env: Env, value: Any) -> str | None:
    moment = _moment(value, env)
    return None if moment is None else _wall(moment, env).strftime("%Y-%m-%d")


@function("TIMESTR", category=DATE, signature="TIMESTR(date)", min_args=1, max_args=1,
          description="The time of day as text, HH:mm:ss, in the workspace timezone.",
          example="TIMESTR('2026-03-01 14:05')", example_result="14:05:00")
def timestr(env: Env, value: Any) -> str | None:
    moment = _moment(value, env)
    return None if moment is None else _wall(moment, env).strftime("%H:%M:%S")


def _days_from_now(env: Env, value: Any, units: Any) -> int | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    name = dates.unit(to_text(units)) if units is not None else "days"
    if name == "days" and not isinstance(moment, datetime):  # a date: whole calendar days from today
        return abs((moment - local(env.current_time(), env.tz).date()).days)
    return abs(dates.diff(env.current_time(), moment, name, env.tz))


@function("TONOW", category=DATE, signature="TONOW(date, [units])", result="number", min_args=1, max_args=2,
          description="How far the date is from now, in days (or the units given), without a sign; "
          "a date without a time counts calendar days from today.",
          example="TONOW(DATEADD(TODAY(), -3, 'days'))", example_result="3")
def tonow(env: Env, value: Any, units: Any = None) -> int | None:
    return _days_from_now(env, value, units)


@function("FROMNOW", category=DATE, signature="FROMNOW(date, [units])", result="number", min_args=1, max_args=2,
          description="How far the date is from now, in days (or the units given), without a sign; as TONOW.",
          example="FROMNOW(DATEADD(TODAY(), 3, 'days'))", example_result="3")
def fromnow(env: Env, value: Any, units: Any = None) -> int | None:
    return _days_from_now(env, value, units)


def _part(env: Env, value: Any, attribute: str) -> int | None:
    moment = _moment(value, env)
    return None if moment is None else int(getattr(_wall(moment, env), attribute))


def _part_function(name: str, attribute: str, example: str, result: str, what: str) -> None:
    def impl(env: Env, value: Any) -> int | None:
        return _part(env, value, attribute)

    function(name, category=DATE, signature=f"{name}(date)", result="number", min_args=1,
             max_args=1, description=f"The {what} of a date, in the workspace timezone.",
             example=example, example_result=result)(impl)


_part_function("YEAR", "year", "YEAR('2026-03-01')", "2026", "year")
_part_function("MONTH", "month", "MONTH('2026-03-01')", "3", "month (1-12)")
_part_function("DAY", "day", "DAY('2026-03-01')", "1", "day of the month (1-31)")
_part_function("HOUR", "hour", "HOUR('2026-03-01 14:05')", "14", "hour (0-23)")
_part_function("MINUTE", "minute", "MINUTE('2026-03-01 14:05')", "5", "minute (0-59)")
_part_function("SECOND", "second", "SECOND('2026-03-01 14:05:09')", "9", "second (0-59)")


def _week_start(start: Any) -> int:
    if start is None:
        return 0
    name = to_text(start).strip().lower()
    if name not in ("sunday", "monday"):
        raise Fail("the week starts on 'Sunday' or 'Monday'")
    return 0 if name == "sunday" else 1


@function("WEEKDAY", category=DATE, signature="WEEKDAY(date, [startDayOfWeek])", result="number",
          min_args=1, max_args=2,
          description="Day of the week, 0-6: Sunday is 0 (or Monday is 0 when the second "
          "argument is 'Monday').",
          example="WEEKDAY('2026-03-01')", example_result="0")
def weekday(env: Env, value: Any, start: Any = None) -> int | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    return (_wall(moment, env).isoweekday() % 7 - _week_start(start)) % 7


@function("WEEKNUM", category=DATE, signature="WEEKNUM(date, [startDayOfWeek])", result="number",
          min_args=1, max_args=2,
          description="Week of the year; week 1 holds 1 January and weeks start on Sunday (or "
          "Monday when the second argument is 'Monday').",
          example="WEEKNUM('2013-02-17')", example_result="8")
def weeknum(env: Env, value: Any, start: Any = None) -> int | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    return week_of_year(_wall(moment, env).date(), _week_start(start))


def _holidays(value: Any, env: Env) -> set[date]:
    if value is None:
        return set()
    items = value if isinstance(value, list) else to_text(value).split(",")
    found: set[date] = set()
    for item in items:
        if item is None or str(item).strip() == "":
            continue
        moment = _moment(item if isinstance(item, date) else str(item).strip(), env)
        if moment is not None:
            found.add(_wall(moment, env).date())
    return found


@function("WORKDAY", category=DATE, signature="WORKDAY(startDate, numDays, [holidays])",
          result="date", min_args=2, max_args=3,
          description="The date `numDays` working days (Monday to Friday, not a holiday) after "
          "the start; holidays are a comma-separated list of dates.",
          example="WORKDAY('2026-03-06', 1)", example_result="2026-03-09")
def workday(env: Env, start: Any, days: Any, holidays: Any = None) -> date | None:
    moment = _moment(start, env)
    if moment is None:
        return None
    return dates.workday(_wall(moment, env).date(), int(to_number(days)), _holidays(holidays, env))


@function("WORKDAY_DIFF", category=DATE, signature="WORKDAY_DIFF(startDate, endDate, [holidays])",
          result="number", min_args=2, max_args=3,
          description="Working days between two dates, both counted; negative when the end is "
          "before the start.",
          example="WORKDAY_DIFF('2026-03-02', '2026-03-13')", example_result="10")
def workday_diff(env: Env, start: Any, end: Any, holidays: Any = None) -> int | None:
    a, b = _moment(start, env), _moment(end, env)
    if a is None or b is None:
        return None
    return dates.workday_diff(_wall(a, env).date(), _wall(b, env).date(), _holidays(holidays, env))


def _order(env: Env, first: Any, second: Any, op: str) -> bool:
    a, b = _moment(first, env), _moment(second, env)
    if a is None or b is None:
        return False
    return order_moments(op, a, b, env.tz)


@function("IS_BEFORE", category=DATE, signature="IS_BEFORE(date1, date2)", result="boolean",
          min_args=2, max_args=2, description="True if `date1` is before `date2`.",
          example="IS_BEFORE('2026-01-01', '2026-06-01')", example_result="TRUE")
def is_before(env: Env, first: Any, second: Any) -> bool:
    return _order(env, first, second, "<")


@function("IS_AFTER", category=DATE, signature="IS_AFTER(date1, date2)", result="boolean",
          min_args=2, max_args=2, description="True if `date1` is after `date2`.",
          example="IS_AFTER('2026-01-01', '2026-06-01')", example_result="FALSE")
def is_after(env: Env, first: Any, second: Any) -> bool:
    return _order(env, first, second, ">")


@function("IS_SAME", category=DATE, signature="IS_SAME(date1, date2, [unit])", result="boolean",
          min_args=2, max_args=3,
          description="True if the dates are the same, or fall in the same unit (day, week, "
          "month, quarter, year, hour, minute, second) when one is given.",
          example="IS_SAME('2026-03-01', '2026-03-31', 'month')", example_result="TRUE")
def is_same(env: Env, first: Any, second: Any, units: Any = None) -> bool:
    a, b = _moment(first, env), _moment(second, env)
    if a is None or b is None:
        return False
    name = dates.unit(to_text(units)) if units is not None else None
    if name is None and not isinstance(a, datetime) and not isinstance(b, datetime):
        return a == b
    return dates.same(a, b, name, env.tz)


@function("SET_TIMEZONE", category=DATE, signature="SET_TIMEZONE(date, timezone)",
          result="datetime", min_args=2, max_args=2,
          description="The same moment, shown in another IANA timezone by DATETIME_FORMAT, "
          "date parts and display.",
          example="DATETIME_FORMAT(SET_TIMEZONE('2026-03-01T12:00:00Z', 'Europe/London'), 'HH:mm')",
          example_result="12:00")
def set_timezone(env: Env, value: Any, name: Any) -> datetime | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    instant = moment if isinstance(moment, datetime) else at_midnight(moment, env.tz)
    target: ZoneInfo = zone(to_text(name))
    return instant.astimezone(target)


@function("SET_LOCALE", category=DATE, signature="SET_LOCALE(date, locale)", result="datetime",
          min_args=2, max_args=2,
          description="The same moment, written by DATETIME_FORMAT with the month and day names and "
          "long formats (L, LL, LLL, ...) of a locale: 'zh-cn' or 'en' (others write English).",
          example="DATETIME_FORMAT(SET_LOCALE('2026-03-01', 'zh-cn'), 'LL')", example_result="2026年3月1日")
def set_locale(env: Env, value: Any, locale: Any) -> datetime | None:
    moment = _moment(value, env)
    if moment is None:
        return None
    instant = moment if isinstance(moment, datetime) else at_midnight(moment, env.tz)
    return LocalizedMoment.of(instant, to_text(locale))


@function("CREATED_TIME", category=DATE, signature="CREATED_TIME()", result="datetime",
          max_args=0, description="When the record was created.",
          example="IS_BEFORE(CREATED_TIME(), NOW())", example_result="TRUE")
def created_time(env: Env) -> datetime | None:
    return env.created_time


@function("LAST_MODIFIED_TIME", category=DATE, signature="LAST_MODIFIED_TIME([field1, ...])",
          result="datetime",
          description="When the record was last changed (the field arguments are accepted for "
          "compatibility; the record's time is used).",
          example="IS_BEFORE(LAST_MODIFIED_TIME(), NOW())", example_result="TRUE")
def last_modified_time(env: Env, *fields: Any) -> datetime | None:
    return env.modified_time
