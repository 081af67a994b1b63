"""The directives workflow of the dental example: a clerk logs a document from the health
authorities, the named heads and owners are told (inbox and the Feishu bot), the clerk splits
it into department tasks, heads report progress, the document's 总体状态 rolls up, and the
reminders (-3d, -1d, the day, 09:00 Asia/Shanghai) and the escalation fire exactly once on a
controlled clock."""

from __future__ import annotations

import automations
from tests.examples.conftest import local, notified, people_with, record_row, rows, runs_of

DOCS = "/b/directives/t/documents"
TASKS = "/b/directives/t/tasks"


def log_document(clerk, title, deadline, departments, owners):
    form = clerk.get("/f/directives/log")
    assert form.status_code == 200 and "收文登记" in form.text
    sent = clerk.post("/f/directives/log", {
        "title": title, "doc_no": "大卫健发〔2026〕12号", "issuer": "市卫健委", "received": "2026-06-01",
        "deadline": deadline, "summary": "请于期限前报送自查报告。", "departments": departments, "owners": owners})
    assert sent.status_code == 200, sent.text
    found = rows(clerk_ws(clerk), "SELECT _id FROM directives__documents WHERE title = ?", (title,))
    assert len(found) == 1
    return found[0]["_id"]


def clerk_ws(browser):
    return browser.client.app.state.ws


