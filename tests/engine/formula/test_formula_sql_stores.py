"""Compiled filter formulas select the same records on the store under test as Python finds
truthy: the property of test_formula_properties.py, run through the store's dialect, on
SQLite and (GRIDBASE_TEST_DATABASE=postgresql) on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from pg_server import on_postgres
from test_formula_properties import COLUMNS, NOW, TZ, _bool, _column, _stored, records

from engine.dialect import POSTGRES, SQLITE
from engine.formula import Env, NotCompilable, compile_sql, evaluate, parse, truthy
from engine.formula.nodes import Node
from engine.pg_sql import translate

pytestmark = pytest.mark.stores

Select = Callable[[str, list[Any], list[dict[str, Any]]], set[int]]
TYPES = {"number": "REAL", "boolean": "INTEGER", "text": "TEXT", "date": "TEXT", "datetime": "TEXT", "array": "TEXT"}


@pytest.fixture(scope="module")
def select(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Select]]:
    """(dialect, select(sql, params, rows) -> the ids of the rows the WHERE text picks)."""
    columns = ", ".join(f"{k} {'INTEGER' if k == 'n2' else TYPES[kind]}" for k, kind in COLUMNS.items())
    marks = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    if not on_postgres():
        def on_sqlite(sql: str, params: list[Any], rows: list[dict[str, Any]]) -> set[int]:
            db = sqlite3.connect(":memory:")
            db.execute(f'CREATE TABLE "t" (id INTEGER PRIMARY KEY, {columns})')
            db.executemany(f"INSERT INTO t VALUES ({marks})",
                           [[i] + [_stored(COLUMNS[k], row[k]) for k in COLUMNS] for i, row in enumerate(rows)])
            return {r[0] for r in db.execute(f'SELECT id FROM "t" WHERE ({sql})', params)}  # noqa: S608
        yield SQLITE, on_sqlite
        return
    url = request.getfixturevalue("pg_url")
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(translate(f'CREATE TABLE "t" (id INTEGER PRIMARY KEY, {columns})', lambda t: (), lambda t: None).sql)  # type: ignore[arg-type]

    def on_pg(sql: str, params: list[Any], rows: list[dict[str, Any]]) -> set[int]:
        with conn.transaction():
            conn.execute("DELETE FROM t")
            with conn.cursor() as cur:
                cur.executemany(translate(f"INSERT INTO t VALUES ({marks})", lambda t: (), lambda t: None).sql,  # type: ignore[arg-type]
                                [[i] + [_stored(COLUMNS[k], row[k]) for k in COLUMNS] for i, row in enumerate(rows)])
            text = translate(f'SELECT id FROM "t" WHERE ({sql})', lambda t: (), lambda t: None).sql
            return {r[0] for r in conn.execute(text, params)}  # type: ignore[arg-type]  # translated, parameters apart
    yield POSTGRES, on_pg
    conn.close()


def _python(tree: Node, rows: list[dict[str, Any]]) -> set[int]:
    return {i for i, row in enumerate(rows) if truthy(evaluate(tree, Env(values=row, tz=TZ, now=NOW)))}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(_bool(2), records)
def test_compiled_sql_agrees_with_python_on_this_store(select: tuple[Any, Select], tree: Node,
                                                       rows: list[dict[str, Any]]) -> None:
    dialect, run = select
    try:
        sql, params = compile_sql(tree, _column, tz=TZ, now=NOW, dialect=dialect)
    except NotCompilable:
        assume(False)
        return
    assert run(sql, params, rows) == _python(tree, rows), (sql, params)


EXAMPLES = ["AND({n1} > 1, {t1} = 'a')", "IS_AFTER({d1}, '2026-03-12')", "{dt1} < NOW()",
            "OR(LEN({t1}) > 1, YEAR({dt1}) = 2026)", "IF({b1}, {n1}, {n2}) >= 1", "{arr}", "{b1}",
            "XOR({b1}, {n1} > 2)", "{b1} = TRUE()", "{d1} = {dt1}", "MONTH({d1}) = 3", "WEEKDAY({dt1}) = 0",
            "{t1} & {t2} = 'ab'", "NOT({t1})", "{n2} + {b1} > 1", "IS_SAME({d1}, TODAY())"]


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_agree_with_python_on_this_store(select: tuple[Any, Select], text: str) -> None:
    dialect, run = select
    rows = [
        {"n1": 2.5, "n2": 1, "t1": "a", "t2": "b", "b1": True, "d1": __import__("datetime").date(2026, 3, 15),
         "dt1": NOW.replace(microsecond=0), "arr": ["x"]},
        {"n1": None, "n2": None, "t1": None, "t2": None, "b1": None, "d1": None, "dt1": None, "arr": None},
        {"n1": 0.0, "n2": 3, "t1": "", "t2": "zz", "b1": False, "d1": __import__("datetime").date(2026, 1, 1),
         "dt1": NOW.replace(year=2025, microsecond=0), "arr": []},
    ]
    tree = parse(text)
    sql, params = compile_sql(tree, _column, tz=TZ, now=NOW, dialect=dialect)
    assert run(sql, params, rows) == _python(tree, rows), (sql, params)
