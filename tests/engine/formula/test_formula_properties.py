"""Property tests: the parser only ever raises FormulaSyntaxError, unparse round-trips trees,
and compiled SQL selects exactly the records that Python evaluation finds truthy."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.formula import (
    FUNCTIONS,
    Column,
    Env,
    FormulaSyntaxError,
    NotCompilable,
    compile_sql,
    evaluate,
    parse,
    truthy,
    unparse,
)
from engine.formula.nodes import Binary, Boolean, Call, Field, Node, Number, String, Unary

FORMULA_ALPHABET = "(){}'\"\\,+-*/&=<>!. \n0123456789eaxIFSUMANDtrue_金"


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=FORMULA_ALPHABET, max_size=40)))
def test_parser_raises_only_syntax_errors(text: str) -> None:
    try:
        parse(text)
    except FormulaSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        assert exc.message.endswith(f"at position {exc.position}") or "takes" in exc.message


def test_deep_nesting_is_a_syntax_error() -> None:
    try:
        parse("(" * 5000 + "1" + ")" * 5000)
    except FormulaSyntaxError as exc:
        assert "nested too deeply" in exc.message
    else:
        raise AssertionError("expected a syntax error")


# -- round trip -----------------------------------------------------------------------------

_leaf = st.one_of(
    st.integers(min_value=0, max_value=10**20).map(Number),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False).map(Number),
    st.text(max_size=8).map(String),
    st.booleans().map(Boolean),
    st.text(min_size=1, max_size=8).map(Field),
)
_OPS = ["+", "-", "*", "/", "&", "=", "!=", "<", ">", "<=", ">="]
_NAMES = sorted(FUNCTIONS)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    @st.composite
    def call(draw: st.DrawFn) -> Node:
        spec = FUNCTIONS[draw(st.sampled_from(_NAMES))]
        high = spec.max_args if spec.max_args is not None else spec.min_args + 3
        count = draw(st.integers(spec.min_args, min(high, spec.min_args + 3)))
        return Call(spec.name, tuple(draw(children) for _ in range(count)))

    return st.one_of(
        children.map(lambda c: Unary("-", c)),
        st.builds(Binary, st.sampled_from(_OPS), children, children),
        call(),
    )


trees = st.recursive(_leaf, _extend, max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_unparse_round_trips(tree: Node) -> None:
    try:
        parsed = parse(unparse(tree))
    except FormulaSyntaxError as exc:
        # A random text given to REGEX_MATCH & co. may be no regular expression at all, which the
        # parser rightly refuses (a literal pattern RE2 cannot compile is a syntax error).
        assume("regular expression" not in str(exc))
        raise
    assert parsed == tree


# -- SQL agreement --------------------------------------------------------------------------

COLUMNS = {"n1": "number", "n2": "number", "t1": "text", "t2": "text", "b1": "boolean",
           "d1": "date", "dt1": "datetime", "arr": "array"}
TZ = "Asia/Shanghai"
NOW = datetime(2026, 3, 15, 4, 0, 7, 250000, tzinfo=UTC)

_text_values = st.sampled_from(["", "a", "b", "ab", "open", "Open", "é", "2026-03-15"])
_days = st.dates(min_value=date(2026, 3, 10), max_value=date(2026, 3, 20))
_instants = st.integers(0, 10 * 86400).map(
    lambda s: datetime(2026, 3, 10, tzinfo=UTC) + timedelta(seconds=s * 60)
)
records = st.lists(
    st.fixed_dictionaries({
        "n1": st.none() | st.integers(-5, 5) | st.sampled_from([0.5, -2.25, 1e3]),
        "n2": st.none() | st.integers(-3, 3),
        "t1": st.none() | _text_values,
        "t2": st.none() | _text_values,
        "b1": st.none() | st.booleans(),
        "d1": st.none() | _days,
        "dt1": st.none() | _instants | st.just(datetime(2026, 3, 15, 4, 0, 7, tzinfo=UTC)),
        "arr": st.none() | st.lists(st.sampled_from(["x", "y", ""]), max_size=2),
    }),
    min_size=1, max_size=12,
)


def _num(depth: int) -> st.SearchStrategy[Node]:
    leaves = st.one_of(
        st.sampled_from([Field("n1"), Field("n2"), Field("b1"), Call("BLANK", ())]),
        st.sampled_from([0, 1, 2, 3, 0.5, 1000]).map(Number),
    )
    if depth == 0:
        return leaves
    sub = _num(depth - 1)
    return st.one_of(
        leaves,
        st.builds(Binary, st.sampled_from(["+", "-", "*"]), sub, sub),
        st.builds(lambda a, b: Binary("/", a, Number(b)), sub, st.sampled_from([2, 4, 0.5, 0])),
        sub.map(lambda a: Unary("-", a)),
        st.builds(lambda t: Call("LEN", (t,)), _text(depth - 1)),
        sub.map(lambda a: Call("ABS", (a,))),
        st.builds(lambda a, b: Call("SUM", (a, b)), sub, sub),
        st.builds(lambda p, d: Call(p, (d,)),
                  st.sampled_from(["YEAR", "MONTH", "DAY", "WEEKDAY", "HOUR"]), _moment()),
        st.builds(lambda c, a, b: Call("IF", (c, a, b)), _bool(depth - 1), sub, sub),
    )


def _text(depth: int) -> st.SearchStrategy[Node]:
    leaves = st.one_of(st.sampled_from([Field("t1"), Field("t2")]), _text_values.map(String))
    if depth == 0:
        return leaves
    sub = _text(depth - 1)
    return st.one_of(
        leaves,
        st.builds(lambda a, b: Binary("&", a, b), sub, sub),
        st.builds(lambda c, a: Call("IF", (c, a)), _bool(depth - 1), sub),
    )


def _moment() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.sampled_from([Field("d1"), Field("dt1"), Call("TODAY", ()), Call("NOW", ())]),
        st.sampled_from(["2026-03-15", "2026-03-12 08:30", "2026-03-15T04:00:07Z"]).map(String),
    )


def _bool(depth: int) -> st.SearchStrategy[Node]:
    cmp = st.sampled_from(["=", "!=", "<", ">", "<=", ">="])
    leaves = st.one_of(
        st.builds(Binary, cmp, _num(0), _num(0)),
        st.builds(Binary, cmp, _text(0), _text(0)),
        st.builds(Binary, cmp, _moment(), _moment()),
        st.builds(lambda f, a, b: Call(f, (a, b)),
                  st.sampled_from(["IS_BEFORE", "IS_AFTER", "IS_SAME"]), _moment(), _moment()),
        st.sampled_from([Field("arr"), Field("t1"), Field("b1"), Boolean(True), Boolean(False)]),
        st.builds(lambda a: Binary("=", a, Call("BLANK", ())), st.sampled_from(
            [Field("n1"), Field("t1"), Field("d1"), Field("dt1")])),
    )
    if depth == 0:
        return leaves
    sub = _bool(depth - 1)
    return st.one_of(
        leaves,
        st.builds(Binary, cmp, _num(depth - 1), _num(depth - 1)),
        st.builds(Binary, cmp, _text(depth - 1), _text(depth - 1)),
        st.builds(lambda f, xs: Call(f, tuple(xs)), st.sampled_from(["AND", "OR", "XOR"]),
                  st.lists(sub, min_size=1, max_size=3)),
        sub.map(lambda a: Call("NOT", (a,))),
        _num(depth - 1),
        _text(depth - 1),
    )


def _stored(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "boolean":
        return int(value)
    if kind == "date":
        return value.isoformat()
    if kind == "datetime":
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "array":
        return json.dumps(value)
    return value


def _table(rows: list[dict[str, Any]]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE "t" (id INTEGER PRIMARY KEY, n1 REAL, n2 INTEGER, t1 TEXT, '
               "t2 TEXT, b1 INTEGER, d1 TEXT, dt1 TEXT, arr TEXT)")
    for i, row in enumerate(rows):
        db.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [i] + [_stored(COLUMNS[k], row[k]) for k in COLUMNS])
    return db


def _column(name: str) -> Column:
    return Column(sql=f'"t"."{name}"', kind=COLUMNS[name])


@pytest.mark.sqlite_only("runs compiled SQLite SQL on an in-memory SQLite (hypothesis); test_formula_cases_stores.py runs the cases on both")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_bool(2), records)
def test_compiled_sql_agrees_with_python(tree: Node, rows: list[dict[str, Any]]) -> None:
    try:
        sql, params = compile_sql(tree, _column, tz=TZ, now=NOW)
    except NotCompilable:
        assume(False)
        return
    db = _table(rows)
    chosen = {r[0] for r in db.execute(f'SELECT id FROM "t" WHERE ({sql})', params)}  # noqa: S608
    expected = {i for i, row in enumerate(rows)
                if truthy(evaluate(tree, Env(values=row, tz=TZ, now=NOW)))}
    assert chosen == expected, (unparse(tree), sql, params)


def test_most_generated_filters_compile() -> None:
    compiled = 0
    for text in ["AND({n1} > 1, {t1} = 'a')", "IS_AFTER({d1}, '2026-03-12')", "{dt1} < NOW()",
                 "OR(LEN({t1}) > 1, YEAR({dt1}) = 2026)", "IF({b1}, {n1}, {n2}) >= 1", "{arr}"]:
        compile_sql(parse(text), _column, tz=TZ, now=NOW)
        compiled += 1
    assert compiled == 6


# -- evaluation never raises ----------------------------------------------------------------

_any_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6), st.dates(), st.datetimes(timezones=st.just(UTC)),
    st.lists(st.one_of(st.none(), st.text(max_size=3), st.integers(-5, 5)), max_size=3),
)
_values_trees = st.recursive(
    st.one_of(_leaf, st.sampled_from(["a", "b", "c"]).map(Field),
              st.sampled_from(["days", "M", "2026-03-01", "YYYY-MM-DD", "Asia/Tokyo"]).map(String)),
    _extend, max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(_values_trees, st.fixed_dictionaries({"a": _any_value, "b": _any_value, "c": _any_value}))
def test_evaluation_never_raises(tree: Node, values: dict[str, Any]) -> None:
    evaluate(tree, Env(values=values, now=NOW))
