"""Long and deep formulas: flat chains of operators work at any length the parser accepts
(evaluated in a loop, compiled to flat SQL, or evaluated in Python when SQLite could not parse
the SQL); what is too long or too deeply nested is a syntax error that says so.
(Over HTTP: tests/api/test_formula_limits.py; in YAML: tests/reliability/test_long_formulas_yaml.py.)"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from engine.formula import (
    Column,
    Env,
    FormulaSyntaxError,
    NotCompilable,
    compile_sql,
    evaluate,
    parse,
    unparse,
)
from engine.formula import limits as formula_limits

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _column(name: str) -> Column:
    return Column(sql=f'"{name}"', kind="number" if name == "n" else "text")


def _run(sql: str, params: list[object], n: int = 1, t: str = "a") -> bool:
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE x ("n", "t", _deleted_at)')
    conn.execute("INSERT INTO x VALUES (?, ?, NULL)", (n, t))
    row = conn.execute(f"SELECT count(*) FROM x WHERE _deleted_at IS NULL AND ({sql})", params).fetchone()
    return bool(row[0])


@pytest.mark.parametrize("terms", [150, 400, 5000])
def test_long_chains_evaluate_and_unparse_without_recursion(terms: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # What is tested is the depth (no recursion), not the time: 5,000 terms take ~0.1 s, but a
    # loaded machine must not push them past the one-second limit of an evaluation.
    monkeypatch.setattr(formula_limits, "EVAL_SECONDS", 30.0)
    env = Env(values={"n": 2, "t": "ab"}, tz="UTC", now=NOW)
    assert evaluate(parse("+".join(["{n}"] * terms)), env) == 2 * terms
    assert evaluate(parse("&".join(["{t}"] * terms)), env) == "ab" * terms
    assert evaluate(parse("0" + "-1+2" * (terms // 2)), env) == terms // 2
    text = "+".join(["1"] * terms) + " = " + str(terms)
    assert unparse(parse(text)) == text.replace("+", " + ")
    assert unparse(parse("0" + "-1+2" * (terms // 2))).count(" - ") == terms // 2
    assert unparse(parse("1 - (2 - 3) * 4 / (5 & 6) + 7 - 8")) == "1 - (2 - 3) * 4 / (5 & 6) + 7 - 8"


@pytest.mark.parametrize("formula, expected", [
    ("+".join(["{n}"] * 150) + " = 150", True),
    ("&".join(["{t}"] * 150) + " = '" + "a" * 150 + "'", True),
    ("OR(" + ",".join(f"{{n}}={i}" for i in range(2, 152)) + ")", False),
    ("OR(" + ",".join(f"{{t}}='v{i}'" for i in range(150)) + ", {t}='a')", True),
    ("{n} * 2 / 4 * 8 - 1 + 1 - {n} * 3", True),
])
@pytest.mark.sqlite_only("runs the compiled SQLite SQL on an in-memory SQLite; test_formula_sql_stores.py runs formulas on both")
def test_long_chains_compile_to_flat_sql(formula: str, expected: bool) -> None:
    sql, params = compile_sql(parse(formula), _column, tz="UTC", now=NOW)
    assert sql.count("((") < 5, sql[:200]  # flat: no nesting per term
    assert _run(sql, params) is expected
    assert bool(evaluate(parse(formula), Env(values={"n": 1, "t": "a"}, tz="UTC", now=NOW))) is expected


@pytest.mark.parametrize("formula", [
    "+".join(["{n}"] * 1500) + " > 0",  # deeper than SQLite's expression tree limit (1000)
    "IF(" * 40 + "{n}" + ", 1, 0)" * 40,  # more nesting than SQLite's parser stack
    "{n} = 99999999999999999999",  # a whole number SQLite cannot bind
])
def test_filters_sqlite_cannot_parse_are_left_to_python(formula: str) -> None:
    with pytest.raises(NotCompilable):
        compile_sql(parse(formula), _column, tz="UTC", now=NOW)


def test_a_formula_that_reads_no_field_is_one_value_for_every_record() -> None:
    for formula, value in (("+".join(["1"] * 3000) + " = 3000", "TRUE"), ("IF(" * 60 + "0" + ", 1, 0)" * 60, "FALSE")):
        assert compile_sql(parse(formula), _column, tz="UTC", now=NOW) == (value, [])


def test_too_long_or_too_deep_is_a_syntax_error_that_says_so() -> None:
    with pytest.raises(FormulaSyntaxError, match=r"formula too long: more than \d+ values, names and operators"):
        parse("+".join(["1"] * 10_001))
    with pytest.raises(FormulaSyntaxError, match=r"formula too long: 100001 characters, at most 100000"):
        parse("1" * 100_001)
    with pytest.raises(FormulaSyntaxError, match="formula nested too deeply: more than 100 levels") as exc:
        parse("IF(" * 150 + "1" + ", 1, 0)" * 150)
    assert exc.value.message.endswith(f"at position {exc.value.position}")
