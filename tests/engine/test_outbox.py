"""The outbox: an event exists exactly when its write does, listeners hear of it only after
the commit, and single and bulk writes leave events of one shape."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import psycopg
import pytest

from engine import Workspace
from engine.errors import ValidationError
from tests.engine.test_records import BASE as DESK

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def _committed_events(ws: Workspace) -> int:
    """Events another process would see now: through a connection of its own."""
    if isinstance(ws.storage.database, str):  # a PostgreSQL URL
        with psycopg.connect(ws.storage.database) as pg:
            row = pg.execute("SELECT count(*) FROM _gb_outbox").fetchone()
            return int(row[0]) if row else 0
    other = sqlite3.connect(ws.storage.path)
    try:
        return int(other.execute("SELECT count(*) FROM _gb_outbox").fetchone()[0])
    finally:
        other.close()


def test_listeners_hear_of_an_event_only_once_it_is_committed(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    seen: list[tuple[int, int]] = []
    ws.outbox.listeners.append(lambda event_id: seen.append((event_id, _committed_events(ws))))
    tickets.create({"title": "甲"}, actor="admin")
    # Told after the commit: a reader woken by it finds the event (before, it found nothing).
    assert len(seen) == 1 and seen[0][1] == 1 and seen[0][0] == ws.outbox.latest().id
    with ws.storage.transaction():  # several writes in one transaction: one wake-up, after it
        tickets.create({"title": "乙"}, actor="admin")
        tickets.create({"title": "丙"}, actor="admin")
        assert len(seen) == 1
    assert seen[1] == (ws.outbox.latest().id, 3)


def test_a_write_that_rolls_back_leaves_no_event_and_wakes_nobody(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    seen: list[int] = []
    ws.outbox.listeners.append(seen.append)
    with pytest.raises(RuntimeError), ws.storage.transaction():
        tickets.create({"title": "甲"}, actor="admin")
        raise RuntimeError("the rest of the write failed")
    with pytest.raises(ValidationError):
        tickets.create({"title": ""}, actor="admin")
    assert seen == [] and _committed_events(ws) == 0 and ws.outbox.pending() == []


def test_group_commit_wakes_after_its_commit(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    seen: list[int] = []
    ws.outbox.listeners.append(lambda _id: seen.append(_committed_events(ws)))
    futures = [ws.storage.write_soon(lambda i=i: tickets.create({"title": f"工单{i}"}, actor="admin")) for i in range(5)]
    for future in futures:
        future.result(timeout=30)
    assert seen and all(count >= 1 for count in seen) and seen[-1] == 5


def test_single_and_bulk_creations_leave_events_of_one_shape(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    tickets = ws.base("desk").table("tickets")
    tickets.create({"title": "一条", "amount": 5, "received": "2026-11-25 09:00"}, actor="admin")
    tickets.insert_many([{"title": "批量", "amount": 5, "received": "2026-11-25 09:00"}], actor="admin")
    single, bulk = ws.outbox.pending()
    assert single.kind == bulk.kind == "created"
    assert set(single.data) == set(bulk.data) == {"old", "new"}
    assert single.changes["amount"] == bulk.changes["amount"] == [None, 5]
    assert single.changes["received"] == bulk.changes["received"]
    assert single.changes["title"] == [None, "一条"] and bulk.changes["title"] == [None, "批量"]
    # The event carries its values itself: nothing is read back from the audit log.
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_audit")
    assert [e.changes["title"] for e in ws.outbox.pending()] == [[None, "一条"], [None, "批量"]]


def test_the_worker_finds_pending_events_without_reading_every_processed_one(
        make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    if isinstance(ws.storage.database, str):
        pytest.skip("the query plan asked about is SQLite's")
    tickets = ws.base("desk").table("tickets")
    tickets.insert_many(({"title": f"t{i}"} for i in range(300)), actor="system")
    ws.outbox.mark_all_processed("2026-01-01T00:00:00Z")
    with ws.storage.transaction() as conn:  # statistics as after an import: one processed_at for every event
        conn.execute("ANALYZE")
    rec = tickets.create({"title": "新"}, actor="admin")
    reader = ws.storage.conn
    asked: list[str] = []
    reader.set_trace_callback(asked.append)
    try:
        pending = ws.outbox.pending()
    finally:
        reader.set_trace_callback(None)
    assert [e.record for e in pending] == [rec["id"]]
    (sql,) = [s for s in asked if "_gb_outbox" in s]
    plan = " ".join(str(r[-1]) for r in reader.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    assert "_gb_outbox_pending" in plan and "SCAN" not in plan and "rowid>" not in plan, plan
