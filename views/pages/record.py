"""The record page: every readable field (edited in place where allowed), linked records,
attachments, the change history, comments with @mentions, the approvals asked about it (the
viewer's own pending ones with Approve / Reject, views.pages.inbox), delete and restore; the
new-record page; saving one cell (grid or record page). The searches the editors ask are in
views.pages.searches.

Words: a *mention* is `@key` or `@姓名` in a comment; the person mentioned gets a notification
linking to the record, but only if they may read that record themselves (engine.comments).
A posted comment comes back as its list item when editors.js asks (HX-Request), else the page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from automations import manual_buttons, run_manual
from engine import (
    Actor,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    Workspace,
)
from engine import approvals as engine_approvals
from engine import comments as engine_comments
from engine import people as people_db
from engine.errors import Message
from engine.fields.base import is_blank, load_json_list
from engine.linked import restrict_rows
from engine.reads import one_showing
from engine.records import Table
from views.pages import cells
from views.pages.files import save_uploads
from views.pages.inbox import approvals_for
from views.pages.web import (
    check_csrf,
    format_time,
    get_table,
    get_ws,
    render,
    require_actor,
    table_for_adding,
    view_offered,
    view_url,
)

MAX_COMMENT = 5000


def person_name(ws: Workspace, key: str | None, names: dict[str, str] | None = None) -> str:
    """The name of person `key` (a person of the definition, else one of the database, else the
    key itself: `system`, `automation:…`). `names`: those already looked up for this page, so a
    record's history asks the database once per one who is not in the definition, not per entry."""
    if not key:
        return ""
    person = ws.config.people.get(key)
    if person is not None:
        return person.name
    if names is not None and key in names:
        return names[key]
    row = people_db.get(ws.storage, key)
    name = str(row["name"]) if row else key
    if names is not None:
        names[key] = name
    return name


def automation_name(table: Table, key: str) -> str:
    """The name of the automation an audit actor (`automation:KEY`) is, or "" for anyone else."""
    if not key.startswith("automation:"):
        return ""
    name = key.split(":", 1)[1]
    # Its own base first; an automation of another base may write here too.
    for bdef in [table.base.bdef, *table.ws.config.bases.values()]:
        auto = bdef.automations.get(name)
        if auto is not None:
            return auto.name or name
    return name


async def record_page(request: Request) -> Response:
    actor = require_actor(request)
    with one_showing():  # the record, its history and its comments: one access-log entry
        return show_record(request, actor)


def show_record(request: Request, actor: Actor) -> Response:
    ws = get_ws(request)
    table = get_table(request)
    rid = request.path_params["rid"]
    rec = table.get(rid, actor=actor)
    access = table.access(actor)
    editable = rid in cells.editable_ids(table, actor, [rid])
    links = cells.LinkTitles(table, actor)
    keys = cells.columns_for(table, actor, None)
    links.prefetch([rec], keys)
    fields = [cells.build(table, rec, k, actor, editable=editable, links=links) for k in keys]
    uploads = [c["key"] for c in fields
               if c["widget"] == "file" and editable and access.level(c["key"]) == "edit" and not access.mask(c["key"])]
    names: dict[str, str] = {}
    history = [{**h, **linked_titles(table, h, links), "when": format_time(ws, h["at"]), "who": person_name(ws, h["actor"], names),
                "automation": automation_name(table, h["actor"]), "behalf": person_name(ws, h["on_behalf"], names),
                "field_name": table.tdef.fields[h["field"]].name if h["field"] in table.tdef.fields else ""}
               for h in table.history(rid, actor=actor)]
    asked = engine_approvals.for_record(ws.storage, table.base.key, table.key, rid)
    said = {(r["approver"], r["status"], r["decided_at"]): r["comment"] for r in asked if r["comment"]}
    for h in history:  # a decision's entry shows its comment
        h["said"] = said.get((h["actor"], h["action"], h["at"]), "")
    comments = [comment_item(ws, c, names) for c in engine_comments.for_record(table, rid, actor=actor)]
    primary = table.display(rec, table.tdef.primary, access) if access.readable(table.tdef.primary) else ""
    buttons = manual_buttons(ws, table.base.key, table.key) if editable else []
    return render(request, "record.html", table=table, rec=rec, title=primary or rid, fields=fields, uploads=uploads,
                  history=history, comments=comments, can_delete=access.can_delete, buttons=buttons,
                  url=cells.record_url(table, rid), back=f"/b/{table.base.key}/t/{table.key}",
                  approvals=approval_rows(ws, table, asked, names),
                  my_approvals=approvals_for(ws, actor.key, (table.base.key, table.key, rid)))


