"""Numeric functions: ABS, AVERAGE, CEILING, COUNT, COUNTA, COUNTALL, EVEN, ODD, EXP, FLOOR,
INT, LOG, MAX, MIN, MOD, POWER, ROUND, ROUNDDOWN, ROUNDUP, SQRT, SUM.

Words: the aggregate functions take any number of arguments and flatten lists (lookups), so
`SUM({Line totals})` works; they skip blanks. Rounding works on the decimal digits of a
number (0.285 rounds to 0.29, not 0.28 as binary floats would), ties go toward +infinity
as in Airtable's ROUND.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_UP, Decimal
from typing import Any

from engine.formula.env import Env
from engine.formula.errors import Fail
from engine.formula.operators import finite, order_moments
from engine.formula.registry import function, kind_of
from engine.formula.values import Numeric, to_moment, to_number

NUMERIC = "numeric"


def _flat(values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        out.extend(value if isinstance(value, list) else [value])
    return out


def _numbers(values: Sequence[Any]) -> list[Numeric]:
    return [to_number(v) for v in _flat(values) if v is not None and v != ""]


def _tidy(value: Decimal, precision: int) -> Numeric:
    if precision <= 0 or value == value.to_integral_value():
        return int(value)
    return float(value)


def _round(value: Any, precision: Any, mode: str) -> Numeric:
    digits = int(to_number(precision)) if precision is not None else 0
    number = to_number(value)
    exact = Decimal(repr(number) if isinstance(number, float) else number).scaleb(digits)
    if mode == "half":
        rounded = (exact + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
    else:
        rounded = exact.to_integral_value(rounding=mode)
    return _tidy(rounded.scaleb(-digits), digits)


@function("ROUND", category=NUMERIC, signature="ROUND(value, [precision])", result="number",
          min_args=1, max_args=2, example="ROUND(1.99, 0) + ROUND(2.456, 2)", example_result="4.46",
          description="Rounds to `precision` decimal places (0 if omitted; negative rounds to "
          "tens, hundreds, ...); ties go up, toward +infinity.")
def round_(env: Env, value: Any, precision: Any = None) -> Numeric:
    return _round(value, precision, "half")


@function("ROUNDUP", category=NUMERIC, signature="ROUNDUP(value, [precision])", result="number",
          min_args=1, max_args=2, example="ROUNDUP(2.111, 1)", example_result="2.2",
          description="Rounds away from zero to `precision` decimal places.")
def roundup(env: Env, value: Any, precision: Any = None) -> Numeric:
    return _round(value, precision, ROUND_UP)


@function("ROUNDDOWN", category=NUMERIC, signature="ROUNDDOWN(value, [precision])",
          result="number", min_args=1, max_args=2, example="ROUNDDOWN(2.999, 1)",
          example_result="2.9", description="Rounds toward zero to `precision` decimal places.")
def rounddown(env: Env, value: Any, precision: Any = None) -> Numeric:
    return _round(value, precision, ROUND_DOWN)


def _multiple(value: Any, significance: Any, mode: str) -> Numeric:
    number = to_number(value)
    step = to_number(significance) if significance is not None else 1
    if step == 0:
        return 0
    exact = Decimal(repr(number) if isinstance(number, float) else number)
    size = abs(Decimal(repr(step) if isinstance(step, float) else step))
    result = (exact / size).to_integral_value(rounding=mode) * size
    return int(result) if result == result.to_integral_value() else float(result)


@function("CEILING", category=NUMERIC, signature="CEILING(value, [significance])",
          result="number", min_args=1, max_args=2, example="CEILING(1.01, 0.5)",
          example_result="1.5",
          description="The nearest multiple of `significance` (1 if omitted) at or above the value.")
def ceiling(env: Env, value: Any, significance: Any = None) -> Numeric:
    return _multiple(value, significance, ROUND_CEILING)


@function("FLOOR", category=NUMERIC, signature="FLOOR(value, [significance])", result="number",
          min_args=1, max_args=2, example="FLOOR(1.99, 0.5)", example_result="1.5",
          description="The nearest multiple of `significance` (1 if omitted) at or below the value.")
def floor(env: Env, value: Any, significance: Any = None) -> Numeric:
    return _multiple(value, significance, ROUND_FLOOR)


@function("INT", category=NUMERIC, signature="INT(value)", result="number", min_args=1,
          max_args=1, example="INT(-1.5)", example_result="-2",
          description="The greatest integer less than or equal to the value.")
def int_(env: Env, value: Any) -> int:
    return math.floor(to_number(value))


@function("EVEN", category=NUMERIC, signature="EVEN(value)", result="number", min_args=1,
          max_args=1, example="EVEN(1.5)", example_result="2",
          description="Rounds away from zero to the nearest even integer.")
def even(env: Env, value: Any) -> int:
    number = to_number(value)
    size = math.ceil(abs(number))
    size += size % 2
    return size if number >= 0 else -size


@function("ODD", category=NUMERIC, signature="ODD(value)", result="number", min_args=1,
          max_args=1, example="ODD(2)", example_result="3",
          description="Rounds away from zero to the nearest odd integer.")
def odd(env: Env, value: Any) -> int:
    number = to_number(value)
    size = math.ceil(abs(number))
    size += 1 - size % 2
    return size if number >= 0 else -size


@function("ABS", category=NUMERIC, signature="ABS(value)", result="number", min_args=1,
          max_args=1, example="ABS(-5)", example_result="5",
          description="The absolute value of a number.")
def abs_(env: Env, value: Any) -> Numeric:
    return abs(to_number(value))


@function("EXP", category=NUMERIC, signature="EXP(power)", result="number", min_args=1,
          max_args=1, example="ROUND(EXP(1), 4)", example_result="2.7183",
          description="e raised to the given power.")
def exp(env: Env, value: Any) -> float:
    return float(finite(math.exp(to_number(value))))


@function("LOG", category=NUMERIC, signature="LOG(number, [base])", result="number",
          min_args=1, max_args=2, example="LOG(1024, 2)", example_result="10",
          description="The logarithm of a number in a base (10 if omitted).")
def log(env: Env, value: Any, base: Any = None) -> Numeric:
    number = to_number(value)
    radix = to_number(base) if base is not None else 10
    if number <= 0 or radix <= 0 or radix == 1:
        raise Fail("LOG needs positive numbers and a base other than 1")
    result = math.log(number, radix) if radix != 10 else math.log10(number)
    nearest = round(result)
    if abs(result - nearest) < 1e-12:
        return int(nearest)
    return result


@function("MOD", category=NUMERIC, signature="MOD(value, divisor)", result="number",
          min_args=2, max_args=2, example="MOD(7, 5)", example_result="2",
          description="The remainder of dividing the value by the divisor; it has the sign of "
          "the value (as JavaScript's `%`).")
def mod(env: Env, value: Any, divisor: Any) -> Numeric:
    a, b = to_number(value), to_number(divisor)
    if b == 0:
        raise Fail("division by zero")
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return remainder if a >= 0 else -remainder
    return math.fmod(a, b)


@function("POWER", category=NUMERIC, signature="POWER(base, power)", result="number",
          min_args=2, max_args=2, example="POWER(2, 10)", example_result="1024",
          description="The base raised to the power.")
def power(env: Env, base: Any, exponent: Any) -> Numeric:
    a, b = to_number(base), to_number(exponent)
    try:
        result = math.pow(a, b)
    except OverflowError:
        raise Fail("number out of range") from None
    if isinstance(a, int) and isinstance(b, int) and b >= 0 and abs(result) < 2**53:
        return int(result)
    return finite(result)


@function("SQRT", category=NUMERIC, signature="SQRT(value)", result="number", min_args=1,
          max_args=1, example="SQRT(16)", example_result="4",
          description="The square root of a non-negative number.")
def sqrt(env: Env, value: Any) -> Numeric:
    number = to_number(value)
    if number < 0:
        raise Fail("SQRT of a negative number")
    root = math.sqrt(number)
    return int(root) if root.is_integer() and isinstance(number, int) else root


@function("SUM", category=NUMERIC, signature="SUM(number1, [number2, ...])", result="number",
          min_args=1, example="SUM(1, 2, 3.5)", example_result="6.5",
          description="The sum of the numbers.")
def sum_(env: Env, *args: Any) -> Numeric:
    return finite(sum(_numbers(args)))


@function("AVERAGE", category=NUMERIC, signature="AVERAGE(number1, [number2, ...])",
          result="number", min_args=1, example="AVERAGE(2, 4, 9)", example_result="5",
          description="The arithmetic mean of the numbers; blanks are skipped.")
def average(env: Env, *args: Any) -> Numeric:
    numbers = _numbers(args)
    if not numbers:
        raise Fail("AVERAGE of no numbers")
    mean = sum(numbers) / len(numbers)
    return int(mean) if float(mean).is_integer() else mean


def _extreme(env: Env, args: Sequence[Any], op: str) -> Any:
    values = [v for v in _flat(args) if v is not None and v != ""]
    if any(isinstance(v, date) for v in values):
        moments = [m for m in (to_moment(v, env.tz) for v in values) if m is not None]
        best = moments[0]
        for v in moments[1:]:
            if order_moments(op, v, best, env.tz):
                best = v
        return best
    numbers = [to_number(v) for v in values]
    if not numbers:
        return 0
    return max(numbers) if op == ">" else min(numbers)


def _extreme_kind(kinds: Sequence[str], nodes: Sequence[Any]) -> str:
    moments = [k for k in kinds if k in ("date", "datetime")]
    if moments:
        return kind_of(*range(len(moments)))(moments, nodes)
    return "number"


@function("MAX", category=NUMERIC, signature="MAX(number1, [number2, ...])",
          result=_extreme_kind, min_args=1, example="MAX(1, 5, 3)", example_result="5",
          description="The largest number (or the latest date, if all arguments are dates).")
def max_(env: Env, *args: Any) -> Any:
    return _extreme(env, args, ">")


@function("MIN", category=NUMERIC, signature="MIN(number1, [number2, ...])",
          result=_extreme_kind, min_args=1, example="MIN(4, -1, 3)", example_result="-1",
          description="The smallest number (or the earliest date, if all arguments are dates).")
def min_(env: Env, *args: Any) -> Any:
    return _extreme(env, args, "<")


@function("COUNT", category=NUMERIC, signature="COUNT(value1, [value2, ...])", result="number",
          min_args=1, example="COUNT(1, 'a', 2, BLANK())", example_result="2",
          description="How many of the values are numbers.")
def count(env: Env, *args: Any) -> int:
    return sum(1 for v in _flat(args) if isinstance(v, int | float) and not isinstance(v, bool))


@function("COUNTA", category=NUMERIC, signature="COUNTA(value1, [value2, ...])",
          result="number", min_args=1, example="COUNTA(1, 'a', '', BLANK())", example_result="2",
          description="How many of the values are not blank.")
def counta(env: Env, *args: Any) -> int:
    return sum(1 for v in _flat(args) if v is not None and v != "")


@function("COUNTALL", category=NUMERIC, signature="COUNTALL(value1, [value2, ...])",
          result="number", min_args=1, example="COUNTALL(1, 'a', '', BLANK())",
          example_result="4", description="How many values there are, blanks included.")
def countall(env: Env, *args: Any) -> int:
    return len(_flat(args))
