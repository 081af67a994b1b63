"""Migrations: add, rename, retype, remove (refused, then archived), idempotent apply."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from engine import MigrationRefused, Workspace
from engine.fields.text import TextField
from tests_support import rewrite_base

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

V1 = """\
base: crm
name: CRM
tables:
  people:
    name: 客户
    primary: name
    fields:
      name: {type: text, name: 姓名}
      age: {type: text, name: 年龄}
      note: {type: long_text, name: 备注}
      level: {type: single_select, name: 等级, options: [A, B]}
"""


def open_ws(root: Path, db: Path | str) -> Workspace:
    return Workspace.open(root, db=db)


@pytest.fixture
def ws(make_workspace: Any) -> Any:
    ws = make_workspace({"crm": V1})
    people = ws.base("crm").table("people")
    for i, age in enumerate(["30", "41", "不详", ""]):
        people.create({"name": f"p{i}", "age": age, "note": f"n{i}", "level": "A"}, actor="admin")
    return ws


def reopen(ws: Workspace, text: str) -> Workspace:
    root = Path(ws.config.root)
    rewrite_base(root, "crm", text)
    db = ws.storage.database
    ws.close()
    return Workspace.open(root, db=db)


def values(ws: Workspace, key: str) -> list[Any]:
    return [r[0] for r in ws.storage.conn.execute(f'SELECT "{key}" FROM crm__people ORDER BY _rowid')]


def test_applying_the_same_yaml_twice_changes_nothing(ws: Workspace) -> None:
    assert ws.plan() == []
    assert ws.apply() == []


def test_add_field_and_rename_keep_every_row(ws: Workspace) -> None:
    text = V1.replace("note: {type: long_text, name: 备注}", "remark: {type: long_text, name: 备注, renamed_from: note}")
    text += "      phone: {type: phone, name: 电话}\n"
    ws = reopen(ws, text)
    plan = [s.description for s in ws.plan()]
    assert "rename field crm.people.note to remark" in plan
    assert "add field crm.people.phone (phone)" in plan
    ws.apply()
    assert values(ws, "remark") == ["n0", "n1", "n2", "n3"]
    assert values(ws, "phone") == [None] * 4
    # History follows the rename.
    rid = ws.storage.conn.execute("SELECT _id FROM crm__people WHERE _rowid = 1").fetchone()[0]
    assert any(e["field"] == "remark" for e in ws.base("crm").table("people").history(rid, actor="admin"))
    assert ws.plan() == []
    ws.close()


def test_retype_converts_and_archives_what_cannot_convert(ws: Workspace) -> None:
    ws = reopen(ws, V1.replace("age: {type: text, name: 年龄}", "age: {type: number, name: 年龄}"))
    steps = ws.plan()
    assert any(s.lossy and "1 value(s) cannot convert" in s.description for s in steps)
    with pytest.raises(MigrationRefused):
        ws.apply()
    assert values(ws, "age") == ["30", "41", "不详", None]  # refused: nothing changed
    ws.apply(allow_data_loss=True)
    assert values(ws, "age") == [30, 41, None, None]
    archived = ws.storage.conn.execute("SELECT field, value, reason FROM _gb_archive").fetchall()
    assert [(f, json.loads(v)) for f, v, _ in archived] == [("age", "不详")]
    ws.close()


def test_lossless_retype_needs_no_permission(ws: Workspace) -> None:
    ws = reopen(ws, V1.replace("level: {type: single_select, name: 等级, options: [A, B]}",
                               "level: {type: multi_select, name: 等级, options: [A, B]}"))
    ws.apply()
    assert [json.loads(v) for v in values(ws, "level")] == [["A"]] * 4
    ws.close()


def test_remove_field_and_table_is_refused_then_archived(ws: Workspace) -> None:
    text = V1.replace("      note: {type: long_text, name: 备注}\n", "")
    ws = reopen(ws, text)
    with pytest.raises(MigrationRefused) as info:
        ws.apply()
    assert "remove field crm.people.note" in str(info.value)
    assert values(ws, "note") == ["n0", "n1", "n2", "n3"]
    ws.apply(allow_data_loss=True)
    kept = ws.storage.conn.execute("SELECT json_extract(value, '$') FROM _gb_archive WHERE field = 'note' ORDER BY id").fetchall()
    assert [k[0] for k in kept] == ["n0", "n1", "n2", "n3"]
    assert ws.base("crm").table("people").count(actor="admin") == 4
    # Removing the whole table keeps it as an archived table.
    other = text.replace("  people:", "  folks:")
    ws = reopen(ws, other)
    with pytest.raises(MigrationRefused):
        ws.apply()
    ws.apply(allow_data_loss=True)
    archived = [r[0] for r in ws.storage.conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '_gb_archived__crm__people%'")]
    assert archived
    assert ws.storage.conn.execute(f'SELECT count(*) FROM "{archived[0]}"').fetchone()[0] == 4
    ws.close()


INDEXED = """\
base: shop
name: Shop
tables:
  customers:
    name: 客户
    primary: name
    fields:
      name: {type: text, name: 姓名}
  orders:
    name: 订单
    primary: title
    fields:
      title: {type: text, name: 标题, index: true}
      region: {type: single_select, name: 区域, options: [北, 南]}
      amount: {type: number, name: 金额}
      due: {type: date, name: 到期}
      customer: {type: link, name: 客户, table: customers}
dashboards:
  money:
    name: 金额
    widgets:
      - {type: bar, title: 各区域金额, table: orders, group_by: region, aggregate: sum, field: amount}
