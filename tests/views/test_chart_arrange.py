"""Charts read well (issue 19, items 7 and 11): `sort:` and `limit:` give a top 10; the running
week or month is drawn lighter or dashed, not as a cliff; no chart title repeats its card's;
Chinese category labels are horizontal or at 45°, never cut short."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from engine import Workspace
from engine.model import Widget
from engine.plugins import widget_types
from gridbase.app import create_app
from tests_support import sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

WORKSPACE = """\
workspace: charts
name: Charts
timezone: Asia/Shanghai
locale: zh-CN
roles:
  admin: {name: 管理员, admin: true}
people:
  admin: {name: 管理员, roles: [admin], password: "correct horse battery"}
"""

BASE = """\
base: repair
name: 设备维修
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      device: {type: single_select, name: 设备, options: [牙科综合治疗台, 高压灭菌器, 口腔全景X光机, 超声洁牙机, 空调]}
      reported: {type: date, name: 报修日期}
      hours: {type: number, name: 工时}
dashboards:
  board:
    name: 维修看板
    widgets:
      - {type: bar, title: 报修最多的设备, table: tickets, group_by: device, sort: -value, limit: 3}
      - {type: line, title: 每周报修, table: tickets, group_by: reported, bucket: week}
      - {type: bar, title: 每月工时, table: tickets, aggregate: sum, field: hours, group_by: reported, bucket: month}
      - {type: bar, title: 按设备, table: tickets, group_by: device, sort: label}
"""

ROWS = [("牙科综合治疗台", "2026-05-04", 2), ("牙科综合治疗台", "2026-05-12", 1), ("牙科综合治疗台", "2026-06-15", 3),
        ("高压灭菌器", "2026-05-20", 1), ("高压灭菌器", "2026-06-09", 2), ("空调", "2026-06-16", 1),
        ("超声洁牙机", "2026-05-27", 4)]


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    ws = make_workspace({"repair": BASE}, WORKSPACE)
    ws.clock = lambda: datetime(2026, 6, 17, 2, 0, tzinfo=UTC)  # Wednesday 2026-06-17 10:00 in Shanghai
    t = ws.base("repair").table("tickets")
    for i, (device, day, hours) in enumerate(ROWS):
        t.create({"title": f"单{i}", "device": device, "reported": day, "hours": hours}, actor="admin")
    return ws


@pytest.fixture
def client(ws: Workspace) -> Any:
    with TestClient(create_app(ws, automations=False), base_url="http://testserver") as c:
        assert sign_in(c, "admin", "correct horse battery").status_code == 303
        yield c


def data(spec: dict[str, Any]) -> list[dict[str, Any]]:
    values = spec.get("data", {}).get("values")
    return values if values is not None else spec["datasets"][spec["data"]["name"]]


def test_sort_and_limit_make_a_top_n(client: Any) -> None:
    spec = client.get("/b/repair/d/board/w/0.json").json()
    assert [(d["label"], d["value"]) for d in data(spec)] == [("牙科综合治疗台", 3), ("高压灭菌器", 2), ("超声洁牙机", 1)]
    by_label = [d["label"] for d in data(client.get("/b/repair/d/board/w/3.json").json())]
    assert by_label == sorted(by_label) and len(by_label) == 4  # every device that has a ticket


def test_running_week_and_month_are_marked_not_a_cliff(client: Any) -> None:
    line = client.get("/b/repair/d/board/w/1.json").json()
    weeks = data(line)
    assert weeks[-1]["label"] == "2026-06-15" and weeks[-1]["partial"] is True  # this week, two days in
    assert [d["label"] for d in weeks if d.get("tail")] == ["2026-06-08", "2026-06-15"]
    assert not any(d.get("partial") for d in weeks[:-1])
    done, running = line["layer"]  # solid through finished weeks, dashed into this one
    assert done["transform"] == [{"filter": "!datum.partial"}] and running["mark"]["strokeDash"]
    bars = client.get("/b/repair/d/board/w/2.json").json()
    assert [(d["label"], d.get("partial", False)) for d in data(bars)] == [("2026-05", False), ("2026-06", True)]
    assert bars["encoding"]["opacity"]["condition"] == {"test": "datum.partial", "value": 0.4}


def test_no_chart_title_and_readable_category_labels(client: Any) -> None:
    page = client.get("/b/repair/d/board").text
    assert "报修最多的设备" in page  # the card's heading
    for index in range(4):
        spec = client.get(f"/b/repair/d/board/w/{index}.json").json()
        assert "title" not in spec
        axis = (spec.get("encoding") or spec["layer"][0]["encoding"])["x"]["axis"]
        assert axis["labelAngle"] in (0, -45) and axis["labelLimit"] == 0
    few = client.get("/b/repair/d/board/w/0.json").json()["encoding"]["x"]["axis"]
    assert few["labelAngle"] == 0  # three device names fit side by side


def test_many_long_labels_turn_to_45_degrees(ws: Workspace) -> None:
    entry = widget_types()["bar"]
    widget = Widget(type="bar", title="t", table="tickets", group_by="device")
    values = [{"label": name, "value": 1} for name in ("牙科综合治疗台", "高压灭菌器", "口腔全景X光机", "超声洁牙机", "空调")]
    spec = entry.finish_spec({"mark": {"type": "bar"}, "encoding": {"x": {"field": "label"}}}, values)
    assert spec["encoding"]["x"]["axis"]["labelAngle"] == -45
    table = ws.base("repair").table("tickets")
    assert entry.arrange([dict(v) for v in values], table, widget) == values  # no sort: the given order
