"""A manual automation shows as a button on the record page and runs for whoever may edit."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from engine import Workspace
from gridbase.app import create_app
from tests_support import WORKSPACE_YAML, csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: desk
name: Desk
tables:
  tickets:
    name: Tickets
    primary: title
    fields:
      title: {type: text, name: Title}
      status: {type: single_select, name: Status, options: [Open, Escalated]}
      owner: {type: person, name: Owner}
roles:
  handler:
    tickets: {access: edit, edit_rows: {owner: $me}}
  viewer:
    tickets: {access: read}
automations:
  escalate:
    name: Escalate
    when: {manual: tickets, label: 升级处理}
    do:
      - update: {status: Escalated}
      - notify: {to: ["person:boss"], title: "升级：{{ record.title }}"}
"""

WORKSPACE = WORKSPACE_YAML.replace("email: boss@example.org}", "email: boss@example.org, password: pass-word-1}").replace(
    "phone: \"13800001111\"}", "phone: \"13800001111\", password: pass-word-1}").replace(
    "department: ortho}", "department: ortho, password: pass-word-1}")


def test_button_runs_for_an_editor_and_not_for_a_reader(make_workspace: Any) -> None:
    ws: Workspace = make_workspace({"desk": BASE}, WORKSPACE)
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"title": "漏水", "owner": "li", "status": "Open"}, actor="admin")["id"]
    app = create_app(ws, automations=False)
    with TestClient(app) as li, TestClient(app) as zhao:
        sign_in(li, "li", "pass-word-1")
        page = li.get(f"/b/desk/t/tickets/r/{rid}")
        assert "升级处理" in page.text
        done = li.post(f"/b/desk/t/tickets/r/{rid}/run/escalate", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert done.status_code == 303
        assert tickets.get(rid, actor="admin")["fields"]["status"] == "Escalated"
        assert ws.storage.conn.execute("SELECT count(*) FROM _gb_notifications WHERE person = 'boss'").fetchone()[0] == 1
        sign_in(zhao, "zhao", "pass-word-1")
        page = zhao.get(f"/b/desk/t/tickets/r/{rid}")
        assert page.status_code == 200 and "升级处理" not in page.text
        refused = zhao.post(f"/b/desk/t/tickets/r/{rid}/run/escalate", data={"csrf_token": csrf_of(page.text)})
        assert refused.status_code == 403
