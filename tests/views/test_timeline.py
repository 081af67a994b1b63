"""The timeline view: bars from a start to an end on a time axis, lanes by a field, moved and stretched
through the engine as the signed-in person (validated, permission-checked, audited)."""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from engine import Workspace
from engine.errors import ConfigError
from gridbase.app import create_app
from tests.views.conftest import PASSWORD, WORKSPACE
from tests_support import csrf_of, sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: plan
name: 计划
tables:
  tasks:
    name: 任务
    primary: title
    fields:
      title: {type: text, name: 任务}
      starts: {type: date, name: 开始}
      ends: {type: date, name: 截止}
      owner: {type: person, name: 负责人}
      status: {type: single_select, name: 状态, options: [{name: 进行中, color: blue}, {name: 已完成, color: green}]}
    views:
      gantt:
        type: timeline
        name: 时间线
        date_field: starts
        group_by: owner
        options: {end: ends, color_by: status}
roles:
  staff:
    tasks: {access: read}
  handler:
    tasks: {access: edit, create: true}
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"plan": BASE}, WORKSPACE)


@pytest.fixture
def client_for(ws: Workspace) -> Iterator[Callable[[str], TestClient]]:
    app = create_app(ws, automations=False)
    clients: list[TestClient] = []

    def make(person: str) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        assert sign_in(client, person, PASSWORD).status_code == 303
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def today(ws: Workspace) -> date:
    return ws.now().astimezone(ws.tz).date()


def seed(ws: Workspace) -> dict[str, str]:
    t, day = ws.base("plan").table("tasks"), today(ws)
    made = {
        "draft": t.create({"title": "起草文件", "starts": day.isoformat(), "ends": (day + timedelta(days=3)).isoformat(),
                           "owner": "wang", "status": "进行中"}, actor="admin")["id"],
        "review": t.create({"title": "审核", "starts": (day + timedelta(days=4)).isoformat(), "owner": "li",
                            "status": "已完成"}, actor="admin")["id"],
        "old": t.create({"title": "去年的事", "starts": "2020-01-01", "ends": "2020-02-01"}, actor="admin")["id"],
        "undated": t.create({"title": "没有日期"}, actor="admin")["id"],
    }
    return made


def bar(page: str, record: str) -> str:
    found = re.search(r'<a class="tl-bar([^"]*)"\s+href="[^"]*"( draggable="false")? data-record="' + record + r'"[^>]*>', page)
    assert found, f"no bar for {record}"
    return found.group(0)


def test_bars_sit_on_their_days_in_lanes_with_the_options_colours(client_for: Any, ws: Workspace) -> None:
    made = seed(ws)
    page = client_for("admin").get("/b/plan/t/tasks/timeline/gantt?zoom=day")
    assert page.status_code == 200
    text = html.unescape(page.text)
    # zoom day: 14 columns from two days ago; today is column 2
    assert "tl-cols-14" in text and "tl-now tl-s2 tl-e2" in text
    draft = bar(text, made["draft"])
    assert "tl-s2 tl-e5" in draft and "opt-blue" in draft  # four days, blue for 进行中
    review = bar(text, made["review"])
    assert "tl-s6 tl-e6" in review and "opt-green" in review  # no end: a one-day bar
    assert made["old"] not in text  # ended long before the window
    assert "Not shown, without a start date: 1" in text
    lanes = re.findall(r'<h3 class="tl-lane">([^<]+)<', text)
    assert [lane.strip() for lane in lanes] == ["李四", "王芳"]  # one lane per person, by name


