"""The table of formula cases (formula_cases.py), each evaluated and checked."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from formula_cases import CASES, ERR, NOW, RECORD

from engine.formula import Env, FormulaError, evaluate, parse


def _env(inputs: dict[str, Any]) -> Env:
    return Env(values={**RECORD, **inputs}, tz="Asia/Shanghai", now=NOW, record_id="rec123",
               created_time=datetime(2026, 1, 1, tzinfo=UTC),
               modified_time=datetime(2026, 3, 14, tzinfo=UTC))


def _same(result: Any, expected: Any) -> bool:
    if expected is ERR:
        return isinstance(result, FormulaError)
    if isinstance(expected, bool) or isinstance(result, bool):
        return type(result) is type(expected) and result == expected
    if isinstance(expected, float) or isinstance(result, float):
        return isinstance(result, int | float) and math.isclose(result, expected, rel_tol=1e-9)
    return type(result) is type(expected) and bool(result == expected) or (
        isinstance(expected, int) and isinstance(result, int) and result == expected
    )


def test_there_are_at_least_300_cases() -> None:
    assert len(CASES) >= 300


@pytest.mark.parametrize(("formula", "inputs", "expected"), CASES, ids=[c[0] for c in CASES])
def test_case(formula: str, inputs: dict[str, Any], expected: Any) -> None:
    result = evaluate(parse(formula), _env(inputs))
    assert _same(result, expected), f"{formula} gave {result!r}, expected {expected!r}"
