"""Automation steps beyond one straight list: `if` branches, `find` + `for_each`, `delete`, and `wait`
(parked durably, going on once when due, also after a restart)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from automation_servers import Env

from automations import list_runs, process_pending, tick
from engine import Workspace, runs

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]


def inbox(ws: Workspace) -> list[tuple[str, str]]:
    return [tuple(r) for r in ws.storage.conn.execute("SELECT person, title FROM _gb_notifications ORDER BY id")]


def latest(ws: Workspace, automation: str) -> dict:
    return list_runs(ws, automation=automation)[0]


def test_if_runs_then_or_else_on_the_record_as_it_is_at_that_step(env: Env) -> None:
    ws = env.make("""
        triage:
          when: {created: tickets}
          do:
            - update: {status: 处理中}
            - if:
                filter: {severity: 严重, status: 处理中}
                then:
                  - notify: {to: "dept:qc", title: "严重：{{ record.title }}"}
                  - update: {note: 已上报质控部}
                else:
                  - update: {note: 常规处理}
    """)
    t = ws.base("desk").table("tickets")
    grave = t.create({"title": "甲", "severity": "严重"}, actor="admin")
    plain = t.create({"title": "乙", "severity": "一般"}, actor="admin")
    process_pending(ws)
    assert t.get(grave["id"], actor="admin")["fields"]["note"] == "已上报质控部"
    assert t.get(plain["id"], actor="admin")["fields"]["note"] == "常规处理"
    assert sorted(inbox(ws)) == [("admin", "严重：甲"), ("boss", "严重：甲")]
    branches = sorted(json.loads(r["steps"])[1]["branch"] if isinstance(r["steps"], str) else r["steps"][1]["branch"]
                      for r in list_runs(ws, automation="triage"))
    assert branches == ["else", "then"]


def test_find_and_for_each_create_one_record_per_found_record_exactly_once(env: Env) -> None:
    ws = env.make("""
        follow_all:
          when: {schedule: "0 9 1 * *"}
          do:
            - find: {table: tickets, filter: {status: 待受理}, as: waiting, limit: 2}
            - for_each:
                in: waiting
                do:
                  - create: {table: followups, fields: {title: "回访：{{ item.title }}", ticket: ["{{ item.id }}"]}}
    """)
    t = ws.base("desk").table("tickets")
    for title in ("甲", "乙", "丙"):
        t.create({"title": title}, actor="admin")
    t.create({"title": "丁", "status": "已办结"}, actor="admin")
    tick(ws)  # the schedule's first check only remembers when it started
    env.set_now(datetime(2026, 4, 1, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai on the 1st
    tick(ws)
    tick(ws)  # the same month's tick again: nothing more
    titles = [r["fields"]["title"] for r in ws.base("desk").table("followups").query(actor="admin").records]
    assert sorted(titles) == ["回访：乙", "回访：甲"]  # limit 2, in creation order; 已办结 not found
    run = latest(ws, "follow_all")
    assert run["status"] == "ok"


def test_delete_removes_the_triggering_record_and_records_in_a_loop(env: Env) -> None:
    ws = env.make("""
        purge:
          when: {matches: tickets, filter: {status: 已办结}}
          do:
            - find: {table: followups}
            - for_each: {do: [{delete: {record: "{{ item.id }}"}}]}
            - delete: {}
    """)
    t = ws.base("desk").table("tickets")
    f = ws.base("desk").table("followups")
    rec = t.create({"title": "甲"}, actor="admin")
    f.create({"title": "a"}, actor="admin")
    f.create({"title": "b"}, actor="admin")
    process_pending(ws)
    t.update(rec["id"], {"status": "已办结"}, actor="admin")
    process_pending(ws)
    assert latest(ws, "purge")["status"] == "ok", latest(ws, "purge")
    assert t.query(actor="admin").records == []
    assert f.query(actor="admin").records == []


def test_wait_for_parks_the_run_and_goes_on_once_when_due(env: Env) -> None:
    ws = env.make("""
        remind:
          when: {created: tickets}
          do:
            - update: {note: 已受理}
            - wait: {for: 2d}
            - notify: {to: "{owner}", title: "两天了：{{ record.title }}"}
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲", "owner": "li"}, actor="admin")
    process_pending(ws)
    assert latest(ws, "remind")["status"] == "waiting"
    assert t.get(rec["id"], actor="admin")["fields"]["note"] == "已受理"  # the steps before the wait are done
    env.set_now(env.now[0] + timedelta(days=1))
    tick(ws)
    assert inbox(ws) == []
    env.set_now(env.now[0] + timedelta(days=1, minutes=1))
    tick(ws)
    tick(ws)
    assert inbox(ws) == [("li", "两天了：甲")]
    run = latest(ws, "remind")
    assert run["status"] == "ok" and run["trigger"].startswith("resume")
    assert runs.parked(ws.storage) == []


