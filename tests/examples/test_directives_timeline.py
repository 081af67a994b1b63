"""上级文件响应 on a timeline: documents from 收文日期 to 要求完成日期 in lanes by 发文机关, and every
document's tasks in one lane per document, coloured by 执行状态; a clerk drags a document's deadline."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

from engine import Workspace


def test_documents_and_their_tasks_on_timelines(ws: Workspace, as_person: Any) -> None:
    docs, tasks = ws.base("directives").table("documents"), ws.base("directives").table("tasks")
    today = ws.now().astimezone(ws.tz).date()
    doc = docs.create({"title": "关于开展院感自查的通知", "issuer": "市卫健委", "received": today.isoformat(),
                       "deadline": (today + timedelta(days=10)).isoformat(), "departments": ["zhao_lei"]},
                      actor="admin")
    for department, status in (("口腔种植中心", "执行中"), ("医务部", "未开始")):
        tasks.create({"task": f"{department}自查", "document": [doc["id"]], "department": department,
                      "assignee": "zhao_lei", "status": status}, actor="admin")
    admin = as_person("admin")
    page = admin.get("/b/directives/t/documents/timeline/timeline?zoom=week")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "市卫健委" in text and "关于开展院感自查的通知" in text
    assert 'aria-current="page">时间线' in text  # the view's own tab
    lane_tasks = admin.get("/b/directives/t/tasks/timeline/timeline?zoom=week")
    tasks_text = html.unescape(lane_tasks.text)
    lanes = [lane.strip() for lane in re.findall(r'<h3 class="tl-lane">([^<(]+)', tasks_text)]
    assert "关于开展院感自查的通知" in lanes  # one lane per document, named by its title
    bars = re.findall(r'<a class="tl-bar[^"]*"[^>]*aria-label="([^"]+)"', tasks_text)
    mine = [b for b in bars if "自查" in b]
    assert len(mine) == 2 and all(f"{today.isoformat()} – {(today + timedelta(days=10)).isoformat()}" in b for b in mine)
    assert "opt-blue" in tasks_text  # 执行中 is blue
    assert "tl-movable" not in tasks_text  # a task's dates come from its document: not dragged here
    # the document's bar is movable for an admin; moving its end moves the tasks' bars with it
    token = admin.csrf
    moved = admin.client.post("/b/directives/t/documents/timeline/timeline/move",
                              data={"record": doc["id"], "days": "7", "edge": "end", "csrf_token": token})
    assert moved.status_code == 200 and moved.json()["end"] == (today + timedelta(days=17)).isoformat()
    assert tasks.get(tasks.query(actor="admin", filter={"task": "医务部自查"}).records[0]["id"],
                     actor="admin")["fields"]["due_on"] == (today + timedelta(days=17)).isoformat()
    assert date.fromisoformat(docs.get(doc["id"], actor="admin")["fields"]["deadline"]) == today + timedelta(days=17)
