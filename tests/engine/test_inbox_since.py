"""Who has new notifications (engine.inbox.people_since): the live hub asks after every commit,
so it must read the few notifications since its last look, not all of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from engine import Workspace, inbox
from tests.engine.test_records import BASE as DESK

AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _notify(ws: Workspace, people: list[str], start: int = 0) -> list[int]:
    ids = []
    with ws.storage.transaction() as conn:
        for n, person in enumerate(people, start):
            ident, _ = inbox.add(conn, person=person, at=AT, title=f"t{n}", body="", link="/", base=None,
                                 table=None, record=None, key=f"k{n}")
            ids.append(ident)
    return ids


def test_only_the_people_with_notifications_after_the_mark(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    ids = _notify(ws, ["admin", "doctor", "nurse", "doctor"])
    assert inbox.people_since(ws.storage, 0) == {"admin", "doctor", "nurse"}
    assert inbox.people_since(ws.storage, ids[1]) == {"nurse", "doctor"}
    assert inbox.people_since(ws.storage, ids[-1]) == set()


def test_it_reads_a_range_of_the_key_not_every_notification(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"desk": DESK})
    if isinstance(ws.storage.database, str):
        pytest.skip("the query plan asked about is SQLite's")
    ids = _notify(ws, ["admin", "doctor"] * 500)
    with ws.storage.transaction() as conn:
        conn.execute("ANALYZE")
    reader = ws.storage.conn
    asked: list[str] = []
    reader.set_trace_callback(asked.append)
    try:
        assert inbox.people_since(ws.storage, ids[-3]) == {"admin", "doctor"}
    finally:
        reader.set_trace_callback(None)
    (sql,) = [s for s in asked if "_gb_notifications" in s]
    plan = " ".join(str(r[-1]) for r in reader.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
    # Before: "SCAN _gb_notifications USING COVERING INDEX _gb_notifications_person" (all of them).
    assert "SCAN" not in plan and "PRIMARY KEY" in plan, plan