def test_zoom_and_paging_move_the_window(client_for: Any, ws: Workspace) -> None:
    seed(ws)
    admin = client_for("admin")
    for zoom, columns in (("week", 56), ("month", 26), ("quarter", 12)):
        page = admin.get(f"/b/plan/t/tasks/timeline/gantt?zoom={zoom}")
        assert f"tl-cols-{columns}" in page.text, zoom
        assert page.text.count('class="tl-col ') == columns
    later = admin.get("/b/plan/t/tasks/timeline/gantt?zoom=day&from=2030-01-01")
    assert "2030-01-01 – 2030-01-14" in html.unescape(later.text) and "No records in this period" in later.text
    odd = admin.get("/b/plan/t/tasks/timeline/gantt?zoom=fortnight&from=not-a-date")
    assert odd.status_code == 200 and "tl-cols-56" in odd.text  # unknown zoom and date fall back, no 500


def move(client: TestClient, record: str, days: int, edge: str = "start") -> Any:
    token = csrf_of(client.get("/b/plan/t/tasks/timeline/gantt").text)
    return client.post("/b/plan/t/tasks/timeline/gantt/move",
                       data={"record": record, "days": str(days), "edge": edge, "csrf_token": token})


def test_moving_a_bar_shifts_start_and_end_and_stretching_changes_the_end(client_for: Any, ws: Workspace) -> None:
    made = seed(ws)
    handler = client_for("wang")
    moved = move(handler, made["draft"], 2)
    assert moved.status_code == 200, moved.text
    day = today(ws)
    assert moved.json() == {"id": made["draft"], "start": (day + timedelta(days=2)).isoformat(),
                            "end": (day + timedelta(days=5)).isoformat()}
    stretched = move(handler, made["draft"], 7, edge="end")
    assert stretched.json()["end"] == (day + timedelta(days=12)).isoformat()
    fields = ws.base("plan").table("tasks").get(made["draft"], actor="admin")["fields"]
    assert fields["starts"] == (day + timedelta(days=2)).isoformat() and fields["ends"] == (day + timedelta(days=12)).isoformat()
    history = ws.audit.search(base="plan", table="tasks", record=made["draft"])
    assert {e.actor for e in history if e.action == "update"} == {"wang"}  # audited as the person who dragged
    refused = move(handler, made["draft"], -30, edge="end")
    assert refused.status_code == 422 and "cannot end before it starts" in refused.json()["error"]
    # a bar without an end gets one when it is stretched
    grown = move(handler, made["review"], 2, edge="end")
    assert grown.json()["end"] == (day + timedelta(days=6)).isoformat()


def test_who_may_not_edit_sees_no_movable_bars_and_cannot_move_one(client_for: Any, ws: Workspace) -> None:
    made = seed(ws)
    reader = client_for("li")  # staff: read only
    page = reader.get("/b/plan/t/tasks/timeline/gantt?zoom=day")
    assert page.status_code == 200 and "tl-movable" not in page.text and made["draft"] in page.text
    assert move(reader, made["draft"], 1).status_code == 403
    assert client_for("wang").get("/b/plan/t/tasks/timeline/gantt?zoom=day").text.count("tl-movable") >= 2
    outsider = client_for("zhao")  # no role on the table: the view does not exist for them
    assert outsider.get("/b/plan/t/tasks/timeline/gantt").status_code == 404


@pytest.mark.parametrize(("view", "fragment"), [
    ("{type: timeline, name: T}", "needs date_field"),
    ("{type: timeline, date_field: title}", "is not a date or datetime field"),
    ("{type: timeline, date_field: starts, options: {end: title}}", "is not a date or datetime field"),
    ("{type: timeline, date_field: starts, options: {end: ends, duration: ends}}", "has both end and duration"),
    ("{type: timeline, date_field: starts, options: {colour: status}}", "unknown option 'colour'"),
    ("{type: timeline, date_field: starts, options: {color_by: owner}}", "is not a single select field"),
])
def test_a_timeline_views_mistakes_are_reported(make_workspace: Callable[..., Workspace], view: str,
                                                fragment: str) -> None:
    broken = re.sub(r"      gantt:\n(        .*\n)+", f"      gantt: {view}\n", BASE)
    with pytest.raises(ConfigError) as err:
        make_workspace({"plan": broken}, WORKSPACE)
    assert fragment in str(err.value)
