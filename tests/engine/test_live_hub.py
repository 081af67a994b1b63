"""engine.live and engine.liveview without a server: what the outbox gives live updates, and
what one viewer may be told of committed events (the server tests are tests/views/test_live.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine import Workspace
from engine.ids import utcnow_text
from engine.liveview import MAX_RECORDS, as_seen_by, only_record
from engine.outbox import created_text
from tests.views.test_live import BASE, WORKSPACE

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


def _ward(make_workspace: Any) -> tuple[Workspace, Any]:
    ws = make_workspace({"ward": BASE}, WORKSPACE)
    return ws, ws.base("ward").table("patients")


def _name(key: str, base: str) -> str:
    return key


def test_since_passes_over_held_events_and_a_release_tells_their_ids(make_workspace):
    ws, table = _ward(make_workspace)
    start = ws.outbox.newest_id()
    rec = table.create({"name": "甲"}, actor="admin")
    told: list[list[int]] = []
    ws.outbox.release_listeners.append(told.append)
    with ws.storage.transaction():
        ws.outbox.append_created([(utcnow_text(ws.now()), rec["id"], "admin", created_text("{}"))],
                                 base="ward", table="patients", held="impX")
    events, reached = ws.outbox.since(start)
    assert [e.record for e in events] == [rec["id"]]  # the held one is read past, not returned
    assert reached == ws.outbox.newest_id()
    with ws.storage.transaction():
        ws.outbox.release("impX")
    assert told == [[reached]]
    assert [e.kind for e in ws.outbox.these(told[0])] == ["created"]


def test_a_viewer_is_told_only_of_what_she_may_read(make_workspace):
    ws, table = _ward(make_workspace)
    start = ws.outbox.newest_id()
    mine = table.create({"name": "甲", "nurse": "nurse", "phone": "13912345678", "diagnosis": "机密"}, actor="admin")
    theirs = table.create({"name": "乙", "nurse": "other"}, actor="admin")
    table.update(mine["id"], {"diagnosis": "更机密"}, actor="admin")  # hidden from her: nothing to tell
    table.update(mine["id"], {"phone": "13700000000"}, actor="admin")  # masked: named, never shown
    table.update(theirs["id"], {"note": "别人的"}, actor="admin")
    table.delete(theirs["id"], actor="admin")
    events, _ = ws.outbox.since(start)
    kind, data = as_seen_by(table, ws.actor("nurse"), events, _name)
    text = json.dumps(data, ensure_ascii=False)
    assert kind == "changes"
    assert data["created"] == [mine["id"]] and data["deleted"] == []
    assert [r["fields"] for r in data["records"]] == [["phone"]]
    for leak in (theirs["id"], "diagnosis", "机密", "13912345678", "13700000000", "别人的"):
        assert leak not in text
    admin_kind, admin_data = as_seen_by(table, ws.actor("admin"), events, _name)
    assert admin_data["deleted"] == [theirs["id"]]  # its update is not told: it is gone now
    assert [r["fields"] for r in admin_data["records"]] == [["diagnosis", "phone"]]
    assert only_record((admin_kind, admin_data), mine["id"])[1]["records"][0]["id"] == mine["id"]
    assert only_record((admin_kind, admin_data), "recNOPE") is None


def test_nothing_to_tell_is_no_message_and_too_much_is_a_reload(make_workspace):
    ws, table = _ward(make_workspace)
    start = ws.outbox.newest_id()
    rec = table.create({"name": "甲", "nurse": "nurse"}, actor="admin")
    after_create = ws.outbox.newest_id()
    table.update(rec["id"], {"diagnosis": "机密"}, actor="admin")
    events, _ = ws.outbox.since(after_create)
    assert as_seen_by(table, ws.actor("nurse"), events, _name) is None
    table.insert_many([{"name": f"批量{i}", "nurse": "nurse"} for i in range(MAX_RECORDS + 5)], actor="admin")
    events, _ = ws.outbox.since(start, limit=MAX_RECORDS * 3)
    kind, data = as_seen_by(table, ws.actor("nurse"), events, _name)
    assert kind == "reload" and data["created"] == MAX_RECORDS + 6
