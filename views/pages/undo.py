"""The grid's writes of many cells and its undo and redo, as JSON for views/pages/static scripts.

    POST /b/{base}/t/{table}/cells   {"changes": [{"record": id, "field": key, "value": text}, ...]}
         → 200 {"ok": true, "records": [ids]}
         → 422 {"ok": false, "errors": [{"record", "field", "message"}, ...]}   (nothing written)
    POST /b/{base}/t/{table}/delete  {"records": [ids]}
         → 200 {"ok": true, "records": [ids]}
         → 422 {"ok": false, "errors": [{"record", "field": null, "message"}, ...]}  (nothing deleted)
    POST /b/{base}/t/{table}/undo    → 200 {"ok": true, "records": [ids], "message": text}
    POST /b/{base}/t/{table}/redo      or 409/422 {"ok": false, "message": text}

A paste, a fill or a bulk edit is one `Table.update_many` (all or nothing, undone as one), a
delete of the selected rows one `Table.delete_many` (restored as one by an undo);
each value is text converted by its field type as the API's `typecast` converts it. Undo and
redo are engine.undo's, as the signed-in person. Messages are in the page's language. Each
POST carries the CSRF token (header X-CSRF-Token, or a form field `csrf_token`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import NotFoundError, PermissionDenied, ValidationError
from engine import undo as engine_undo
from engine.errors import CellError, CellErrors, UndoRefused
from engine.fields.base import load_json_list
from engine.records import Table
from views.messages import render, render_error
from views.pages.record import automation_name, link_error, person_name
from views.pages.web import check_csrf, get_locale, get_table, require_actor, translator

MAX_CHANGES = 10_000  # cells of one paste or bulk edit


def _reply(status: int, **body: Any) -> Response:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def _checked(request: Request) -> None:
    """403 unless the POST carries the CSRF token (header, or the field of a posted form)."""
    form = None
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=0)
    check_csrf(request, form)


def _changes(body: Any) -> list[tuple[str, str, Any]] | None:
    """(record, field, value) of each change, or None when the body is not of that shape."""
    items = body.get("changes") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("record"), str) or not isinstance(item.get("field"), str):
            return None
        value = item.get("value")
        scalars = (str, int, float, bool)
        if value is not None and not isinstance(value, scalars) and not (
                isinstance(value, list) and all(isinstance(v, scalars) for v in value)):
            return None  # text as pasted (a list of texts for a field of several values)
        out.append((item["record"], item["field"], value))
    return out


async def save_cells(request: Request) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    await _checked(request)
    _ = translator(request)
    try:
        changes = _changes(json.loads(await request.body() or b"null"))
    except ValueError:
        changes = None
    if changes is None:
        return _reply(400, ok=False, errors=[],
                      message=_("The body must be JSON with a list of changes (record, field, value)"))
    if len(changes) > MAX_CHANGES:
        return _reply(422, ok=False, errors=[], message=_("At most {n} cells can be changed at once", n=MAX_CHANGES))
    refused: list[CellError] = []
    values: dict[str, dict[str, Any]] = {}
    access = table.access(actor)
    for record, key, value in changes:
        if key in table.fields and table.fields[key].editor().choices == "records" and access.readable(key):
            # Linked records must be ones the person may read (those linked already may stay).
            row = table.stored_row(record)
            error = link_error(table, key, value, actor, keep=load_json_list(row.get(key)) if row else [])
            if error is not None:
                refused.append(CellError(record, key, error))
                continue
        values.setdefault(record, {})[key] = value
    try:
        records = table.update_many(list(values.items()), actor=actor, refused=refused)
    except CellErrors as exc:
        locale = get_locale(request)
        return _reply(422, ok=False, errors=[{"record": c.record, "field": c.field, "message": render(c.message, locale)}
                                             for c in exc.cells])
    return _reply(200, ok=True, records=records)


async def delete_rows(request: Request) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    await _checked(request)
    _ = translator(request)
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    ids = body.get("records") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return _reply(400, ok=False, errors=[], message=_("The body must be JSON with a list of records"))
    if len(ids) > MAX_CHANGES:
        return _reply(422, ok=False, errors=[], message=_("At most {n} records can be deleted at once", n=MAX_CHANGES))
    try:
        deleted = table.delete_many(ids, actor=actor)
    except CellErrors as exc:
        locale = get_locale(request)
        return _reply(422, ok=False, errors=[{"record": c.record, "field": c.field, "message": render(c.message, locale)}
                                             for c in exc.cells])
    return _reply(200, ok=True, records=deleted)


def _who(table: Table, key: str, _: Any) -> str:
    if not key:
        return str(_("Someone"))
    return automation_name(table, key) or person_name(table.ws, key)


async def _undo_or_redo(request: Request, *, backwards: bool) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    await _checked(request)
    _ = translator(request)
    try:
        done = (engine_undo.undo if backwards else engine_undo.redo)(table, actor)
    except UndoRefused as exc:
        if exc.reason == "nothing":
            message = _("Nothing to undo") if backwards else _("Nothing to redo")
        elif exc.field:
            message = _("{who} has changed “{field}” since, so it was left as it is",
                        who=_who(table, exc.who, _), field=exc.field)
        else:
            message = _("{who} has changed this record since, so it was left as it is", who=_who(table, exc.who, _))
        return _reply(409, ok=False, message=message)
    except (ValidationError, PermissionDenied, NotFoundError) as exc:
        return _reply(422, ok=False, message=render_error(exc, get_locale(request)))
    count = len(done.records)
    message = _("Undone: {count} record(s)", count=count) if backwards else _("Redone: {count} record(s)", count=count)
    return _reply(200, ok=True, records=done.records, message=message)


async def undo(request: Request) -> Response:
    return await _undo_or_redo(request, backwards=True)


async def redo(request: Request) -> Response:
    return await _undo_or_redo(request, backwards=False)


routes = [
    Route("/b/{base}/t/{table}/cells", save_cells, methods=["POST"]),
    Route("/b/{base}/t/{table}/delete", delete_rows, methods=["POST"]),
    Route("/b/{base}/t/{table}/v/{view}/delete", delete_rows, methods=["POST"]),
    Route("/b/{base}/t/{table}/undo", undo, methods=["POST"]),
    Route("/b/{base}/t/{table}/redo", redo, methods=["POST"]),
]
