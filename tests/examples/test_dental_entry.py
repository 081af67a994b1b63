"""The two dental workflows that need a linked record, done through the web app's new-record
page as staff would: a consultant registers a visit (登记就诊: 患者 is a required link) and the
office clerk splits a document into department tasks (按部门拆分执行任务: 文件 is required)."""

from __future__ import annotations

import re

from tests.examples.conftest import record_row


def picker_ids(page: str, field: str) -> str:
    match = re.search(rf'data-search-url="(/b/\w+/t/\w+/link/{field})"', page)
    assert match, f"no picker for {field}"
    return match.group(1)


def test_consultant_registers_a_visit_with_the_patient_picker(ws, as_person):
    patients = ws.base("patients").table("patients")
    han = patients.create({"name": "韩梅梅", "phone": "13912345678"}, actor="admin")["id"]
    patients.create({"name": "韩磊", "phone": "13912340000"}, actor="admin")
    consultant = as_person("gao_yue")
    page = consultant.get("/b/patients/t/visits/new")
    assert page.status_code == 200
    search = picker_ids(page.text, "patient")
    assert 'type="date" value="2026-06-15"' in page.text  # 就诊日期 defaults to $today
    assert 'name="diagnosis"' not in page.text  # consultants may not write the diagnosis
    found = consultant.get(search, params={"q": "韩梅"}).json()["records"]
    assert [r["title"] for r in found] == ["韩梅梅"] and found[0]["id"] == han
    made = consultant.post("/b/patients/t/visits/new", {"submitted": "1", "patient": han, "visit_type": "初诊",
                                                         "center": "口腔种植中心", "consultant": "gao_yue",
                                                         "complaint": "左下后牙缺失"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    rid = made.headers["location"].rsplit("/", 1)[-1]
    row = record_row(ws, "patients", "visits", rid)
    assert han in row["patient"] and row["visit_date"] == "2026-06-15" and row["patient_name"] == '["韩梅梅"]'
    assert "韩梅梅" in consultant.get(made.headers["location"]).text


def test_clerk_splits_a_document_into_department_tasks(ws, as_person):
    doc = ws.base("directives").table("documents").create(
        {"title": "关于开展院感专项检查的通知", "deadline": "2026-06-30"}, actor="admin")["id"]
    clerk = as_person("song_jia")
    page = clerk.get("/b/directives/t/tasks/new?view=all")
    assert page.status_code == 200 and 'class="required"' in page.text.split('data-field="document"')[1][:400]
    found = clerk.get(picker_ids(page.text, "document"), params={"q": "院感"}).json()["records"]
    assert [r["id"] for r in found] == [doc]
    missing = clerk.post("/b/directives/t/tasks/new", {"submitted": "1", "task": "自查"})
    assert missing.status_code == 422 and "请填写“文件”" in missing.text and 'value="自查"' in missing.text
    for department, assignee in (("口腔种植中心", "zhao_lei"), ("医务部", "wang_jun")):
        made = clerk.post("/b/directives/t/tasks/new", {"submitted": "1", "task": f"{department}自查", "document": doc,
                                                         "department": department, "assignee": assignee,
                                                         "then": "new", "view": "all"}, follow_redirects=False)
        assert made.status_code == 303 and "/new?view=all&added=" in made.headers["location"], made.text
    row = record_row(ws, "directives", "documents", doc)
    assert row["task_total"] == 2
