"""Bulk creation (imports, sample data): the same records, audit and events as one-by-one
creates, rejected rows reported one by one, and big imports that rebuild their indexes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

import engine.bulk
from engine import Workspace
from engine.errors import ValidationError
from engine.ids import new_record_id, new_record_ids
from engine.pg_connection import COPY_AT

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

CLINIC = """\
base: clinic
name: 诊所
tables:
  patients:
    name: 患者
    primary: name
    fields:
      name: {type: text, name: 姓名}
  visits:
    name: 就诊
    primary: title
    fields:
      title: {type: text, name: 标题, required: true}
      status: {type: single_select, name: 状态, options: [待诊, 已诊], default: 待诊}
      day: {type: date, name: 日期}
      doctor: {type: person, name: 医生}
      paid: {type: checkbox, name: 已缴费}
      amount: {type: number, name: 金额, precision: 2}
      patient: {type: link, name: 患者, table: patients, multiple: false, inverse: visits, inverse_name: 就诊}
"""

MakeWorkspace = Callable[..., Workspace]


def _indexes(ws: Workspace) -> list[tuple[str, str]]:
    return sorted(ws.storage.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name LIKE 'clinic__visits%'"))


def _clinic(make_workspace: MakeWorkspace) -> tuple[Workspace, list[str]]:
    ws = make_workspace({"clinic": CLINIC})
    patients = ws.base("clinic").table("patients").insert_many([{"name": f"患者{i}"} for i in range(5)], actor="admin")
    return ws, patients


def _rows(patients: list[str], n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row = {"title": f"就诊{i}", "day": f"2026/3/{i % 28 + 1}", "doctor": "li", "paid": "是" if i % 3 == 0 else "否",
               "amount": str(i * 1.005), "patient": [patients[i % 5]]}
        if i % 2:
            row["status"] = "已诊"  # the others get the default
        rows.append(row)
    return rows


def test_imported_records_equal_records_created_one_by_one(make_workspace: MakeWorkspace) -> None:
    ws, patients = _clinic(make_workspace)
    visits = ws.base("clinic").table("visits")
    rows = _rows(patients, 60)  # past COPY_AT: on PostgreSQL the batch goes in by COPY (engine.pg_connection)
    assert len(rows) >= COPY_AT
    result = visits.import_rows(rows, actor="admin")
    singles = [visits.create(row, actor="admin") for row in rows]
    imported = [visits.get(i, actor="admin") for i in result.ids]
    assert [r["fields"] for r in imported] == [r["fields"] for r in singles]
    assert imported[0]["fields"]["status"] == "待诊" and imported[1]["fields"]["day"] == "2026-03-02"
    # The other side of the link lists both the imported and the single records, in order.
    first = ws.base("clinic").table("patients").get(patients[0], actor="admin")
    assert first["fields"]["visits"] == [result.ids[i] for i in range(0, 60, 5)] + [singles[i]["id"] for i in range(0, 60, 5)]
    # One audit entry with the values and one event per imported record.
    conn = ws.storage.conn
    audit = dict(conn.execute("SELECT record, new FROM _gb_audit WHERE action = 'create' AND tbl = 'visits'"))
    assert json.loads(audit[result.ids[3]]) == {"title": "就诊3", "status": "已诊", "day": "2026-03-04", "doctor": "li",
                                                 "paid": 1, "amount": 3.01, "patient": json.dumps([patients[3]])}
    events = [r[0] for r in conn.execute("SELECT record FROM _gb_outbox WHERE event = 'created' AND tbl = 'visits'")]
    assert events == result.ids + [r["id"] for r in singles]


def test_on_postgresql_a_batch_of_new_rows_goes_in_by_copy(make_workspace: MakeWorkspace) -> None:
    # One COPY for the batch's rows, its audit entries and its events, not one INSERT a row (2×
    # faster imports, benchmarks/README.md); what a reader finds is the same (the test above).
    ws, patients = _clinic(make_workspace)
    if ws.storage.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's COPY")
    heard: list[str] = []
    writer = ws.storage.writer  # type: ignore[attr-defined]  # the store's one writing connection
    writer.set_trace_callback(heard.append)
    result = ws.base("clinic").table("visits").import_rows(_rows(patients, COPY_AT + 10), actor="admin")
    writer.set_trace_callback(None)
    copies = [s for s in heard if s.startswith("COPY ")]
    assert any('"clinic__visits"' in s for s in copies) and any("_gb_audit" in s for s in copies)
    assert not [s for s in heard if s.startswith('INSERT INTO "clinic__visits" (')]
    assert len(result.ids) == COPY_AT + 10
    # a batch under the threshold is still written row by row
    heard.clear()
    writer.set_trace_callback(heard.append)
    ws.base("clinic").table("visits").import_rows(_rows(patients, 3), actor="admin")
    writer.set_trace_callback(None)
    assert [s for s in heard if s.startswith('INSERT INTO "clinic__visits" (')]
    assert not [s for s in heard if s.startswith("COPY ")]


TAGGED = """\
base: clinic
name: Clinic
tables:
  tags:
    name: Tags
    primary: name
    fields:
      name: {type: text, name: Name}
  visits:
    name: Visits
    primary: title
    fields:
      title: {type: text, name: Title}
      tags: {type: link, name: Tags, table: tags, inverse: visits, inverse_name: Visits}
