"""Writes keep to the actor's rules on every path: undelete follows the row rules of delete,
and a value shown masked cannot be written back over the real one."""

from __future__ import annotations

from typing import Any

import pytest

from engine import NotFoundError, PermissionDenied, ValidationError

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

DESK = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      dept: {type: single_select, name: 科室, options: [qc, ortho]}
      owner: {type: person, name: 负责人}
      phone: {type: phone, name: 电话}
roles:
  handler:
    tickets:
      access: edit
      create: true
      delete: true
      rows: {dept: $my_department}
      edit_rows: {owner: $me}
      fields:
        phone: {access: edit, mask: phone}
"""


@pytest.fixture
def desk(make_workspace: Any) -> Any:
    return make_workspace({"desk": DESK}).base("desk").table("tickets")


def _deleted(tickets: Any, **values: Any) -> str:
    rid = tickets.create({"title": "t", **values}, actor="admin")["id"]
    tickets.delete(rid, actor="admin")
    return str(rid)


def test_restore_keeps_to_the_read_and_edit_rules_of_delete(desk: Any) -> None:
    # li (handler, department ortho) reads ortho tickets and changes only those she owns.
    other_dept = _deleted(desk, dept="qc", owner="li")
    not_hers = _deleted(desk, dept="ortho", owner="boss")
    hers = _deleted(desk, dept="ortho", owner="li")
    with pytest.raises(NotFoundError):
        desk.restore(other_dept, actor="li")  # a record she cannot read does not exist for her
    with pytest.raises(PermissionDenied):
        desk.restore(not_hers, actor="li")
    assert desk.query(actor="admin").records == []  # both refusals left the records deleted
    assert desk.restore(hers, actor="li")["id"] == hers
    assert [r["id"] for r in desk.query(actor="admin").records] == [hers]
    # Deleting follows the same rules, so what she restored she can delete again.
    desk.delete(hers, actor="li")


def test_a_field_shown_masked_cannot_be_written_back(desk: Any) -> None:
    rid = desk.create({"title": "t", "dept": "ortho", "owner": "li", "phone": "13912342768"}, actor="admin")["id"]
    seen = desk.get(rid, actor="li")["fields"]["phone"]
    assert seen != "13912342768" and seen.endswith("2768")
    for value in (seen, "13800000000", None):
        with pytest.raises(ValidationError, match="电话: it is shown masked to you, so you cannot change it"):
            desk.update(rid, {"phone": value}, actor="li")
    assert desk.get(rid, actor="admin")["fields"]["phone"] == "13912342768"
    # Other fields of the record stay editable, and a new record may still be given a phone.
    desk.update(rid, {"title": "t2"}, actor="li")
    new = desk.create({"title": "n", "dept": "ortho", "owner": "li", "phone": "13700001111"}, actor="li")["id"]
    assert desk.get(new, actor="admin")["fields"]["phone"] == "13700001111"