def add_task(clerk, doc, text, department, assignee):
    made = clerk.post(f"{TASKS}/new", {"task": text, "document": doc, "department": department, "assignee": assignee,
                                       "submitted": "1"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    return made.headers["location"].rsplit("/", 1)[-1]


def overall(ws, doc):
    return record_row(ws, "directives", "documents", doc)["overall"]


def test_document_tasks_roll_up_to_done(ws, as_person, clock):
    clock.set(local(2026, 6, 1, 10, 0))
    clerk = as_person("song_jia")
    doc = log_document(clerk, "关于开展医疗废物管理专项检查的通知", "2026-06-10", ["zhao_lei", "wang_jun"], ["feng_yan"])
    automations.process_pending(ws)

    named = ["feng_yan", "wang_jun", "zhao_lei"]
    assert sorted(notified(ws, doc, "新的上级文件：")) == named
    bot = rows(ws, "SELECT payload, status FROM _gb_deliveries WHERE channel = 'feishu_bot'")
    assert len(bot) == 1 and "关于开展医疗废物管理专项检查的通知" in bot[0]["payload"] and bot[0]["status"] == "pending"
    assert "新的上级文件：关于开展医疗废物管理专项检查的通知" in as_person("zhao_lei").get("/inbox").text
    assert overall(ws, doc) == "未分派"

    t_implant = add_task(clerk, doc, "开展本中心医疗废物自查", "口腔种植中心", "zhao_lei")
    t_medical = add_task(clerk, doc, "汇总全院自查报告", "医务部", "wang_jun")
    automations.process_pending(ws)
    assert notified(ws, t_implant, "新的执行任务：") == ["zhao_lei"]
    assert notified(ws, t_medical, "新的执行任务：") == ["wang_jun"]
    # A link reads as the linked record's title, not its id.
    body = rows(ws, "SELECT body FROM _gb_notifications WHERE record = ? AND person = 'zhao_lei'", (t_implant,))[0]["body"]
    assert body.startswith("所属文件：关于开展医疗废物管理专项检查的通知；") and "rec" not in body
    assert overall(ws, doc) == "执行中"

    head = as_person("zhao_lei")
    mine = head.get(f"{TASKS}/v/mine")
    assert mine.status_code == 200 and "开展本中心医疗废物自查" in mine.text
    assert head.cell("directives", "tasks", t_medical, "status", "已完成").status_code in (403, 422)
    assert head.cell("directives", "tasks", t_implant, "status", "执行中").status_code == 200
    assert head.cell("directives", "tasks", t_implant, "note", "已完成自查，无问题。").status_code == 200
    assert head.cell("directives", "tasks", t_implant, "done_date", "2026-06-01").status_code == 200
    assert head.cell("directives", "tasks", t_implant, "status", "已完成").status_code == 200
    automations.process_pending(ws)
    assert overall(ws, doc) == "执行中"
    told = set(notified(ws, t_implant, "任务已完成："))
    assert told == {"feng_yan"} | people_with(ws, role="clerk")
    body = rows(ws, "SELECT body FROM _gb_notifications WHERE record = ? AND person = 'feng_yan'", (t_implant,))[0]["body"]
    assert "已完成“关于开展医疗废物管理专项检查的通知”的任务" in body

    other = as_person("wang_jun")
    assert other.cell("directives", "tasks", t_medical, "status", "已完成").status_code == 200
    automations.process_pending(ws)
    row = record_row(ws, "directives", "documents", doc)
    assert (row["task_total"], row["task_done"], row["overall"]) == (2, 2, "已完成")
    page = clerk.get(f"{DOCS}/v/all")
    assert page.status_code == 200 and "已完成" in page.text
    assert "关于开展医疗废物管理专项检查的通知" not in clerk.get(f"{DOCS}/v/open").text

    # A finished document is not reminded of.
    automations.tick(ws, local(2026, 6, 1, 10, 5))
    automations.tick(ws, local(2026, 6, 7, 9, 0))
    assert notified(ws, doc, "3 天后到期：") == []


def test_reminders_fire_once_each_and_escalate_after_deadline(ws, as_person, clock):
    clock.set(local(2026, 6, 1, 10, 0))
    clerk = as_person("song_jia")
    doc = log_document(clerk, "关于报送第二季度医疗服务数据的通知", "2026-06-10", ["qian_min"], ["song_jia", "he_jianguo"])
    task = add_task(clerk, doc, "报送本中心数据", "口腔正畸中心", "qian_min")
    automations.process_pending(ws)
    named = sorted(["qian_min", "song_jia", "he_jianguo"])

    def at(*moment):
        clock.set(local(*moment))
        ws.refresh_time_dependent()
        runs = automations.tick(ws, clock())
        automations.process_pending(ws)
        return runs

    at(2026, 6, 1, 10, 5)  # the first check of each time automation only notes the time
    at(2026, 6, 7, 8, 59)
    assert notified(ws, doc, "3 天后到期：") == []
    at(2026, 6, 7, 9, 0)
    at(2026, 6, 7, 9, 0)
    at(2026, 6, 7, 9, 30)
    assert sorted(notified(ws, doc, "3 天后到期：")) == named
    assert notified(ws, doc, "明天到期：") == []
    at(2026, 6, 9, 9, 0)
    at(2026, 6, 9, 9, 0)
    assert sorted(notified(ws, doc, "明天到期：")) == named
    assert notified(ws, doc, "今天到期：") == []
    at(2026, 6, 10, 8, 0)
    assert notified(ws, doc, "今天到期：") == []
    at(2026, 6, 10, 9, 0)
    at(2026, 6, 10, 9, 0)
    at(2026, 6, 10, 18, 0)
    assert sorted(notified(ws, doc, "今天到期：")) == named
    for key in ("remind_3d", "remind_1d", "remind_0d"):
        assert [r["status"] for r in runs_of(ws, key, doc)] == ["ok"], key
    assert len(rows(ws, "SELECT 1 FROM _gb_deliveries WHERE channel = 'feishu_bot' AND payload LIKE '%到期%'")) == 3
    assert overall(ws, doc) == "执行中"

    # After the deadline: the open task is marked 逾期 that night, the document 已逾期, and a day
    # late (09:00) the director, the owners and 院办 are told — once.
    at(2026, 6, 11, 0, 30)
    assert record_row(ws, "directives", "tasks", task)["status"] == "逾期"
    assert notified(ws, task, "任务已逾期：") == ["qian_min"]
    assert overall(ws, doc) == "已逾期"
    assert notified(ws, doc, "上级文件已逾期：") == []
    at(2026, 6, 11, 9, 0)
    at(2026, 6, 11, 9, 0)
    at(2026, 6, 12, 9, 0)
    expected = people_with(ws, role="director") | {"song_jia", "he_jianguo"} | people_with(ws, dept="office")
    assert sorted(notified(ws, doc, "上级文件已逾期：")) == sorted(expected)
    assert len(runs_of(ws, "escalate", doc)) == 1
    assert notified(ws, task, "任务已逾期：") == ["qian_min"]
    mail = rows(ws, "SELECT person FROM _gb_deliveries WHERE channel = 'mail' AND payload LIKE '%上级文件已逾期%'")
    assert {"he_jianguo", "feng_yan"} <= {m["person"] for m in mail}


def test_staff_outside_the_workflow_are_not_offered_views_of_what_they_cannot_see(ws, as_person):
    # lin_xue (质控部) reads only the documents naming her and only her own tasks, so a
    # document's 总体状态, computed from all its tasks, is not hers; nor are the views that
    # filter by it. A department head reads every task and keeps them.
    staff, head = as_person("lin_xue"), as_person("zhao_lei")
    page = staff.get(f"{DOCS}/v/all")
    assert page.status_code == 200 and "总体状态" not in page.text
    assert f'{DOCS}/v/open"' not in page.text and staff.get(f"{DOCS}/v/open").status_code == 404
    assert head.get(f"{DOCS}/v/open").status_code == 200 and "总体状态" in head.get(f"{DOCS}/v/all").text
