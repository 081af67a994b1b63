"""Evaluation of a formula tree against one record.

Words: the *environment* (`Env`) is the record seen by the formula. Evaluation never raises for
bad data: a failure becomes an error value (`FormulaError`) that flows up through
operators and functions (only ISERROR looks at it) and is shown as `#ERROR!`.

Time: each function call and operator first asks `limits.tick()`, so one evaluation stops
after EVAL_SECONDS (an error value) and a query's evaluations stop at the query's deadline
(QueryTimeout, which is raised, not turned into a value).
"""

from __future__ import annotations

from typing import Any

from engine.formula import limits
from engine.formula.env import Env
from engine.formula.errors import Fail, FormulaError
from engine.formula.functions import FUNCTIONS
from engine.formula.nodes import (
    COMPARISONS,
    Binary,
    Boolean,
    Call,
    Field,
    Node,
    Number,
    String,
    Unary,
    spine,
)
from engine.formula.operators import arithmetic, compare, join, negate


def evaluate(node: Node, env: Env) -> Any:
    """The value of a formula for one record, or a `FormulaError`; never raises for bad data.

    Raises QueryTimeout when the query it is evaluated for runs out of time (engine.budget).
    """
    outer = limits.start()
    try:
        return _eval(node, env)
    except Fail as exc:
        return FormulaError(exc.reason)
    finally:
        limits.stop(outer)


def _eval(node: Node, env: Env) -> Any:
    if isinstance(node, Number | String | Boolean):
        return node.value
    if isinstance(node, Field):
        if node.name not in env.values:
            return FormulaError(f"unknown field {node.name!r}")
        return env.values[node.name]
    if isinstance(node, Unary):
        operand = _eval(node.operand, env)
        if isinstance(operand, FormulaError):
            return operand
        return _guard(negate, operand)
    if isinstance(node, Binary):
        # A left-deep chain (`a + b + c ...`) is walked in a loop, not by recursion.
        first, steps = spine(node)
        value = _eval(first, env)
        for op, right_node in steps:
            if isinstance(value, FormulaError):
                return value
            right = _eval(right_node, env)
            if isinstance(right, FormulaError):
                return right
            limits.tick()
            value = _binary(op, value, right, env)
        return value
    return _call(node, env)


def _binary(op: str, left: Any, right: Any, env: Env) -> Any:
    if op == "&":
        return _guard(join, left, right)
    if op in COMPARISONS:
        return _guard(compare, op, left, right, env.tz)
    return _guard(arithmetic, op, left, right)


def _guard(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Fail as exc:
        return FormulaError(exc.reason)
    except (ValueError, ArithmeticError) as exc:  # dates out of range, overflow
        return FormulaError(str(exc))


def _call(node: Call, env: Env) -> Any:
    spec = FUNCTIONS[node.name]
    args: list[Any]
    if spec.lazy:
        args = [_thunk(arg, env) for arg in node.args]
    else:
        args = [_eval(arg, env) for arg in node.args]
        if not spec.takes_errors:
            for value in args:
                if isinstance(value, FormulaError):
                    return value
    try:
        limits.tick()
        return spec.impl(env, *args)
    except Fail as exc:
        return FormulaError(exc.reason)
    except (ValueError, ArithmeticError) as exc:
        return FormulaError(f"{node.name}: {exc}")


def _thunk(node: Node, env: Env) -> Any:
    return lambda: _eval(node, env)
