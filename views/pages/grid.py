"""What the grid script (static/grid.js) asks the server for beside the table page: blocks of
rows as the person scrolls, rows again after a save, the summary bar, their column layout, and
the deletion of the rows they selected.

Words: a *block* is `limit` rows from `offset` of the grid as the person sees it (their view,
prefs, search), drawn by the same `_grid_rows.html` fragment as the page's first screen, so
what a row shows is decided here, with the person's permissions, never in the browser. The
last blocks of a big view are read from its end (`reverse`), not by skipping a million rows.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import NotFoundError, summary
from engine import prefs as prefs_service
from engine.errors import GridbaseError
from engine.reads import MAX_OFFSET
from views.pages.table import GridState, build_rows, first_page, grid_state, prefix
from views.pages.web import check_csrf, get_ws, render

BLOCK = 100
MAX_BLOCK = 500
REVERSE_AFTER = 5_000  # past this offset, a block in the second half of the view is read from its end
MAX_IDS = 500
MAX_BODY = 256 * 1024


def whole_number(text: str, default: int, most: int) -> int:
    """A query parameter as a whole number within 0..most (`default` if it is not one)."""
    text = text.strip()
    if not text.isascii() or not text.isdecimal() or len(text) > 12:
        return default
    return min(int(text), most)


def fragment(request: Request, state: GridState, rows: list[dict[str, Any]]) -> Response:
    response = render(request, "_grid_rows.html", rows=rows, columns=state.columns, deleted=state.deleted)
    response.headers["Cache-Control"] = "no-store"
    return response


async def rows_block(request: Request) -> Response:
    """GET …/rows?offset=N&limit=M → the <tr>s of rows N+1 … N+M of the person's grid;
    GET …/rows?ids=rec1,rec2 → the <tr>s of those records (after a save, an undo)."""
    state = grid_state(request)
    ids = [i for i in request.query_params.get("ids", "").split(",") if i.strip()][:MAX_IDS]
    if ids:
        records = []
        for rid in ids:
            try:
                records.append(state.table.get(rid.strip(), actor=state.actor))
            except NotFoundError:
                continue  # gone, or not theirs to read: nothing is said about it
        return fragment(request, state, build_rows(state, records, 0, last_group=""))
    offset = whole_number(request.query_params.get("offset", ""), 0, MAX_OFFSET)
    limit = max(1, whole_number(request.query_params.get("limit", ""), BLOCK, MAX_BLOCK))
    before = 1 if state.group and offset > 0 else 0  # the row above: does a group heading start here?
    if offset > REVERSE_AFTER:
        # The grid knows the count already (…/count): it sends it back rather than have it
        # counted again. A wrong one only shifts which of the person's own rows come back.
        told = whole_number(request.query_params.get("total", ""), -1, MAX_OFFSET)
        total = told if told >= 0 else first_page(state, 0, 1).total or 0
        if offset >= total:
            return fragment(request, state, [])
        if offset > total // 2:
            end = min(offset + limit, total)
            page = state.query(total - end, end - offset + before, with_total=False, reverse=True)
            records = list(reversed(page.records))
            last = state.table.display(records[0], state.group, state.access) if before and len(records) > end - offset else None
            return fragment(request, state, build_rows(state, records[-(end - offset):], offset + 1, last_group=last))
    page = first_page(state, offset - before, limit + before, with_total=False)
    records = page.records
    last = None
    if before and records:
        last = state.table.display(records[0], state.group, state.access)
        records = records[1:]
    return fragment(request, state, build_rows(state, records, offset + 1, last_group=last))


async def row_count(request: Request) -> Response:
    """GET …/count → {"total": N}: how many rows the person's grid has (the first screen is
    served without counting them)."""
    state = grid_state(request)
    total = first_page(state, 0, 1).total or 0
    return JSONResponse({"total": total}, headers={"Cache-Control": "no-store"})


async def summary_bar(request: Request) -> Response:
    """GET …/summary → the summary row under the columns: figures over every row of the
    person's grid (masked and hidden fields: none)."""
    state = grid_state(request)
    try:
        figures = summary.summarize(state.table, actor=state.actor, fields=state.columns, filter=state.flt,
                                    search=state.search)
    except GridbaseError:
        figures = {}
    count = next((f["count"] for f in figures.values() if "count" in f), "")
    response = render(request, "_summary_row.html", columns=state.columns, figures=figures, count=count)
    response.headers["Cache-Control"] = "no-store"
    return response


async def read_json(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise GridbaseError(code="request_too_large")
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise GridbaseError(code="request_not_json") from None


async def save_columns(request: Request) -> Response:
    """POST …/columns JSON {order, hidden, widths, frozen, row_height} or {"reset": true}:
    the person's column layout of this view (for them only)."""
    check_csrf(request)
    state = grid_state(request)
    data = await read_json(request)
    layout = {} if not isinstance(data, dict) or data.get("reset") else prefs_service.clean_columns(data, state.all_columns)
    table = state.table
    prefs_service.save_columns(get_ws(request).storage, state.actor.key, table.base.key, table.key,
                               state.vdef.key if state.vdef else "", layout)
    return JSONResponse({"ok": True, "columns": layout})


routes = [
    Route(prefix + "/rows", rows_block, methods=["GET"]),
    Route(prefix + "/v/{view}/rows", rows_block, methods=["GET"]),
    Route(prefix + "/count", row_count, methods=["GET"]),
    Route(prefix + "/v/{view}/count", row_count, methods=["GET"]),
    Route(prefix + "/summary", summary_bar, methods=["GET"]),
    Route(prefix + "/v/{view}/summary", summary_bar, methods=["GET"]),
    Route(prefix + "/columns", save_columns, methods=["POST"]),
    Route(prefix + "/v/{view}/columns", save_columns, methods=["POST"]),
]
