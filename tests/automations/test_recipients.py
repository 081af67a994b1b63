"""Recipients named through departments: `head:KEY`, and `dept:{field}` / `head:{field}` for
the departments a record names (by key or by name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from automations.recipients import resolve
from engine import Workspace
from engine import people as people_db

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

CASES = """\
base: cases
name: 事项
tables:
  cases:
    name: 事项
    primary: title
    fields:
      title: {type: text, name: 标题}
      dept: {type: single_select, name: 责任科室, options: [质控部, 口腔正畸中心, 其他]}
      depts: {type: multi_select, name: 协办科室, options: [质控部, 口腔正畸中心]}
      code: {type: text, name: 科室代码}
"""


def _who(ws: Workspace, spec: Any, values: dict[str, Any] | None = None) -> list[str]:
    table = ws.base("cases").table("cases")
    row = None
    if values is not None:
        rec = table.create(values, actor="admin")
        row = ws.storage.conn.execute('SELECT * FROM "cases__cases" WHERE _id = ?', (rec["id"],)).fetchone()
        names = [d[0] for d in ws.storage.conn.execute('SELECT * FROM "cases__cases" LIMIT 0').description]
        row = dict(zip(names, row, strict=True))
    people, _ = resolve(ws, spec, table, row)
    return sorted(p.key for p in people)


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"cases": CASES})


def test_head_of_a_named_department(ws: Workspace) -> None:
    assert _who(ws, "head:qc") == ["boss"]


def test_heads_and_members_of_the_departments_a_record_names(ws: Workspace) -> None:
    assert _who(ws, "head:{dept}", {"title": "a", "dept": "质控部"}) == ["boss"]  # by name
    assert _who(ws, "head:{code}", {"title": "b", "code": "qc"}) == ["boss"]  # by key
    assert _who(ws, "dept:{dept}", {"title": "c", "dept": "口腔正畸中心"}) == ["li", "zhao"]
    assert _who(ws, "dept:{depts}", {"title": "d", "depts": ["质控部", "口腔正畸中心"]}) == ["admin", "boss", "li", "zhao"]
    # A department without a head, a value that names no department, and no value: nobody.
    assert _who(ws, "head:{dept}", {"title": "e", "dept": "口腔正畸中心"}) == []
    assert _who(ws, "head:{dept}", {"title": "f", "dept": "其他"}) == []
    assert _who(ws, "head:{dept}", {"title": "g"}) == []
    # Mixed with the other forms, each person once.
    assert _who(ws, ["head:{dept}", "dept:qc", "person:boss"], {"title": "h", "dept": "质控部"}) == ["admin", "boss"]


def test_a_field_recipient_needs_a_record(ws: Workspace) -> None:
    with pytest.raises(ValueError, match="needs a record"):
        resolve(ws, "head:{dept}", None, None)


def test_the_people_a_notification_reaches_follow_the_database_at_once(ws: Workspace) -> None:
    assert _who(ws, "person:newbie") == []
    people_db.add(ws.storage, "newbie", name="新人", department=None, roles=[], email=None)
    assert _who(ws, "person:newbie") == ["newbie"]
    people_db.set_disabled(ws.storage, "newbie", True)
    assert _who(ws, "person:newbie") == []
    people_db.set_disabled(ws.storage, "newbie", False)
    assert _who(ws, "person:newbie") == ["newbie"]


def test_a_change_of_people_made_by_another_process_counts_at_once(ws: Workspace) -> None:
    """The directory of people is kept between notifications; a write to the people in
    another process (another server on the same database) must not be missed."""
    assert _who(ws, "person:li") == ["li"]
    assert _who(ws, "dept:{dept}", {"title": "a", "dept": "口腔正畸中心"}) == ["li", "zhao"]
    other = Workspace.open(ws.config.root, db=ws.storage.database)
    try:
        people_db.set_disabled(other.storage, "li", True)
        assert _who(ws, "person:li") == []
        people_db.set_disabled(other.storage, "li", False)
        people_db.move(other.storage, "zhao", "qc", ["qc"])
        assert _who(ws, "person:li") == ["li"]
        assert _who(ws, "dept:{dept}", {"title": "b", "dept": "口腔正畸中心"}) == ["li"]
        people_db.add(other.storage, "newbie", name="新人", department=None, roles=[], email=None)
        assert _who(ws, "person:newbie") == ["newbie"]
    finally:
        other.close()
