"""Comments on records; the only module that reads or writes `_gb_comments`.

A comment is a write like any other: `add`, `edit` and `remove` store it, append an audit
entry (actions `comment`, `comment_edit`, `comment_delete`, the text as the new value, so
the history shows who commented when) and an outbox event (`commented`, `comment_edited`,
`comment_deleted`, with the comment's id) in the caller's transaction or one of their own.
Whoever may read a record may comment on it and read its comments (`for_record`, `get`,
`counts`); only a comment's author may edit or remove it.

Words: a *mention* is `@key` or `@姓名` in a comment's text (`mentions` finds them);
`notify_mentions` tells each person mentioned who may read the record, in their inbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine import inbox
from engine import people as people_db
from engine.errors import Message, NotFoundError, PermissionDenied, ValidationError
from engine.ids import utcnow_text
from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.interfaces import Workspace
    from engine.records import Table

MAX_LENGTH = 5000  # characters kept of one comment
MENTION = re.compile(r"@([\w.\-]+)")


@dataclass(frozen=True)
class Comment:
    id: int
    at: str
    author: str
    body: str
    edited_at: str | None = None


_COLUMNS = "id, at, author, body, edited_at"


def _text(body: str) -> str:
    text = body.strip()[:MAX_LENGTH]
    if not text:
        raise ValidationError({"body": Message("comment_empty")})
    return text


def add(table: Table, record_id: str, body: str, *, actor: Actor | str) -> int:
    """Comment on a record the actor may read (NotFoundError if not); return the comment's id."""
    actor = table.ws.actor(actor)
    text = _text(body)
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
        rows = conn.execute(f"SELECT {_COLUMNS} FROM _gb_comments WHERE base = ? AND tbl = ? AND record = ? "
                            "AND deleted_at IS NULL ORDER BY id", (table.base.key, table.key, record_id)).fetchall()
    return [Comment(int(i), at, author, body, edited) for i, at, author, body, edited in rows]


def get(table: Table, record_id: str, comment_id: int, *, actor: Actor | str) -> Comment:
    """One comment of a record the actor may read (NotFoundError for another record's, or a removed one)."""
    table.get(record_id, actor=actor)
    return _fetch(table, record_id, comment_id)


def _fetch(table: Table, record_id: str, comment_id: int) -> Comment:
    with table.ws.storage.reading() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM _gb_comments WHERE id = ? AND base = ? AND tbl = ? AND record = ? "
                           "AND deleted_at IS NULL", (comment_id, table.base.key, table.key, record_id)).fetchone()
    if row is None:
        raise NotFoundError(code="comment_not_found", params={"comment": comment_id, "record": record_id})
    return Comment(int(row[0]), row[1], row[2], row[3], row[4])


def _own(table: Table, record_id: str, comment_id: int, actor: Actor) -> Comment:
    comment = get(table, record_id, comment_id, actor=actor)
    if comment.author != actor.key:
        raise PermissionDenied(code="comment_not_author")
    return comment


def edit(table: Table, record_id: str, comment_id: int, body: str, *, actor: Actor | str) -> Comment:
    """Change the text of the actor's own comment; return it as it now is."""
    actor = table.ws.actor(actor)
    text = _text(body)
    ws = table.ws
    with ws.storage.transaction() as conn:
        old = _own(table, record_id, comment_id, actor)
        at = utcnow_text(ws.now())
        conn.execute("UPDATE _gb_comments SET body = ?, edited_at = ? WHERE id = ?", (text, at, comment_id))
        ws.audit.note(actor, table.base.key, table.key, record_id, "comment_edit",
                      {"comment": comment_id, "old": old.body, "body": text})
        ws.outbox.append(at=at, base=table.base.key, table=table.key, record=record_id, kind="comment_edited",
                         actor=actor.key, changes={}, comment=comment_id)
    return _fetch(table, record_id, comment_id)


