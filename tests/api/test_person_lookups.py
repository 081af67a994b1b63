"""Person lookups come back from the REST API as collaborators {id, email, name}, as person
fields do and as Airtable gives them, not as bare keys (issue 19, item 9)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
from starlette.applications import Starlette

from engine import Workspace, tokens

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = """\
base: repair
name: 设备维修
tables:
  devices:
    name: 设备
    primary: name
    fields:
      name: {type: text, name: 名称}
      keeper: {type: person, name: 保管人}
      checkers: {type: person, name: 巡检人, multiple: true}
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      device: {type: link, name: 设备, table: devices, multiple: false}
      keeper: {type: lookup, name: 设备保管人, link: device, field: keeper}
      checkers: {type: lookup, name: 设备巡检人, link: device, field: checkers}
      device_name: {type: lookup, name: 设备名称, link: device, field: name}
"""


def test_person_lookups_are_collaborators(make_workspace: Callable[..., Workspace]) -> None:
    from views.api import routes

    ws = make_workspace({"repair": BASE})
    ws.sync_people()
    base = ws.base("repair")
    dev = base.table("devices").create({"name": "牙椅", "keeper": "li", "checkers": "boss, li"}, actor="admin")
    base.table("tickets").create({"title": "漏水", "device": [dev["id"]]}, actor="admin")
    app = Starlette(routes=list(routes))
    app.state.ws, app.state.api_rate = ws, None
    secret, _row = tokens.create(ws, "admin")
    with TestClient(app) as client:
        body = client.get("/v0/repair/tickets", headers={"Authorization": f"Bearer {secret}"}).json()
        [record] = body["records"]
        fields = record["fields"]
        li = {"id": "li", "name": "李四", "email": "li@example.org"}
        boss = {"id": "boss", "name": "王主任", "email": "boss@example.org"}
        assert fields["设备保管人"] == [li]
        assert fields["设备巡检人"] == [boss, li]
        assert fields["设备名称"] == ["牙椅"]  # other lookups stay as they are
        text = client.get("/v0/repair/tickets", params={"cellFormat": "string", "timeZone": "Asia/Shanghai",
                                                        "userLocale": "zh-cn"},
                          headers={"Authorization": f"Bearer {secret}"}).json()["records"][0]["fields"]
        assert text["设备巡检人"] == "王主任, 李四"
