"""Lookups and rollups show only what comes from linked records the reader may read.

A task's lookups of its document, and a document's rollups of its tasks, are computed for
each reader from the linked records their `rows:` rule lets them read: in records, lists,
exports, filters, sorts, searches and groups. Readers without a row rule on the linked table
see the stored values, and a page costs one query per link field, not one per row.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine import NotFoundError
from engine.transfer import export_rows

WORKSPACE = """\
workspace: linked
name: Linked
roles:
  admin: {name: admin, admin: true}
  staff: {name: staff}
  director: {name: director}
people:
  admin: {name: Admin, roles: [admin]}
  li: {name: 李四, roles: [staff]}
  wang: {name: 王芳, roles: [staff]}
  he: {name: 何院长, roles: [director]}
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
      deadline: {type: date, name: 截止日期}
      owners: {type: person, name: 责任人, multiple: true}
      task_count: {type: rollup, name: 任务数, link: tasks, field: task, function: count}
      task_notes: {type: rollup, name: 任务反馈, link: tasks, field: note, function: concat}
      task_names: {type: lookup, name: 任务, link: tasks, field: task}
  tasks:
    name: 任务
    primary: task
    fields:
      task: {type: text, name: 任务内容}
      document: {type: link, name: 文件, table: documents, multiple: false, inverse: tasks, inverse_name: 任务}
      assignee: {type: person, name: 负责人}
      note: {type: text, name: 反馈}
      doc_title: {type: lookup, name: 文件标题, link: document, field: title}
      deadline: {type: lookup, name: 截止日期, link: document, field: deadline}
      doc_count: {type: rollup, name: 文件数, link: document, field: title, function: count}
roles:
  staff:
    documents: {access: read, rows: {owners: {contains: $me}}}
    tasks: {access: read, rows: {assignee: $me}}
  director:
    documents: {access: read}
    tasks: {access: read}
