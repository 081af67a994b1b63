"""Comments are writes like others: audited, announced in the outbox, only on readable records."""

from __future__ import annotations

from typing import Any

import pytest

from engine import NotFoundError, PermissionDenied, ValidationError, comments
from tests.engine.test_records import BASE

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)


@pytest.fixture
def ws(make_workspace: Any) -> Any:
    return make_workspace({"desk": BASE})


def test_a_comment_is_audited_and_emits_an_event(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"title": "空调太冷", "status": "已办结"}, actor="admin")["id"]
    before = ws.outbox.latest().id
    cid = comments.add(tickets, rid, "  已联系患者  ", actor="boss")
    [comment] = comments.for_record(tickets, rid, actor="zhao")
    assert (comment.id, comment.author, comment.body) == (cid, "boss", "已联系患者")
    entry = [h for h in tickets.history(rid, actor="admin") if h["action"] == "comment"]
    assert len(entry) == 1 and entry[0]["actor"] == "boss"
    [event] = [e for e in ws.outbox.pending() if e.id > before]
    assert (event.kind, event.record, event.actor, event.data["comment"]) == ("commented", rid, "boss", cid)


def test_no_comment_on_a_record_the_actor_cannot_read(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"title": "未办结"}, actor="admin")["id"]  # viewer zhao reads only 已办结 ones
    events = len(ws.outbox.pending())
    with pytest.raises(NotFoundError):
        comments.add(tickets, rid, "看不到也评论", actor="zhao")
    with pytest.raises(ValidationError):
        comments.add(tickets, rid, "   ", actor="admin")
    assert comments.for_record(tickets, rid, actor="admin") == []
    assert len(ws.outbox.pending()) == events
    with pytest.raises(NotFoundError):
        comments.for_record(tickets, rid, actor="zhao")


def test_only_the_author_edits_or_removes_a_comment_and_both_are_audited(ws: Any) -> None:
    tickets = ws.base("desk").table("tickets")
    rid = tickets.create({"title": "漏水", "status": "已办结"}, actor="admin")["id"]
    cid = comments.add(tickets, rid, "先看看", actor="boss")
    with pytest.raises(PermissionDenied):
        comments.edit(tickets, rid, cid, "改别人的", actor="admin")
    with pytest.raises(PermissionDenied):
        comments.remove(tickets, rid, cid, actor="zhao")
    before = ws.outbox.latest().id
    edited = comments.edit(tickets, rid, cid, "  已修好  ", actor="boss")
    assert (edited.body, edited.edited_at is not None) == ("已修好", True)
    assert comments.counts(tickets, [rid, "recNONE"]) == {rid: 1, "recNONE": 0}
    comments.remove(tickets, rid, cid, actor="boss")
    assert comments.for_record(tickets, rid, actor="admin") == []
    assert comments.counts(tickets, [rid]) == {rid: 0}
    with pytest.raises(NotFoundError):
        comments.get(tickets, rid, cid, actor="boss")
    kinds = [e.kind for e in ws.outbox.pending() if e.id > before]
    assert kinds == ["comment_edited", "comment_deleted"]
    actions = [h["action"] for h in tickets.history(rid, actor="admin")]
    assert actions.count("comment_edit") == 1 and actions.count("comment_delete") == 1


def test_mentions_by_key_and_by_name(ws: Any) -> None:
    assert comments.mentions(ws, "@boss 和 @李四，请看；@nobody") == ["boss", "li"]
    assert [(s, e, k) for s, e, k in comments.mention_spans(ws, "hi @李四，请看")] == [(3, 6, "li")]