def test_wait_until_a_date_field_follows_the_field_as_it_changes(env: Env) -> None:
    ws = env.make("""
        on_due:
          when: {created: tickets}
          do:
            - wait: {until: due}
            - update: {status: 处理中}
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲", "due": "2026-03-05"}, actor="admin")
    process_pending(ws)
    t.update(rec["id"], {"due": "2026-03-10"}, actor="admin")  # moved later while the run waits
    env.set_now(datetime(2026, 3, 5, 1, 0, tzinfo=UTC))
    tick(ws)
    assert t.get(rec["id"], actor="admin")["fields"]["status"] == "待受理"
    env.set_now(datetime(2026, 3, 9, 16, 0, tzinfo=UTC))  # midnight of the 10th in Shanghai
    tick(ws)
    assert t.get(rec["id"], actor="admin")["fields"]["status"] == "处理中"


def test_a_wait_whose_record_was_deleted_ends_skipped(env: Env) -> None:
    ws = env.make("""
        later:
          when: {created: tickets}
          do: [{wait: {for: 1h}}, {update: {note: x}}]
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲"}, actor="admin")
    process_pending(ws)
    t.delete(rec["id"], actor="admin")
    env.set_now(env.now[0] + timedelta(hours=2))
    tick(ws)
    assert latest(ws, "later")["status"] == "skipped"
    assert runs.parked(ws.storage) == []


PARK = """
import sys, time
from datetime import datetime
from engine import Workspace
from automations import process_pending
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
ws.clock = lambda: datetime.fromisoformat(sys.argv[3])
ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
process_pending(ws)
print("parked", flush=True)
time.sleep(60)  # killed here with SIGKILL: nothing is closed or flushed by the process itself
"""

RESTART = """
import sys
from datetime import datetime
from engine import Workspace
from automations import tick
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
ws.clock = lambda: datetime.fromisoformat(sys.argv[3])
print(tick(ws))
ws.close()
"""


def test_a_parked_run_survives_a_killed_process_and_goes_on_exactly_once(env: Env) -> None:
    ws = env.make("""
        remind:
          when: {created: tickets}
          do:
            - wait: {for: 1d}
            - create: {table: followups, fields: {title: "回访：{{ record.title }}"}}
    """)
    root, db = str(ws.config.root), str(getattr(ws.storage, "url", None) or ws.storage.path)  # PostgreSQL: its URL
    ws.close()
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    parking = subprocess.Popen([sys.executable, "-c", PARK, root, db, env.now[0].isoformat()], cwd=ROOT, env=environ,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert parking.stdout is not None and parking.stdout.readline().strip() == "parked"
    finally:
        parking.send_signal(signal.SIGKILL)  # the process that parked the run dies without a word
        parking.wait()
        if parking.stdout is not None:
            parking.stdout.close()

    def restarted(moment: datetime) -> str:
        out = subprocess.run([sys.executable, "-c", RESTART, root, db, moment.isoformat()], cwd=ROOT, check=True,
                             env=environ, capture_output=True, text=True)
        return out.stdout.strip()

    assert restarted(env.now[0] + timedelta(hours=23)) == "0"  # not due yet
    later = env.now[0] + timedelta(days=1, minutes=1)
    assert restarted(later) == "1"
    assert restarted(later) == "0"  # a second process (or restart) finds nothing left to do
    again = Workspace.open(root, db=db)
    try:
        titles = [r["fields"]["title"] for r in again.base("desk").table("followups").query(actor="admin").records]
        assert titles == ["回访：甲"]
        statuses = [r["status"] for r in list_runs(again, automation="remind")]
        assert sorted(statuses) == ["ok", "waiting"]
    finally:
        again.close()


def test_a_parked_run_of_an_automation_turned_off_ends_skipped(env: Env) -> None:
    ws = env.make("""
        later:
          when: {created: tickets}
          do: [{wait: {for: 1h}}, {update: {note: x}}]
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲"}, actor="admin")
    process_pending(ws)
    ws.config.bases["desk"].automations["later"].enabled = False  # as a reload of `enabled: false` leaves it
    env.set_now(env.now[0] + timedelta(hours=2))
    tick(ws)
    assert latest(ws, "later")["status"] == "skipped"
    assert "note" not in t.get(rec["id"], actor="admin")["fields"]
