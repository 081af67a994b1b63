"""Moment.js-style date format specifiers, for DATETIME_FORMAT and DATETIME_PARSE.

Words: a *format* is text made of *tokens* (`YYYY`, `MM`, `Do`, `HH`, `A`, `LLL`, ...) and
literal text; `[...]` escapes literal text. `format_moment` writes a wall-clock datetime
with a format; `parse_with_format` reads text back (as forgiving as moment's default mode:
separators may differ, trailing text is ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from engine.formula.errors import Fail

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

@dataclass(frozen=True)
class LocaleNames:
    """How one locale writes month and day names, AM/PM and the long formats (L, LL, ...)."""

    months: tuple[str, ...]
    months_short: tuple[str, ...]
    days: tuple[str, ...]
    days_short: tuple[str, ...]
    days_min: tuple[str, ...]
    meridiem: tuple[str, str]
    formats: dict[str, str]


#: The locales SET_LOCALE knows besides English (as moment.js's zh-cn).
LOCALES: dict[str, LocaleNames] = {
    "zh-cn": LocaleNames(
        months=("一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"),
        months_short=tuple(f"{n}月" for n in range(1, 13)),
        days=("星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"),
        days_short=("周日", "周一", "周二", "周三", "周四", "周五", "周六"),
        days_min=("日", "一", "二", "三", "四", "五", "六"),
        meridiem=("上午", "下午"),
        formats={"LTS": "HH:mm:ss", "LT": "HH:mm", "L": "YYYY/MM/DD", "LL": "YYYY年M月D日",
                 "LLL": "YYYY年M月D日Ah点mm分", "LLLL": "YYYY年M月D日ddddAh点mm分", "l": "YYYY/M/D",
                 "ll": "YYYY年M月D日", "lll": "YYYY年M月D日 HH:mm", "llll": "YYYY年M月D日dddd HH:mm"},
    ),
}
LOCALE_ALIASES = {"zh": "zh-cn", "zh-hans": "zh-cn", "zh_cn": "zh-cn"}


def known_locale(name: str) -> str:
    """The locale key SET_LOCALE keeps: 'en' (also for any locale without its own names) or 'zh-cn'."""
    key = name.strip().lower()
    key = LOCALE_ALIASES.get(key, key)
    return key if key in LOCALES else "en"


class LocalizedMoment(datetime):
    """A datetime that DATETIME_FORMAT writes with the names of `locale` (made by SET_LOCALE)."""

    locale = "en"

    @classmethod
    def of(cls, moment: datetime, locale: str) -> LocalizedMoment:
        made = cls(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                   moment.microsecond, tzinfo=moment.tzinfo, fold=moment.fold)
        made.locale = known_locale(locale)
        return made


LOCALE_FORMATS = {
    "LTS": "h:mm:ss A", "LT": "h:mm A", "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "LLL": "MMMM D, YYYY h:mm A", "LL": "MMMM D, YYYY", "L": "MM/DD/YYYY",
    "llll": "ddd, MMM D, YYYY h:mm A", "lll": "MMM D, YYYY h:mm A", "ll": "MMM D, YYYY",
    "l": "M/D/YYYY",
}

_TOKEN = re.compile(
    r"\[[^\]]*\]|LTS|LT|LLLL|LLL|LL|L|llll|lll|ll|l|YYYY|YY|Qo|Q|MMMM|MMM|MM|Mo|M|DDDD|DDD|Do|DD|D"
    r"|dddd|ddd|dd|do|d|E|wo|ww|w|WW|W|HH|H|hh|h|kk|k|mm|m|ss|s|SSS|SS|S|A|a|ZZ|Z|X|x|.",
    re.DOTALL,
)


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def week_of_year(day: date, start: int = 0) -> int:
    """Week number, week 1 holding 1 January; weeks start on Sunday (0) or Monday (1)."""
    jan1 = date(day.year, 1, 1)
    offset = (jan1.isoweekday() % 7 - start) % 7  # days of week 1 before 1 January
    return (day.timetuple().tm_yday - 1 + offset) // 7 + 1


def _offset(moment: datetime, colon: bool) -> str:
    delta = moment.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


def _h12(moment: datetime) -> int:
    return moment.hour % 12 or 12


_WRITERS: dict[str, Callable[[datetime], str]] = {
    "YYYY": lambda m: f"{m.year:04d}",
    "YY": lambda m: f"{m.year % 100:02d}",
    "Q": lambda m: str((m.month - 1) // 3 + 1),
    "Qo": lambda m: ordinal((m.month - 1) // 3 + 1),
    "M": lambda m: str(m.month),
    "Mo": lambda m: ordinal(m.month),
    "MM": lambda m: f"{m.month:02d}",
    "MMM": lambda m: MONTHS[m.month - 1][:3],
    "MMMM": lambda m: MONTHS[m.month - 1],
    "D": lambda m: str(m.day),
    "Do": lambda m: ordinal(m.day),
    "DD": lambda m: f"{m.day:02d}",
    "DDD": lambda m: str(m.timetuple().tm_yday),
    "DDDD": lambda m: f"{m.timetuple().tm_yday:03d}",
    "d": lambda m: str(m.isoweekday() % 7),
    "do": lambda m: ordinal(m.isoweekday() % 7),
    "dd": lambda m: DAYS[m.isoweekday() % 7][:2],
    "ddd": lambda m: DAYS[m.isoweekday() % 7][:3],
    "dddd": lambda m: DAYS[m.isoweekday() % 7],
    "E": lambda m: str(m.isoweekday()),
    "w": lambda m: str(week_of_year(m.date())),
    "wo": lambda m: ordinal(week_of_year(m.date())),
    "ww": lambda m: f"{week_of_year(m.date()):02d}",
    "W": lambda m: str(m.isocalendar()[1]),
    "WW": lambda m: f"{m.isocalendar()[1]:02d}",
    "H": lambda m: str(m.hour),
    "HH": lambda m: f"{m.hour:02d}",
    "h": lambda m: str(_h12(m)),
    "hh": lambda m: f"{_h12(m):02d}",
    "k": lambda m: str(m.hour or 24),
    "kk": lambda m: f"{m.hour or 24:02d}",
    "m": lambda m: str(m.minute),
    "mm": lambda m: f"{m.minute:02d}",
    "s": lambda m: str(m.second),
    "ss": lambda m: f"{m.second:02d}",
    "S": lambda m: str(m.microsecond // 100000),
    "SS": lambda m: f"{m.microsecond // 10000:02d}",
    "SSS": lambda m: f"{m.microsecond // 1000:03d}",
    "A": lambda m: "AM" if m.hour < 12 else "PM",
    "a": lambda m: "am" if m.hour < 12 else "pm",
    "Z": lambda m: _offset(m, True),
    "ZZ": lambda m: _offset(m, False),
    "X": lambda m: str(int(m.timestamp())),
    "x": lambda m: str(int(m.timestamp() * 1000)),
}


def _localized(token: str, moment: datetime, names: LocaleNames) -> str | None:
    """`token` written with a locale's names, or None when the locale does not change it."""
    weekday = moment.isoweekday() % 7
    half = names.meridiem[0 if moment.hour < 12 else 1]
    table = {"MMMM": names.months[moment.month - 1], "MMM": names.months_short[moment.month - 1],
             "dddd": names.days[weekday], "ddd": names.days_short[weekday], "dd": names.days_min[weekday],
             "A": half, "a": half}
    return table.get(token)


