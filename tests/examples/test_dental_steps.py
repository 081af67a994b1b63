"""The dental example's automations with branches, waits and loops, on the engine.

A serious complaint closed is put before 质控部 (an `if` step), and a follow-up call is
created a week later (a `wait` that goes on once); on the first of the month, every
complaint waiting for a call gets a follow-up record (`find` + `for_each` + `create`).
"""

from __future__ import annotations

from datetime import timedelta

import automations
from tests.examples.conftest import local, notified, people_with, rows, runs_of


def followups(ws) -> list[str]:
    return sorted(r["feedback"] for r in rows(ws, "SELECT feedback FROM complaints__followups"))


def test_a_serious_complaint_closed_goes_to_qc_and_is_followed_up_a_week_later(ws, clock) -> None:
    table = ws.base("complaints").table("complaints")
    grave = table.create({"title": "种植体松动", "severity": "严重", "patient_name": "张三"}, actor="admin")
    mild = table.create({"title": "候诊时间长", "severity": "一般", "patient_name": "李四"}, actor="admin")
    automations.process_pending(ws)
    for rec in (grave, mild):
        table.update(rec["id"], {"status": "已办结", "result": "已处理"}, actor="admin")
    automations.process_pending(ws)
    assert set(notified(ws, grave["id"], "严重投诉已办结")) == people_with(ws, dept="qc")
    assert notified(ws, mild["id"], "严重投诉已办结") == []
    assert [r["status"] for r in runs_of(ws, "closed_review")] == ["waiting", "waiting"]
    clock.set(clock.moment + timedelta(days=6))
    automations.tick(ws)
    assert followups(ws) == []
    clock.set(clock.moment + timedelta(days=1, minutes=1))
    automations.tick(ws)
    automations.tick(ws)
    assert followups(ws) == ["办结一周回访：候诊时间长", "办结一周回访：种植体松动"]


def test_the_monthly_follow_up_finds_the_complaints_waiting_for_a_call(ws, clock) -> None:
    table = ws.base("complaints").table("complaints")
    table.create({"title": "收费疑问", "status": "待回访", "patient_name": "王五"}, actor="admin")
    table.create({"title": "无患者姓名", "status": "待回访"}, actor="admin")
    table.create({"title": "仍在处理", "status": "处理中", "patient_name": "赵六"}, actor="admin")
    automations.tick(ws)  # the schedule's first check remembers when it started
    clock.set(local(2026, 7, 1, 9, 0))
    automations.tick(ws)
    automations.tick(ws)
    assert followups(ws) == ["月度回访：收费疑问"]
    [run] = runs_of(ws, "monthly_followup")
    assert run["status"] == "ok"