def remove(table: Table, record_id: str, comment_id: int, *, actor: Actor | str) -> None:
    """Delete the actor's own comment (kept, marked deleted, for the audit trail)."""
    actor = table.ws.actor(actor)
    ws = table.ws
    with ws.storage.transaction() as conn:
        old = _own(table, record_id, comment_id, actor)
        at = utcnow_text(ws.now())
        conn.execute("UPDATE _gb_comments SET deleted_at = ? WHERE id = ?", (at, comment_id))
        ws.audit.note(actor, table.base.key, table.key, record_id, "comment_delete",
                      {"comment": comment_id, "old": old.body})
        ws.outbox.append(at=at, base=table.base.key, table=table.key, record=record_id, kind="comment_deleted",
                         actor=actor.key, changes={}, comment=comment_id)


def counts(table: Table, record_ids: list[str]) -> dict[str, int]:
    """How many comments each record has (records the caller has already read; others count 0)."""
    if not record_ids:
        return {}
    marks = ", ".join("?" for _ in record_ids)
    with table.ws.storage.reading() as conn:
        rows = conn.execute(f"SELECT record, COUNT(*) FROM _gb_comments WHERE base = ? AND tbl = ? AND record IN ({marks}) "
                            "AND deleted_at IS NULL GROUP BY record", (table.base.key, table.key, *record_ids)).fetchall()
    found = {str(r): int(n) for r, n in rows}
    return {rid: found.get(rid, 0) for rid in record_ids}


def mention_names(ws: Workspace) -> dict[str, str]:
    """What a mention may say -> whose key: each person's key and name."""
    people = {p.key: p.key for p in ws.config.people.values()}
    people.update({p.name: p.key for p in ws.config.people.values()})
    for key, name in people_db.active_names(ws.storage).items():
        people.setdefault(key, key)
        people.setdefault(name, key)
    return people


def mention_spans(ws: Workspace, body: str, names: dict[str, str] | None = None) -> list[tuple[int, int, str]]:
    """Where `body` mentions someone: (start, end, person key) of each `@key` or `@name`
    (`names`: `mention_names(ws)`, when the caller reads many comments)."""
    people = mention_names(ws) if names is None else names
    spans: list[tuple[int, int, str]] = []
    for match in MENTION.finditer(body):
        word = match.group(1)
        # "@王主任，请看" — try the longest prefix that names someone.
        for end in range(len(word), 0, -1):
            named = people.get(word[:end])
            if named is not None:
                spans.append((match.start(), match.start(1) + end, named))
                break
    return spans


def mentions(ws: Workspace, body: str) -> list[str]:
    """Person keys mentioned as @key or @name, in order, once each."""
    found: list[str] = []
    for _start, _end, key in mention_spans(ws, body):
        if key not in found:
            found.append(key)
    return found


def may_read(table: Table, person: str, record_id: str) -> bool:
    """Whether `person` may read the record: a check, not a read on their behalf (no access-log entry)."""
    try:
        actor = table.ws.actor(person)
    except NotFoundError:
        return False
    access = table.access(actor)
    return access.can_read and table.fetch_row(record_id, access, actor) is not None


def notify_mentions(table: Table, record_id: str, comment_id: int, body: str, *, actor: Actor,
                    link: str) -> list[str]:
    """Put a notification in the inbox of each person the comment mentions who may read the
    record (not the author), in the caller's transaction; return who was told. Each is told
    the record's title as *they* may read it (masked, or its id), never as the author sees it."""
    told = []
    ws = table.ws
    for person in mentions(ws, body):
        if person == actor.key or not may_read(table, person, record_id):
            continue
        title = table.title_of(record_id, person) or record_id
        inbox.add(ws.storage.conn, person=person, at=ws.now(), title=f"{actor.name} @ {title}"[:200], body=body[:1000],
                  link=link, base=table.base.key, table=table.key, record=record_id, key=f"mention:{comment_id}:{person}")
        told.append(person)
    return told
