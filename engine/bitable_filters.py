"""Bitable view filters as Gridbase filters (owner of that translation, for engine.bitable).

A Bitable view's `filter_info` is `{conjunction, conditions: [{field_id, operator, value}]}`,
the value JSON text: a list of option ids, a text, a number, `["ExactDate", "<ms>"]`, or a
relative day for a date field (`["Today"]`, `["Yesterday"]`, `["CurrentWeek"]`, `["LastMonth"]`,
`["TheLastWeek"]` = the last 7 days, ...). Each condition becomes one of Gridbase's operators:
a relative day its day operator (`today`, `yesterday`, `last_week`, `past_n_days: 7`, ...),
negated for `isNot`, or a comparison with `$today` before or after today, yesterday or
tomorrow. What cannot be said the same way is left out, and `view_filter` says which.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

OPERATORS = {"is": "eq", "isNot": "neq", "contains": "contains", "doesNotContain": "not_contains",
             "isGreater": "gt", "isGreaterEqual": "gte", "isLess": "lt", "isLessEqual": "lte"}
EMPTY_OPERATORS = {"isEmpty": "is_empty", "isNotEmpty": "is_not_empty"}
# Relative days a date condition names (its value ["Today"], ...) as Gridbase's day operators;
# Bitable's "the last/next week/month" are the last/next 7 or 30 days.
RELATIVE_DAYS: dict[str, tuple[str, Any]] = {
    "Today": ("today", True), "Yesterday": ("yesterday", True), "Tomorrow": ("tomorrow", True),
    "CurrentWeek": ("this_week", True), "ThisWeek": ("this_week", True), "LastWeek": ("last_week", True),
    "NextWeek": ("next_week", True), "CurrentMonth": ("this_month", True), "ThisMonth": ("this_month", True),
    "LastMonth": ("last_month", True), "NextMonth": ("next_month", True),
    "TheLastWeek": ("past_n_days", 7), "TheNextWeek": ("next_n_days", 7),
    "TheLastMonth": ("past_n_days", 30), "TheNextMonth": ("next_n_days", 30)}
# Before or after a relative day, as a comparison with $today: (operator, day) -> Gridbase's.
RELATIVE_COMPARED = {
    ("isGreater", "Today"): "gt", ("isGreaterEqual", "Today"): "gte", ("isLess", "Today"): "lt",
    ("isLessEqual", "Today"): "lte", ("isGreater", "Yesterday"): "gte", ("isLessEqual", "Yesterday"): "lt",
    ("isLess", "Tomorrow"): "lte", ("isGreaterEqual", "Tomorrow"): "gt"}


def view_filter(info: dict[str, Any], carried: dict[str, Any], tz: str,
                dated: tuple[int, ...]) -> tuple[dict[str, Any] | None, list[str]]:
    """A view's filter_info as a Gridbase filter, and the conditions it cannot say (each as
    "field operator value"), left out. `carried`: Bitable field id -> the field's plan (its
    `key`, `name`, `code`, `options`, `spec`; None spec: not carried over); `dated`: the
    codes of the fields whose values are days."""
    parts: list[dict[str, Any]] = []
    left_out: list[str] = []
    for cond in info.get("conditions") or []:
        fp = carried.get(str(cond.get("field_id") or ""))
        op = str(cond.get("operator") or "")
        if fp is None or fp.spec is None:
            continue
        if op in EMPTY_OPERATORS:
            parts.append({fp.key: {EMPTY_OPERATORS[op]: True}})
            continue
        is_day = fp.code in dated
        relative = _relative_day(fp.key, op, cond.get("value")) if is_day else None
        if relative is not None:
            parts.append(relative)
            continue
        value = _condition_value(fp, cond.get("value"), tz, is_day)
        if op not in OPERATORS or value is None:
            left_out.append(f"{fp.name} {op} {cond.get('value')}")
            continue
        parts.append({fp.key: {OPERATORS[op]: value}})
    if not parts:
        return None, left_out
    if len(parts) == 1:
        return parts[0], left_out
    return {"or" if str(info.get("conjunction")) == "or" else "and": parts}, left_out


def _relative_day(key: str, op: str, raw: Any) -> dict[str, Any] | None:
    """A date condition on a relative day (Today, LastWeek, TheLastMonth, ...) as a Gridbase
    filter: `is` the day operator, `isNot` its negation, before or after today, yesterday or
    tomorrow a comparison with $today; None when it is not one of those."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    name = value[0] if isinstance(value, list) and len(value) == 1 else value
    if not isinstance(name, str) or name not in RELATIVE_DAYS:
        return None
    day_op, arg = RELATIVE_DAYS[name]
    if op == "is":
        return {key: {day_op: arg}}
    if op == "isNot":
        return {"not": {key: {day_op: arg}}}
    if (op, name) in RELATIVE_COMPARED:
        return {key: {RELATIVE_COMPARED[(op, name)]: "$today"}}
    return None


def _condition_value(fp: Any, raw: Any, tz: str, dated: bool) -> Any:
    """A condition's value (the API sends JSON text; select values are option ids or names)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        value = raw
    if dated and not (isinstance(value, list) and len(value) == 2 and value[0] == "ExactDate"):
        return None  # a relative day that _relative_day could not say (after next week, ...)
    if isinstance(value, list) and len(value) == 2 and value[0] == "ExactDate":
        try:
            day = datetime.fromtimestamp(int(value[1]) / 1000, UTC).astimezone(ZoneInfo(tz))
        except (TypeError, ValueError, OverflowError):
            return None
        return day.date().isoformat()
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, str) and value in fp.options:
        value = fp.options[value]
    if isinstance(value, (str, int, float, bool)):
        return value
    return None