"""


def _tag_links(ws: Workspace) -> dict[str, list[tuple[str, int]]]:
    """Each visit's junction rows: the tags it names (by id) with their places."""
    links: dict[str, list[tuple[str, int]]] = {}
    for visit, tag, pos in ws.storage.conn.execute(
            'SELECT v._id, t._id, j.pos FROM "clinic__visits__tags__link" j JOIN "clinic__visits" v ON v._rowid = j.src '
            'JOIN "clinic__tags" t ON t._rowid = j.dst ORDER BY v._rowid, j.pos'):
        links.setdefault(visit, []).append((tag, pos))
    return links


def test_imported_links_that_repeat_a_record_equal_links_made_one_by_one(make_workspace: MakeWorkspace) -> None:
    ws = make_workspace({"clinic": TAGGED})
    tags = ws.base("clinic").table("tags").insert_many([{"name": f"tag{i}"} for i in range(4)], actor="admin")
    visits = ws.base("clinic").table("visits")
    # Cells that name a tag twice, and (the tags existing) tags other visits link to already.
    rows = [{"title": f"v{i}", "tags": [tags[i % 4], tags[(i + 1) % 4], tags[i % 4]]} for i in range(COPY_AT + 10)]
    heard: list[str] = []
    writer = getattr(ws.storage, "writer", ws.storage.conn)  # the store's one writing connection
    writer.set_trace_callback(heard.append)
    imported = visits.import_rows(rows, actor="admin").ids
    writer.set_trace_callback(None)
    singles = [visits.create(row, actor="admin")["id"] for row in rows]
    links = _tag_links(ws)
    assert [links[i] for i in imported] == [links[i] for i in singles]
    assert links[imported[5]] == [(tags[1], 0), (tags[2], 1)]  # the repeat kept its first place
    assert [visits.get(i, actor="admin")["fields"]["tags"] for i in imported] == \
        [visits.get(i, actor="admin")["fields"]["tags"] for i in singles]
    # The other side lists every visit that names it, once each.
    tag1 = ws.base("clinic").table("tags").get(tags[1], actor="admin")["fields"]["visits"]
    assert sorted(tag1) == sorted([imported[i] for i in range(len(rows)) if i % 4 in (0, 1)] +
                                  [singles[i] for i in range(len(rows)) if i % 4 in (0, 1)])
    if ws.storage.dialect.name == "postgresql":
        # the junction rows went in by one COPY, not an INSERT ... ON CONFLICT a row
        assert [s for s in heard if s.startswith('COPY "clinic__visits__tags__link"')]
        assert not [s for s in heard if s.startswith('INSERT OR IGNORE INTO "clinic__visits__tags__link"')]
    # Importing into the other side (its rows' links stored as the junction's dst) alike.
    more = ws.base("clinic").table("tags").import_rows(
        [{"name": f"more{i}", "visits": [imported[i], singles[i], imported[i]]} for i in range(COPY_AT)], actor="admin").ids
    again = _tag_links(ws)
    assert sorted(t for t, _ in again[imported[7]]) == sorted([tags[3], tags[0], more[7]])
    assert sorted(ws.base("clinic").table("tags").get(more[7], actor="admin")["fields"]["visits"]) == \
        sorted([imported[7], singles[7]])


