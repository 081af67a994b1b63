"""Schedules and dates with a controlled clock; a reminder due while stopped fires once at start."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from automation_servers import Env

from automations import list_runs, run_manual, start, stop, tick
from engine import NotFoundError, Workspace

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def titles(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.storage.conn.execute("SELECT title FROM _gb_notifications ORDER BY id")]


def test_schedule_runs_on_its_ticks_once(env: Env) -> None:
    ws = env.make("""
        weekly:
          when: {schedule: "0 9 * * 1"}
          do: [{notify: {to: "person:boss", title: "周报 {{ today }}"}}]
    """)
    assert tick(ws, at("2026-03-02T08:00")) == 0  # first check only notes the time
    assert tick(ws, at("2026-03-02T08:59")) == 0
    assert tick(ws, at("2026-03-02T09:00:20")) == 1
    assert tick(ws, at("2026-03-02T09:01")) == 0
    assert tick(ws, at("2026-03-05T09:00")) == 0  # Thursday
    assert tick(ws, at("2026-03-09T09:00")) == 1
    assert len(titles(ws)) == 2


def test_missed_schedule_ticks_run_once(env: Env) -> None:
    ws = env.make("""
        daily:
          when: {schedule: "30 8 * * *"}
          do: [{notify: {to: "person:boss", title: "日报"}}]
    """)
    tick(ws, at("2026-03-01T12:00"))
    assert tick(ws, at("2026-03-20T12:00")) == 1  # 19 missed mornings: one run
    [run] = list_runs(ws)
    assert run["run_key"] == "desk.daily:schedule:2026-03-20T00:30:00Z"


def test_schedule_with_table_runs_per_matching_record(env: Env) -> None:
    ws = env.make("""
        nag:
          when: {schedule: "0 9 * * *", table: tickets, filter: {status: {neq: 已办结}}}
          if: {severity: 严重}
          do: [{notify: {to: "person:boss", title: "{{ record.title }} ({{ count }})"}}]
    """)
    t = ws.base("desk").table("tickets")
    t.create({"title": "甲", "severity": "严重"}, actor="admin")
    t.create({"title": "乙", "severity": "严重", "status": "已办结"}, actor="admin")
    t.create({"title": "丙", "severity": "一般"}, actor="admin")
    t.create({"title": "丁", "severity": "严重"}, actor="admin")
    tick(ws, at("2026-03-02T08:00"))
    assert tick(ws, at("2026-03-02T09:00")) == 2
    assert titles(ws) == ["甲 (2)", "丁 (2)"]


DATES = """
    remind_3d:
      when: {date: tickets, field: due, offset: -3d, at: "09:00"}
      if: {status: {neq: 已办结}}
      do: [{notify: {to: "person:boss", title: "3天：{{ record.title }}"}}]
    remind_1d:
      when: {date: tickets, field: due, offset: -1d, at: "09:00"}
      do: [{notify: {to: "person:boss", title: "1天：{{ record.title }}"}}]
    remind_0d:
      when: {date: tickets, field: due, offset: 0d, at: "09:00"}
      do: [{notify: {to: "person:boss", title: "当天：{{ record.title }}"}}]
"""


def test_date_offsets_fire_once_each_at_nine(env: Env) -> None:
    ws = env.make(DATES)
    t = ws.base("desk").table("tickets")
    tick(ws, at("2026-03-01T00:00"))
    a = t.create({"title": "甲", "due": "2026-03-10"}, actor="admin")
    t.create({"title": "乙", "due": "2026-03-10", "status": "已办结"}, actor="admin")
    t.create({"title": "丙", "due": "2026-03-12"}, actor="admin")
    moments = ["2026-03-06T12:00", "2026-03-07T08:59", "2026-03-07T09:00", "2026-03-07T09:01", "2026-03-08T23:00",
               "2026-03-09T09:00:30", "2026-03-09T18:00", "2026-03-10T09:00", "2026-03-10T09:05"]
    seen = []
    for moment in moments:
        tick(ws, at(moment))
        seen.append(list(titles(ws)))
    assert seen[1] == [] and seen[2] == ["3天：甲"]
    assert sorted(seen[-1]) == sorted(["3天：甲", "1天：甲", "1天：乙", "当天：甲", "当天：乙", "3天：丙"])
    # moving the date arms the reminders again, once
    t.update(a["id"], {"due": "2026-03-14"}, actor="admin")
    tick(ws, at("2026-03-11T09:00"))
    tick(ws, at("2026-03-11T10:00"))
    assert titles(ws).count("3天：甲") == 2


def test_date_time_of_day_in_workspace_time_zone(env: Env) -> None:
    ws = env.make(DATES)
    t = ws.base("desk").table("tickets")
    tick(ws, at("2026-03-01T00:00"))
    t.create({"title": "甲", "due": "2026-03-05"}, actor="admin")
    tick(ws, at("2026-03-05T08:59:59"))
    assert "当天：甲" not in titles(ws)
    tick(ws, at("2026-03-05T09:00:00"))
    assert "当天：甲" in titles(ws)


def test_reminder_due_while_stopped_fires_once_after_start(env: Env) -> None:
    ws = env.make(DATES)
    t = ws.base("desk").table("tickets")
    env.set_now(at("2026-03-01T10:00"))
    service = start(ws, poll=0.05)
    t.create({"title": "甲", "due": "2026-03-06"}, actor="admin")
    stop(service)
    env.set_now(at("2026-03-05T15:00"))  # 3-day and 1-day moments passed while stopped
    service = start(ws, poll=0.05)
    stop(service)
    service = start(ws, poll=0.05)  # a second restart does not fire again
    stop(service)
    assert sorted(titles(ws)) == ["1天：甲", "3天：甲"]


def test_manual_button(env: Env) -> None:
    ws = env.make("""
        escalate:
          when: {manual: tickets, label: 升级处理}
          do:
            - update: {severity: 严重}
            - notify: {to: "person:boss", title: "升级：{{ record.title }}（{{ record.severity }}）"}
    """)
    rec = ws.base("desk").table("tickets").create({"title": "甲", "severity": "一般"}, actor="admin")
    run = run_manual(ws, "desk", "escalate", rec["id"], "li")
    assert run["status"] == "ok" and titles(ws) == ["升级：甲（严重）"]
    [stored] = list_runs(ws)
    assert (stored["trigger"], stored["by"]) == ("manual", "li")
    with pytest.raises(NotFoundError):
        run_manual(ws, "desk", "escalate", rec["id"], "zhao")  # cannot read the table
    with pytest.raises(NotFoundError):
        run_manual(ws, "desk", "escalate", "recNOPE", "li")
    assert len(list_runs(ws)) == 1


def test_worker_thread_is_woken_by_writes(env: Env) -> None:
    import time

    ws = env.make("""
        hello:
          when: {created: tickets}
          do: [{notify: {to: "person:li", title: "{{ record.title }}"}}]
    """)
    service = start(ws, poll=5.0, scheduler=False)
    try:
        began = time.monotonic()
        ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
        while not env.mail.messages and time.monotonic() - began < 4:
            time.sleep(0.01)
        assert titles(ws) == ["甲"] and len(env.mail.messages) == 1  # li's own channel: mail
        assert time.monotonic() - began < 4  # well before the 5 s poll
    finally:
        stop(service)
