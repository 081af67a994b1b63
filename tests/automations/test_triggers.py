"""Every event trigger fires exactly once, for the right records, and the `if` condition holds."""

from __future__ import annotations

from typing import Any

import pytest
from automation_servers import Env

from automations import list_runs, process_pending
from engine import Workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def inbox(ws: Workspace, person: str | None = None) -> list[tuple[str, str, str]]:
    sql = "SELECT person, title, record FROM _gb_notifications"
    rows = ws.storage.conn.execute(sql + (" WHERE person = ?" if person else "") + " ORDER BY id",
                                   (person,) if person else ()).fetchall()
    return [tuple(r) for r in rows]


def tickets(ws: Workspace) -> Any:
    return ws.base("desk").table("tickets")


def test_created_fires_once_per_record(env: Env) -> None:
    ws = env.make("""
        new_ticket:
          when: {created: tickets}
          do: [{notify: {to: "person:boss", title: "新工单：{{ record.title }}"}}]
    """)
    a = tickets(ws).create({"title": "甲"}, actor="admin")
    b = tickets(ws).create({"title": "乙"}, actor="admin")
    tickets(ws).update(a["id"], {"note": "x"}, actor="admin")
    assert process_pending(ws) == 3
    assert process_pending(ws) == 0
    assert inbox(ws) == [("boss", "新工单：甲", a["id"]), ("boss", "新工单：乙", b["id"])]
    runs = list_runs(ws, automation="new_ticket")
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[0]["steps"][0]["recipients"] == ["boss"]


def test_updated_with_fields_to_and_from(env: Env) -> None:
    ws = env.make("""
        assigned:
          when: {updated: tickets, fields: [owner]}
          if: {owner: {is_not_empty: true}}
          do: [{notify: {to: "{owner}", title: "分派：{{ record.title }}"}}]
        started:
          when: {updated: tickets, fields: [status], to: 处理中, from: 待受理}
          do: [{notify: {to: "person:admin", title: "开始处理：{{ record.title }}"}}]
        closed:
          when: {updated: tickets, fields: [status], to: 已办结}
          do: [{notify: {to: "person:admin", title: "办结：{{ record.title }}"}}]
    """)
    t = tickets(ws)
    rec = t.create({"title": "甲"}, actor="admin")
    t.update(rec["id"], {"note": "无关"}, actor="admin")
    t.update(rec["id"], {"owner": "li"}, actor="admin")
    t.update(rec["id"], {"owner": None}, actor="admin")  # condition false: no run
    t.update(rec["id"], {"status": "处理中"}, actor="admin")
    t.update(rec["id"], {"status": "待受理"}, actor="admin")  # to 待受理: neither
    t.update(rec["id"], {"status": "处理中"}, actor="admin")  # from 待受理 again: fires again
    t.update(rec["id"], {"status": "已办结"}, actor="admin")
    process_pending(ws)
    assert [title for _, title, _ in inbox(ws)] == ["分派：甲", "开始处理：甲", "开始处理：甲", "办结：甲"]
    assert inbox(ws, "li") == [("li", "分派：甲", rec["id"])]


def test_matches_fires_when_a_record_comes_to_match(env: Env) -> None:
    ws = env.make("""
        serious:
          when: {matches: tickets, filter: {severity: 严重}}
          do: [{notify: {to: "person:boss", title: "严重：{{ record.title }}"}}]
    """)
    t = tickets(ws)
    a = t.create({"title": "甲", "severity": "严重"}, actor="admin")  # matches at once
    b = t.create({"title": "乙", "severity": "一般"}, actor="admin")  # does not
    t.update(a["id"], {"note": "仍然严重"}, actor="admin")  # still matches: not again
    t.update(b["id"], {"severity": "严重"}, actor="admin")  # comes to match
    t.update(a["id"], {"severity": "一般"}, actor="admin")
    t.update(a["id"], {"severity": "严重"}, actor="admin")  # comes to match again
    process_pending(ws)
    assert [(title, rid) for _, title, rid in inbox(ws)] == [("严重：甲", a["id"]), ("严重：乙", b["id"]),
                                                             ("严重：甲", a["id"])]


def test_imported_records_fire_created_and_matches_like_single_creates(env: Env) -> None:
    # Bulk imports keep each record's values once, in its audit entry; the worker reads them
    # from there, so `matches` still sees that an imported record did not match before.
    ws = env.make("""
        new_ticket:
          when: {created: tickets}
          do: [{notify: {to: "person:li", title: "新：{{ record.title }}"}}]
        serious:
          when: {matches: tickets, filter: {severity: 严重}}
          do: [{notify: {to: "person:boss", title: "严重：{{ record.title }}（{{ record.severity }}）"}}]
    """)
    rows = [{"title": f"导入{i}", "severity": "严重" if i % 3 == 0 else "一般"} for i in range(30)]
    result = tickets(ws).import_rows(rows, actor="admin")
    process_pending(ws)
    assert [title for _, title, _ in inbox(ws, "li")] == [f"新：导入{i}" for i in range(30)]
    assert inbox(ws, "boss") == [("boss", f"严重：导入{i}（严重）", result.ids[i]) for i in range(0, 30, 3)]
    process_pending(ws)  # nothing fires twice
    assert len(inbox(ws)) == 40


def test_matches_with_a_formula_filter(env: Env) -> None:
    ws = env.make("""
        big:
          when: {matches: tickets, filter: {formula: "{n} > 3"}}
          do: [{notify: {to: "person:boss", title: "大：{{ record.n }}"}}]
    """)
    t = tickets(ws)
    rec = t.create({"title": "甲", "n": 1}, actor="admin")
    t.update(rec["id"], {"n": 5}, actor="admin")
    t.update(rec["id"], {"n": 7}, actor="admin")
    process_pending(ws)
    assert [title for _, title, _ in inbox(ws)] == ["大：5"]


def test_form_trigger_only_for_that_form(env: Env) -> None:
    ws = env.make("""
        reported:
          when: {form: report, table: tickets}
          do: [{notify: {to: "dept:qc", title: "表单：{{ record.title }}"}}]
    """)
    t = tickets(ws)
    t.create({"title": "普通"}, actor="admin")
    t.create({"title": "扫码"}, actor="li", form=t.tdef.forms["report"])
    process_pending(ws)
    assert sorted(inbox(ws)) == sorted([("admin", "表单：扫码", inbox(ws)[0][2]), ("boss", "表单：扫码", inbox(ws)[0][2])])


def test_if_condition_with_formula(env: Env) -> None:
    ws = env.make("""
        urgent:
          when: {created: tickets}
          if: {and: [{severity: 严重}, {formula: "{n} >= 2"}]}
          do: [{notify: {to: "person:boss", title: "{{ record.title }}"}}]
    """)
    t = tickets(ws)
    t.create({"title": "严重但小", "severity": "严重", "n": 1}, actor="admin")
    t.create({"title": "一般而大", "severity": "一般", "n": 5}, actor="admin")
    t.create({"title": "严重且大", "severity": "严重", "n": 5}, actor="admin")
    process_pending(ws)
    assert [title for _, title, _ in inbox(ws)] == ["严重且大"]


def test_disabled_automation_never_runs(env: Env) -> None:
    ws = env.make("""
        off:
          enabled: false
          when: {created: tickets}
          do: [{notify: {to: "person:boss"}}]
    """)
    tickets(ws).create({"title": "甲"}, actor="admin")
    process_pending(ws)
    assert inbox(ws) == [] and list_runs(ws) == []
