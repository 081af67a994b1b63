"""Computed fields work wherever a stored field of the same kind does (issue 19, items 5 and 7).

A formula giving a date drives a calendar, a date trigger, date filters, sorting and grouping;
a number formula, a rollup and a lookup of numbers can be summed and averaged on a dashboard;
rollups and lookups take `where:`, a filter over the linked records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from automations import tick
from engine import Workspace
from engine.errors import ConfigError
from gridbase.cli import main
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

SH = ZoneInfo("Asia/Shanghai")

BASE = """\
base: repair
name: 设备维修
tables:
  devices:
    name: 设备
    primary: name
    fields:
      name: {type: text, name: 名称}
      tickets: {type: link, name: 工单, table: tickets, inverse: device}
      open_tickets: {type: rollup, name: 未办结工单, link: tickets, field: title, function: count, where: {status: {neq: 已办结}}}
      open_hours: {type: rollup, name: 未办结工时, link: tickets, field: hours, function: sum, where: {status: {neq: 已办结}}}
      all_hours: {type: rollup, name: 总工时, link: tickets, field: hours, function: sum}
      hours_each: {type: lookup, name: 各单工时, link: tickets, field: hours}
      open_titles: {type: lookup, name: 未办结标题, link: tickets, field: title, where: {status: {neq: 已办结}}}
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      status: {type: single_select, name: 状态, options: [待处理, 处理中, 已办结], default: 待处理}
      reported: {type: date, name: 报修日期}
      due: {type: formula, name: 截止日期, formula: "DATEADD({reported}, 3, 'days')"}
      check: {type: formula, name: 复检日期, formula: "IF({reported}, DATEADD({reported}, 30, 'days'), '')", result: date}
      hours: {type: number, name: 工时}
      cost: {type: formula, name: 费用, formula: "{hours} * 80"}
    views:
      all: {type: grid, name: 全部, sort: [due]}
      by_due: {type: calendar, name: 截止日历, date_field: due}
      checks: {type: calendar, name: 复检日历, date_field: check}
dashboards:
  board:
    name: 看板
    widgets:
      - {type: number, title: 平均费用, table: tickets, aggregate: avg, field: cost}
      - {type: bar, title: 每周费用, table: tickets, aggregate: sum, field: cost, group_by: due, bucket: week}
      - {type: number, title: 未办结工时, table: devices, aggregate: sum, field: open_hours}
      - {type: number, title: 单均工时, table: devices, aggregate: avg, field: hours_each}
automations:
  remind:
    name: 截止前一天提醒
    when: {date: tickets, field: due, offset: -1d, at: "09:00"}
    if: {status: {neq: 已办结}}
    do: [{notify: {to: "person:admin", title: "明天截止：{{ record.title }}（{{ record.due }}）"}}]
