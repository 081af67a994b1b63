"""One write path, the audit log's old and new values, and undo/redo through the record service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine import NotFoundError, PermissionDenied, comments, undo
from engine.errors import CellErrors, UndoRefused

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 已办结], default: 待受理}
      owner: {type: person, name: 负责人}
      amount: {type: number, name: 金额}
      double: {type: formula, name: 双倍, formula: "{amount} * 2"}
      customer: {type: link, name: 客户, table: customers, multiple: false, inverse: tickets, inverse_name: 工单}
  customers:
    name: 客户
    primary: name
    fields:
      name: {type: text, name: 姓名}
roles:
  handler:
    tickets: {access: edit, edit_rows: {owner: $me}}
    customers: {access: read}
  viewer:
    tickets: {access: read}
"""


@pytest.fixture
def ws(make_workspace: Any) -> Any:
    return make_workspace({"desk": BASE})


def audit(ws: Any, record: str) -> list[dict[str, Any]]:
    return [{"actor": e.actor, "action": e.action, "field": e.field, "old": e.old_value(), "new": e.new_value(),
             "group": e.group} for e in ws.audit.for_record("desk", "tickets", record)]


def events(ws: Any, record: str) -> list[Any]:
    return [e for e in ws.outbox.pending(limit=1000) if e.record == record]


# -- one write path ---------------------------------------------------------------------------
def test_creating_one_record_is_a_batch_of_one_with_audit_and_event(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    customer = ws.base("desk").table("customers").create({"name": "张三"}, actor="admin")
    rec = tickets.create({"title": "空调", "amount": 5, "customer": customer["id"]}, actor="admin")
    single = audit(ws, rec["id"])
    assert [(a["action"], a["field"]) for a in single] == [("create", None)]
    assert single[0]["new"] == {"title": "空调", "status": "待受理", "amount": 5.0,
                                "customer": json.dumps([customer["id"]])}
    assert single[0]["group"]  # one person's write: undoable
    [event] = events(ws, rec["id"])
    assert event.kind == "created" and event.changes["double"] == [None, 10.0]  # computed values too
    # An import writes through the same writer: the same entry and event, only without a group.
    [imported] = tickets.insert_many([{"title": "空调", "amount": 5, "customer": customer["id"]}], actor="admin")
    bulk = audit(ws, imported)
    assert bulk[0]["new"] == single[0]["new"] and bulk[0]["group"] is None
    assert events(ws, imported)[0].data == event.data
    # The link's other side was kept in step by both.
    assert ws.base("desk").table("customers").get(customer["id"], actor="admin")["fields"]["tickets"] == [rec["id"], imported]


def test_audit_keeps_old_and_new_for_each_kind_of_write(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "空调", "amount": 5}, actor="admin")
    tickets.update(rec["id"], {"amount": 7, "status": "处理中"}, actor="admin")
    tickets.delete(rec["id"], actor="admin")
    tickets.restore(rec["id"], actor="admin")
    entries = audit(ws, rec["id"])
    assert [e["action"] for e in entries] == ["create", "update", "update", "delete", "restore"]
    updates = {e["field"]: (e["old"], e["new"]) for e in entries if e["action"] == "update"}
    assert updates == {"amount": (5.0, 7.0), "status": ("待受理", "处理中")}
    whole = {"title": "空调", "status": "处理中", "amount": 7.0}
    assert entries[3]["old"] == whole and entries[4]["new"] == whole  # the whole row, both ways


def test_a_comment_is_audited_and_announced(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "空调"}, actor="admin")
    comment = comments.add(tickets, rec["id"], "请尽快处理", actor="li")
    note = audit(ws, rec["id"])[-1]
    assert note["action"] == "comment" and note["actor"] == "li" and note["new"]["body"] == "请尽快处理"
    [event] = [e for e in events(ws, rec["id"]) if e.kind == "commented"]
    assert event.actor == "li" and event.data["comment"] == comment


