"""The operators: arithmetic (`+ - * /`, unary `-`), text joining (`&`) and comparisons.

Words: operands are coerced as Airtable does. In arithmetic a blank is 0 and text must look
like a number. `&` writes every operand as text (numbers without `.0`, booleans as 1/0,
lists joined with ", "). A comparison picks its kind from its operands: dates when either
side is a date (text is read as a date), numbers when either side is a number (a blank is 0,
text that looks like a number is read as one), text otherwise (a blank is ""). A blank
compared with a date is neither before nor after it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from engine.formula.errors import Fail
from engine.formula.limits import room
from engine.formula.values import Numeric, to_instant, to_moment, to_number, to_text

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge,
}


def arithmetic(op: str, left: Any, right: Any) -> Numeric:
    a = to_number(left)
    b = to_number(right)
    result: Numeric
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif b == 0:
        raise Fail("division by zero")
    else:
        result = a / b
    return finite(result)


def finite(value: Numeric) -> Numeric:
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        raise Fail("number out of range")
    if isinstance(value, int) and abs(value) > 2**63:
        return finite(float(value))
    return value


def negate(value: Any) -> Numeric:
    return -to_number(value)


def join(left: Any, right: Any) -> str:
    a, b = to_text(left), to_text(right)
    room(len(a) + len(b), "the joined text")
    return a + b


def _as_plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return to_text(value) if value else None
    if value == "":
        return None
    return value


def _looks_numeric(text: str) -> Numeric | None:
    try:
        return to_number(text)
    except Fail:
        return None


def compare(op: str, left: Any, right: Any, tz: str) -> bool:
    """Compare two values the way Airtable's comparison operators do."""
    test = _ORDER[op]
    a = _as_plain(left)
    b = _as_plain(right)
    if a is None and b is None:
        return bool(test(0, 0))
    if isinstance(a, date) or isinstance(b, date):
        return _compare_dates(op, a, b, tz)
    if isinstance(a, int | float) or isinstance(b, int | float):
        if a is None or b is None:
            return bool(test(a or 0, b or 0))
        if isinstance(a, str) or isinstance(b, str):
            other = _looks_numeric(a if isinstance(a, str) else b)
            if other is None:
                return bool(test(to_text(a), to_text(b)))
            a, b = (other, b) if isinstance(a, str) else (a, other)
        return bool(test(a, b))
    return bool(test(to_text(a), to_text(b)))


def _compare_dates(op: str, a: Any, b: Any, tz: str) -> bool:
    if a is None or b is None:
        return op == "!="
    if isinstance(a, int | float) or isinstance(b, int | float):
        raise Fail("cannot compare a date with a number")
    first = to_moment(a, tz)
    second = to_moment(b, tz)
    assert first is not None and second is not None
    return order_moments(op, first, second, tz)


def order_moments(op: str, first: date | datetime, second: date | datetime, tz: str) -> bool:
    """Compare two dates/datetimes: as days if both are dates, else as instants."""
    test = _ORDER[op]
    if not isinstance(first, datetime) and not isinstance(second, datetime):
        return bool(test(first, second))
    return bool(test(to_instant(first, tz), to_instant(second, tz)))