def format_moment(moment: datetime, fmt: str, locale: str = "en") -> str:
    """Write an aware datetime (already in the zone to show) with a moment.js format, with the
    month and day names and long formats of `locale` ('en' or one of LOCALES)."""
    names = LOCALES.get(locale)
    formats = names.formats if names else LOCALE_FORMATS
    out: list[str] = []
    for token in _TOKEN.findall(fmt):
        if token.startswith("["):
            out.append(token[1:-1])
        elif token in LOCALE_FORMATS:
            out.append(format_moment(moment, formats[token], locale))
        elif names and (text := _localized(token, moment, names)) is not None:
            out.append(text)
        elif token in _WRITERS:
            out.append(_WRITERS[token](moment))
        else:
            out.append(token)
    return "".join(out)


_NAMES = "|".join(MONTHS + [m[:3] for m in MONTHS])
_READERS: dict[str, tuple[str, str]] = {
    "YYYY": ("year", r"\d{4}"), "YY": ("yy", r"\d{2}"),
    "M": ("month", r"\d{1,2}"), "MM": ("month", r"\d{1,2}"), "MMM": ("mon", _NAMES),
    "MMMM": ("mon", _NAMES), "D": ("day", r"\d{1,2}"), "DD": ("day", r"\d{1,2}"),
    "Do": ("day", r"\d{1,2})(?:st|nd|rd|th"), "H": ("hour", r"\d{1,2}"),
    "HH": ("hour", r"\d{1,2}"), "h": ("hour", r"\d{1,2}"), "hh": ("hour", r"\d{1,2}"),
    "m": ("minute", r"\d{1,2}"), "mm": ("minute", r"\d{1,2}"), "s": ("second", r"\d{1,2}"),
    "ss": ("second", r"\d{1,2}"), "A": ("ampm", r"am|pm"), "a": ("ampm", r"am|pm"),
    "X": ("unix", r"-?\d+(?:\.\d+)?"), "x": ("unixms", r"-?\d+"),
    "ddd": ("skip", r"[a-z]+"), "dddd": ("skip", r"[a-z]+"),
}