# -- update_many --------------------------------------------------------------------------------
def test_update_many_is_one_group_all_or_nothing_with_each_bad_cell_named(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    a = tickets.create({"title": "甲", "amount": 1}, actor="admin")["id"]
    b = tickets.create({"title": "乙", "amount": 2}, actor="admin")["id"]
    with pytest.raises(CellErrors) as caught:
        tickets.update_many([(a, {"amount": "abc"}), (b, {"amount": 20, "status": "不存在"}),
                             ("recAAAAAAAAAAAAAA", {"amount": 1})], actor="admin")
    named = {(c.record, c.field) for c in caught.value.cells}
    assert named == {(a, "amount"), (b, "status"), ("recAAAAAAAAAAAAAA", None)}
    assert all(c.message for c in caught.value.cells)
    assert tickets.get(b, actor="admin")["fields"]["amount"] == 2  # nothing written, not even b's good cell
    assert tickets.update_many([(a, {"amount": 10}), (b, {"amount": 20})], actor="admin") == [a, b]
    groups = {e["group"] for r in (a, b) for e in audit(ws, r) if e["action"] == "update"}
    assert len(groups) == 1
    undo.undo(tickets, "admin")  # the paste is undone as one
    assert [tickets.get(r, actor="admin")["fields"]["amount"] for r in (a, b)] == [1, 2]


# -- undo and redo ------------------------------------------------------------------------------
def test_undo_and_redo_a_cell_edit_through_the_write_path(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "空调", "amount": 5}, actor="admin")["id"]
    tickets.update(rec, {"amount": 7}, actor="admin")
    done = undo.undo(tickets, "admin")
    assert done.records == [rec] and tickets.get(rec, actor="admin")["fields"]["amount"] == 5
    last = audit(ws, rec)[-1]
    assert (last["field"], last["old"], last["new"]) == ("amount", 7.0, 5.0) and " undo " in last["group"]
    assert events(ws, rec)[-1].changes["amount"] == [7.0, 5.0]  # announced like any write
    undo.redo(tickets, "admin")
    assert tickets.get(rec, actor="admin")["fields"]["amount"] == 7
    undo.undo(tickets, "admin")  # the edit again
    undo.undo(tickets, "admin")  # then the create: the record goes
    with pytest.raises(NotFoundError):
        tickets.get(rec, actor="admin")
    undo.redo(tickets, "admin")  # the create (undone last) comes back first
    assert tickets.get(rec, actor="admin")["fields"]["amount"] == 5
    undo.redo(tickets, "admin")
    assert tickets.get(rec, actor="admin")["fields"]["amount"] == 7
    with pytest.raises(UndoRefused) as nothing:
        undo.redo(tickets, "admin")
    assert nothing.value.reason == "nothing"