def approval_rows(ws: Workspace, table: Table, asked: list[dict[str, Any]],
                  names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Who was asked to approve this record and what they decided (no request's message: that is its approver's)."""
    return [{"who": person_name(ws, r["approver"], names), "status": r["status"], "comment": r["comment"] or "",
             "when": format_time(ws, r["decided_at"]) if r["decided_at"] else "",
             "automation": automation_name(table, f"automation:{r['automation']}")} for r in asked]


def linked_titles(table: Table, entry: dict[str, Any], links: cells.LinkTitles) -> dict[str, Any]:
    """A history entry of a link field names its records by their primary field, as the reader
    sees them (the engine has already left out records they may not read), not by rec… ids."""
    key = entry.get("field")
    if not key or key not in table.fields or table.fields[key].shown_as != "links" or links.access.mask(key):
        return {}  # a masked link stays as masked as the engine wrote it
    other = table.tdef.fields[key].options.get("table", "")
    out = {}
    for side in ("old", "new"):
        ids = [i.strip() for i in str(entry.get(side) or "").split(",") if i.strip()]
        out[side] = ", ".join(links.title(other, i) or i for i in ids)
    return out


def comment_item(ws: Workspace, comment: Any, names: dict[str, str] | None = None) -> dict[str, str]:
    return {"when": format_time(ws, comment.at), "who": person_name(ws, comment.author, names), "body": comment.body}


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
        raise PermissionDenied(code="may_not_change_record")
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


async def add_comment(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    table = get_table(request)
    rid = request.path_params["rid"]
    table.get(rid, actor=actor)  # 404 for a record they may not read
    form = await request.form(max_files=0)
    check_csrf(request, form)
    body = str(form.get("body") or "").strip()
    if not body:
        raise ValidationError({"body": "a comment needs some text"})
    body = body[:MAX_COMMENT]
    url = cells.record_url(table, rid)
    with ws.storage.transaction():
        comment_id = engine_comments.add(table, rid, body, actor=actor)
        engine_comments.notify_mentions(table, rid, comment_id, body, actor=actor, link=url)
    if request.headers.get("hx-request") == "true":  # editors.js: the new comment, put in place without a reload
        posted = next((c for c in reversed(engine_comments.for_record(table, rid, actor=actor)) if c.id == comment_id), None)
        return render(request, "_comment.html", cm=comment_item(ws, posted) if posted else
                      {"when": "", "who": actor.name, "body": body})
    return RedirectResponse(url + "#comments", status_code=303)


# -- linked records ---------------------------------------------------------------------------
def link_error(table: Table, key: str, raw: Any, actor: Actor, keep: list[str] | None = None) -> str | None:
    """Why `raw` may not be linked through `key`: it names a record the actor cannot read
    (records already linked, `keep`, may stay). None if fine or if the engine will refuse it."""
    field = table.fields[key]
    try:
        ids = load_json_list(field.coerce(raw))
    except ValueError:
        return None
    other = table.base.table(field.fdef.options.get("table", ""))
    for rid in ids:
        if rid not in (keep or []) and not other.readable_by(rid, actor):
            return Message("field_problem", field=field.fdef.name,
                           problem=Message("unknown_linked_record", record=rid, table=other.tdef.name))
    return None


# -- one cell --------------------------------------------------------------------------------
async def edit_cell(request: Request) -> Response:
    """POST value=… → 200 with the new <td> and, after it, the <td>s of the row's other fields
    that changed with it (formulas, lookups; their keys also in X-Changed-Fields); 422/403
    with the old <td> and the reason."""
    actor = require_actor(request)
    table = get_table(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    rid, key = request.path_params["rid"], request.path_params["field"]
    if key not in table.fields:
        raise NotFoundError(code="unknown_field", params={"field": key})
    access = table.access(actor)
    row = table.fetch_row(rid, access, actor) if access.can_read else None
    if row is None:
        raise NotFoundError(code="record_not_found", params={"record": rid})
    linked = load_json_list(row.get(key))  # every record linked now, those out of the reader's sight too
    restrict_rows(table, [row], actor, access)  # as the reader sees it, like the record after the save
    before = table.present(row, access)
    raw = form.get("value")
    value = raw if not isinstance(raw, UploadFile) else None
    status, error = 200, None
    try:
        if table.fields[key].editor().choices == "records" and access.readable(key):
            error = link_error(table, key, value, actor, keep=linked)
            if error is not None:
                raise ValidationError({key: error})
        rec = table.update(rid, {key: value}, actor=actor)
    except ValidationError as exc:
        status, error = 422, exc.errors.get(key) or str(exc)
    except PermissionDenied as exc:
        status, error = 403, str(exc)
    if error is not None:
        rec = table.get(rid, actor=actor)
    if not access.readable(key):
        raise NotFoundError(code="unknown_field", params={"field": key})
    changed = [] if error is not None else [
        k for k in cells.columns_for(table, actor, None)
        if k != key and before["fields"].get(k) != rec["fields"].get(k)]
    c, *extras = cells.build_row(table, rec, [key, *changed], actor)
    response = render(request, "_cell.html", status_code=status, c=c, error=error, extras=extras)
    response.headers["X-Changed-Fields"] = ",".join(quote(k) for k in ([key] if error is None else []) + changed)
    return response


async def row_cells(request: Request) -> Response:
    """GET → the <td>s of every field of the record the person may read, as the grid and the
    record page draw them: after a save, the page asks again a moment later for what
    automations changed meanwhile (a status set when an owner is assigned)."""
    actor = require_actor(request)
    table = get_table(request)
    rid = request.path_params["rid"]
    rec = table.get(rid, actor=actor)
    built = cells.build_row(table, rec, cells.columns_for(table, actor, None), actor)
    if not built:
        raise NotFoundError(code="record_not_found", params={"record": rid})
    response = render(request, "_cell.html", c=built[0], error=None, extras=built[1:])
    response.headers["Cache-Control"] = "no-store"
    return response


# -- a new record ----------------------------------------------------------------------------
def new_fields(table: Table, actor: Actor) -> list[str]:
    """Fields the actor may set on a new record, in table order (computed ones never)."""
    access = table.access(actor)
    return [k for k, field in table.fields.items()
            if not field.computed and access.level(k) in ("create", "edit")
            and (field.editor().choices != "records" or cells.link_picker(table, k, actor) is not None)]


def back_url(table: Table, actor: Actor, view: str | None) -> tuple[str, str | None]:
    """(where Cancel goes, the view key) for a new record started from a view."""
    vdef = table.tdef.views.get(view or "")
    if vdef is None or not view_offered(table, vdef, actor):
        return f"/b/{table.base.key}/t/{table.key}", None
    return view_url(table.base.key, table.key, vdef), vdef.key


def render_new(request: Request, table: Table, actor: Actor, values: dict[str, Any], errors: dict[str, str],
               status: int = 200, view: str | None = None, added: dict[str, str] | None = None) -> Response:
    keys = new_fields(table, actor)
    links = cells.LinkTitles(table, actor)
    people = cells.active_people(table.ws)
    inputs = [cells.field_input(table, k, actor, values.get(k), error=errors.get(k), links=links, people=people)
              for k in keys]
    back, view_key = back_url(table, actor, view)
    return render(request, "new_record.html", status_code=status, table=table, inputs=inputs,
                  general=[msg for k, msg in errors.items() if k not in keys], back=back, view=view_key,
                  added=added, multipart=any(f["widget"] == "file" for f in inputs))


def default_values(table: Table, actor: Actor) -> dict[str, Any]:
    return {k: cells.input_value(table, k, table.default_value(k, table.tdef.fields[k].default, actor))
            for k in new_fields(table, actor)}


def posted(table: Table, key: str, form: FormData) -> Any:
    """What the new-record form holds for one field, as typed (kept if the form comes back)."""
    if table.fields[key].editor().widget == "checkbox":  # ticked ("1"), or as the field type reads it (是/否, true/false)
        text = str(form.get(key) or "").strip()
        try:
            return bool(table.fields[key].coerce(text)) if text else False
        except ValueError:
            return text  # refused with the field type's reason
    if cells.is_list_input(table, key):
        return [str(v).strip() for v in form.getlist(key) if isinstance(v, str) and str(v).strip()]
    raw = form.get(key)
    return raw if isinstance(raw, str) else ""


async def new_record_page(request: Request) -> Response:
    actor = require_actor(request)
    table, access = table_for_adding(request, actor)
    added = None
    rid = request.query_params.get("added", "")
    if rid and table.readable_by(rid, actor):
        rec = table.get(rid, actor=actor)
        title = table.display(rec, table.tdef.primary, access) if access.readable(table.tdef.primary) else ""
        added = {"url": cells.record_url(table, rid), "title": title or rid}
    return render_new(request, table, actor, default_values(table, actor), {}, view=request.query_params.get("view"),
                      added=added)


async def create_record(request: Request) -> Response:
    """Create a record from the new-record form; on a refusal show the form again, as typed,
    with each reason next to its field. A bare POST (no `submitted`) adds an empty record,
    or shows the form when the table needs values."""
    actor = require_actor(request)
    table, access = table_for_adding(request, actor)
    async with request.form(max_files=20) as form:
        check_csrf(request, form)
        keys = new_fields(table, actor)
        submitted = bool(form.get("submitted"))
        view = str(form.get("view") or "") or None
        errors: dict[str, str] = {}
        for k in form:
            if k in table.fields and k not in keys:  # not on the page: refused as the engine would
                errors[k] = (Message("field_not_changeable", field=table.tdef.fields[k].name) if access.readable(k)
                             else Message("unknown_field", field=k))
        raw: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for k in keys:
            fdef = table.tdef.fields[k]
            if not submitted and k not in form:
                continue
            widget = table.fields[k].editor().widget
            if widget == "file":
                kept = cells.kept_attachments(table, k, [v for v in form.getlist(k) if isinstance(v, str)], actor)
                files = [u for u in form.getlist(k) if isinstance(u, UploadFile) and u.filename]
                if files:
                    try:
                        kept += await save_uploads(request, table, k, files, actor)
                    except ValidationError as exc:
                        errors.update(exc.errors)
                raw[k] = [a["id"] for a in kept]
                if kept:
                    values[k] = kept
                continue
            raw[k] = posted(table, k, form)
            if widget == "checkbox" or not is_blank(raw[k]):
                values[k] = raw[k]
    for k, v in values.items():
        if k in errors or k not in table.fields:
            continue
        try:
            table.fields[k].coerce(v)
        except ValueError as exc:
            errors[k] = Message("field_problem", field=table.tdef.fields[k].name, problem=str(exc))
            continue
        if table.fields[k].editor().choices == "records":
            problem = link_error(table, k, v, actor)
            if problem:
                errors[k] = problem
    if submitted:
        for k in keys:
            fdef = table.tdef.fields[k]
            if fdef.required and k not in errors and is_blank(values.get(k)) and \
                    table.default_value(k, fdef.default, actor) is None:
                errors[k] = Message("required", field=fdef.name)
    if not errors:
        try:
            rec = table.create(values, actor=actor)
        except ValidationError as exc:
            if not submitted and not values:  # "Add record" on a table that needs values: ask for them
                return render_new(request, table, actor, default_values(table, actor), {}, view=view)
            errors = exc.errors
        else:
            if form.get("then") == "new":
                _, view_key = back_url(table, actor, view)
                query = urlencode({k: v for k, v in (("view", view_key), ("added", rec["id"])) if v})
                return RedirectResponse(f"/b/{table.base.key}/t/{table.key}/new?{query}", status_code=303)
            return RedirectResponse(cells.record_url(table, rec["id"]), status_code=303)
    return render_new(request, table, actor, {**default_values(table, actor), **raw}, errors, status=422, view=view)


async def option_styles(request: Request) -> Response:
    """The rules for hex option colours (`.opt-x22aa66`); named colours are in app.css."""
    css = cells.options_css(get_ws(request))
    etag = cells.options_etag(css)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(css, media_type="text/css; charset=utf-8", headers=headers)


prefix = "/b/{base}/t/{table}/r/{rid}"
routes = [
    Route(prefix, record_page, methods=["GET"]),
    Route(prefix + "/delete", delete_record, methods=["POST"]),
    Route(prefix + "/restore", restore_record, methods=["POST"]),
    Route(prefix + "/comments", add_comment, methods=["POST"]),
    Route(prefix + "/run/{automation}", run_button, methods=["POST"]),
    Route(prefix + "/cell/{field}", edit_cell, methods=["POST"]),
    Route(prefix + "/cells", row_cells, methods=["GET"]),
    Route("/b/{base}/t/{table}/new", new_record_page, methods=["GET"]),
    Route("/b/{base}/t/{table}/new", create_record, methods=["POST"]),
    Route("/options.css", option_styles, methods=["GET"]),
]
