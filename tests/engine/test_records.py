"""The record service: create/update/delete through one audited path, links, computed values."""

from __future__ import annotations

import json
import random
from datetime import UTC
from typing import Any

import pytest

from engine import NotFoundError, PermissionDenied, QueryError, ValidationError

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

BASE = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      status: {type: single_select, name: 状态, options: [待受理, 处理中, 已办结], default: 待受理}
      owner: {type: person, name: 负责人}
      reporter: {type: person, name: 报告人, default: $me}
      tags: {type: multi_select, name: 标签, options: [紧急, 投诉, 咨询]}
      amount: {type: number, name: 金额, precision: 2}
      done: {type: checkbox, name: 已完成}
      received: {type: datetime, name: 受理时间, default: $now}
      due: {type: formula, name: 时限, formula: "DATEADD({received}, 3, 'days')"}
      double: {type: formula, name: 双倍, formula: "{amount} * 2"}
      no: {type: autonumber, name: 编号}
      customer: {type: link, name: 客户, table: customers, multiple: false, inverse: tickets, inverse_name: 工单}
      customer_name: {type: lookup, name: 客户名, link: customer, field: name}
  customers:
    name: 客户
    primary: name
    fields:
      name: {type: text, name: 姓名}
      phone: {type: phone, name: 电话}
      total: {type: rollup, name: 金额合计, link: tickets, field: amount, function: sum}
      count: {type: rollup, name: 工单数, link: tickets, field: title, function: count}
roles:
  handler:
    tickets: {access: edit, edit_rows: {owner: $me}, fields: {amount: read}}
    customers: {access: read, fields: {phone: {access: read, mask: phone}}}
  viewer:
    tickets: {access: read, rows: {status: 已办结}, fields: {amount: none}}
