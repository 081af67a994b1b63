"""Reading edge cases: page cursors from outside, and search by what a field shows."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from engine import QueryError

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: clinic
name: 诊所
tables:
  patients:
    name: 患者
    primary: name
    fields:
      mrn: {type: autonumber, name: 病历号, prefix: "P", digits: 6}
      no: {type: autonumber, name: 序号}
      name: {type: text, name: 姓名}
      phone: {type: phone, name: 手机号}
roles:
  viewer:
    patients: {access: read, fields: {mrn: {access: read, mask: full}}}
"""


@pytest.fixture
def ws(make_workspace: Any) -> Any:
    return make_workspace({"clinic": BASE})


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_past_any_table_is_refused_as_a_bad_cursor(ws: Any) -> None:
    patients = ws.base("clinic").table("patients")
    patients.create({"name": "张三"}, actor="admin")
    for cursor in (_cursor("o" + "9" * 30), _cursor("o" + str(2**63))):
        with pytest.raises(QueryError, match="cursor"):
            patients.query(actor="admin", offset=cursor)
    with pytest.raises(QueryError, match="cursor"):
        patients.query(actor="admin", offset=10**30)
    # A cursor past the end of a small table is just an empty page.
    assert patients.query(actor="admin", offset=_cursor("o1000")).records == []


def test_search_finds_autonumbers_as_they_are_shown(ws: Any) -> None:
    patients = ws.base("clinic").table("patients")
    first = patients.create({"name": "张三"}, actor="admin")["id"]
    second = patients.create({"name": "李四"}, actor="admin")["id"]

    def found(term: str, actor: str = "admin") -> set[str]:
        return {r["id"] for r in patients.query(actor=actor, search=term).records}

    assert found("P000001") == {first} and found("p000002") == {second}
    assert found("P00000") == {first, second} and found("P0000012") == set()
    # A masked autonumber is not searchable by what the mask hides.
    assert found("P000001", actor="zhao") == set()
    assert found("张三", actor="zhao") == {first}
