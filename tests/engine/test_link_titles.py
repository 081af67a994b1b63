"""How a link names the records it points to (Reader.titles_of, a grid page's linked records):
each record's primary text as the reader may see it, its id when that is empty, None for a
record outside the reader's rows or deleted, read in one statement per IN_CHUNK records."""

from __future__ import annotations

from typing import Any

import pytest

from engine import reads

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: clinic
name: 诊所
tables:
  patients:
    name: 患者
    primary: name
    sensitive: true
    fields:
      name: {type: text, name: 姓名}
      dept: {type: department, name: 科室}
roles:
  handler:
    patients: {access: read, rows: {dept: {under: $my_department}}}
"""


def test_titles_are_what_the_reader_may_see(make_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_workspace({"clinic": BASE})
    patients = ws.base("clinic").table("patients")
    mine = [patients.create({"name": f"正畸{i}", "dept": "ortho"}, actor="admin")["id"] for i in range(7)]
    nameless = patients.create({"dept": "ortho"}, actor="admin")["id"]
    other = patients.create({"name": "质控的", "dept": "qc"}, actor="admin")["id"]
    gone = patients.create({"name": "已删", "dept": "ortho"}, actor="admin")["id"]
    patients.delete(gone, actor="admin")
    monkeypatch.setattr(reads, "IN_CHUNK", 3)  # several statements, as a page of many links would take
    titles = patients.titles_of([*mine, nameless, other, gone, mine[0]], "li")  # li: ortho
    assert titles == {**{rid: f"正畸{i}" for i, rid in enumerate(mine)}, nameless: nameless, other: None, gone: None}
    assert patients.titles_of([other], "boss") == {other: "质控的"}  # boss: qc
    assert patients.titles_of([other], "admin") == {other: "质控的"}
