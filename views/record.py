"""The record page: every readable field (edited in place where allowed), linked records,
attachments, the change history, comments with @mentions, delete and restore.

Words: a *mention* is `@key` or `@姓名` in a comment; the person mentioned gets a row in
`_gb_notifications` linking to the record, but only if they may read that record themselves.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import Actor, NotFoundError, PermissionDenied, ValidationError, Workspace
from engine.records import Table
from views import cells
from views.web import check_csrf, format_time, get_ws, now_text, render, require_actor

MENTION = re.compile(r"@([\w.\-]+)")
MAX_COMMENT = 5000


def get_table(request: Request) -> Table:
    return get_ws(request).base(request.path_params["base"]).table(request.path_params["table"])


def person_name(ws: Workspace, key: str | None) -> str:
    if not key:
        return ""
    person = ws.config.people.get(key)
    if person is not None:
        return person.name
    row = ws.storage.conn.execute("SELECT name FROM _gb_people WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else key


async def record_page(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    table = get_table(request)
    rid = request.path_params["rid"]
    rec = table.get(rid, actor=actor)
    access = table.access(actor)
    editable = rid in cells.editable_ids(table, actor, [rid])
    links = cells.LinkTitles(table, actor)
    keys = cells.columns_for(table, actor, None)
    fields = [cells.build(table, rec, k, actor, editable=editable, links=links) for k in keys]
    uploads = [c["key"] for c in fields
               if c["type"] == "attachment" and editable and access.level(c["key"]) == "edit" and not access.mask(c["key"])]
    history = [{**h, "when": format_time(ws, h["at"]), "who": person_name(ws, h["actor"]),
                "field_name": table.tdef.fields[h["field"]].name if h["field"] in table.tdef.fields else ""}
               for h in table.history(rid, actor=actor)]
    comments = [{"when": format_time(ws, at), "who": person_name(ws, author), "body": body}
                for at, author, body in ws.storage.conn.execute(
                    "SELECT at, author, body FROM _gb_comments WHERE base = ? AND tbl = ? AND record = ? AND deleted_at IS NULL "
                    "ORDER BY id", (table.base.key, table.key, rid)).fetchall()]
    primary = table.display(rec, table.tdef.primary, access) if access.readable(table.tdef.primary) else ""
    buttons = manual_buttons(ws, table.base.key, table.key) if editable else []
    return render(request, "record.html", table=table, rec=rec, title=primary or rid, fields=fields, uploads=uploads,
                  history=history, comments=comments, can_delete=access.can_delete, buttons=buttons,
                  url=cells.record_url(table, rid), back=f"/b/{table.base.key}/t/{table.key}")


def manual_buttons(ws: Workspace, base: str, table: str) -> list[dict[str, str]]:
    try:
        from automations import manual_buttons as buttons
    except ImportError:
        return []
    result: list[dict[str, str]] = buttons(ws, base, table)
    return result


async def run_button(request: Request) -> Response:
    """A manual automation's button: whoever may edit the record may press it."""
    actor = require_actor(request)
    ws = get_ws(request)
    table = get_table(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    rid = request.path_params["rid"]
    table.get(rid, actor=actor)
    if rid not in cells.editable_ids(table, actor, [rid]):
        raise PermissionDenied("you may not change this record")
    from automations import run_manual

    run_manual(ws, table.base.key, request.path_params["automation"], rid, actor)
    return RedirectResponse(cells.record_url(table, rid), status_code=303)


async def delete_record(request: Request) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    table.delete(request.path_params["rid"], actor=actor)
    return RedirectResponse(f"/b/{table.base.key}/t/{table.key}", status_code=303)


async def restore_record(request: Request) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    rec = table.restore(request.path_params["rid"], actor=actor)
    return RedirectResponse(cells.record_url(table, rec["id"]), status_code=303)


def mentioned(ws: Workspace, body: str) -> list[str]:
    """Person keys mentioned as @key or @name, in order, once each."""
    people = {p.key: p.key for p in ws.config.people.values()}
    people.update({p.name: p.key for p in ws.config.people.values()})
    for key, name in ws.storage.conn.execute("SELECT key, name FROM _gb_people WHERE disabled = 0").fetchall():
        people.setdefault(key, key)
        people.setdefault(name, key)
    found: list[str] = []
    for word in MENTION.findall(body):
        # "@王主任，请看" — try the longest prefix that names someone.
        for end in range(len(word), 0, -1):
            key = people.get(word[:end])
            if key is not None:
                if key not in found:
                    found.append(key)
                break
    return found


def can_read_record(table: Table, person: str, rid: str) -> Actor | None:
    ws = table.ws
    try:
        actor = ws.actor(person)
    except NotFoundError:
        return None
    access = table.access(actor)
    if not access.can_read:
        return None
    # A check, not a read on the person's behalf: no access-log entry for them.
    return actor if table._fetch_row(rid, access, actor) is not None else None


async def add_comment(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    table = get_table(request)
    rid = request.path_params["rid"]
    rec = table.get(rid, actor=actor)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    body = str(form.get("body") or "").strip()
    if not body:
        raise ValidationError({"body": "a comment needs some text"})
    body = body[:MAX_COMMENT]
    url = cells.record_url(table, rid)
    access = table.access(actor)
    title = table.display(rec, table.tdef.primary, access) if access.readable(table.tdef.primary) else rid
    with ws.storage.transaction():
        cur = ws.storage.conn.execute(
            "INSERT INTO _gb_comments (at, author, base, tbl, record, body) VALUES (?, ?, ?, ?, ?, ?)",
            (now_text(ws), actor.key, table.base.key, table.key, rid, body))
        comment_id = cur.lastrowid
        for person in mentioned(ws, body):
            if person == actor.key or can_read_record(table, person, rid) is None:
                continue
            ws.storage.conn.execute(
                "INSERT OR IGNORE INTO _gb_notifications (person, at, title, body, link, base, tbl, record, key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (person, now_text(ws), f"{actor.name} @ {title}"[:200], body[:1000], url, table.base.key, table.key, rid,
                 f"mention:{comment_id}:{person}"))
    return RedirectResponse(url + "#comments", status_code=303)


prefix = "/b/{base}/t/{table}/r/{rid}"
routes = [
    Route(prefix, record_page, methods=["GET"]),
    Route(prefix + "/delete", delete_record, methods=["POST"]),
    Route(prefix + "/restore", restore_record, methods=["POST"]),
    Route(prefix + "/comments", add_comment, methods=["POST"]),
    Route(prefix + "/run/{automation}", run_button, methods=["POST"]),
]
