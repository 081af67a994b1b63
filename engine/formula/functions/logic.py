"""Logical functions: IF, SWITCH, AND, OR, NOT, XOR, TRUE, FALSE, BLANK, ERROR, ISERROR.

Words: a *condition* is any value read by truthiness (`values.truthy`). IF and SWITCH are
lazy: only the branch taken is evaluated, so an error in the other branch does no harm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.formula.env import Env
from engine.formula.errors import Fail, FormulaError
from engine.formula.operators import compare
from engine.formula.registry import function, kind_of, unify
from engine.formula.values import truthy

LOGIC = "logic"
Thunk = Callable[[], Any]


def _flat(values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        out.extend(value if isinstance(value, list) else [value])
    return out


@function("IF", category=LOGIC, signature="IF(expression, value1, [value2])", lazy=True,
          result=kind_of(1, 2), min_args=2, max_args=3,
          description="`value1` if the expression is true, otherwise `value2` (blank if omitted).",
          example="IF(3 > 2, 'yes', 'no')", example_result="yes")
def if_(env: Env, condition: Thunk, then: Thunk, otherwise: Thunk | None = None) -> Any:
    test = condition()
    if isinstance(test, FormulaError):
        return test
    if truthy(test):
        return then()
    return otherwise() if otherwise is not None else None


def _switch_kind(kinds: Sequence[str], nodes: Sequence[Any]) -> str:
    results = [kinds[i] for i in range(2, len(kinds), 2)]
    if len(kinds) % 2 == 0:
        results.append(kinds[-1])
    return unify(results)


@function("SWITCH", category=LOGIC,
          signature="SWITCH(expression, [pattern, result ...], [default])", lazy=True,
          result=_switch_kind, min_args=2,
          description="Compares the expression with each pattern in turn and gives the result "
          "paired with the first equal one; otherwise the default (blank if omitted).",
          example="SWITCH(2, 1, 'one', 2, 'two', 'many')", example_result="two")
def switch(env: Env, subject: Thunk, *rest: Thunk) -> Any:
    value = subject()
    if isinstance(value, FormulaError):
        return value
    pairs = len(rest) // 2
    for i in range(pairs):
        pattern = rest[2 * i]()
        if isinstance(pattern, FormulaError):
            return pattern
        if compare("=", value, pattern, env.tz):
            return rest[2 * i + 1]()
    return rest[-1]() if len(rest) % 2 == 1 else None


@function("AND", category=LOGIC, signature="AND(expression1, [expression2, ...])",
          result="boolean", min_args=1,
          description="True if every argument is true.",
          example="AND(1 < 2, 'x' = 'x')", example_result="TRUE")
def and_(env: Env, *args: Any) -> bool:
    return all(truthy(value) for value in _flat(args))


@function("OR", category=LOGIC, signature="OR(expression1, [expression2, ...])",
          result="boolean", min_args=1,
          description="True if any argument is true.",
          example="OR(1 > 2, 'x' = 'x')", example_result="TRUE")
def or_(env: Env, *args: Any) -> bool:
    return any(truthy(value) for value in _flat(args))


@function("XOR", category=LOGIC, signature="XOR(expression1, [expression2, ...])",
          result="boolean", min_args=1,
          description="True if an odd number of the arguments are true.",
          example="XOR(TRUE(), FALSE(), TRUE())", example_result="FALSE")
def xor(env: Env, *args: Any) -> bool:
    return sum(1 for value in _flat(args) if truthy(value)) % 2 == 1


@function("NOT", category=LOGIC, signature="NOT(expression)", result="boolean",
          min_args=1, max_args=1, description="True if the argument is false, and the reverse.",
          example="NOT(1 > 2)", example_result="TRUE")
def not_(env: Env, value: Any) -> bool:
    return not truthy(value)


@function("TRUE", category=LOGIC, signature="TRUE()", result="boolean", max_args=0,
          description="The logical value true.", example="TRUE()", example_result="TRUE")
def true(env: Env) -> bool:
    return True


@function("FALSE", category=LOGIC, signature="FALSE()", result="boolean", max_args=0,
          description="The logical value false.", example="FALSE()", example_result="FALSE")
def false(env: Env) -> bool:
    return False


@function("BLANK", category=LOGIC, signature="BLANK()", result="blank", max_args=0,
          description="A blank value.", example="IF(FALSE(), 'x', BLANK())", example_result="")
def blank(env: Env) -> None:
    return None


@function("ERROR", category=LOGIC, signature="ERROR([message])", result="blank", max_args=1,
          description="An error value (shown as #ERROR!).",
          example="IF(1 > 2, 'ok', ERROR())", example_result="#ERROR!")
def error(env: Env, message: Any = None) -> Any:
    raise Fail(str(message) if message is not None else "ERROR()")


@function("ISERROR", category=LOGIC, signature="ISERROR(expression)", result="boolean",
          takes_errors=True, min_args=1, max_args=1,
          description="True if the expression gives an error value.",
          example="ISERROR(1 / 0)", example_result="TRUE")
def iserror(env: Env, value: Any) -> bool:
    return isinstance(value, FormulaError)
