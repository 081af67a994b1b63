"""The complaints workflow of the dental example, through HTTP, as each person involved.

An employee reports a problem on the QR form from a phone; 质控部 is told (and, once a
responsible department is named, that department's head); QC assigns a handler, who is told and closes it with a result; the dashboard's
open/closed figures follow. A negative follow-up call becomes a linked complaint, and a
complaint past its 3-day due time is escalated exactly once.
"""

from __future__ import annotations

from datetime import timedelta

import automations
from engine import approvals
from tests.examples.conftest import (
    MOBILE_UA,
    chart_values,
    dashboard_numbers,
    local,
    notified,
    people_with,
    record_row,
    rows,
    runs_of,
)

DASH = "/b/complaints/d/overview"
STATUS_WIDGET = 8  # 办结情况: complaints grouped by status


def open_closed(browser):
    page = browser.get(DASH)
    assert page.status_code == 200, page.text
    numbers = dashboard_numbers(page.text)
    spec = browser.get(f"{DASH}/w/{STATUS_WIDGET}.json")
    assert spec.status_code == 200
    return numbers, chart_values(spec.json())


def test_complaint_from_qr_form_to_closed(ws, as_person):
    admin = as_person("admin")
    numbers, by_status = open_closed(admin)
    assert numbers["未办结"] == "0" and numbers["本月投诉"] == "0" and by_status == {}

    # -- an employee (a nurse, role staff) on a phone ---------------------------------------
    phone = as_person("du_juan", headers={"User-Agent": MOBILE_UA})
    form = phone.get("/f/complaints/report")
    assert form.status_code == 200
    assert 'name="viewport"' in form.text and "投诉登记" in form.text
    assert 'name="channel"' not in form.text  # the prefill is set on the server, never shown
    qr = phone.get("/f/complaints/report/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml") and b"<svg" in qr.content
    poster = phone.get("/f/complaints/report/poster")
    assert poster.status_code == 200 and "投诉登记" in poster.text
    sent = phone.post("/f/complaints/report", {
        "title": "候诊区地面湿滑", "category": "环境设施", "description": "上午十点二楼候诊区地面有水，患者险些滑倒。",
        "patient_name": "张三", "patient_phone": "13912345678"})
    assert sent.status_code == 200, sent.text
    assert "感谢您的反馈" in sent.text

    found = rows(ws, "SELECT _id, channel, reporter, status FROM complaints__complaints WHERE title = ?", ("候诊区地面湿滑",))
    assert len(found) == 1
    rid = found[0]["_id"]
    assert found[0]["channel"] == "扫码表单" and found[0]["reporter"] == "du_juan" and found[0]["status"] == "待受理"
    # The reporter sees it in 我登记的; staff only see their own.
    mine = phone.get("/b/complaints/t/complaints/v/my_reports")
    assert mine.status_code == 200 and "候诊区地面湿滑" in mine.text

    # -- 质控部 is told (no 责任科室 yet, so no department head) ---------------------------------
    automations.process_pending(ws)
    expected = people_with(ws, dept="qc")
    assert {"chen_jing", "lin_xue"} <= expected
    got = notified(ws, rid, "新投诉：")
    assert sorted(got) == sorted(expected), "each QC person once, no department head"
    bot = rows(ws, "SELECT * FROM _gb_deliveries WHERE channel = 'feishu_bot'")
    assert len(bot) == 1 and "候诊区地面湿滑" in bot[0]["payload"]
    inbox = as_person("lin_xue").get("/inbox")
    assert inbox.status_code == 200 and "新投诉：候诊区地面湿滑" in inbox.text
    numbers, by_status = open_closed(admin)
    assert numbers["未办结"] == "1" and numbers["本月投诉"] == "1" and by_status == {"待受理": 1}

    # -- QC assigns a handler ----------------------------------------------------------------
    qc = as_person("lin_xue")
    assert qc.cell("complaints", "complaints", rid, "department", "院办").status_code == 200
    assigned = qc.cell("complaints", "complaints", rid, "owner", "feng_yan")
    assert assigned.status_code == 200, assigned.text
    automations.process_pending(ws)
    assert notified(ws, rid, "投诉已分派给您：") == ["feng_yan"]
    assert record_row(ws, "complaints", "complaints", rid)["status"] == "处理中"
    numbers, by_status = open_closed(admin)
    assert numbers["未办结"] == "1" and by_status == {"处理中": 1}

    # -- the handler closes it, with their own permissions --------------------------------------
    handler = as_person("feng_yan")
    assert "投诉已分派给您：候诊区地面湿滑" in handler.get("/inbox").text
    refused = handler.cell("complaints", "complaints", rid, "title", "改标题")
    assert refused.status_code in (403, 422)
    assert record_row(ws, "complaints", "complaints", rid)["title"] == "候诊区地面湿滑"
    other = as_person("zhao_lei")  # a head the complaint is not assigned to
    assert other.cell("complaints", "complaints", rid, "status", "已办结").status_code in (403, 404, 422)  # 院办 is not his campus: not even shown
    assert handler.cell("complaints", "complaints", rid, "result", "已安排保洁每小时巡查并放置防滑垫。").status_code == 200
    assert handler.cell("complaints", "complaints", rid, "status", "已办结").status_code == 422  # 质控部 closes
    assert handler.cell("complaints", "complaints", rid, "status", "待结案审核").status_code == 200
    automations.process_pending(ws)
    [ask] = approvals.pending_for(ws.storage, "chen_jing")
    assert as_person("chen_jing").post(f"/approvals/{ask['id']}/decide", {"decision": "approve"}).status_code == 200
    row = record_row(ws, "complaints", "complaints", rid)
    assert row["status"] == "已办结" and row["result"].startswith("已安排保洁") and row["overdue"] == 0
    automations.process_pending(ws)

    numbers, by_status = open_closed(admin)
    assert numbers["未办结"] == "0" and numbers["超时未办结"] == "0" and numbers["本月投诉"] == "1"
    assert by_status == {"已办结": 1}
    assert "候诊区地面湿滑" not in qc.get("/b/complaints/t/complaints/v/open").text