"""


@pytest.fixture
def ws(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace({"repair": BASE})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def notices(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.storage.conn.execute("SELECT title FROM _gb_notifications ORDER BY id")]


def test_date_formula_is_a_date_to_filters_sorting_and_grouping(ws: Workspace) -> None:
    t = ws.base("repair").table("tickets")
    assert t.fields["due"].kind == "date" and t.fields["check"].kind == "date"
    t.create({"title": "空调", "reported": "2026-03-10", "hours": 2}, actor="admin")
    t.create({"title": "牙椅", "reported": "2026-02-27", "hours": 4}, actor="admin")
    t.create({"title": "灯", "hours": 1}, actor="admin")
    page = t.query(actor="admin", sort=["due"], filter={"due": {"is_not_empty": True}})
    assert [(r["fields"]["title"], r["fields"]["due"]) for r in page.records] == [("牙椅", "2026-03-02"), ("空调", "2026-03-13")]
    march = t.query(actor="admin", filter={"due": {"gte": "2026-03-01", "lt": "2026-03-10"}})
    assert [r["fields"]["title"] for r in march.records] == ["牙椅"]
    assert t.group(actor="admin", by="due", bucket="month") == [(None, 1.0), ("2026-03", 2.0)]
    assert [r["fields"].get("check") for r in t.query(actor="admin", sort=["title"]).records] == [None, "2026-03-29", "2026-04-09"]


def test_date_formula_drives_a_date_trigger_once(ws: Workspace) -> None:
    t = ws.base("repair").table("tickets")
    tick(ws, at("2026-03-01T00:00"))
    t.create({"title": "空调", "reported": "2026-03-10"}, actor="admin")  # due 03-13: reminded 03-12 09:00
    done = t.create({"title": "牙椅", "reported": "2026-03-10", "status": "已办结"}, actor="admin")
    tick(ws, at("2026-03-12T08:59"))
    assert notices(ws) == []
    tick(ws, at("2026-03-12T09:00"))
    tick(ws, at("2026-03-12T12:00"))
    assert notices(ws) == ["明天截止：空调（2026-03-13）"]
    t.update(done["id"], {"status": "处理中", "reported": "2026-03-20"}, actor="admin")  # a new due date arms it
    tick(ws, at("2026-03-22T09:00"))
    tick(ws, at("2026-03-23T09:00"))
    assert notices(ws) == ["明天截止：空调（2026-03-13）", "明天截止：牙椅（2026-03-23）"]


def test_number_formula_and_lookup_are_summed_and_averaged(ws: Workspace) -> None:
    base = ws.base("repair")
    t, d = base.table("tickets"), base.table("devices")
    a = t.create({"title": "空调", "reported": "2026-03-02", "hours": 2}, actor="admin")
    b = t.create({"title": "牙椅", "reported": "2026-03-03", "hours": 4}, actor="admin")
    c = t.create({"title": "灯", "reported": "2026-03-20", "hours": 3}, actor="admin")
    d.create({"name": "一号楼", "tickets": [a["id"], b["id"]]}, actor="admin")
    d.create({"name": "二号楼", "tickets": [c["id"]]}, actor="admin")
    assert t.aggregate(actor="admin", aggregate="avg", field="cost") == pytest.approx(240)
    assert t.group(actor="admin", by="due", bucket="week", aggregate="sum", field="cost") == [
        ("2026-03-02", 480.0), ("2026-03-23", 240.0)]
    assert d.aggregate(actor="admin", aggregate="sum", field="hours_each") == 9
    assert d.aggregate(actor="admin", aggregate="avg", field="hours_each") == pytest.approx(3)  # over every ticket
    assert d.group(actor="admin", by="name", aggregate="sum", field="hours_each") == [("一号楼", 6.0), ("二号楼", 3.0)]
    assert d.aggregate(actor="admin", aggregate="sum", field="open_hours") == 9


def test_rollup_and_lookup_where_follow_the_linked_records(ws: Workspace) -> None:
    base = ws.base("repair")
    t, d = base.table("tickets"), base.table("devices")
    a = t.create({"title": "空调", "hours": 2}, actor="admin")
    b = t.create({"title": "牙椅", "hours": 4, "status": "已办结"}, actor="admin")
    dev = d.create({"name": "一号楼", "tickets": [a["id"], b["id"]]}, actor="admin")
    fields = d.get(dev["id"], actor="admin")["fields"]
    assert (fields["open_tickets"], fields["open_hours"], fields["all_hours"], fields["open_titles"]) == (1, 2, 6, ["空调"])
    t.update(a["id"], {"status": "已办结"}, actor="admin")  # the device's figures follow its tickets
    fields = d.get(dev["id"], actor="admin")["fields"]
    assert (fields["open_tickets"], fields["open_hours"], fields["all_hours"], fields.get("open_titles")) == (0, 0, 6, None)
    t.update(b["id"], {"status": "处理中"}, actor="admin")
    assert d.get(dev["id"], actor="admin")["fields"]["open_titles"] == ["牙椅"]


def bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str) -> str:
    assert old in BASE
    root = write_workspace(tmp_path / "ws", {"repair": BASE.replace(old, new)})
    assert main(["validate", str(root)]) == 1
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_validate_names_the_kind_a_computed_field_gives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = bad(tmp_path, capsys, "date_field: check}", "date_field: cost}")
    assert "date_field 'cost' of view 'checks' is not a date or datetime field" in out
    out = bad(tmp_path, capsys, "field: due, offset: -1d", "field: title, offset: -1d")
    assert "field 'title' of automation 'remind' is not a date or datetime field (it is a text)" in out
    out = bad(tmp_path, capsys, "aggregate: avg, field: hours_each", "aggregate: avg, field: open_titles")
    assert "avg needs a number field" in out and "'open_titles' is a lookup of text values" in out


def test_validate_checks_a_where_over_the_linked_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = bad(tmp_path, capsys, "function: count, where: {status: {neq: 已办结}}", "function: count, where: {state: {neq: 已办结}}")
    assert "unknown field 'state'" in out and "repair.yaml:" in out
    with pytest.raises(ConfigError):
        Workspace.open(write_workspace(tmp_path / "ws2", {"repair": BASE.replace("result: date", "result: day")}))


LOOKUPS = """\
base: docs
name: 收文
tables:
  documents:
    name: 文件
    primary: title
    fields:
      title: {type: text, name: 标题}
      deadline: {type: date, name: 要求完成日期}
      tasks: {type: link, name: 任务, table: tasks, inverse: document}
      task_days: {type: lookup, name: 任务期限, link: tasks, field: own_deadline}
      earliest: {type: formula, name: 最早任务期限, formula: "MIN({task_days})", result: date}
      any_day: {type: formula, name: 任一期限, formula: "{task_days}", result: date}
  tasks:
    name: 任务
    primary: task
    fields:
      task: {type: text, name: 任务}
      own_deadline: {type: date, name: 任务期限}
      document: {type: link, name: 文件, table: documents, multiple: false, inverse: tasks}
      deadline: {type: lookup, name: 文件期限, link: document, field: deadline}
      due: {type: formula, name: 截止, formula: "{deadline}"}
      remind_on: {type: formula, name: 提醒日, formula: "DATEADD({deadline}, -1, 'days')"}
    views:
      cal: {type: calendar, name: 任务日历, date_field: due}
