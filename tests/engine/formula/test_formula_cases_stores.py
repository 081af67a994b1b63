"""The formula cases (formula_cases.py) as filters of a stored record, on the store under test:
each selects the record exactly when its value is truthy, whether the store compiles it to SQL
or evaluates it in Python (SQLite calls back into Python; PostgreSQL evaluates the rows before
the query), so both stores give the same results."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from formula_cases import CASES, NOW, RECORD
from pg_server import on_postgres

from engine import Workspace
from engine.formula import Env, evaluate, parse, truthy
from tests_support import WORKSPACE_YAML, write_workspace

pytestmark = pytest.mark.stores

BASE = """\
base: f
name: F
tables:
  t:
    name: T
    primary: name
    fields:
      name: {type: text, name: name}
      num: {type: number, name: num}
      neg: {type: number, name: neg, precision: 1}
      zero: {type: number, name: zero}
      blank: {type: number, name: blank}
      empty: {type: text, name: empty}
      status: {type: text, name: status}
      day: {type: date, name: day}
      at: {type: datetime, name: at}
      tags: {type: multi_select, name: tags, options: [red, green]}
      done: {type: checkbox, name: done}
      notdone: {type: checkbox, name: notdone}
      unit_price: {type: number, name: Unit Price, precision: 1}
      qty: {type: number, name: Qty}
"""
FIELDS = {"num", "neg", "zero", "blank", "empty", "name", "status", "day", "at", "tags", "done", "notdone",
          "Unit Price", "Qty"}
# Cases on the record as stored: no inputs of their own, naming only the fields above (a bare
# name such as `num + 1` is a field too), and not RECORD_ID() / CREATED_TIME(), which differ here.
USED = [c for c in CASES if not c[1] and not re.search(r"RECORD_ID|CREATED_TIME|LAST_MODIFIED", c[0])
        and set(re.findall(r"\{([^}]*)\}", c[0])) <= FIELDS and "nums" not in c[0] and "words" not in c[0]]


@pytest.fixture(scope="module")
def table(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("cases")
    root = write_workspace(tmp / "ws", {"f": BASE}, WORKSPACE_YAML)
    db: Any = tmp / "test.db"
    if on_postgres():
        url = request.getfixturevalue("pg_url")
        schema = "cases_" + os.urandom(3).hex()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]  # a name made above
        db = f"{url}?options=-csearch_path%3D{schema}"
    ws = Workspace.open(root, db=db)
    ws.apply()
    ws.clock = lambda: NOW
    t = ws.base("f").table("t")
    values = {k: RECORD[k] for k in ("name", "num", "neg", "zero", "empty", "status", "done", "notdone")}
    values.update({"day": RECORD["day"].isoformat(), "at": "2026-03-02 00:30", "tags": RECORD["tags"][:2],
                   "unit_price": RECORD["Unit Price"], "qty": RECORD["Qty"]})
    t.create(values, actor="admin")
    yield t
    ws.close()


def _expected(formula: str, tags: list[str]) -> int:
    """What Python finds for the stored record (as the field types read it back)."""
    env = {"num": 10, "neg": -3.5, "zero": 0, "blank": None, "empty": None, "name": "Ada Lovelace", "status": "open",
           "day": RECORD["day"], "at": datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "tags": tags,
           "done": True, "notdone": False, "Unit Price": 2.5, "Qty": 4}
    return 1 if truthy(evaluate(parse(formula), Env(values=env, tz="Asia/Shanghai", now=NOW))) else 0


def test_every_case_filters_the_record_as_python_finds_it_on_this_store(table: Any) -> None:
    assert len(USED) >= 400
    tags = table.query(actor="admin").records[0]["fields"]["tags"]
    # One test for all the cases (each a query): quick enough for both runs of the suite.
    wrong = [(f, n) for f in (c[0] for c in USED)
             if (n := table.count(actor="admin", filter={"formula": f})) != _expected(f, tags)]
    assert wrong == []