def parse_with_format(text: str, fmt: str) -> tuple[datetime, bool]:
    """Read `text` with a moment.js format; return a naive wall-clock datetime and whether
    the result is an absolute instant in UTC (formats `X`/`x`)."""
    pattern, groups = _pattern(fmt)
    match = re.match(pattern, text.strip(), re.IGNORECASE)
    if not match:
        raise Fail(f"{text!r} does not match the format {fmt!r}")
    found = dict(zip(groups, match.groups(), strict=True))
    try:
        if "unix" in found:
            return datetime.fromtimestamp(float(found["unix"]), UTC).replace(tzinfo=None), True
        if "unixms" in found:
            stamp = int(found["unixms"]) / 1000
            return datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None), True
    except (OverflowError, OSError, ValueError):
        raise Fail(f"{text!r} is out of range") from None
    if found.get("year"):
        year = int(found["year"])
    elif found.get("yy"):
        year = 2000 + int(found["yy"])
    else:
        year = date.today().year
    month = int(found.get("month") or 0) or (
        [m[:3].lower() for m in MONTHS].index(found["mon"][:3].lower()) + 1 if found.get("mon") else 1
    )
    hour = int(found.get("hour") or 0)
    if (found.get("ampm") or "").lower() == "pm" and hour < 12:
        hour += 12
    elif (found.get("ampm") or "").lower() == "am" and hour == 12:
        hour = 0
    try:
        return datetime(year, month, int(found.get("day") or 1), hour,
                        int(found.get("minute") or 0), int(found.get("second") or 0)), False
    except ValueError:
        raise Fail(f"{text!r} is not a valid date") from None


def _pattern(fmt: str) -> tuple[str, list[str]]:
    parts: list[str] = []
    groups: list[str] = []
    for token in _TOKEN.findall(fmt):
        if token in LOCALE_FORMATS:
            sub, sub_groups = _pattern(LOCALE_FORMATS[token])
            parts.append(sub)
            groups.extend(sub_groups)
        elif token in _READERS:
            name, regex = _READERS[token]
            parts.append(f"({regex})")
            groups.append(name)
        elif token.startswith("["):
            parts.append(re.escape(token[1:-1]))
        elif token.isalnum():
            parts.append(re.escape(token))
        else:
            parts.append(r"[^0-9a-z]*")
    return "".join(parts), groups
