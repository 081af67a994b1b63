"""The public API around evaluation: syntax errors, unparse, references, uses_now, types,
display and the SQL compiler's safety."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.formula import (
    Column,
    Env,
    FormulaError,
    FormulaSyntaxError,
    NotCompilable,
    compile_sql,
    display,
    evaluate,
    infer_type,
    parse,
    references,
    unparse,
    uses_now,
)
from engine.formula.nodes import Binary, Boolean, Call, Field, Number, String, Unary


@pytest.mark.parametrize(("text", "position", "expected"), [
    ("IF(1, 2", 7, "',' or ')'"),
    ("(1 + 2", 6, "')'"),
    ("1 +", 3, "an expression"),
    ("", 0, "an expression"),
    ("1 2", 2, "an operator or the end of the formula"),
    ("'abc", 4, "closing '"),
    ('"abc', 4, "closing quote"),
    ("{abc", 4, "'}'"),
    ("1 # 2", 2, "an expression"),
    ("FOO(1)", 0, "a function name"),
    ("IF(1)", 0, "2 to 3 arguments for IF"),
    ("TODAY(1)", 0, "0 arguments for TODAY"),
    ("SUM()", 0, "at least 1 argument for SUM"),
    ("1 + , 2", 4, "an expression"),
    ("{} + 1", 1, "a field name"),
])
def test_syntax_errors_say_where_and_what(text: str, position: int, expected: str) -> None:
    with pytest.raises(FormulaSyntaxError) as info:
        parse(text)
    assert info.value.position == position
    assert info.value.expected == expected


def test_syntax_error_message() -> None:
    with pytest.raises(FormulaSyntaxError, match=r"^expected '\)' at position 12$"):
        parse("(1 + 2) * (3")
    with pytest.raises(FormulaSyntaxError) as info:
        parse("(((1 + 2) * 3")
    assert str(info.value) == "expected ')' at position 13"


def test_tree_shapes() -> None:
    assert parse("1 + 2 * 3") == Binary("+", Number(1), Binary("*", Number(2), Number(3)))
    assert parse("-{a} & 'x'") == Binary("&", Unary("-", Field("a")), String("x"))
    assert parse("1 = 1 & 1") == Binary("=", Number(1), Binary("&", Number(1), Number(1)))
    assert parse("if(TRUE, {A b})") == Call("IF", (Boolean(True), Field("A b")))
    assert parse("Price") == Field("Price")
    assert parse("1 <> 2") == parse("1 != 2")


@pytest.mark.parametrize(("text", "canonical"), [
    ("1+2*3", "1 + 2 * 3"),
    ("(1+2)*3", "(1 + 2) * 3"),
    ("1-(2-3)", "1 - (2 - 3)"),
    ("(1-2)-3", "1 - 2 - 3"),
    ("-(1+2)", "-(1 + 2)"),
    ("if({a},'x',\"y\")", 'IF({a}, "x", "y")'),
    ("'it\\'s'", '"it\'s"'),
    ("{a\\}b}", "{a\\}b}"),
    ("Price", "{Price}"),
    ("true", "TRUE"),
    ("1 <> 2", "1 != 2"),
])
def test_unparse_is_canonical(text: str, canonical: str) -> None:
    assert unparse(parse(text)) == canonical
    assert parse(canonical) == parse(text)


def test_references_and_clock() -> None:
    node = parse("IF({Due Date} < TODAY(), {owner} & Price, '')")
    assert references(node) == {"Due Date", "owner", "Price"}
    assert uses_now(node)
    assert not uses_now(parse("DATEADD({a}, 1, 'days')"))
    assert uses_now(parse("now() > {a}"))


FIELD_KINDS = {"n": "number", "t": "text", "d": "date", "dt": "datetime", "b": "boolean",
               "tags": "array", "sel": "single_select"}


@pytest.mark.parametrize(("text", "kind"), [
    ("{n} * 2", "number"),
    ("{t} & {n}", "text"),
    ("{n} > 1", "boolean"),
    ("{d}", "date"),
    ("{sel}", "text"),
    ("IF({b}, {n}, BLANK())", "number"),
    ("IF({b}, {n}, 'x')", "text"),
    ("IF({b}, {d}, {dt})", "datetime"),
    ("BLANK()", "text"),
    ("DATEADD({d}, 3, 'days')", "date"),
    ("DATEADD({d}, 3, 'hours')", "datetime"),
    ("DATEADD({dt}, 3, 'days')", "datetime"),
    ("TODAY()", "date"),
    ("NOW()", "datetime"),
    ("WORKDAY({d}, 2)", "date"),
    ("ARRAYUNIQUE({tags})", "array"),
    ("ARRAYJOIN({tags})", "text"),
    ("SWITCH({t}, 'a', 1, 'b', 2)", "number"),
    ("SWITCH({t}, 'a', 1, 'none')", "text"),
    ("MAX({d}, {dt})", "datetime"),
    ("MAX({n}, 2)", "number"),
    ("AND({b}, {n})", "boolean"),
    ("DATETIME_DIFF({d}, TODAY(), 'days')", "number"),
    ("SET_TIMEZONE({dt}, 'UTC')", "datetime"),
])
def test_infer_type(text: str, kind: str) -> None:
    assert infer_type(parse(text), lambda name: FIELD_KINDS[name]) == kind


@pytest.mark.parametrize(("value", "shown"), [
    (None, ""),
    (3, "3"),
    (2.0, "2"),
    (2.5, "2.5"),
    (True, "TRUE"),
    (False, "FALSE"),
    ("text", "text"),
    (date(2026, 3, 1), "2026-03-01"),
    (datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "2026-03-02 00:30"),
    (["a", 1, None], "a, 1, "),
    (FormulaError("x"), "#ERROR!"),
])
def test_display(value: object, shown: str) -> None:
    assert display(value, tz="Asia/Shanghai") == shown


def test_display_follows_set_timezone() -> None:
    value = evaluate(parse("SET_TIMEZONE('2026-03-01T12:00:00Z', 'Europe/London')"), Env())
    assert display(value, tz="Asia/Shanghai") == "2026-03-01 12:00"


def test_error_value() -> None:
    value = evaluate(parse("1 / 0"), Env())
    assert isinstance(value, FormulaError)
    assert str(value) == "#ERROR!"
    assert value.reason == "division by zero"
    missing = evaluate(parse("{nope} + 1"), Env(values={}))
    assert isinstance(missing, FormulaError) and "unknown field" in missing.reason


def test_env_defaults_to_the_real_clock() -> None:
    before = datetime.now(UTC)
    value = evaluate(parse("NOW()"), Env())
    assert isinstance(value, datetime) and value >= before


KINDS = {"amount": "number", "status": "text", "visit": "date", "at": "datetime",
         "done": "boolean", "tags": "array", "weird name": "text"}
NOW = datetime(2026, 3, 15, 4, tzinfo=UTC)


def _column(name: str) -> Column:
    return Column(sql='"' + name.replace('"', '""') + '"', kind=KINDS[name])


def test_compiled_sql_passes_every_literal_as_a_parameter() -> None:
    sql, params = compile_sql(
        parse("AND({amount} > 500, {status} = \"open'; DROP TABLE t; --\", "
              "IS_AFTER({visit}, '2026-06-01'))"),
        _column, tz="Asia/Shanghai", now=NOW,
    )
    assert "DROP" not in sql and "500" not in sql and "2026" not in sql
    assert params == [500, "open'; DROP TABLE t; --", "2026-06-01"]
    assert '"amount"' in sql and '"visit"' in sql


def test_identifiers_come_from_the_callback() -> None:
    sql, _ = compile_sql(parse("{weird name} = 'x'"), _column, tz="UTC", now=NOW)
    assert '"weird name"' in sql


@pytest.mark.parametrize("text", [
    "LOWER({status}) = 'open'",
    "{amount} / {amount} > 1",
    "{amount} & '' = '1'",
    "REGEX_MATCH({status}, 'o')",
    "{tags} = 'x'",
    "IF({done}, {amount}, {status})",
    "DATEADD({visit}, 1, 'days') > TODAY()",
    "IS_AFTER({visit}, 'not a date')",
    "{amount} = {status}",
])
def test_not_compilable(text: str) -> None:
    with pytest.raises(NotCompilable):
        compile_sql(parse(text), _column, tz="Asia/Shanghai", now=NOW)


def test_date_parts_need_a_fixed_offset_zone() -> None:
    node = parse("HOUR({at}) = 9")
    sql, params = compile_sql(node, _column, tz="Asia/Shanghai", now=NOW)
    assert "+28800 seconds" in params
    with pytest.raises(NotCompilable):
        compile_sql(node, _column, tz="Europe/Berlin", now=NOW)
    # date-only comparisons do not depend on the zone
    compile_sql(parse("{visit} > '2026-01-01'"), _column, tz="Europe/Berlin", now=NOW)
