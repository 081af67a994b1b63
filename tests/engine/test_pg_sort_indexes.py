"""On PostgreSQL a field's index keeps blanks first (NULLS FIRST), the order sorts use (engine.dialect
`ordered()`), and the row id after the value, every sort's tie-break: the first page of a sorted grid
walks the index, forwards going up and backwards going down, instead of sorting the whole table or
the records sharing a value. An index made before (NULLS LAST, or without the row id) is made again
once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.query import compile_sort
from engine.storage import q, table_name

pytestmark = pytest.mark.stores

BASE = """\
base: s
name: S
tables:
  t:
    name: T
    primary: name
    fields:
      name: {type: text, name: Name}
      seen: {type: date, name: Seen}
"""


def _plan(ws: Any, sort: list[str]) -> str:
    table = ws.base("s").table("t")
    order = compile_sort(table.fields, sort, dialect=ws.storage.dialect)
    sql = f"SELECT _rowid FROM {q(table_name('s', 't'))} WHERE _deleted_at IS NULL ORDER BY {order} LIMIT 50"
    return " | ".join(str(r[0]) for r in ws.storage.conn.execute("EXPLAIN " + sql).fetchall())


def test_a_sorted_first_page_walks_the_field_index_both_ways(make_workspace: Callable[..., Any]) -> None:
    ws = make_workspace({"s": BASE})
    if ws.storage.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's index order; SQLite's default order is the sort's")
    t = ws.base("s").table("t")
    t.insert_many(({"name": f"n{i}", "seen": None if i % 7 == 0 else f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"}
                   for i in range(3000)), actor="admin")
    conn = ws.storage.conn
    conn.execute("ANALYZE " + q(table_name("s", "t")))
    conn.execute("SET enable_seqscan = off")  # a deterministic plan on a small table
    try:
        index = f"idx__{table_name('s', 't')}__seen"
        for sort in (["seen"], ["-seen"]):
            plan = _plan(ws, sort)
            assert f"using {index}" in plan and "Seq Scan" not in plan, (sort, plan)  # walked, in order
        assert f"Scan Backward using {index}" in _plan(ws, ["-seen"])  # an index only scan: the row id is in it

        # A database whose index was made NULLS LAST (before): the next apply remakes it, once.
        with ws.storage.transaction() as tx:
            tx.execute(f"DROP INDEX {q(index)}")
            tx.execute(f"CREATE INDEX {q(index)} ON {q(table_name('s', 't'))} (seen) WHERE _deleted_at IS NULL")
        assert f"using {index}" not in _plan(ws, ["seen"])  # read whole (a bitmap), then sorted
        steps = ws.plan()
        assert [s.description for s in steps] == ["remake index on s.t.seen (blanks first, then the row id, so that sorts use it)"]
        ws.apply()
        assert ws.plan() == []
        assert f"using {index}" in _plan(ws, ["seen"]) and f"using {index}" in _plan(ws, ["-seen"])
        names = [r["fields"]["name"] for r in t.query(actor="admin", sort=["seen"], limit=3).records]
        assert names == ["n0", "n7", "n14"]  # blanks first going up, as on SQLite
    finally:
        conn.execute("RESET enable_seqscan")


def test_on_postgresql_a_sorted_first_page_reads_the_index_without_sorting_ties(make_workspace: Callable[..., Any]) -> None:
    """The row id follows the value in a field's index (engine.dialect `field_index_key`), as in
    SQLite's: the records sharing the first page's last value are not all read and sorted."""
    ws = make_workspace({"s": BASE})
    if ws.storage.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    t = ws.base("s").table("t")
    t.insert_many(({"name": f"n{i}", "seen": f"2026-01-{1 + i % 5:02d}"} for i in range(3000)), actor="admin")
    conn = ws.storage.conn
    conn.execute("ANALYZE " + q(table_name("s", "t")))
    index = f"idx__{table_name('s', 't')}__seen"
    try:
        conn.execute("SET enable_seqscan = off")  # a deterministic plan on a small table
        for sort in (["seen"], ["-seen"]):
            plan = _plan(ws, sort)
            assert f"using {index}" in plan and "Sort" not in plan, (sort, plan)
        # The same order as the page the grid shows: newest day first, its newest record first.
        page = t.query(actor="admin", sort=["-seen"], limit=3).records
        assert [r["fields"]["name"] for r in page] == ["n2999", "n2994", "n2989"]

        # An index made before without the row id: the next apply remakes it, once.
        with ws.storage.transaction() as tx:
            tx.execute(f"DROP INDEX {q(index)}")
            tx.execute(f"CREATE INDEX {q(index)} ON {q(table_name('s', 't'))} (seen NULLS FIRST) WHERE _deleted_at IS NULL")
        assert "Sort" in _plan(ws, ["-seen"])
        assert [s.description for s in ws.plan()] == [
            "remake index on s.t.seen (blanks first, then the row id, so that sorts use it)"]
        ws.apply()
        assert ws.plan() == []
        assert "Sort" not in _plan(ws, ["-seen"])
    finally:
        conn.execute("RESET enable_seqscan")


def test_on_sqlite_a_sorted_first_page_reads_the_index_without_sorting_ties(make_workspace: Callable[..., Any]) -> None:
    ws = make_workspace({"s": BASE})
    if ws.storage.dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    t = ws.base("s").table("t")
    t.insert_many(({"name": f"n{i}", "seen": f"2026-01-{1 + i % 5:02d}"} for i in range(300)), actor="admin")
    index = f"idx__{table_name('s', 't')}__seen"
    for sort in (["seen"], ["-seen"]):
        order = compile_sort(t.fields, sort, dialect=ws.storage.dialect)
        plan = [str(r[-1]) for r in ws.storage.conn.execute(
            f"EXPLAIN QUERY PLAN SELECT _rowid FROM {q(table_name('s', 't'))} INDEXED BY {q(index)} "
            f"WHERE _deleted_at IS NULL ORDER BY {order} LIMIT 50").fetchall()]
        # The row id follows the value in the index: no sort of the records sharing a date.
        assert not any("TEMP B-TREE" in step for step in plan), (sort, plan)
