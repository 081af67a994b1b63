"""A mention's notification names the record as the *person mentioned* may read it.

李四 (handler) reads a ticket's 患者 (its primary field) in full; 赵六 (viewer) reads the ticket with
患者 masked. When 李四 mentions @赵六, 赵六's inbox must not carry the name 李四 sees.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from engine import Workspace, inbox
from tests.security.conftest import add_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from gridbase.app import create_app

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: desk
name: Desk
tables:
  tickets:
    name: Tickets
    primary: patient
    fields:
      patient: {type: text, name: 患者}
      note: {type: text, name: 备注}
roles:
  handler:
    tickets: {access: edit, create: true}
  viewer:
    tickets: {access: read, fields: {patient: {access: read, mask: full}}, other_fields: read}
"""
SECRET_NAME = "MKRMENTIONNAME"


def test_a_mention_tells_the_record_by_the_title_its_reader_may_see(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": BASE})
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"patient": SECRET_NAME, "note": "x"}, actor="li")["id"]
    assert SECRET_NAME not in repr(tickets.get(rid, actor="zhao"))  # the mask holds for 赵六
    token = add_token(ws, "li")
    with TestClient(create_app(ws, automations=False), base_url="http://testserver",
                    headers={"Authorization": f"Bearer {token}"}) as api:
        r = api.post(f"/v0/desk/tickets/{rid}/comments", json={"text": "@赵六 请看一下"})
        assert r.status_code == 200, r.text
    told: list[dict[str, Any]] = inbox.latest(ws.storage, "zhao", 20)
    assert told, "赵六 is told of the mention"
    assert all(SECRET_NAME not in f"{n['title']} {n.get('body', '')}" for n in told), told