"""


@pytest.fixture
def ws(make_workspace: Any) -> Any:
    return make_workspace({"desk": BASE})


def test_create_applies_defaults_types_and_computed_values(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rec = tickets.create({"title": "空调太冷", "amount": "1,234.567", "tags": "紧急、投诉", "done": "是",
                          "received": "2026-11-25 09:00"}, actor="admin")
    f = rec["fields"]
    assert rec["id"].startswith("rec") and len(rec["id"]) == 17
    assert f["status"] == "待受理" and f["reporter"] == "admin"
    assert f["amount"] == 1234.57 and f["tags"] == ["紧急", "投诉"] and f["done"] is True
    assert f["received"] == "2026-11-25T01:00:00.000Z"
    assert f["double"] == 2469.14
    assert str(f["due"]).startswith("2026-11-28")
    assert f["no"] == 1
    assert tickets.create({"title": "第二个"}, actor="admin")["fields"]["no"] == 2


def test_bad_values_are_refused_with_field_messages_and_nothing_is_stored(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    with pytest.raises(ValidationError) as info:
        tickets.create({"title": "x", "status": "已删除", "amount": "很多"}, actor="admin")
    assert "状态" in info.value.errors["status"] and "待受理" in info.value.errors["status"]
    assert "金额" in info.value.errors["amount"]
    with pytest.raises(ValidationError) as info:
        tickets.create({"status": "处理中"}, actor="admin")
    assert "标题 is required" in info.value.errors["title"]
    assert tickets.count(actor="admin") == 0


def test_links_keep_both_sides_and_lookups_rollups_in_step(ws: Any) -> None:
    customers = ws.base("desk").table("customers")
    tickets = ws.base("desk").table("tickets")
    c1 = customers.create({"name": "张三"}, actor="admin")["id"]
    c2 = customers.create({"name": "王五"}, actor="admin")["id"]
    t1 = tickets.create({"title": "a", "amount": 10, "customer": c1}, actor="admin")["id"]
    t2 = tickets.create({"title": "b", "amount": 5, "customer": [c1]}, actor="admin")["id"]
    c = customers.get(c1, actor="admin")["fields"]
    assert c["tickets"] == [t1, t2] and c["total"] == 15 and c["count"] == 2
    assert tickets.get(t1, actor="admin")["fields"]["customer_name"] == ["张三"]
    tickets.update(t2, {"amount": 7}, actor="admin")
    assert customers.get(c1, actor="admin")["fields"]["total"] == 17
    tickets.update(t2, {"customer": c2}, actor="admin")
    assert customers.get(c1, actor="admin")["fields"]["tickets"] == [t1]
    assert customers.get(c2, actor="admin")["fields"]["total"] == 7
    customers.update(c1, {"name": "张三丰"}, actor="admin")
    assert tickets.get(t1, actor="admin")["fields"]["customer_name"] == ["张三丰"]
    tickets.delete(t1, actor="admin")
    assert "tickets" not in customers.get(c1, actor="admin")["fields"]
    tickets.restore(t1, actor="admin")
    assert customers.get(c1, actor="admin")["fields"]["tickets"] == [t1]
    with pytest.raises(ValidationError):
        tickets.create({"title": "c", "customer": "recAAAAAAAAAAAAAA"}, actor="admin")


def test_permissions_rows_fields_and_masks(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    customers = ws.base("desk").table("customers")
    mine = tickets.create({"title": "mine", "owner": "li", "amount": 3}, actor="admin")["id"]
    other = tickets.create({"title": "other", "owner": "boss", "status": "已办结", "amount": 4}, actor="admin")["id"]
    tickets.update(mine, {"status": "处理中"}, actor="li")
    with pytest.raises(PermissionDenied):
        tickets.update(other, {"status": "处理中"}, actor="li")
    with pytest.raises(ValidationError):
        tickets.update(mine, {"amount": 9}, actor="li")
    # The viewer sees only closed tickets, never the amount, and totals agree.
    page = tickets.query(actor="zhao")
    assert [r["id"] for r in page.records] == [other] and page.total == 1
    assert "amount" not in page.records[0]["fields"]
    with pytest.raises(NotFoundError):
        tickets.get(mine, actor="zhao")
    with pytest.raises(QueryError) as info:
        tickets.query(actor="zhao", filter={"amount": {"gt": 1}})
    cid = customers.create({"name": "张三", "phone": "13812345678"}, actor="admin")["id"]
    assert customers.get(cid, actor="li")["fields"]["phone"] == "*******5678"
    with pytest.raises(NotFoundError):
        customers.get(cid, actor="zhao")
    del info


def test_query_filters_sorts_pages_and_groups(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    for i in range(25):
        tickets.create({"title": f"t{i:02d}", "amount": i, "status": ["待受理", "处理中", "已办结"][i % 3],
                        "tags": ["紧急"] if i % 2 else ["咨询", "投诉"]}, actor="admin")
    page = tickets.query(actor="admin", filter={"amount": {"gte": 10}, "status": {"neq": "已办结"}}, sort=["-amount"], limit=5)
    assert page.total == 10 and [r["fields"]["amount"] for r in page.records] == [24, 22, 21, 19, 18]
    page2 = tickets.query(actor="admin", filter={"amount": {"gte": 10}, "status": {"neq": "已办结"}}, sort=["-amount"],
                          limit=5, offset=page.cursor)
    assert [r["fields"]["amount"] for r in page2.records] == [16, 15, 13, 12, 10] and page2.next_offset is None
    assert tickets.count(actor="admin", filter={"or": [{"tags": {"has_any": ["投诉"]}}, {"amount": 1}]}) == 14
    assert tickets.count(actor="admin", filter={"not": {"tags": {"has_all": ["咨询", "投诉"]}}}) == 12
    assert dict(tickets.group(actor="admin", by="status")) == {"处理中": 8.0, "已办结": 8.0, "待受理": 9.0}
    assert dict(tickets.group(actor="admin", by="tags"))["紧急"] == 12.0
    assert tickets.aggregate(actor="admin", aggregate="sum", field="amount") == sum(range(25))
    assert tickets.count(actor="admin", filter={"formula": "AND({amount} > 20, {status} = '处理中')"}) == 1
    assert tickets.count(actor="admin", filter={"received": {"today": True}}) == 25
    assert tickets.query(actor="admin", search="t0", limit=100).total == 10


def test_search_finds_substrings_ignoring_ascii_case_and_takes_wildcards_literally(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    for title in ["Root canal 根管治疗", "50% off", "a_b", "axb", "back\\slash", "ROOT check"]:
        tickets.create({"title": title}, actor="admin")

    def found(term: str) -> list[str]:
        return sorted(r["fields"]["title"] for r in tickets.query(actor="admin", search=term, limit=100).records)

    assert found("root") == ["ROOT check", "Root canal 根管治疗"]
    assert found("根管") == ["Root canal 根管治疗"]
    assert found("%") == ["50% off"]
    assert found("a_b") == ["a_b"]  # not "axb": _ is not a wildcard here
    assert found("k\\s") == ["back\\slash"]
    assert found("处理中") == []  # a select option matches only records that have it


def test_injection_in_filter_values_and_sort_is_inert(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    tickets.create({"title": "x'; DROP TABLE desk__tickets; --"}, actor="admin")
    assert tickets.count(actor="admin", filter={"title": {"contains": "'; DROP"}}) == 1
    assert tickets.count(actor="admin", filter={"title": "\" OR 1=1 --"}) == 0
    with pytest.raises(Exception) as info:
        tickets.query(actor="admin", sort=['title" DESC; --'])
    assert "unknown field" in str(info.value)
    assert tickets.count(actor="admin") == 1


def test_audit_log_replays_to_the_current_state(ws: Any) -> None:
    rng = random.Random(7)
    tickets = ws.base("desk").table("tickets")
    customers = ws.base("desk").table("customers")
    cids = [customers.create({"name": f"c{i}"}, actor="admin")["id"] for i in range(3)]
    ids: list[str] = []
    for _ in range(120):
        op = rng.random()
        if op < 0.35 or not ids:
            ids.append(tickets.create({"title": f"t{rng.randint(0, 999)}", "amount": rng.randint(0, 50),
                                       "customer": rng.choice(cids)}, actor="admin")["id"])
        elif op < 0.8:
            tickets.update(rng.choice(ids), rng.choice([{"status": rng.choice(["处理中", "已办结"])}, {"amount": rng.randint(0, 9)},
                                                        {"customer": rng.choice(cids)}, {"owner": "li"}, {"tags": ["紧急"]}]), actor="admin")
        else:
            victim = rng.choice(ids)
            tickets.delete(victim, actor="admin")
            ids.remove(victim)
    for table in (tickets, customers):
        replay: dict[str, dict[str, Any]] = {}
        alive: dict[str, bool] = {}
        rows = ws.storage.conn.execute("SELECT record, action, field, new FROM _gb_audit WHERE base = 'desk' AND tbl = ? ORDER BY id",
                                       (table.key,)).fetchall()
        for record, action, field, new in rows:
            state = replay.setdefault(record, {})
            if action in ("delete", "restore"):
                alive[record] = action == "restore"
                continue
            alive.setdefault(record, True)
            if action == "create" and field is None:
                state.update(json.loads(new))
            elif field:
                state[field] = None if new is None else json.loads(new)
        writable = [k for k, f in table.fields.items() if not f.computed]
        cols = ", ".join(f'"{k}"' for k in writable)
        current = {r[0]: dict(zip(writable, r[2:], strict=True)) for r in
                   ws.storage.conn.execute(f'SELECT _id, _deleted_at, {cols} FROM "desk__{table.key}"') if r[1] is None}
        assert {k for k, v in alive.items() if v} == set(current)
        for record, values in current.items():
            for key in writable:
                assert replay[record].get(key) == values[key], (table.key, record, key)


def test_history_hides_unreadable_fields(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"title": "a", "amount": 1, "status": "已办结"}, actor="admin")["id"]
    tickets.update(rid, {"amount": 2}, actor="admin")
    admin_fields = {e["field"] for e in tickets.history(rid, actor="admin")}
    viewer_fields = {e["field"] for e in tickets.history(rid, actor="zhao")}
    assert "amount" in admin_fields and "amount" not in viewer_fields
    assert any(e["field"] == "amount" and e["old"] == "1.00" and e["new"] == "2.00" for e in tickets.history(rid, actor="admin"))


def test_lookup_is_no_more_visible_than_its_source(make_workspace: Any) -> None:
    base = BASE.replace("customer_name: {type: lookup, name: 客户名, link: customer, field: name}",
                        "customer_name: {type: lookup, name: 客户名, link: customer, field: name}\n"
                        "      customer_phone: {type: lookup, name: 客户电话, link: customer, field: phone}")
    ws = make_workspace({"desk": base})
    customers = ws.base("desk").table("customers")
    tickets = ws.base("desk").table("tickets")
    cid = customers.create({"name": "张三", "phone": "13812345678"}, actor="admin")["id"]
    tid = tickets.create({"title": "a", "owner": "li", "customer": cid, "status": "已办结"}, actor="admin")["id"]
    assert tickets.get(tid, actor="admin")["fields"]["customer_phone"] == ["13812345678"]
    assert tickets.get(tid, actor="li")["fields"]["customer_phone"] == "*******5678"
    # The viewer cannot read customers at all, so neither lookup reaches them.
    seen = tickets.get(tid, actor="zhao")["fields"]
    assert "customer_phone" not in seen and "customer_name" not in seen


def test_clock_formulas_are_refreshed_and_announced(make_workspace: Any) -> None:
    from datetime import datetime, timedelta

    base = BASE.replace('double: {type: formula, name: 双倍, formula: "{amount} * 2"}',
                        'double: {type: formula, name: 双倍, formula: "{amount} * 2"}\n'
                        "      overdue: {type: formula, name: 超时, formula: \"AND({status} != '已办结', IS_BEFORE({due}, NOW()))\"}")
    ws = make_workspace({"desk": base})
    start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    ws.clock = lambda: start
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"title": "t", "received": "2026-11-20 09:00"}, actor="admin")["id"]
    assert tickets.get(rid, actor="admin")["fields"].get("overdue") is False
    assert tickets.count(actor="admin", filter={"overdue": True}) == 0
    ws.clock = lambda: start + timedelta(days=4)
    assert ws.refresh_time_dependent() == 1
    assert tickets.count(actor="admin", filter={"overdue": True}) == 1
    event = ws.outbox.latest()
    assert event.kind == "updated" and event.changes == {"overdue": [0, 1]} and event.data["clock"] is True
    assert ws.refresh_time_dependent() == 0  # nothing moved since


def test_filter_formulas_can_use_the_record_id_and_times(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    first = tickets.create({"title": "a"}, actor="admin")["id"]
    tickets.create({"title": "b"}, actor="admin")
    assert [r["id"] for r in tickets.query(actor="admin", filter={"formula": f"RECORD_ID() = '{first}'"}).records] == [first]
    assert tickets.count(actor="admin", filter={"formula": "RECORD_ID() != ''"}) == 2
    assert tickets.count(actor="admin", filter={"formula": "IS_AFTER(CREATED_TIME(), '2000-01-01')"}) == 2
    assert tickets.count(actor="admin", filter={"formula": "AND({title} = 'b', LAST_MODIFIED_TIME() != BLANK())"}) == 1


LOOKUPS = """\
base: office
name: Office
tables:
  docs:
    name: 文件
    primary: title
    fields:
      title: {type: text, name: 标题}
      owners: {type: person, name: 责任人, multiple: true}
      due: {type: datetime, name: 时限}
      level: {type: single_select, name: 级别, options: [一般, 紧急]}
  tasks:
    name: 任务
    primary: task
    fields:
      task: {type: text, name: 任务}
      doc: {type: link, name: 文件, table: docs}
      doc_owners: {type: lookup, name: 文件责任人, link: doc, field: owners}
      doc_due: {type: lookup, name: 文件时限, link: doc, field: due}
      doc_title: {type: lookup, name: 文件标题, link: doc, field: title}
"""


def test_a_lookup_shows_its_values_as_the_source_field_does(make_workspace: Any) -> None:
    ws = make_workspace({"office": LOOKUPS})
    docs, tasks = ws.base("office").table("docs"), ws.base("office").table("tasks")
    doc = docs.create({"title": "通知", "owners": ["li", "boss"], "due": "2026-06-10 17:00", "level": "紧急"},
                      actor="admin")["id"]
    rec = tasks.get(tasks.create({"task": "自查", "doc": [doc]}, actor="admin")["id"], actor="admin")
    # People by name (not key) and times in the workspace's timezone, as on the document itself.
    assert tasks.display(rec, "doc_owners") == "李四, 王主任"
    assert tasks.display(rec, "doc_due") == docs.display(docs.get(doc, actor="admin"), "due") == "2026-06-10 17:00"
    assert tasks.display(rec, "doc_title") == "通知"