def test_negative_followup_becomes_linked_complaint(ws, as_person):
    service = as_person("xu_ting")
    form = service.get("/f/complaints/log")
    assert form.status_code == 200
    sent = service.post("/f/complaints/log", {
        "followup_date": "2026-06-15", "patient_name": "李四", "patient_phone": "13700001111",
        "satisfaction": "不满意", "feedback": "补的牙一周就掉了，复诊很难约。", "negative": "on"})
    assert sent.status_code == 200, sent.text
    calls = rows(ws, "SELECT _id, caller, negative FROM complaints__followups")
    assert len(calls) == 1 and calls[0]["caller"] == "xu_ting" and calls[0]["negative"] == 1
    fid = calls[0]["_id"]
    # A positive call makes no complaint.
    assert service.post("/f/complaints/log", {"followup_date": "2026-06-15", "patient_name": "王五",
                                              "satisfaction": "满意", "feedback": "很好"}).status_code == 200

    automations.process_pending(ws)  # one step: the complaint exists and is linked both ways

    made = rows(ws, "SELECT * FROM complaints__complaints")
    assert len(made) == 1
    complaint = made[0]
    assert complaint["title"] == "回访负面反馈：李四" and complaint["channel"] == "回访"
    assert complaint["reporter"] == "xu_ting" and complaint["patient_phone"] == "13700001111"
    assert complaint["description"] == "补的牙一周就掉了，复诊很难约。"
    assert fid in complaint["followup"]
    back = ws.base("complaints").table("followups").get(fid, actor="admin")
    assert back["fields"]["complaints"] == [complaint["_id"]]
    assert [r["status"] for r in runs_of(ws, "negative_followup", fid)] == ["ok"]
    assert [r["status"] for r in runs_of(ws, "negative_followup") if r["record"] != fid] in ([], ["skipped"])
    # The new complaint is itself announced to QC in the same step.
    assert "lin_xue" in notified(ws, complaint["_id"], "新投诉：")
    page = as_person("lin_xue").get(f"/b/complaints/t/followups/r/{fid}")
    assert page.status_code == 200 and "回访负面反馈：李四" in page.text


def test_negative_followup_logged_in_the_grid(ws, as_person):
    """The same through the grid's "new record" (a service person types the row in)."""
    service = as_person("ma_lili")
    made = service.post("/b/complaints/t/followups/new", {
        "patient_name": "赵六", "satisfaction": "非常不满意", "feedback": "收费比咨询时说的高", "negative": "是",
        "submitted": "1"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    fid = made.headers["location"].rsplit("/", 1)[-1]
    automations.process_pending(ws)
    linked = rows(ws, "SELECT _id, followup, reporter FROM complaints__complaints")
    assert len(linked) == 1 and fid in linked[0]["followup"] and linked[0]["reporter"] == "ma_lili"


def test_overdue_complaint_escalates_exactly_once(ws, as_person, clock):
    complaints = ws.base("complaints").table("complaints")
    late = complaints.create({"title": "收费与报价不一致", "category": "收费问题", "owner": "sun_hao",
                              "department": "口腔修复中心"}, actor="lin_xue")
    done = complaints.create({"title": "空调太冷", "category": "环境设施"}, actor="lin_xue")
    automations.process_pending(ws)
    complaints.update(done["id"], {"status": "已办结", "result": "已调高温度"}, actor="lin_xue")
    automations.process_pending(ws)
    assert runs_of(ws, "overdue") == []

    clock.set(local(2026, 6, 18, 9, 0))  # before the 3-day due time (received 10:00)
    ws.refresh_time_dependent()
    automations.process_pending(ws)
    assert runs_of(ws, "overdue") == []

    clock.set(local(2026, 6, 18, 10, 0) + timedelta(minutes=1))
    ws.refresh_time_dependent()
    automations.process_pending(ws)
    escalations = runs_of(ws, "overdue")
    assert [(r["record"], r["status"]) for r in escalations] == [(late["id"], "ok")]
    # The owner, the head of the responsible department (口腔修复中心: sun_hao) and the director;
    # not the heads of other departments.
    assert sorted(notified(ws, late["id"], "新投诉：")) == sorted(people_with(ws, dept="qc") | {"sun_hao"})
    expected = {"sun_hao"} | people_with(ws, role="director")
    assert sorted(notified(ws, late["id"], "投诉超时未办结：")) == sorted(expected)
    assert "zhao_lei" not in expected
    assert notified(ws, done["id"], "投诉超时未办结：") == []

    clock.set(local(2026, 6, 19, 10, 0))  # still overdue a day later: no second escalation
    ws.refresh_time_dependent()
    automations.process_pending(ws)
    automations.tick(ws, clock())
    automations.process_pending(ws)
    assert len(runs_of(ws, "overdue")) == 1
    admin = as_person("admin")
    assert dashboard_numbers(admin.get(DASH).text)["超时未办结"] == "1"
