"""A link lists only the linked records its reader may read (issue 17, item 7).

Staff read only their own tasks; a document's 执行任务 link listed every task's id while its
count rollup said 1. Now a link, like its lookups and rollups, names only readable records: in
records, lists, the API, the record page, exports, history, and when filtered, sorted or
grouped on. A write by someone who cannot see some linked records keeps those links.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.auth import digest, new_secret
from engine.transfer import export_rows
from tests_support import sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

WORKSPACE = """\
workspace: linked
name: Linked
roles:
  admin: {name: admin, admin: true}
  staff: {name: staff}
people:
  admin: {name: Admin, roles: [admin], password: demo1234}
  li: {name: 李四, roles: [staff], password: demo1234}
  wang: {name: 王芳, roles: [staff], password: demo1234}
"""
BASE = """\
base: dirs
name: 上级文件
tables:
  documents:
    name: 文件
    primary: title
    fields:
      title: {type: text, name: 标题}
      owners: {type: person, name: 责任人, multiple: true}
      task_count: {type: rollup, name: 任务数, link: tasks, field: task, function: count}
  tasks:
    name: 任务
    primary: task
    fields:
      task: {type: text, name: 任务内容}
      document: {type: link, name: 文件, table: documents, multiple: false, inverse: tasks, inverse_name: 执行任务}
      assignee: {type: person, name: 负责人}
roles:
  staff:
    documents: {access: edit, rows: {owners: {contains: $me}}}
    tasks: {access: read, rows: {assignee: $me}}
"""


@pytest.fixture
def dirs(make_workspace: Any) -> Any:
    ws = make_workspace({"dirs": BASE}, WORKSPACE)
    docs, tasks = ws.base("dirs").table("documents"), ws.base("dirs").table("tasks")
    doc = docs.create({"title": "SHARED-DOC", "owners": ["li", "wang"]}, actor="admin")["id"]
    mine = tasks.create({"task": "li-task", "document": [doc], "assignee": "li"}, actor="admin")["id"]
    hidden = tasks.create({"task": "WANG-TASK", "document": [doc], "assignee": "wang"}, actor="admin")["id"]
    lonely = docs.create({"title": "LONELY-DOC", "owners": ["li"]}, actor="admin")["id"]
    tasks.create({"task": "WANG-TASK-2", "document": [lonely], "assignee": "wang"}, actor="admin")
    return ws, docs, tasks, {"doc": doc, "mine": mine, "hidden": hidden, "lonely": lonely}


def test_a_link_lists_only_readable_records_like_its_rollup_counts(dirs: Any) -> None:
    ws, docs, tasks, r = dirs
    assert docs.get(r["doc"], actor="admin")["fields"]["tasks"] == [r["mine"], r["hidden"]]
    seen = docs.get(r["doc"], actor="li")["fields"]
    assert seen["tasks"] == [r["mine"]] and seen["task_count"] == 1
    assert "tasks" not in docs.get(r["lonely"], actor="li")["fields"]
    listed = json.dumps(docs.query(actor="li").records)
    assert r["hidden"] not in listed and r["mine"] in listed
    header, rows = export_rows(docs, actor="li")
    assert r["hidden"] not in json.dumps(rows) and "WANG" not in json.dumps(rows, ensure_ascii=False)


def test_filters_sorts_and_groups_on_a_link_see_only_readable_records(dirs: Any) -> None:
    ws, docs, tasks, r = dirs

    def ids(flt: Any) -> set[str]:
        return {rec["id"] for rec in docs.query(actor="li", filter=flt).records}

    assert ids({"tasks": r["hidden"]}) == set()  # no probing which document a hidden task belongs to
    assert ids({"tasks": {"has_any": [r["hidden"]]}}) == set()
    assert ids({"tasks": r["mine"]}) == {r["doc"]}
    assert ids({"tasks": {"is_empty": True}}) == {r["lonely"]}
    assert ids({"tasks": {"is_not_empty": True}}) == {r["doc"]}
    assert docs.count(actor="li", filter={"tasks": {"is_empty": True}}) == 1
    groups = docs.group(actor="li", by="tasks")
    assert r["hidden"] not in json.dumps(groups)
    # The admin, without a row rule, still compares every link.
    assert {rec["id"] for rec in docs.query(actor="admin", filter={"tasks": r["hidden"]}).records} == {r["doc"]}


def test_history_of_a_link_names_only_readable_records(dirs: Any) -> None:
    ws, docs, tasks, r = dirs
    entries = docs.history(r["doc"], actor="li")
    assert r["hidden"] not in json.dumps(entries)
    assert any(r["mine"] in str(e.get("new")) for e in entries if e["field"] == "tasks")


def test_a_writer_keeps_the_links_they_cannot_see(dirs: Any) -> None:
    ws, docs, tasks, r = dirs
    # li sees one task on the document and saves the link as shown, adding nothing.
    docs.update(r["doc"], {"tasks": [r["mine"]], "title": "SHARED-DOC-2"}, actor="li")
    assert docs.get(r["doc"], actor="admin")["fields"]["tasks"] == [r["mine"], r["hidden"]]
    # Removing the one they see removes only that one.
    docs.update(r["doc"], {"tasks": []}, actor="li")
    assert docs.get(r["doc"], actor="admin")["fields"]["tasks"] == [r["hidden"]]


def test_the_api_and_the_record_page_list_only_readable_records(dirs: Any) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from gridbase.app import create_app

    ws, docs, tasks, r = dirs
    app = create_app(ws, automations=False)
    with TestClient(app, base_url="http://testserver") as client:
        assert sign_in(client, "li", "demo1234").status_code == 303
        page = client.get(f"/b/dirs/t/documents/r/{r['doc']}")
        assert page.status_code == 200 and "li-task" in page.text and r["hidden"] not in page.text
        grid = client.get("/b/dirs/t/documents")
        assert grid.status_code == 200 and r["hidden"] not in grid.text
        csv = client.get("/b/dirs/t/documents/export.csv")
        # Links go out by the linked record's primary field (li-task), the hidden one not at all.
        assert csv.status_code == 200 and "li-task" in csv.text and r["hidden"] not in csv.text
        assert "WANG" not in csv.text
        secret = new_secret("gbt_")
        with ws.storage.transaction():  # an API token, as `gridbase token` makes one
            ws.storage.conn.execute("INSERT INTO _gb_tokens (person, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                                    ("li", "t", digest(secret), datetime.now(UTC).isoformat()))
        bearer = {"Authorization": f"Bearer {secret}"}
        api = client.get(f"/v0/dirs/documents/{r['doc']}", headers=bearer)
        assert api.status_code == 200, api.text
        assert api.json()["fields"]["执行任务"] == [r["mine"]]
        listed = client.get("/v0/dirs/documents", headers=bearer,
                            params={"filterByFormula": f"FIND('{r['hidden']}', ARRAYJOIN({{执行任务}}))"})
        assert listed.status_code == 200 and listed.json()["records"] == [], listed.text
        found = client.get("/v0/dirs/documents", headers=bearer,
                           params={"filterByFormula": f"FIND('{r['mine']}', ARRAYJOIN({{执行任务}}))"})
        assert [rec["id"] for rec in found.json()["records"]] == [r["doc"]]
