"""Closing a complaint of the dental example needs 质控部's approval, decided over HTTP.

The handler submits the closure (status 待结案审核); the head of 质控部 (陈静) is asked in the inbox
and on the record page; nobody else may decide; approved, the complaint is 已办结 (and the week's
follow-up starts); rejected, it goes back to 处理中 and the handler is told the comment.
"""

from __future__ import annotations

import re

import automations
from engine import approvals
from tests.examples.conftest import notified, record_row, runs_of
from views.pages import inbox


def submitted(ws, as_person) -> str:
    table = ws.base("complaints").table("complaints")
    rid = table.create({"title": "种植复诊等候过长", "department": "院办", "owner": "feng_yan", "severity": "一般"},
                       actor="admin")["id"]
    automations.process_pending(ws)
    handler = as_person("feng_yan")
    assert handler.cell("complaints", "complaints", rid, "result", "已调整复诊排班。").status_code == 200
    assert handler.cell("complaints", "complaints", rid, "status", "待结案审核").status_code == 200
    automations.process_pending(ws)
    return rid


def request_id(html: str) -> int:
    found = re.search(r'action="/approvals/(\d+)/decide"', html)
    assert found, "no Approve / Reject form on the page"
    return int(found.group(1))


def test_qc_head_approves_from_the_inbox_and_the_complaint_closes(ws, as_person) -> None:
    rid = submitted(ws, as_person)
    assert record_row(ws, "complaints", "complaints", rid)["status"] == "待结案审核"
    assert [r["status"] for r in runs_of(ws, "closure_approval")] == ["waiting"]
    head = as_person("chen_jing")
    inbox = head.get("/inbox")
    assert "待我审批" in inbox.text and "请审批结案：种植复诊等候过长" in inbox.text and "已调整复诊排班。" in inbox.text
    ident = request_id(inbox.text)
    page = head.get(f"/b/complaints/t/complaints/r/{rid}")
    assert 'id="approval"' in page.text and request_id(page.text) == ident

    other = as_person("lin_xue")  # 质控部, but not the person asked
    assert 'action="/approvals/' not in other.get(f"/b/complaints/t/complaints/r/{rid}").text
    refused = other.post(f"/approvals/{ident}/decide", {"decision": "approve", "comment": "代批"})
    assert refused.status_code == 403
    assert head.post(f"/approvals/{ident}/decide", {"decision": "maybe"}).status_code == 400
    assert record_row(ws, "complaints", "complaints", rid)["status"] == "待结案审核"

    unread = head.get("/inbox/count").json()["unread"]
    done = head.post(f"/approvals/{ident}/decide", {"decision": "approve", "comment": "同意结案", "next": "/inbox"},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert record_row(ws, "complaints", "complaints", rid)["status"] == "已办结"
    again = head.post(f"/approvals/{ident}/decide", {"decision": "reject"})
    assert again.status_code == 400 and "已处理" in again.text
    assert "待我审批" not in head.get("/inbox").text
    assert head.get("/inbox/count").json()["unread"] == unread - 1  # the notification that asked is read now
    page = as_person("feng_yan").get(f"/b/complaints/t/complaints/r/{rid}")
    assert "已批准" in page.text and "批准了: 同意结案" in page.text  # the panel, and the history with the comment
    automations.process_pending(ws)
    assert [r["status"] for r in runs_of(ws, "closed_review")] == ["waiting"]  # closed: the follow-up week starts


def test_a_handler_cannot_close_a_complaint_past_the_approval(ws, as_person) -> None:
    rid = submitted(ws, as_person)
    refused = as_person("feng_yan").cell("complaints", "complaints", rid, "status", "已办结")
    assert refused.status_code == 422 and "无权将其设为“已办结”" in refused.text
    assert record_row(ws, "complaints", "complaints", rid)["status"] == "待结案审核"


def test_a_rejected_closure_goes_back_to_the_handler_with_the_comment(ws, as_person) -> None:
    rid = submitted(ws, as_person)
    [ask] = approvals.pending_for(ws.storage, "chen_jing")
    head = as_person("chen_jing")
    assert head.post(f"/approvals/{ask['id']}/decide", {"decision": "reject", "comment": "缺患者回访记录"}).status_code == 200
    assert record_row(ws, "complaints", "complaints", rid)["status"] == "处理中"
    assert notified(ws, rid, "结案被质控部驳回：") == ["feng_yan"]
    body = ws.storage.conn.execute("SELECT body FROM _gb_notifications WHERE title LIKE '结案被质控部驳回%'").fetchone()[0]
    assert body == "审批意见：缺患者回访记录（陈静）"


def test_a_request_about_a_deleted_complaint_leaves_the_inbox(ws, as_person) -> None:
    rid = submitted(ws, as_person)
    head = as_person("chen_jing")
    assert "请审批结案：种植复诊等候过长" in head.get("/inbox").text
    [ask] = approvals.pending_for(ws.storage, "chen_jing")
    ws.base("complaints").table("complaints").delete(rid, actor="admin")
    assert "待我审批" not in head.get("/inbox").text
    assert head.post(f"/approvals/{ask['id']}/decide", {"decision": "approve"}).status_code == 404


def test_a_record_page_shows_only_its_own_request_and_checks_no_other(ws, as_person, monkeypatch) -> None:
    # The approver's other waiting requests are the inbox's: the record page neither shows them
    # nor checks, one read each, whether the approver may still read their records.
    first, second = submitted(ws, as_person), submitted(ws, as_person)
    head = as_person("chen_jing")
    asks = {a["record"]: a["id"] for a in approvals.pending_for(ws.storage, "chen_jing")}
    assert set(asks) == {first, second}
    checked: list[str] = []
    real = inbox.engine_comments.may_read
    monkeypatch.setattr(inbox.engine_comments, "may_read", lambda t, p, rid: checked.append(rid) or real(t, p, rid))
    page = head.get(f"/b/complaints/t/complaints/r/{second}").text
    assert re.findall(r'action="/approvals/(\d+)/decide"', page) == [str(asks[second])] and checked == [second]
