"""Record comment endpoints, in Airtable's shapes, over `engine.comments` (their one owner).

`GET/POST /v0/{base}/{table}/{record}/comments` list (newest first, `pageSize` 1–100 and
`offset`) and add; `PATCH/DELETE …/comments/{comment}` change and delete. A comment is
`{id, author {id, email, name}, text, createdTime, lastUpdatedTime, mentioned}`. Whoever may
read the record may read and add its comments; only a comment's author changes or deletes it.

Words: a mention is written `@[usrXXX]` in Airtable's text; in Gridbase a person's key is
their `usr…` id, so `@[li]` is stored as the web app's `@li` (which the web app shows and
notifies) and given back as `@[li]`, with `mentioned` naming each person mentioned.
"""

from __future__ import annotations

import re
from typing import Any

from engine import comments as engine_comments
from engine.errors import GridbaseError, NotFoundError, QueryError
from engine.reads import decode_cursor, encode_cursor
from views.api.errors import ApiError, engine_error, ensure
from views.api.http import Ctx
from views.api.ids import TableRef, find_table
from views.api.params import check_keys, check_query

MAX_PAGE_SIZE = 100
_ID = re.compile(r"^com(\d{1,14})$")
_MARKUP = re.compile(r"@\[([^\]\s]{1,200})\]")
_PLAIN_KEY = re.compile(r"^[\w.\-]+$")


def comment_id(number: int) -> str:
    return f"com{number:014d}"


def _number(text: str) -> int:
    match = _ID.match(text)
    if match is None:
        raise ApiError(404, "NOT_FOUND", f"Could not find comment {text}")
    return int(match.group(1))


def _time(stored: str | None) -> str | None:
    """`2026-11-25T01:00:00Z` as Airtable writes times: `2026-11-25T01:00:00.000Z`."""
    return stored[:19] + ".000Z" if stored else None


def _text_in(ctx: Ctx) -> str:
    body = ctx.body
    ensure(isinstance(body, dict), "Invalid request: the body must be a JSON object")
    assert isinstance(body, dict)
    check_keys(body, {"text", "parentCommentId"})
    ensure(body.get("parentCommentId") is None,
           "Invalid request: Gridbase comments are not threaded; post a reply as a new comment (no parentCommentId)")
    text = body.get("text")
    ensure(isinstance(text, str) and text.strip(), "Invalid request: 'text' must be a non-empty string")
    assert isinstance(text, str)
    ensure(len(text) <= engine_comments.MAX_LENGTH,
           f"Invalid request: 'text' may be at most {engine_comments.MAX_LENGTH} characters")
    def plain(match: re.Match[str]) -> str:
        key = match.group(1)
        return f"@{key}" if _PLAIN_KEY.match(key) and ctx.people.exists(key) else match.group(0)

    return _MARKUP.sub(plain, text)


def _shape(ctx: Ctx, comment: engine_comments.Comment, names: dict[str, str] | None = None) -> dict[str, Any]:
    text = comment.body
    mentioned: dict[str, Any] = {}
    out = []
    last = 0
    for start, end, key in engine_comments.mention_spans(ctx.ws, text, names):
        out.append(text[last:start] + f"@[{key}]")
        last = end
        person = ctx.people.collaborator(key)
        mentioned[key] = {"type": "user", "id": key, "displayName": person["name"],
                          **({"email": person["email"]} if "email" in person else {})}
    out.append(text[last:])
    return {"id": comment_id(comment.id), "author": ctx.people.collaborator(comment.author), "text": "".join(out),
            "createdTime": _time(comment.at), "lastUpdatedTime": _time(comment.edited_at), "mentioned": mentioned}


def _ref(ctx: Ctx) -> TableRef:
    return find_table(ctx.ws, ctx.param("base"), ctx.param("table"), ctx.actor)


def _run(ctx: Ctx, work: Any) -> Any:
    """Run `work()`, engine errors as Airtable's (an unreadable record or unknown comment is a 404)."""
    record = ctx.param("record")
    try:
        return work()
    except NotFoundError as exc:
        if exc.code == "comment_not_found":
            raise ApiError(404, "NOT_FOUND", f"Could not find comment {ctx.param('comment')}") from None
        raise ApiError(404, "NOT_FOUND", f"Could not find record {record}") from None
    except GridbaseError as exc:
        raise engine_error(exc) from None


def list_comments(ctx: Ctx) -> tuple[int, Any]:
    """GET …/{record}/comments: the record's comments, newest first, a page at a time."""
    ref = _ref(ctx)
    query = ctx.request.query_params
    check_query(query, {"pageSize", "offset"})
    size = MAX_PAGE_SIZE
    if "pageSize" in query:
        raw = query["pageSize"].strip()
        ensure(raw.isdigit() and 1 <= int(raw) <= MAX_PAGE_SIZE,
               f"Invalid request: parameter 'pageSize' must be from 1 to {MAX_PAGE_SIZE}")
        size = int(raw)
    try:
        start = decode_cursor(query.get("offset") or None)
    except QueryError:
        raise ApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is invalid or has expired") from None
    found = _run(ctx, lambda: engine_comments.for_record(ref.table, ctx.param("record"), actor=ctx.actor))
    newest = list(reversed(found))
    page = newest[start:start + size]
    names = engine_comments.mention_names(ctx.ws)
    out: dict[str, Any] = {"comments": [_shape(ctx, c, names) for c in page], "offset": None}
    if start + size < len(newest):
        out["offset"] = encode_cursor(start + size)
    return 200, out


def add_comment(ctx: Ctx) -> tuple[int, Any]:
    """POST …/{record}/comments `{"text": …}`: a new comment; people mentioned are notified."""
    ref = _ref(ctx)
    check_query(ctx.request.query_params, set())
    text = _text_in(ctx)
    table, record = ref.table, ctx.param("record")

    def work() -> engine_comments.Comment:
        with ctx.ws.storage.transaction():
            number = engine_comments.add(table, record, text, actor=ctx.actor)  # (refuses a record they may not read)
            engine_comments.notify_mentions(table, record, number, text, actor=ctx.actor,
                                            link=f"/b/{table.base.key}/t/{table.key}/r/{record}")
        return engine_comments.get(table, record, number, actor=ctx.actor)

    return 200, _shape(ctx, _run(ctx, work))


def update_comment(ctx: Ctx) -> tuple[int, Any]:
    """PATCH …/comments/{comment} `{"text": …}`: change one's own comment."""
    ref = _ref(ctx)
    check_query(ctx.request.query_params, set())
    text = _text_in(ctx)
    number = _number(ctx.param("comment"))
    done = _run(ctx, lambda: engine_comments.edit(ref.table, ctx.param("record"), number, text, actor=ctx.actor))
    return 200, _shape(ctx, done)


def delete_comment(ctx: Ctx) -> tuple[int, Any]:
    """DELETE …/comments/{comment}: delete one's own comment."""
    ref = _ref(ctx)
    check_query(ctx.request.query_params, set())
    number = _number(ctx.param("comment"))
    _run(ctx, lambda: engine_comments.remove(ref.table, ctx.param("record"), number, actor=ctx.actor))
    return 200, {"id": comment_id(number), "deleted": True}


def comment_counts(ref: TableRef, record_ids: list[str]) -> dict[str, int]:
    """`recordMetadata[]=commentCount`: comments per record, for records already read."""
    return engine_comments.counts(ref.table, record_ids)


__all__ = ["add_comment", "comment_counts", "delete_comment", "list_comments", "update_comment"]
