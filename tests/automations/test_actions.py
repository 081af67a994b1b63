"""Every action does what it says; a failed step stops the run; the loop guard holds."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from automation_servers import Env

from automations import deliver_due, list_runs, process_pending
from engine import Workspace
from engine import people as people_db
from engine.errors import GridbaseError

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def inbox(ws: Workspace) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in ws.storage.conn.execute("SELECT person, title, body FROM _gb_notifications ORDER BY id")]


def test_notify_reaches_field_dept_role_and_person(env: Env) -> None:
    ws = env.make("""
        everyone:
          when: {created: tickets}
          do:
            - notify:
                to: ["{owner}", "{watchers}", "dept:ortho", "role:handler", "person:admin"]
                title: "新工单：{{ record.title }}"
                message: "电话 {{ record.phone }}，负责人 {{ record.owner }}，链接 {{ link }}"
    """)
    rec = ws.base("desk").table("tickets").create(
        {"title": "甲", "owner": "li", "watchers": ["boss", "li"], "phone": "13800001111"}, actor="admin")
    process_pending(ws)
    rows = {person: (title, body) for person, title, body in inbox(ws)}
    # li: owner; boss: watcher; admin: person. Each once. zhao (a sub-department of ortho)
    # is named too, but cannot read the record, so nothing about it is sent to zhao.
    assert sorted(rows) == ["admin", "boss", "li"]
    link = f"/b/desk/t/tickets/r/{rec['id']}"
    assert rows["admin"] == ("新工单：甲", f"电话 13800001111，负责人 李四，链接 {link}")
    # li's role masks the phone: the notification does not tell li more than the record page.
    assert rows["li"][1].startswith("电话 *******1111，")
    assert "zhao" not in rows


def test_notify_delivers_to_personal_email_channel(env: Env) -> None:
    ws = env.make("""
        tell_owner:
          when: {updated: tickets, fields: [owner]}
          do: [{notify: {to: "{owner}", title: "工单分派给您：{{ record.title }}", message: "请处理"}}]
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "牙齿疼痛投诉"}, actor="admin")
    t.update(rec["id"], {"owner": "li"}, actor="admin")
    process_pending(ws)
    assert deliver_due(ws) == 1
    assert deliver_due(ws) == 0
    [message] = env.mail.messages
    assert message["Subject"] == "工单分派给您：牙齿疼痛投诉"
    assert message["To"].addresses[0].addr_spec == "li@example.org"
    assert "请处理" in message.get_content()


def test_notify_extra_group_channel_once_per_action(env: Env) -> None:
    ws = env.make("""
        tell_qc:
          when: {created: tickets}
          do: [{notify: {to: "dept:qc", title: "新：{{ record.title }}", channels: [hook]}}]
    """)
    ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
    process_pending(ws)
    deliver_due(ws)
    assert len(env.hook.requests) == 1  # one group message, not one per person
    body = env.hook.json()
    assert body["title"] == "新：甲" and body["recipient"]["name"] in ("管理员, 王主任", "王主任, 管理员")


