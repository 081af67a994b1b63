"""Unique fields on the pages: a form or a cell edit that repeats a value is refused in the
reader's language, naming the record only to who may read it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Workspace
from tests.views.conftest import WORKSPACE, csrf_of, token

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: cases
name: Cases
tables:
  cases:
    name: Devices
    primary: title
    fields:
      title: {type: text, name: Title}
      asset: {type: text, name: 资产编号, unique: true}
      reporter: {type: person, name: Reporter}
    forms:
      report:
        name: Report
        fields: [title, asset]
        submitter: reporter
roles:
  handler:
    cases: {access: edit, create: true}
  staff:
    cases:
      access: read
      create: true
      rows: {reporter: $me}
      fields: {title: create, asset: create}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"cases": BASE}, WORKSPACE)


def test_a_form_repeating_a_value_is_refused_without_naming_a_hidden_record(client_for, ws):
    held = ws.base("cases").table("cases").create({"title": "Chair", "asset": "A-1"}, actor="admin")["id"]
    li = client_for("li")
    li.cookies.set("lang", "zh-CN")
    csrf = csrf_of(li.get("/f/cases/report").text)
    res = li.post("/f/cases/report", data={"title": "Mine", "asset": "A-1", "csrf_token": csrf})
    assert res.status_code == 422
    assert "“A-1”已被另一条记录使用" in res.text and held not in res.text
    assert ws.base("cases").table("cases").count(actor="admin") == 1


def test_a_cell_edit_repeating_a_value_names_the_record(client_for, ws):
    table = ws.base("cases").table("cases")
    held = table.create({"title": "Chair", "asset": "A-1"}, actor="admin")["id"]
    other = table.create({"title": "Lamp", "asset": "A-2"}, actor="admin")["id"]
    wang = client_for("wang")
    wang.cookies.set("lang", "zh-CN")
    res = wang.post(f"/b/cases/t/cases/r/{other}/cell/asset", data={"value": "A-1", "csrf_token": token(wang)})
    assert res.status_code == 422
    assert f"“A-1”已被记录 {held} 使用" in res.text
    assert table.get(other, actor="admin")["fields"]["asset"] == "A-2"