def test_an_import_keeps_insert_or_ignore_when_a_stored_link_row_names_its_new_rows(
        make_workspace: MakeWorkspace) -> None:
    # A junction row left behind for a rowid the import will give again: the import still
    # goes in (the stored row wins, as it always did), rather than failing on its key.
    ws = make_workspace({"clinic": TAGGED})
    tags = ws.base("clinic").table("tags").insert_many([{"name": "a"}, {"name": "b"}], actor="admin")
    with ws.storage.transaction() as conn:
        conn.execute('INSERT INTO "clinic__visits__tags__link" (src, dst, pos) VALUES (?, ?, ?)', (1, 1, 5))
    rows = [{"title": f"v{i}", "tags": [tags[0], tags[1]]} for i in range(COPY_AT)]
    ids = ws.base("clinic").table("visits").import_rows(rows, actor="admin").ids
    links = _tag_links(ws)
    assert links[ids[0]] == [(tags[1], 1), (tags[0], 5)] and links[ids[1]] == [(tags[0], 0), (tags[1], 1)]


def test_rows_are_rejected_one_by_one_with_their_row_number(make_workspace: MakeWorkspace) -> None:
    ws, patients = _clinic(make_workspace)
    visits = ws.base("clinic").table("visits")
    rows = _rows(patients, 10)
    rows[2]["patient"] = ["recNOSUCHRECORD01"]
    rows[5]["day"] = "明天下午"
    rows[7]["paid"] = "也许"
    rows[8]["title"] = ""
    result = visits.import_rows(rows, actor="admin", skip_invalid=True)
    assert len(result.ids) == 6
    problems = {number: "; ".join(errors.values()) for number, errors in result.rejected}
    assert sorted(problems) == [3, 6, 8, 9]
    assert "unknown record recNOSUCHRECORD01" in problems[3]
    assert problems[6].startswith("日期:") and problems[8].startswith("已缴费:") and "标题 is required" in problems[9]
    # Repeated bad values are refused every time, not remembered as good.
    again = visits.import_rows([{"title": "x", "paid": "也许"}] * 3, actor="admin", skip_invalid=True)
    assert again.ids == [] and [n for n, _ in again.rejected] == [1, 2, 3]


def test_a_rejected_row_imports_nothing(make_workspace: MakeWorkspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.bulk, "DEFER_INDEXES_AT", 10)  # take the big-import path with few rows
    ws, patients = _clinic(make_workspace)
    visits = ws.base("clinic").table("visits")
    before = _indexes(ws)
    rows = _rows(patients, 60)
    rows[57]["amount"] = "一百"
    with pytest.raises(ValidationError) as refused:
        visits.import_rows(rows, actor="admin")
    assert refused.value.errors == {"row 58": "金额: expected a number such as 12 or 3.5"}
    assert visits.count(actor="admin") == 0
    assert ws.storage.conn.execute("SELECT count(*) FROM _gb_audit WHERE tbl = 'visits'").fetchone()[0] == 0
    assert _indexes(ws) == before