automations:
  due_today:
    name: 文件到期
    when: {date: tasks, field: due, offset: 0d, at: "09:00"}
    do: [{notify: {to: "person:admin", title: "今天到期：{{ record.task }}"}}]
"""


def test_a_looked_up_date_is_a_date_to_formulas(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"docs": LOOKUPS})
    base = ws.base("docs")
    docs, tasks = base.table("documents"), base.table("tasks")
    assert (tasks.fields["due"].kind, tasks.fields["remind_on"].kind, docs.fields["earliest"].kind) == ("date", "date", "date")
    doc = docs.create({"title": "院感检查通知", "deadline": "2026-03-20"}, actor="admin")
    a = tasks.create({"task": "自查", "document": [doc["id"]], "own_deadline": "2026-03-18"}, actor="admin")
    tasks.create({"task": "整改", "document": [doc["id"]], "own_deadline": "2026-03-12"}, actor="admin")
    got = tasks.get(a["id"], actor="admin")["fields"]
    assert (got["deadline"], got["due"], got["remind_on"]) == (["2026-03-20"], "2026-03-20", "2026-03-19")
    fields = docs.get(doc["id"], actor="admin")["fields"]
    assert fields["earliest"] == "2026-03-12"
    assert fields["any_day"] == "#ERROR!"  # two dates for one: MIN() or MAX() says which
    assert [r["fields"]["task"] for r in tasks.query(actor="admin", filter={"due": {"lt": "2026-03-21"}}).records] == ["自查", "整改"]
    tick(ws, at("2026-03-01T00:00"))
    docs.update(doc["id"], {"deadline": "2026-03-10"}, actor="admin")  # the tasks' due dates follow
    assert tasks.get(a["id"], actor="admin")["fields"]["due"] == "2026-03-10"
    tick(ws, at("2026-03-10T09:00"))
    tick(ws, at("2026-03-10T18:00"))
    assert sorted(notices(ws)) == ["今天到期：整改", "今天到期：自查"]


def test_a_lookup_itself_is_no_calendar_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"docs": LOOKUPS.replace("date_field: due}", "date_field: deadline}")})
    assert main(["validate", str(root)]) == 1
    err = capsys.readouterr().err
    assert "date_field 'deadline' of view 'cal' is not a date or datetime field" in err and "`{deadline}`" in err
