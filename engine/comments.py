"""Comments on records; the only module that reads or writes `_gb_comments`.

A comment is a write like any other: `add` stores it, appends an audit entry (action
`comment`, the text as its new value, so the history shows who commented when) and an
outbox event (`commented`, with the comment's id) in the caller's transaction or one of its
own. Whoever may read a record may comment on it; `for_record` lists a record's comments
for whoever may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import Message, ValidationError
from engine.ids import utcnow_text
from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.records import Table

MAX_LENGTH = 5000  # characters kept of one comment


@dataclass(frozen=True)
class Comment:
    id: int
    at: str
    author: str
    body: str


def add(table: Table, record_id: str, body: str, *, actor: Actor | str) -> int:
    """Comment on a record the actor may read (NotFoundError if not); return the comment's id."""
    actor = table.ws.actor(actor)
    text = body.strip()[:MAX_LENGTH]
    if not text:
        raise ValidationError({"body": Message("comment_empty")})
    table.get(record_id, actor=actor)  # may they read it? (NotFoundError when not)
    ws = table.ws
    at = utcnow_text(ws.now())
    with ws.storage.transaction() as conn:
        cur = conn.execute("INSERT INTO _gb_comments (at, author, base, tbl, record, body) VALUES (?, ?, ?, ?, ?, ?)",
                           (at, actor.key, table.base.key, table.key, record_id, text))
        comment_id = int(cur.lastrowid or 0)
        ws.audit.note(actor, table.base.key, table.key, record_id, "comment", {"comment": comment_id, "body": text})
        ws.outbox.append(at=at, base=table.base.key, table=table.key, record=record_id, kind="commented",
                         actor=actor.key, changes={}, comment=comment_id)
    return comment_id


def for_record(table: Table, record_id: str, *, actor: Actor | str) -> list[Comment]:
    """The record's comments, oldest first, for an actor who may read the record."""
    table.get(record_id, actor=actor)
    with table.ws.storage.reading() as conn:
        rows = conn.execute("SELECT id, at, author, body FROM _gb_comments WHERE base = ? AND tbl = ? AND record = ? "
                            "AND deleted_at IS NULL ORDER BY id", (table.base.key, table.key, record_id)).fetchall()
    return [Comment(int(i), at, author, body) for i, at, author, body in rows]
