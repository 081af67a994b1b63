"""A calendar placed by a formula (issue 19, item 5): a date formula (a deadline three days after
receipt) and a datetime formula put each record on its day, as a date field would."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from engine import Workspace
from gridbase.app import create_app
from tests_support import sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

WORKSPACE = """\
workspace: cal
name: Cal
timezone: Asia/Shanghai
locale: zh-CN
roles:
  admin: {name: 管理员, admin: true}
people:
  admin: {name: 管理员, roles: [admin], password: "correct horse battery"}
"""

BASE = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      received: {type: datetime, name: 受理时间}
      reply_by: {type: formula, name: 答复期限, formula: "DATETIME_FORMAT(DATEADD({received}, 3, 'days'), 'YYYY-MM-DD')", result: date}
      call_at: {type: formula, name: 回访时间, formula: "DATEADD({received}, 1, 'hours')"}
    views:
      replies: {type: calendar, name: 答复日历, date_field: reply_by}
      calls: {type: calendar, name: 回访日历, date_field: call_at}
"""


def day_cell(html: str, day: str) -> str:
    match = re.search(r'data-date="' + day + r'">(.*?)</(?:div|section)>', html, re.S)
    assert match, f"no day {day}"
    return match.group(1)


@pytest.fixture
def client(make_workspace: Callable[..., Workspace]) -> Any:
    ws = make_workspace({"desk": BASE}, WORKSPACE)
    t = ws.base("desk").table("tickets")
    t.create({"title": "深夜来电", "received": "2026-11-25T15:30:00Z"}, actor="admin")  # 23:30 in Shanghai
    with TestClient(create_app(ws, automations=False), base_url="http://testserver") as c:
        assert sign_in(c, "admin", "correct horse battery").status_code == 303
        yield c


def test_date_and_datetime_formulas_place_records(client: Any) -> None:
    replies = client.get("/b/desk/t/tickets/calendar/replies?month=2026-11")
    assert replies.status_code == 200
    assert "深夜来电" in day_cell(replies.text, "2026-11-28") and "深夜来电" not in day_cell(replies.text, "2026-11-27")
    calls = client.get("/b/desk/t/tickets/calendar/calls?month=2026-11").text
    assert "深夜来电" in day_cell(calls, "2026-11-26") and "00:30" in day_cell(calls, "2026-11-26")