"""


@pytest.fixture
def dirs(make_workspace: Any) -> Any:
    ws = make_workspace({"dirs": BASE}, WORKSPACE)
    docs, tasks = ws.base("dirs").table("documents"), ws.base("dirs").table("tasks")
    r = {"D1": docs.create({"title": "LI-DOC", "deadline": "2026-07-01", "owners": ["li"]}, actor="admin")["id"],
         "D2": docs.create({"title": "HIDDEN-DOC", "deadline": "2026-09-09", "owners": ["wang"]}, actor="admin")["id"]}
    r["T1"] = tasks.create({"task": "li-task-1", "document": [r["D1"]], "assignee": "li", "note": "LI-NOTE"}, actor="admin")["id"]
    r["T2"] = tasks.create({"task": "li-task-2", "document": [r["D2"]], "assignee": "li"}, actor="admin")["id"]
    r["T3"] = tasks.create({"task": "WANG-TASK", "document": [r["D1"]], "assignee": "wang", "note": "WANG-NOTE"},
                           actor="admin")["id"]
    return ws, docs, tasks, r


def test_lookups_show_nothing_from_a_linked_record_the_reader_cannot_read(dirs: Any) -> None:
    ws, docs, tasks, r = dirs
    with pytest.raises(NotFoundError):
        docs.get(r["D2"], actor="li")
    assert tasks.get(r["T2"], actor="admin")["fields"]["doc_title"] == ["HIDDEN-DOC"]
    mine = tasks.get(r["T2"], actor="li")["fields"]
    assert "doc_title" not in mine and "deadline" not in mine and mine["doc_count"] == 0
    own = tasks.get(r["T1"], actor="li")["fields"]
    assert own["doc_title"] == ["LI-DOC"] and own["deadline"] == ["2026-07-01"] and own["doc_count"] == 1
    listed = tasks.query(actor="li").records
    assert {rec["id"] for rec in listed} == {r["T1"], r["T2"]}
    text = json.dumps([listed, export_rows(tasks, actor="li")], ensure_ascii=False)
    assert "HIDDEN-DOC" not in text and "2026-09-09" not in text and "LI-DOC" in text


def test_filters_sorts_search_and_groups_cannot_probe_hidden_linked_values(dirs: Any) -> None:
    ws, docs, tasks, r = dirs

    def ids(**query: Any) -> set[str]:
        return {rec["id"] for rec in tasks.query(actor="li", **query).records}

    assert ids(filter={"doc_title": "HIDDEN-DOC"}) == set()
    assert ids(filter={"deadline": "2026-09-09"}) == set()
    assert ids(filter={"doc_count": 1}) == {r["T1"]}
    assert ids(filter={"formula": "FIND('HIDDEN', ARRAYJOIN({doc_title}))"}) == set()
    assert ids(search="HIDDEN") == set() and ids(search="LI-DOC") == {r["T1"]}
    assert ids(filter={"doc_title": {"is_empty": True}}) == {r["T2"]}
    assert tasks.count(actor="li", filter={"doc_title": "HIDDEN-DOC"}) == 0
    assert "HIDDEN-DOC" not in json.dumps(tasks.group(actor="li", by="doc_title"), ensure_ascii=False)
    assert [rec["id"] for rec in tasks.query(actor="li", sort=["-deadline"]).records] == [r["T1"], r["T2"]]
    # The stored values are what readers without a row rule on documents compare.
    assert {rec["id"] for rec in tasks.query(actor="he", filter={"doc_title": "HIDDEN-DOC"}).records} == {r["T2"]}


def test_rollups_and_lookups_of_tasks_count_only_readable_tasks(dirs: Any) -> None:
    ws, docs, tasks, r = dirs
    full = docs.get(r["D1"], actor="admin")["fields"]
    assert full["task_count"] == 2 and full["task_names"] == ["li-task-1", "WANG-TASK"]
    seen = docs.get(r["D1"], actor="li")["fields"]
    assert seen["task_count"] == 1 and seen["task_names"] == ["li-task-1"] and seen["task_notes"] == "LI-NOTE"
    assert "WANG" not in json.dumps(docs.query(actor="li").records, ensure_ascii=False)
    assert docs.get(r["D1"], actor="he")["fields"] == full  # no row rule on tasks: nothing changes


def test_a_page_costs_one_query_per_link_not_one_per_row(dirs: Any) -> None:
    ws, docs, tasks, r = dirs
    tasks.insert_many([{"task": f"t{i}", "document": [r["D1" if i % 2 else "D2"]], "assignee": "li"} for i in range(60)],
                      actor="admin")
    statements: list[str] = []
    conn = ws.storage.conn  # this thread's reader
    conn.set_trace_callback(statements.append)
    try:
        page = tasks.query(actor="li", limit=50)
    finally:
        conn.set_trace_callback(None)
    assert len(page.records) == 50
    linked = [s for s in statements if '"dirs__documents"' in s.split(" WHERE ")[0] and "_id IN" in s]
    assert len(linked) == 1, "\n".join(statements)
    assert sum(1 for rec in page.records if rec["fields"].get("doc_title") == ["HIDDEN-DOC"]) == 0


CHAIN = """\
base: chain
name: 链
tables:
  docs:
    name: 文件
    primary: title
    fields:
      title: {type: text, name: 标题}
      owner: {type: person, name: 责任人}
  tasks:
    name: 任务
    primary: task
    fields:
      task: {type: text, name: 任务}
      doc: {type: link, name: 文件, table: docs}
      doc_title: {type: lookup, name: 文件标题, link: doc, field: title}
      title_f: {type: formula, name: 标题公式, formula: "ARRAYJOIN({doc_title})"}
  steps:
    name: 步骤
    primary: step
    fields:
      step: {type: text, name: 步骤}
      task: {type: link, name: 任务, table: tasks}
      via_doc: {type: lookup, name: 所属文件, link: task, field: doc_title}
roles:
  staff:
    docs: {access: read, rows: {owner: $me}}
    tasks: {access: read}
    steps: {access: read}