def test_undo_takes_back_only_ones_own_writes_and_a_new_write_ends_redo(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    mine = tickets.create({"title": "甲", "owner": "li"}, actor="admin")["id"]
    tickets.update(mine, {"amount": 1}, actor="li")
    tickets.update(mine, {"status": "处理中"}, actor="admin")  # someone else's write, other field
    undo.undo(tickets, "li")
    fields = tickets.get(mine, actor="admin")["fields"]
    assert "amount" not in fields and fields["status"] == "处理中"
    tickets.update(mine, {"title": "乙"}, actor="li")  # a new write: nothing left to redo
    with pytest.raises(UndoRefused):
        undo.redo(tickets, "li")
    with pytest.raises(UndoRefused) as nothing:
        undo.undo(tickets, "zhao")
    assert nothing.value.reason == "nothing"


def test_undo_refuses_over_someone_elses_later_change_naming_them(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲", "owner": "li"}, actor="admin")["id"]
    tickets.update(rec, {"amount": 1}, actor="li")
    tickets.update(rec, {"amount": 2}, actor="admin")
    with pytest.raises(UndoRefused) as refused:
        undo.undo(tickets, "li")
    assert refused.value.reason == "changed" and refused.value.who == "admin" and refused.value.field == "金额"
    assert tickets.get(rec, actor="admin")["fields"]["amount"] == 2


def test_undo_is_permission_checked_as_the_person(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲", "owner": "li"}, actor="admin")["id"]
    tickets.update(rec, {"title": "乙"}, actor="li")
    tickets.update(rec, {"owner": "boss"}, actor="admin")  # li may edit only the rows they own
    with pytest.raises(PermissionDenied):
        undo.undo(tickets, "li")
    assert tickets.get(rec, actor="admin")["fields"]["title"] == "乙"


def test_undo_of_a_delete_restores_the_record(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲"}, actor="admin")["id"]
    tickets.delete(rec, actor="admin")
    undo.undo(tickets, "admin")
    assert tickets.get(rec, actor="admin")["fields"]["title"] == "甲"
    assert [e["action"] for e in audit(ws, rec)] == ["create", "delete", "restore"]


def test_undo_of_a_link_keeps_both_sides_in_step(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    customers = ws.base("desk").table("customers")
    one = customers.create({"name": "甲"}, actor="admin")["id"]
    two = customers.create({"name": "乙"}, actor="admin")["id"]
    rec = tickets.create({"title": "空调", "customer": one}, actor="admin")["id"]
    tickets.update(rec, {"customer": two}, actor="admin")
    assert "tickets" not in customers.get(one, actor="admin")["fields"]
    undo.undo(tickets, "admin")
    assert tickets.get(rec, actor="admin")["fields"]["customer"] == [one]
    assert customers.get(one, actor="admin")["fields"]["tickets"] == [rec]
    assert "tickets" not in customers.get(two, actor="admin")["fields"]
    undo.redo(tickets, "admin")
    assert customers.get(two, actor="admin")["fields"]["tickets"] == [rec]


def test_a_redo_is_refused_too_when_someone_changed_the_cell_since_the_undo(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲", "owner": "li"}, actor="admin")["id"]
    tickets.update(rec, {"amount": 1}, actor="li")
    undo.undo(tickets, "li")
    tickets.update(rec, {"amount": 9}, actor="admin")
    with pytest.raises(UndoRefused) as refused:
        undo.redo(tickets, "li")
    assert refused.value.who == "admin"
    assert tickets.get(rec, actor="admin")["fields"]["amount"] == 9


def test_undo_of_a_record_someone_else_deleted_is_refused(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲", "owner": "li"}, actor="admin")["id"]
    tickets.update(rec, {"amount": 1}, actor="li")
    tickets.delete(rec, actor="admin")
    with pytest.raises(UndoRefused) as refused:
        undo.undo(tickets, "li")
    assert refused.value.reason == "changed" and refused.value.who == "admin"


def test_the_audit_log_is_searched_by_person_table_and_time(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲", "owner": "li"}, actor="admin")["id"]
    tickets.update(rec, {"amount": 1}, actor="li")
    with ws.storage.reading():
        found = ws.audit.search(person="li", base="desk", table="tickets")
        assert [(e.record, e.field) for e in found] == [(rec, "amount")]
        assert ws.audit.search(person="li", since="2999-01-01T00:00:00Z") == []


def test_delete_many_is_all_or_nothing_and_undone_as_one(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    mine = [tickets.create({"title": t, "owner": "li"}, actor="admin")["id"] for t in ("甲", "乙")]
    theirs = tickets.create({"title": "丙", "owner": "boss"}, actor="admin")["id"]
    with pytest.raises(CellErrors) as refused:
        tickets.delete_many([*mine, theirs], actor="li")  # li may not delete: handler has no delete
    assert {c.record for c in refused.value.cells} == {*mine, theirs}
    assert tickets.delete_many(mine, actor="admin") == mine
    assert tickets.count(actor="admin") == 1
    done = undo.undo(tickets, "admin")
    assert sorted(done.records) == sorted(mine) and tickets.count(actor="admin") == 3


def test_a_renamed_field_is_renamed_in_whole_rows_of_the_log_too(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "甲", "amount": 3}, actor="admin")["id"]
    tickets.delete(rec, actor="admin")
    with ws.storage.transaction():
        ws.audit.rename_field("desk", "tickets", "amount", "price", path_of=lambda k: f'$."{k}"')
    create, delete = ws.audit.for_record("desk", "tickets", rec)
    assert create.new_value()["price"] == 3 and "amount" not in create.new_value()
    assert delete.old_value()["price"] == 3 and "amount" not in delete.old_value()
