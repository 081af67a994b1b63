"""A filter formula SQL cannot express, over more rows than one page of the evaluation in Python
(PostgreSQL reads the table FORMULA_PAGE rows at a time; SQLite calls back into Python per row):
every matching row is found, whichever page it is on, and the order, page and total of the
query stay right."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import reads

pytestmark = pytest.mark.stores

BASE = """\
base: p
name: P
tables:
  t:
    name: T
    primary: name
    fields:
      name: {type: text, name: Name}
      code: {type: text, name: Code}
      n: {type: number, name: N}
"""


def test_a_formula_evaluated_row_by_row_finds_the_rows_of_every_page(
        make_workspace: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_workspace({"p": BASE})
    t = ws.base("p").table("t")
    for i in range(1, 12):
        t.create({"name": f"row {i}", "code": "AB" if i % 3 == 0 else "cd", "n": i}, actor="admin")
    monkeypatch.setattr(reads, "FORMULA_PAGE", 2)  # 11 rows: six pages, the last one short
    flt = {"formula": 'AND(LOWER({Code}) = "ab", {N} > 1)'}  # LOWER() is evaluated in Python
    page = t.query(actor="admin", filter=flt, sort=["-n"], limit=2)
    assert page.total == 3
    assert [r["fields"]["n"] for r in page.records] == [9, 6]
    rest = t.query(actor="admin", filter=flt, sort=["-n"], limit=2, offset=2)
    assert [r["fields"]["n"] for r in rest.records] == [3]
    assert t.count(actor="admin", filter={"formula": 'LOWER({Code}) = "nothing"'}) == 0
    assert t.count(actor="admin", filter={"formula": 'LOWER({Code}) != "nothing"'}) == 11


def test_record_id_concatenate_left_and_find_filter_in_sql_alike_on_each_store(
        make_workspace: Callable[..., Any]) -> None:
    ws = make_workspace({"p": BASE})
    t = ws.base("p").table("t")
    ids = [t.create({"name": f"row {i}", "code": "AB" if i % 3 == 0 else "cd", "n": i}, actor="admin")["id"]
           for i in range(1, 12)]
    expected = {
        f'RECORD_ID() = "{ids[4]}"': 1,
        'LEFT({Name}, 5) = "row 1"': 3,  # row 1, row 10, row 11
        'LEFT({Name}, 0) = ""': 11,
        'FIND("1", {Name}) = 5': 3,
        'FIND("", {Name}) = 1': 11,
        'FIND("x", {Name})': 0,
        'CONCATENATE({Code}, "-", {Name}) = "AB-row 3"': 1,
        'CONCATENATE({Code}) = "cd"': 8,
    }
    for text, count in expected.items():
        sql, _ = t.formula_sql(text)
        assert "gb_formula" not in sql and "_rowid IN" not in sql, text  # SQL, not evaluated row by row
        assert t.count(actor="admin", filter={"formula": text}) == count, text