"""


def test_a_lookup_of_a_lookup_keeps_to_the_rule_further_along(make_workspace: Any) -> None:
    ws = make_workspace({"chain": CHAIN}, WORKSPACE)
    docs, tasks, steps = (ws.base("chain").table(k) for k in ("docs", "tasks", "steps"))
    hidden = docs.create({"title": "HIDDEN-DOC", "owner": "wang"}, actor="admin")["id"]
    mine = docs.create({"title": "LI-DOC", "owner": "li"}, actor="admin")["id"]
    t_hidden = tasks.create({"task": "t1", "doc": [hidden]}, actor="admin")["id"]
    t_mine = tasks.create({"task": "t2", "doc": [mine]}, actor="admin")["id"]
    s_hidden = steps.create({"step": "s1", "task": [t_hidden]}, actor="admin")["id"]
    steps.create({"step": "s2", "task": [t_mine]}, actor="admin")
    # The rule is on docs only; steps reach it through tasks. li reads every task and step.
    assert "via_doc" not in steps.get(s_hidden, actor="li")["fields"]
    assert steps.get(s_hidden, actor="admin")["fields"]["via_doc"] == ["HIDDEN-DOC"]
    listed = {r["fields"]["step"]: r["fields"].get("via_doc") for r in steps.query(actor="li").records}
    assert listed == {"s1": None, "s2": ["LI-DOC"]}
    assert steps.count(actor="li", filter={"via_doc": {"contains": "HIDDEN"}}) == 0  # no probing by filter
    assert "HIDDEN-DOC" not in json.dumps(export_rows(steps, actor="li"), ensure_ascii=False)


def test_a_formula_of_a_restricted_lookup_is_hidden_from_that_reader(make_workspace: Any) -> None:
    ws = make_workspace({"chain": CHAIN}, WORKSPACE)
    docs, tasks = ws.base("chain").table("docs"), ws.base("chain").table("tasks")
    hidden = docs.create({"title": "HIDDEN-DOC", "owner": "wang"}, actor="admin")["id"]
    task = tasks.create({"task": "t1", "doc": [hidden]}, actor="admin")["id"]
    assert tasks.get(task, actor="admin")["fields"]["title_f"] == "HIDDEN-DOC"
    # The formula's stored value is computed from every linked record: for li, whose rule
    # hides the document, it is not shown, filtered on, searched or exported.
    assert "title_f" not in tasks.get(task, actor="li")["fields"]
    with pytest.raises(Exception, match="unknown field"):
        tasks.count(actor="li", filter={"title_f": "HIDDEN-DOC"})
    assert tasks.query(actor="li", search="HIDDEN").records == []
    assert "HIDDEN-DOC" not in json.dumps(export_rows(tasks, actor="li"), ensure_ascii=False)


VIEWS = """\
base: v
name: V
tables:
  t:
    name: T
    primary: title
    fields:
      title: {type: text, name: 标题}
      fee: {type: number, name: 费用}
      phone: {type: phone, name: 电话}
    views:
      plain: {type: grid, name: 全部}
      cheap: {type: grid, name: 低费用, filter: {fee: {lt: 100}}}
      by_fee: {type: grid, name: 按费用, sort: [-fee]}
      by_phone: {type: grid, name: 按电话, filter: {formula: "LEN({phone}) > 3"}}
roles:
  staff:
    t: {access: read, fields: {fee: none, phone: {access: read, mask: phone}}}
"""


def test_a_view_that_filters_or_sorts_by_what_a_person_cannot_see_is_not_theirs(make_workspace: Any) -> None:
    ws = make_workspace({"v": VIEWS}, WORKSPACE)
    table = ws.base("v").table("t")
    views = table.tdef.views
    assert [k for k, v in views.items() if table.usable_view(v, "admin")] == ["plain", "cheap", "by_fee", "by_phone"]
    # li may not see fees and sees phones masked: only the plain view is theirs.
    assert [k for k, v in views.items() if table.usable_view(v, "li")] == ["plain"]