"""


def order_indexes(ws: Workspace) -> set[str]:
    return {r[0] for r in ws.storage.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'shop__orders' AND sql IS NOT NULL")}


def reopen_shop(ws: Workspace, text: str) -> Workspace:
    root, db = Path(ws.config.root), ws.storage.database
    rewrite_base(root, "shop", text)
    ws.close()
    return Workspace.open(root, db=db)


def test_indexes_follow_the_yaml_and_unneeded_ones_are_dropped(make_workspace: Any) -> None:
    ws = make_workspace({"shop": INDEXED})
    # A link is filtered through its junction table, so its JSON column gets no index.
    assert order_indexes(ws) == {"idx__shop__orders__title", "idx__shop__orders__region", "idx__shop__orders__due",
                                 "idx__shop__orders__region__amount___deleted_at"}
    orders = ws.base("shop").table("orders")
    orders.create({"title": "o1", "region": "北", "amount": 5, "due": "2026-12-01"}, actor="admin")
    # Databases made before kept an index on the link column; the next apply drops it.
    ws.storage.writer.execute('CREATE INDEX "idx__shop__orders__customer" ON "shop__orders" ("customer") WHERE _deleted_at IS NULL')
    text = INDEXED.replace("index: true", "index: false").split("dashboards:")[0]
    ws = reopen_shop(ws, text)
    plan = sorted(s.description for s in ws.plan())
    assert plan == ["drop index idx__shop__orders__customer on shop.orders: no longer needed",
                    "drop index idx__shop__orders__region__amount___deleted_at on shop.orders: no longer needed",
                    "drop index idx__shop__orders__title on shop.orders: no longer needed"]
    ws.apply()
    assert order_indexes(ws) == {"idx__shop__orders__region", "idx__shop__orders__due"}
    assert ws.plan() == []
    assert [r["fields"]["title"] for r in ws.base("shop").table("orders").query(actor="admin").records] == ["o1"]


def test_a_retyped_or_renamed_field_keeps_its_index(make_workspace: Any) -> None:
    ws = make_workspace({"shop": INDEXED})
    ws.base("shop").table("orders").create({"title": "o1", "due": "2026-12-01"}, actor="admin")
    text = INDEXED.replace("due: {type: date, name: 到期}", "deadline: {type: date, name: 到期, renamed_from: due}")
    ws = reopen_shop(ws, text)
    ws.apply()
    assert "idx__shop__orders__deadline" in order_indexes(ws)
    assert "idx__shop__orders__due" not in order_indexes(ws)
    ws = reopen_shop(ws, text.replace("deadline: {type: date", "deadline: {type: datetime"))
    ws.apply()
    assert "idx__shop__orders__deadline" in order_indexes(ws)
    assert ws.plan() == []


def column_types(ws: Workspace, table: str = "crm__people") -> dict[str, str]:
    return {r[1]: r[2] for r in ws.storage.conn.execute(f'PRAGMA table_info("{table}")')}


def test_a_retype_keeps_the_table_whole(ws: Workspace) -> None:
    """A retype to another column type: ids stay unique, the other indexes stay, the values
    are converted, and the next write works as before."""
    text = V1.replace("level: {type: single_select, name: 等级, options: [A, B]}",
                      "level: {type: single_select, name: 等级, options: [A, B], index: true}")
    ws = reopen(ws, text)
    ws.apply()
    ws = reopen(ws, text.replace("age: {type: text, name: 年龄}", "age: {type: number, name: 年龄}"))
    ws.apply(allow_data_loss=True)
    assert column_types(ws)["age"] == "REAL"
    assert values(ws, "age") == [30, 41, None, None]
    assert "idx__crm__people__level" in {r[0] for r in ws.storage.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'crm__people'")}
    first = ws.storage.conn.execute("SELECT _id FROM crm__people WHERE _rowid = 1").fetchone()[0]
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation), match="UNIQUE|duplicate key"), \
            ws.storage.transaction() as conn:
        conn.execute("UPDATE crm__people SET _id = ? WHERE _rowid = 2", (first,))
    people = ws.base("crm").table("people")
    rid = people.create({"name": "p4", "age": 7}, actor="admin")["id"]
    assert people.get(rid, actor="admin")["fields"]["age"] == 7
    assert ws.plan() == []
    ws.close()


def test_a_retype_that_keeps_the_column_type_rewrites_only_the_values(ws: Workspace) -> None:
    ws = reopen(ws, V1.replace("level: {type: single_select, name: 等级, options: [A, B]}", "level: {type: text, name: 等级}"))
    before = ws.storage.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'crm__people'").fetchone()
    ws.apply()
    assert values(ws, "level") == ["A"] * 4
    assert ws.storage.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'crm__people'").fetchone() == before
    ws.close()


def test_a_failed_apply_leaves_a_retype_undone(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """apply() is one transaction, sqlite-utils' steps included: a later failure undoes a retype."""
    ws = reopen(ws, V1.replace("age: {type: text, name: 年龄}", "age: {type: number, name: 年龄}"))

    def broken() -> None:
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(ws, "sync_people", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ws.apply(allow_data_loss=True)
    assert column_types(ws)["age"] == "TEXT"
    assert values(ws, "age") == ["30", "41", "不详", None]
    assert ws.storage.conn.execute("SELECT count(*) FROM _gb_archive").fetchone()[0] == 0
    assert [s.kind for s in ws.plan()] == ["retype_field"]
    ws.close()


def test_a_field_type_asking_for_an_unknown_column_type_is_refused_clearly(
        make_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TextField, "sql_type", "DECIMAL(10,2)")
    ws = make_workspace({"crm": V1}, apply=False)
    with pytest.raises(MigrationRefused, match=r"field 'name' \(text\) asks for the column type 'DECIMAL\(10,2\)'"):
        ws.apply()
    assert "crm__people" not in ws.storage.tables()
