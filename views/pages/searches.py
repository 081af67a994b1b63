"""What the editors ask the server while a person edits: the linked-record picker's search,
the people search and a plugin editor's script (views/pages/static/editors.js).

A *picker* chooses linked records: it searches the linked table's primary field as the
signed-in person (`/link/{field}?q=`, at most MAX_LINK_RESULTS records, never the whole table).
The *people search* (`/people/{field}?q=`) answers with the enabled people whose name, account
or e-mail holds q, with their department, to someone who may set that person field (a form's
own search is in views.pages.forms). A plugin's field type may ship its editor as a script
(`Editor.script`); it is served by its widget's name, and only files a field of the workspace
declares are.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from engine import NotFoundError, QueryError
from views.pages import cells
from views.pages.web import get_table, get_ws, require_actor


async def link_search(request: Request) -> Response:
    """GET ?q=… → {"records": [{"id", "title"}], "more": bool}: records of the linked table
    the person may read whose primary field contains q (the first ones if q is empty)."""
    actor = require_actor(request)
    table = get_table(request)
    access = table.access(actor)
    key = request.path_params["field"]
    fdef = table.tdef.fields.get(key)
    if (not access.can_read or fdef is None or table.fields[key].editor().choices != "records" or not access.readable(key)
            or access.level(key) not in ("create", "edit") or access.mask(key)):
        raise NotFoundError(code="unknown_field", params={"field": key})
    if cells.link_picker(table, key, actor) is None:
        raise NotFoundError(code="unknown_table", params={"table": fdef.options.get("table")})
    other = table.base.table(fdef.options["table"])
    oaccess = other.access(actor)
    primary = other.tdef.primary
    term = request.query_params.get("q", "").strip()[:100]
    shown = oaccess.readable(primary)
    flt: Any = None
    search = None
    if term:
        if shown and not oaccess.mask(primary) and other.fields[primary].kind != "array":
            flt = {primary: {"contains": term}}
        else:
            search = term  # the primary field cannot be searched by this person: their other text fields
    try:
        page = other.query(actor=actor, filter=flt, search=search, limit=cells.MAX_LINK_RESULTS,
                           fields=[primary] if shown else None, with_total=False)
    except QueryError:
        page = other.query(actor=actor, search=term or None, limit=cells.MAX_LINK_RESULTS,
                           fields=[primary] if shown else None, with_total=False)
    records = [{"id": r["id"], "title": (other.display(r, primary, oaccess) if shown else "") or r["id"]}
               for r in page.records]
    return JSONResponse({"records": records, "more": page.next_offset is not None},
                        headers={"Cache-Control": "no-store"})


async def people_search(request: Request) -> Response:
    """GET ?q=… → {"people": [{"value", "label", "note"}], "more": bool}: the enabled people a
    person field of this table may name whose name, account or e-mail contains q (department as
    the note), for someone who may set that field; anyone else is told the field is unknown."""
    actor = require_actor(request)
    table = get_table(request)
    access = table.access(actor)
    key = request.path_params["field"]
    if (not access.can_read or key not in table.fields or table.fields[key].editor().choices != "people"
            or not access.readable(key) or access.level(key) not in ("create", "edit") or access.mask(key)):
        raise NotFoundError(code="unknown_field", params={"field": key})
    return cells.people_answer(table.ws, request.query_params.get("q", ""))


async def editor_script(request: Request) -> Response:
    """A plugin editor's script (Editor.script), by its widget's name: only files a field type of
    this workspace declares are served, never a path from the request. Code, not data: a public
    form's visitor gets it too."""
    path = cells.editor_scripts(get_ws(request)).get(request.path_params["widget"])
    if path is None:
        raise NotFoundError("unknown editor")
    return FileResponse(path, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


routes = [
    Route("/b/{base}/t/{table}/link/{field}", link_search, methods=["GET"]),
    Route("/b/{base}/t/{table}/people/{field}", people_search, methods=["GET"]),
    Route("/editors/{widget}.js", editor_script, methods=["GET"]),
]
