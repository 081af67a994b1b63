"""The `approval:` step: approvers asked in sequence or any-of, decided once by the named person only,
the run going on with the chosen branch exactly once (also when the process dies in between)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from automation_servers import Env

from automations import list_runs, process_pending, tick
from automations.approval import decide
from engine import NotFoundError, PermissionDenied, Workspace, approvals, comments, runs
from engine.errors import GridbaseError

pytestmark = pytest.mark.stores

ROOT = Path(__file__).resolve().parents[2]

CLOSE = """
close:
  when: {updated: tickets, fields: [status], to: 处理中}
  do:
    - update: {note: 待审批}
    - approval:
        approvers: %s
        mode: %s
        title: "请审批：{{ record.title }}"
        message: "电话 {{ record.phone }}"
        %s
        on_approve: [{update: {status: 已办结, note: "批准：{{ approval.comment }}"}}]
        on_reject: [{update: {status: 待受理, note: "驳回：{{ approval.comment }}（{{ approval.by }}）"}}]
    - notify: {to: "{owner}", title: "审批完成：{{ record.title }}"}
"""


def make(env: Env, approvers: str, mode: str = "sequence", more: str = "") -> Workspace:
    return env.make(CLOSE % (approvers, mode, more))


def pending(ws: Workspace, person: str) -> list[dict]:
    return approvals.pending_for(ws.storage, person)


def start(ws: Workspace) -> tuple:
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲", "owner": "li", "phone": "13812345678"}, actor="admin")
    process_pending(ws)
    t.update(rec["id"], {"status": "处理中"}, actor="admin")
    process_pending(ws)
    return t, rec["id"]


def fields(t, rid: str) -> dict:
    return t.get(rid, actor="admin")["fields"]


def test_sequence_asks_one_after_another_and_goes_on_with_on_approve_once(env: Env) -> None:
    ws = make(env, '[{person: boss}, {head: qc}, {field: owner}]')
    t, rid = start(ws)
    assert fields(t, rid)["note"] == "待审批"
    assert list_runs(ws, automation="close")[0]["status"] == "waiting"
    assert [a["title"] for a in pending(ws, "boss")] == ["请审批：甲"]
    assert pending(ws, "li") == []  # not asked before boss approved
    [ask] = pending(ws, "boss")
    decide(ws, ask["id"], "boss", "approved", "可以")
    assert fields(t, rid)["status"] == "处理中"  # not yet: head of qc is boss again (asked once), then owner li
    [ask] = pending(ws, "li")
    assert ask["body"] == "电话 *******5678"  # as li may read it: masked
    [boss_ask] = [a for a in approvals.for_record(ws.storage, "desk", "tickets", rid) if a["approver"] == "boss"]
    assert boss_ask["body"] == "电话 *******5678"  # boss too holds the role that reads it masked
    asked = ws.storage.conn.execute("SELECT payload FROM _gb_deliveries WHERE person = 'li' AND channel = 'mail' "
                                    "AND key LIKE '%:ask:mail'").fetchall()
    assert len(asked) == 1 and "#approval" in asked[0][0]  # li's own channel too, opening the record page to decide
    decide(ws, ask["id"], "li", "approved", "同意结案")
    assert fields(t, rid)["status"] == "已办结"
    assert fields(t, rid)["note"] == "批准：同意结案"
    tick(ws)
    tick(ws)
    done = [r for r in list_runs(ws, automation="close") if r["trigger"].startswith("resume")]
    assert [r["status"] for r in done] == ["ok"]
    assert runs.parked(ws.storage) == []
    titles = [r[0] for r in ws.storage.conn.execute("SELECT title FROM _gb_notifications WHERE person = 'li'")]
    assert titles.count("审批完成：甲") == 1
    history = [h["action"] for h in t.history(rid, actor="admin")]
    assert history.count("approved") == 2
    assert [c.body for c in comments.for_record(t, rid, actor="admin")] == ["已批准：可以", "已批准：同意结案"]


def test_any_of_the_first_decision_wins_and_a_reject_goes_back_with_the_comment(env: Env) -> None:
    ws = make(env, '{role: handler}', "any")
    t, rid = start(ws)
    asks = {p: pending(ws, p) for p in ("boss", "li")}
    assert all(len(a) == 1 for a in asks.values())
    decide(ws, asks["li"][0]["id"], "li", "rejected", "资料不全")
    assert fields(t, rid)["status"] == "待受理"
    assert fields(t, rid)["note"] == "驳回：资料不全（李四）"
    with pytest.raises(GridbaseError) as late:
        decide(ws, asks["boss"][0]["id"], "boss", "approved")
    assert late.value.code == "approval_decided"
    with pytest.raises(GridbaseError):
        decide(ws, asks["li"][0]["id"], "li", "approved")  # decided: not twice
    assert pending(ws, "boss") == []
    assert fields(t, rid)["status"] == "待受理"
    unread = ws.storage.conn.execute("SELECT count(*) FROM _gb_notifications WHERE key LIKE '%:ask' "
                                     "AND read_at IS NULL").fetchone()[0]
    assert unread == 0  # li decided; boss's request is no longer needed: neither is left unread


def test_only_the_named_approver_may_decide(env: Env) -> None:
    ws = make(env, '{person: boss}')
    t, rid = start(ws)
    [ask] = pending(ws, "boss")
    with pytest.raises(PermissionDenied):
        decide(ws, ask["id"], "li", "approved")
    with pytest.raises(PermissionDenied):
        decide(ws, ask["id"], "admin", "approved")  # not even an admin
    with pytest.raises(NotFoundError):
        decide(ws, ask["id"] + 100, "boss", "approved")
    assert pending(ws, "boss") and fields(t, rid)["status"] == "处理中"


def test_a_timeout_closes_the_requests_and_runs_on_timeout(env: Env) -> None:
    ws = make(env, '{person: boss}', "sequence", 'timeout: 1d\n        on_timeout: [{update: {note: 审批超时}}]')
    t, rid = start(ws)
    env.set_now(env.now[0] + timedelta(hours=23))
    tick(ws)
    assert fields(t, rid)["note"] == "待审批"
    env.set_now(env.now[0] + timedelta(hours=2))
    tick(ws)
    assert fields(t, rid)["note"] == "审批超时"
    [ask] = approvals.for_record(ws.storage, "desk", "tickets", rid)
    assert ask["status"] == "expired"
    with pytest.raises(GridbaseError):
        decide(ws, ask["id"], "boss", "approved")


def test_an_approver_who_may_not_read_the_record_is_not_asked(env: Env) -> None:
    ws = make(env, '[{person: zhao}, {person: boss}]')  # zhao (viewer) has no access to tickets
    t, rid = start(ws)
    assert pending(ws, "zhao") == []
    assert len(pending(ws, "boss")) == 1


DECIDE = """
import sys, time
from datetime import datetime
from engine import Workspace, approvals
from automations.approval import decide
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
ws.clock = lambda: datetime.fromisoformat(sys.argv[3])
[ask] = approvals.pending_for(ws.storage, "boss")
decide(ws, ask["id"], "boss", "approved", "ok", go_on=False)  # committed; the run has not gone on yet
print("decided", flush=True)
time.sleep(60)  # killed here with SIGKILL
"""

RESTART = """
import sys
from datetime import datetime
from engine import Workspace
from automations import tick
ws = Workspace.open(sys.argv[1], db=sys.argv[2])
ws.clock = lambda: datetime.fromisoformat(sys.argv[3])
print(tick(ws), tick(ws))  # the second check (or a second process) finds nothing left to do
ws.close()
"""


def test_a_decision_survives_a_killed_process_and_the_run_goes_on_exactly_once(env: Env) -> None:
    ws = make(env, '{person: boss}')
    t, rid = start(ws)
    root, db = str(ws.config.root), str(getattr(ws.storage, "url", None) or ws.storage.path)
    ws.close()
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    moment = (env.now[0] + timedelta(minutes=5)).isoformat()
    deciding = subprocess.Popen([sys.executable, "-c", DECIDE, root, db, moment], cwd=ROOT, env=environ,
                                stdout=subprocess.PIPE, text=True)
    try:
        assert deciding.stdout is not None and deciding.stdout.readline().strip() == "decided"
    finally:
        deciding.send_signal(signal.SIGKILL)
        deciding.wait()
        if deciding.stdout is not None:
            deciding.stdout.close()
    later = (env.now[0] + timedelta(minutes=6)).isoformat()
    restarted = subprocess.run([sys.executable, "-c", RESTART, root, db, later], cwd=ROOT, check=True, env=environ,
                               capture_output=True, text=True)
    assert restarted.stdout.strip() == "1 0"
    back = Workspace.open(root, db=db)
    try:
        t = back.base("desk").table("tickets")
        assert fields(t, rid)["status"] == "已办结"
        statuses = sorted(r["status"] for r in list_runs(back, automation="close"))
        assert statuses == ["ok", "waiting"]
        titles = [r[0] for r in back.storage.conn.execute("SELECT title FROM _gb_notifications WHERE person = 'li'")]
        assert titles.count("审批完成：甲") == 1
    finally:
        back.close()


def test_two_approvers_deciding_at_once_count_once(env: Env) -> None:
    ws = make(env, '{role: handler}', "any")
    t, rid = start(ws)
    asks = [(p, pending(ws, p)[0]["id"]) for p in ("boss", "li")]
    results: list[str] = []
    gate = threading.Barrier(2)

    def one(person: str, ident: int) -> None:
        gate.wait()
        try:
            decide(ws, ident, person, "approved", person)
            results.append("ok")
        except GridbaseError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=one, args=a) for a in asks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["approval_decided", "ok"]
    assert fields(t, rid)["status"] == "已办结"
    resumed = [r for r in list_runs(ws, automation="close") if r["trigger"].startswith("resume")]
    assert len(resumed) == 1