def test_update_and_create_linked_back(env: Env) -> None:
    ws = env.make("""
        triage:
          when: {created: tickets}
          if: {severity: 严重}
          do:
            - update: {status: 处理中, note: "自动受理：{{ record.title }}", n: "{{ record.n|int + 1 }}"}
            - create: {table: followups, fields: {title: "跟进：{{ record.title }}（{{ record.status }}）"}, link: ticket}
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲", "severity": "严重", "n": 4}, actor="admin")
    t.create({"title": "乙", "severity": "一般"}, actor="admin")
    process_pending(ws)
    got = t.get(rec["id"], actor="admin")["fields"]
    assert (got["status"], got["note"], got["n"]) == ("处理中", "自动受理：甲", 5)
    [follow] = ws.base("desk").table("followups").query(actor="admin").records
    assert follow["fields"] == {"title": "跟进：甲（处理中）", "ticket": [rec["id"]]}
    audit = ws.storage.conn.execute("SELECT DISTINCT actor FROM _gb_audit WHERE record = ?", (rec["id"],)).fetchall()
    assert ("automation:triage",) in audit
    depth = ws.storage.conn.execute("SELECT max(depth) FROM _gb_outbox").fetchone()[0]
    assert depth == 1


def test_webhook_is_signed_and_sent_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESK_HOOK_SECRET", "s3cret-for-tests")
    ws = env.make(f"""
        push:
          when: {{created: tickets}}
          do: [{{webhook: {{url: "{env.hook.url('/desk')}", secret_env: DESK_HOOK_SECRET}}}}]
    """)
    rec = ws.base("desk").table("tickets").create({"title": "甲", "owner": "li"}, actor="admin")
    process_pending(ws)
    assert deliver_due(ws) == 1 and deliver_due(ws) == 0
    [request] = env.hook.requests
    expected = "sha256=" + hmac.new(b"s3cret-for-tests", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Gridbase-Signature"] == expected
    data = env.hook.json()["data"]
    assert data["record_id"] == rec["id"] and data["fields"]["owner"] == "李四" and data["automation"] == "push"
    assert request["headers"]["Idempotency-Key"].startswith("desk.push:")


def test_webhook_posts_the_record_as_its_reader_may_read_it(env: Env) -> None:
    # The URL is outside the server, where nobody's permissions hold: by default the record goes
    # out as every role reading the table sees it alike (the handler's mask on the phone), or
    # as the one reader the action names.
    ws = env.make(f"""
        push:
          when: {{created: tickets}}
          do:
            - webhook: {{url: "{env.hook.url('/least')}"}}
            - webhook: {{url: "{env.hook.url('/as-person')}", as_person: admin}}
            - webhook: {{url: "{env.hook.url('/as-role')}", as_role: handler}}
    """)
    ws.base("desk").table("tickets").create({"title": "甲", "phone": "13912345678"}, actor="admin")
    process_pending(ws)
    assert deliver_due(ws) == 3
    sent = {r["path"]: json.loads(r["body"])["data"]["fields"] for r in env.hook.requests}
    assert sent["/as-person"]["phone"] == "13912345678"
    assert sent["/least"]["phone"] == sent["/as-role"]["phone"] != "13912345678"
    assert "5678" in sent["/least"]["phone"] and "1391234" not in sent["/least"]["phone"]
    assert sent["/least"]["title"] == sent["/as-role"]["title"] == "甲"


def test_webhook_reader_is_checked_at_load(env: Env) -> None:
    with pytest.raises(GridbaseError) as caught:
        env.make("""
            push:
              when: {created: tickets}
              do: [{webhook: {url: "https://hooks.example.org/x", as_role: handlr}}]
        """)
    assert "unknown role 'handlr'" in str(caught.value) and "handler" in str(caught.value)


def test_email_action_with_chinese_subject(env: Env) -> None:
    ws = env.make("""
        mail_owner:
          when: {created: tickets}
          do: [{email: {to: ["{owner}", "person:boss"], subject: "投诉待处理：{{ record.title }}", body: "请于三日内处理。"}}]
    """)
    ws.base("desk").table("tickets").create({"title": "候诊时间过长", "owner": "li"}, actor="admin")
    process_pending(ws)
    assert deliver_due(ws) == 2
    assert sorted(m["To"].addresses[0].addr_spec for m in env.mail.messages) == ["boss@example.org", "li@example.org"]
    assert {m["Subject"] for m in env.mail.messages} == {"投诉待处理：候诊时间过长"}
    assert inbox(ws) == []  # e-mail actions do not write the inbox


def test_failed_step_stops_the_run_and_is_reported(env: Env) -> None:
    ws = env.make("""
        broken:
          when: {created: tickets}
          do:
            - update: {note: 第一步完成}
            - update: {n: "不是数字"}
            - notify: {to: "person:boss", title: 不应送达}
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲"}, actor="admin")
    process_pending(ws)
    [run] = list_runs(ws, automation="broken")
    assert run["status"] == "failed"
    assert run["error"].startswith("step 2 (update): ")
    assert [s["ok"] for s in run["steps"]] == [True, False]
    assert t.get(rec["id"], actor="admin")["fields"]["note"] == "第一步完成"
    assert inbox(ws) == []


def test_template_sandbox_refuses_attribute_tricks(env: Env) -> None:
    ws = env.make("""
        sneaky:
          when: {created: tickets}
          do: [{notify: {to: "person:boss", title: "{{ record.__class__.__mro__[1].__subclasses__() }}"}}]
    """)
    ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
    process_pending(ws)
    [run] = list_runs(ws)
    assert run["status"] == "failed" and "template error" in run["error"]


def feeding_itself(env: Env) -> tuple[Workspace, Any, dict[str, Any]]:
    """A workspace whose automation `bump` answers every change of `n` with n + 1 (so feeds
    itself), and a ticket whose `n` was just set: (workspace, tickets table, ticket)."""
    ws = env.make("""
        bump:
          when: {updated: tickets, fields: [n]}
          do: [{update: {n: "{{ record.n|int + 1 }}"}}]
    """)
    t = ws.base("desk").table("tickets")
    rec = t.create({"title": "甲", "n": 0}, actor="admin")
    t.update(rec["id"], {"n": 1}, actor="admin")
    return ws, t, rec


def test_loop_guard_stops_automations_that_feed_themselves(env: Env) -> None:
    ws, t, rec = feeding_itself(env)
    while process_pending(ws):
        pass
    statuses = [r["status"] for r in reversed(list_runs(ws, automation="bump"))]
    assert statuses == ["ok"] * 5 + ["loop_stopped"]
    assert t.get(rec["id"], actor="admin")["fields"]["n"] == 6


def test_one_pass_runs_what_the_runs_own_writes_trigger(env: Env) -> None:
    # process_pending stops early when its page was short, but not when the runs it made wrote
    # events of their own: a chain of automations goes through in one call.
    ws, t, rec = feeding_itself(env)
    assert process_pending(ws) == 7  # the create, the update, then five runs' updates
    assert process_pending(ws) == 0
    assert t.get(rec["id"], actor="admin")["fields"]["n"] == 6


CASES = """\
base: cases
name: 案件
tables:
  docs:
    name: 文件
    primary: title
    fields:
      title: {type: text, name: 标题}
      owner: {type: person, name: 责任人}
  tasks:
    name: 任务
    primary: title
    fields:
      title: {type: text, name: 任务}
      doc: {type: link, name: 文件, table: docs}
      doc_owner: {type: lookup, name: 文件责任人, link: doc, field: owner}
      assignee: {type: person, name: 负责人}
roles:
  handler:
    docs: {access: read, rows: {owner: $me}}
    tasks: {access: edit}
automations:
  tell:
    when: {created: tasks}
    do: [{notify: {to: ["{assignee}", "person:admin"], title: "任务：{{ record.title }}", message: "文件：{{ record.doc }}（{{ record.doc_owner }}）"}}]
"""


def test_a_link_reads_as_the_titles_its_reader_may_see(env: Env) -> None:
    ws = env.make("{}", extra_bases={"cases": CASES})
    docs, tasks = ws.base("cases").table("docs"), ws.base("cases").table("tasks")
    mine = docs.create({"title": "李四的文件", "owner": "li"}, actor="admin")["id"]
    theirs = docs.create({"title": "主任的文件", "owner": "boss"}, actor="admin")["id"]
    tasks.create({"title": "甲", "doc": [mine, theirs], "assignee": "li"}, actor="admin")
    process_pending(ws)
    bodies = {person: body for person, _, body in inbox(ws)}
    assert bodies["admin"] == "文件：李四的文件, 主任的文件（李四, 王主任）"
    # li may not read the other document: not its title, nor what lookups take from it.
    assert bodies["li"] == "文件：李四的文件（李四）"


ROWS_BASE = """\
base: cases
name: 事项
tables:
  cases:
    name: 事项
    primary: title
    fields:
      title: {type: text, name: 标题}
      owner: {type: person, name: 负责人}
roles:
  viewer:
    cases: {access: read, rows: {owner: $me}}
automations:
  tell:
    when: {created: cases}
    do: [{notify: {to: ["person:zhao", "person:admin"], title: "新事项：{{ record.title }}"}}]
"""


def test_a_row_rule_keeps_a_notification_from_whoever_may_not_read_the_record(env: Env) -> None:
    ws = env.make("""
        quiet:
          when: {created: followups}
          do: [{update: {title: "x"}}]
    """, extra_bases={"cases": ROWS_BASE})
    cases = ws.base("cases").table("cases")
    cases.create({"title": "他的", "owner": "zhao"}, actor="admin")
    cases.create({"title": "别人的", "owner": "li"}, actor="admin")
    process_pending(ws)
    assert sorted((p, t) for p, t, _b in inbox(ws)) == [
        ("admin", "新事项：他的"), ("admin", "新事项：别人的"), ("zhao", "新事项：他的")]


def test_a_person_disabled_by_another_process_is_notified_no_more(env: Env) -> None:
    ws = env.make("""
        tell_li:
          when: {created: tickets}
          do: [{notify: {to: ["person:li", "person:admin"], title: "{{ record.title }}"}}]
    """)
    tickets = ws.base("desk").table("tickets")
    tickets.create({"title": "一"}, actor="admin")
    process_pending(ws)
    other = Workspace.open(ws.config.root, db=ws.storage.database)  # another server on the same database
    try:
        people_db.set_disabled(other.storage, "li", True)
        tickets.create({"title": "二"}, actor="admin")
        tickets.create({"title": "三"}, actor="admin")
        process_pending(ws)
        people_db.set_disabled(other.storage, "li", False)
        tickets.create({"title": "四"}, actor="admin")
        process_pending(ws)
    finally:
        other.close()
    assert sorted((p, t) for p, t, _b in inbox(ws)) == [
        ("admin", "一"), ("admin", "三"), ("admin", "二"), ("admin", "四"), ("li", "一"), ("li", "四")]