@pytest.mark.sqlite_only("asks SQLite itself (PRAGMA integrity_check, EXPLAIN QUERY PLAN)")
def test_a_big_import_rebuilds_the_indexes_it_set_aside(make_workspace: MakeWorkspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.bulk, "DEFER_INDEXES_AT", 10)
    ws, patients = _clinic(make_workspace)
    visits = ws.base("clinic").table("visits")
    before = _indexes(ws)
    assert any("status" in sql for _, sql in before) and any("__dst" in name for name, _ in before)
    dropped: list[str] = []
    real = engine.bulk.Writer.defer_indexes_if_worth_it

    def spy(self: Any, expected: int | None) -> None:
        real(self, expected)
        dropped.extend(self.deferred or [])

    monkeypatch.setattr(engine.bulk.Writer, "defer_indexes_if_worth_it", spy)
    result = visits.import_rows(_rows(patients, 300), actor="admin")
    assert len(result.ids) == 300 and dropped, "the import should have set the indexes aside"
    assert _indexes(ws) == before
    conn = ws.storage.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    plan = " ".join(r[3] for r in conn.execute('EXPLAIN QUERY PLAN SELECT _id FROM "clinic__visits" '
                                               "WHERE status = '已诊' AND _deleted_at IS NULL"))
    assert "idx__clinic__visits__status" in plan
    assert visits.count(actor="admin", filter={"status": "已诊"}) == 150


def test_small_imports_into_big_tables_keep_their_indexes(make_workspace: MakeWorkspace,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.bulk, "DEFER_INDEXES_AT", 10)
    ws, patients = _clinic(make_workspace)
    visits = ws.base("clinic").table("visits")
    visits.insert_many(_rows(patients, 200), actor="admin")
    seen: list[list[str] | None] = []
    real = engine.bulk.Writer.restore_indexes

    def spy(self: Any) -> None:
        seen.append(self.deferred)
        real(self)

    monkeypatch.setattr(engine.bulk.Writer, "restore_indexes", spy)
    visits.import_rows(_rows(patients, 20), actor="admin")  # 20 new rows next to 200: not worth a rebuild
    assert seen == [None]


def test_record_ids_are_unique_and_sort_in_the_order_they_were_made() -> None:
    ids = new_record_ids(5000) + [new_record_id() for _ in range(100)] + new_record_ids(5000)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(re.fullmatch(r"rec[0-9A-Za-z]{14}", i) for i in ids)
    assert len({i[-5:] for i in ids}) > 9000  # the random tails differ


@pytest.mark.sqlite_only("asks SQLite itself (PRAGMA integrity_check, EXPLAIN QUERY PLAN)")
def test_all_or_nothing_reports_every_rejected_row_and_undoes_only_itself(make_workspace: MakeWorkspace,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.bulk, "DEFER_INDEXES_AT", 10)
    ws, patients = _clinic(make_workspace)
    visits = ws.base("clinic").table("visits")
    before = _indexes(ws)
    rebuilt: list[bool] = []
    real = engine.bulk.Writer.restore_indexes
    monkeypatch.setattr(engine.bulk.Writer, "restore_indexes", lambda self: rebuilt.append(True) or real(self))
    rows = _rows(patients, 80)
    rows[10]["amount"] = "十"
    rows[70]["day"] = "某天"
    with ws.storage.transaction():
        kept = visits.create({"title": "同一事务里先写的"}, actor="admin")
        with pytest.raises(engine.bulk.RejectedRows) as refused:
            engine.bulk.bulk_create(visits, rows, actor=ws.actor("admin"), skip_invalid=True, transaction=False,
                                    all_or_nothing=True)
    assert [n for n, _ in refused.value.result.rejected] == [11, 71]  # every problem, not just the first
    assert rebuilt == []  # the savepoint put the indexes back; nothing was rebuilt for nothing
    assert _indexes(ws) == before
    assert [r["id"] for r in visits.query(actor="admin").records] == [kept["id"]]  # the caller's write stays
    assert ws.storage.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
