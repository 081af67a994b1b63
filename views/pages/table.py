"""The home page and the table page: grid, per-person filter/sort/group, paging, search,
inline cell edits, new records, export and import.

Words: a *view* is declared in YAML and never changes here; a person's *prefs* (filter
rows, a sort and a group-by, kept by engine.prefs) narrow and reorder it for that person
only, and "Reset to view" deletes them. Every read and write goes through the record
service with the signed-in actor, so the grid only ever holds what that person may see.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import NotFoundError, QueryError, ValidationError, summary, transfer
from engine import prefs as prefs_service
from engine.errors import GridbaseError, QueryTimeout
from engine.model import ViewDef
from engine.plugins import view_types
from engine.query import all_of
from engine.reads import MAX_OFFSET
from engine.records import Table
from views.messages import render_all
from views.pages import cells, grid_cells
from views.pages.files import content_disposition
from views.pages.web import (
    check_csrf,
    get_locale,
    get_table,
    get_ws,
    render,
    require_actor,
    table_for_adding,
    view_offered,
    view_url,
    views_for,
)

PAGE_SIZE = 50
COUNT_INLINE = 50_000  # tables past about this many rows are counted after their first screen
OPERATORS = ["eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte", "is_empty", "is_not_empty"]
NO_VALUE = ("is_empty", "is_not_empty")
# The filter panel's words for each operator (a field type's own operator shows its name).
OP_LABELS = {"eq": "equals", "neq": "not equals", "contains": "contains", "not_contains": "does not contain",
             "gt": "greater than", "gte": "greater than or equal", "lt": "less than",
             "lte": "less than or equal", "is_empty": "is empty", "is_not_empty": "is not empty",
             "under": "is in or below", "not_under": "is not in or below"}  # a department and its subtree


def ops_for(table: Table, key: str) -> list[str]:
    """The filter operators that make sense for a field: its type's `filter_ops`, else all."""
    field = table.fields.get(key)
    ops = getattr(field, "filter_ops", None) if field is not None else None
    if isinstance(ops, (list, tuple)) and ops and all(isinstance(op, str) for op in ops):
        return list(ops)
    return list(OPERATORS)


def known_op(op: Any) -> bool:
    """An operator name as a filter may hold it (the filter compiler decides whether it fits)."""
    return isinstance(op, str) and 0 < len(op) <= 40 and op.replace("_", "").isalpha()


def get_view(table: Table, key: str | None, actor: Any) -> ViewDef | None:
    """The view `key` if the actor may see it (None for the plain table)."""
    if key is None:
        return None
    vdef = table.tdef.views.get(key)
    if not view_offered(table, vdef, actor):
        raise NotFoundError(code="unknown_view", params={"view": key})
    return vdef


async def home(request: Request) -> Response:
    require_actor(request)
    return render(request, "home.html")


# -- prefs -----------------------------------------------------------------------------------
def load_prefs(request: Request, table: Table, view: str, person: str) -> dict[str, Any]:
    return prefs_service.load(get_ws(request).storage, person, table.base.key, table.key, view)


def filterable(table: Table, actor: Any) -> list[str]:
    """Fields a person may filter, sort or group by: readable and not masked (no probing)."""
    access = table.access(actor)
    return [k for k in table.fields if access.readable(k) and not access.mask(k)]


def prefs_from_form(form: Any, allowed: list[str], table: Table | None = None) -> dict[str, Any]:
    filters = []
    for field, op, value in zip(form.getlist("f_field"), form.getlist("f_op"), form.getlist("f_value"), strict=False):
        ops = ops_for(table, field) if table is not None and field in allowed else OPERATORS
        if field in allowed and op in ops and (op in NO_VALUE or str(value).strip()):
            filters.append({"field": field, "op": op, "value": "" if op in NO_VALUE else str(value).strip()[:500]})
    prefs: dict[str, Any] = {"filters": filters[:20]}
    sort_field = str(form.get("sort_field") or "")
    if sort_field in allowed:
        prefs["sort"] = {"field": sort_field, "dir": "desc" if form.get("sort_dir") == "desc" else "asc"}
    group = str(form.get("group_by") or "")
    if group in allowed:
        prefs["group_by"] = group
    return prefs


def effective_query(vdef: ViewDef | None, prefs: dict[str, Any], allowed: list[str]) -> tuple[Any, list[str], str | None]:
    """(filter, sort, group_by) of a view with a person's prefs applied."""
    parts = [vdef.filter] if vdef and vdef.filter else []
    for f in prefs.get("filters", []):
        if f.get("field") in allowed and known_op(f.get("op")):
            parts.append({f["field"]: {f["op"]: True if f["op"] in NO_VALUE else f.get("value", "")}})
    flt = all_of(parts)
    sort = list(vdef.sort) if vdef else []
    pref_sort = prefs.get("sort")
    if isinstance(pref_sort, dict) and pref_sort.get("field") in allowed:
        sort = [("-" if pref_sort.get("dir") == "desc" else "") + pref_sort["field"]]
    group = prefs.get("group_by") if prefs.get("group_by") in allowed else (vdef.group_by if vdef else None)
    if group:
        sort = [group] + [s for s in sort if s.lstrip("-") != group]
    return flt, sort, group


def table_url(table: Table, view: str | None) -> str:
    url = f"/b/{table.base.key}/t/{table.key}"
    return url + f"/v/{view}" if view else url


# -- the table page --------------------------------------------------------------------------
def page_offset(text: str) -> int:
    """The row a page starts at, from ?offset=: 0 unless it is a whole number; a number past
    the last row a page can start at is refused (400) with what to do instead."""
    text = text.strip()
    if not text.isdecimal() or not text.isascii():
        return 0
    if len(text) > len(str(MAX_OFFSET)) or int(text) > MAX_OFFSET:
        shown = text if len(text) <= 24 else text[:20] + "…"
        raise QueryError(f"offset {shown} is too large: a page can start at row {MAX_OFFSET} at the"
                         " most; use the page links, or remove offset from the address to start at"
                         " the first row")
    return int(text)


@dataclass
class GridState:
    """What a grid shows for one request: the view, the person's prefs and the query they make."""

    actor: Any
    table: Table
    access: Any
    vdef: ViewDef | None
    prefs: dict[str, Any]
    allowed: list[str]
    search: str | None
    deleted: bool
    adhoc: dict[str, str] | None
    flt: Any
    sort: list[str]
    group: str | None
    all_columns: list[str]
    columns: list[str]
    layout: dict[str, Any]
    error: str | None = None

    @property
    def url(self) -> str:
        return table_url(self.table, self.vdef.key if self.vdef else None)

    def query(self, offset: int, limit: int, *, with_total: bool = True, reverse: bool = False,
              known_total: bool = False) -> Any:
        return self.table.query(actor=self.actor, filter=self.flt, sort=self.sort, limit=limit, offset=offset,
                                search=self.search, deleted=self.deleted, with_total=with_total, reverse=reverse,
                                known_total=known_total)


def grid_state(request: Request) -> GridState:
    """The grid of this request's table and view, as the signed-in person set it up."""
    actor = require_actor(request)
    table = get_table(request)
    access = table.access(actor)
    if not access.can_read:
        raise NotFoundError(code="unknown_table", params={"table": table.key})
    vdef = get_view(table, request.path_params.get("view"), actor)
    view_key = vdef.key if vdef else ""
    allowed = filterable(table, actor)
    prefs = load_prefs(request, table, view_key, actor.key)
    search = request.query_params.get("q", "").strip()[:200] or None
    deleted = request.query_params.get("deleted") == "1" and access.can_delete
    all_columns = cells.columns_for(table, actor, vdef.fields if vdef else None)
    layout = prefs_service.clean_columns(prefs.get("columns"), all_columns)
    # An ad-hoc filter from a link (a dashboard chart's bar): ?f=FIELD&op=OP&v=VALUE.
    adhoc = None
    f_key, f_op = request.query_params.get("f"), request.query_params.get("op", "eq")
    if f_key in allowed and f_op in ops_for(table, str(f_key)):
        adhoc = {"field": str(f_key), "op": f_op, "value": request.query_params.get("v", "")[:500]}
        prefs = {**prefs, "filters": list(prefs.get("filters", [])) + [adhoc]}
    flt, sort, group = effective_query(vdef, prefs, allowed)
    return GridState(actor=actor, table=table, access=access, vdef=vdef, prefs=prefs, allowed=allowed, search=search,
                     deleted=deleted, adhoc=adhoc, flt=flt, sort=sort, group=group, all_columns=all_columns,
                     columns=prefs_service.arrange(all_columns, layout), layout=layout)


def first_page(state: GridState, offset: int, limit: int, *, with_total: bool = True, known_total: bool = False) -> Any:
    """A page of the grid; a filter the data cannot take (a stale pref) is dropped and said.
    A read that ran out of time is not asked again without the filter: that would take as long
    again (a million rows counted twice) and show other rows than the person asked for."""
    try:
        return state.query(offset, limit, with_total=with_total, known_total=known_total)
    except QueryTimeout:
        raise
    except (QueryError, ValidationError, ValueError) as exc:
        state.error = str(exc)
        state.flt, state.sort, state.group = effective_query(state.vdef, {**state.prefs, "filters": []}, state.allowed)
        return state.query(offset, limit, with_total=with_total, known_total=known_total)


def build_rows(state: GridState, records: list[dict[str, Any]], first_number: int,
               last_group: Any = None) -> list[dict[str, Any]]:
    """Rows of the `_grid_rows.html` fragment: cells as the person may see them, a group
    heading where the group-by value changes (`last_group`: the value of the row before)."""
    table, actor = state.table, state.actor
    ids = [r["id"] for r in records]
    can_edit = cells.editable_ids(table, actor, ids) if not state.deleted else set()
    links = cells.LinkTitles(table, actor)
    links.prefetch(records, state.columns)
    drawn = grid_cells.GridCells(table, actor, links)  # a column's cell drawn once per value
    rows: list[dict[str, Any]] = []
    last = object() if last_group is None else last_group
    for number, rec in enumerate(records, start=first_number):
        if state.group:
            text = table.display(rec, state.group, state.access)
            if text != last:
                rows.append({"group": text})
                last = text
        rows.append({"id": rec["id"], "number": number, "url": cells.record_url(table, rec["id"]),
                     "html": drawn.row(rec, state.columns, rec["id"] in can_edit)})
    return rows


async def table_page(request: Request) -> Response:
    state = grid_state(request)
    table, vdef, actor = state.table, state.vdef, state.actor
    if vdef is not None and view_url(table.base.key, table.key, vdef) != table_url(table, vdef.key):
        return RedirectResponse(view_url(table.base.key, table.key, vdef), status_code=303)
    offset = page_offset(request.query_params.get("offset", ""))
    # No counting on the first screen of a big table: counting a million rows costs more than the
    # page itself. A count kept since the last one (engine.counts) is shown when no write has
    # changed it; else the last one is shown as "about N" and the grid script asks …/count next.
    # A view that ends on this page is counted.
    counted = summary.rows_about(table) < COUNT_INLINE
    page = first_page(state, offset, PAGE_SIZE, with_total=counted, known_total=not counted)
    estimate = page.meta.get("estimate") if page.total is None else None
    rows = build_rows(state, page.records, offset + 1)
    base_url = state.url
    adhoc, search, deleted = state.adhoc, state.search, state.deleted

    def link(new_offset: int) -> str:
        extra = (("f", adhoc["field"]), ("op", adhoc["op"]), ("v", adhoc["value"])) if adhoc else ()
        params = {k: v for k, v in (("q", search), ("deleted", "1" if deleted else None), *extra, ("offset", new_offset)) if v}
        return base_url + ("?" + urlencode(params) if params else "")

    total = page.total if page.total is not None else offset + len(page.records) if page.next_offset is None else None
    offered = views_for(table, actor)
    views = [{"key": v.key, "name": v.name, "url": view_url(table.base.key, table.key, v)} for v in offered]
    # No "All" tab beside a view that lists every record already (全部 beside 全部投诉), unless on that page.
    all_tab = vdef is None or not any(vtype.lists_every_row(v) for v in offered
                                      if (vtype := view_types().get(v.type)) is not None)
    query = {k: v for k, v in (("q", search), ("deleted", "1" if deleted else None)) if v}
    if adhoc:
        query.update(f=adhoc["field"], op=adhoc["op"], v=adhoc["value"])
    field_ops = {k: ops_for(table, k) for k in state.allowed}
    # Every filter row's operator menu: the common ones, then the fields' own (a department's
    # "is in or below"), each once, in the order met (worked out once, not per filter row).
    every_op = OPERATORS + list(dict.fromkeys(op for ops in field_ops.values() for op in ops if op not in OPERATORS))
    return render(request, "table.html", table=table, vdef=vdef, views=views, all_tab=all_tab, columns=state.columns, rows=rows,
                  pickers=[] if state.deleted else cells.link_pickers(table, state.columns, actor),
                  menu_columns=prefs_service.arrange(state.all_columns, {"order": state.layout.get("order", [])}),
                  layout=state.layout, total=total, estimate=estimate, offset=offset,
                  page_size=PAGE_SIZE, search=search or "", deleted=deleted,
                  prev_url=link(max(0, offset - PAGE_SIZE)) if offset else None,
                  next_url=link(page.next_offset) if page.next_offset is not None else None,
                  base_url=base_url, prefs=state.prefs, allowed=state.allowed, operators=OPERATORS,
                  field_ops=field_ops, every_op=every_op, op_labels=OP_LABELS,
                  error=state.error, access=state.access, query_string=urlencode(query),
                  view_filter=json.dumps(vdef.filter, ensure_ascii=False) if vdef and vdef.filter else "")


async def save_prefs(request: Request) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    if not table.access(actor).can_read:
        raise NotFoundError(code="unknown_table", params={"table": table.key})
    vdef = get_view(table, request.path_params.get("view"), actor)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    prefs = {} if form.get("action") == "reset" else prefs_from_form(form, filterable(table, actor), table)
    kept = load_prefs(request, table, vdef.key if vdef else "", actor.key).get("columns")
    if kept:  # the column layout has its own reset (the columns menu)
        prefs["columns"] = kept
    prefs_service.save(get_ws(request).storage, actor.key, table.base.key, table.key, vdef.key if vdef else "", prefs)
    return RedirectResponse(table_url(table, vdef.key if vdef else None), status_code=303)


# -- writing ---------------------------------------------------------------------------------
async def export(request: Request) -> Response:
    actor = require_actor(request)
    table = get_table(request)
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        raise NotFoundError(f"unknown export format '{fmt}'")
    view = request.query_params.get("view") or None
    get_view(table, view, actor)
    header, rows = transfer.export_rows(table, actor=actor, view=view)
    name = f"{table.tdef.name}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        transfer.write_csv(buf, header, rows)
        return Response(buf.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": content_disposition(name)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xlsx"
        transfer.write_xlsx(path, header, rows)
        data = path.read_bytes()
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": content_disposition(name)})


async def import_upload(request: Request) -> Response:
    actor = require_actor(request)
    table, _ = table_for_adding(request, actor)
    async with request.form(max_files=1) as form:
        check_csrf(request, form)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise GridbaseError(code="import_choose_file")
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise GridbaseError(code="import_file_kind")
        skip_unknown = form.get("ignore_unknown") == "1"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(await upload.read())
            try:
                report = transfer.import_file(table, path, actor=actor, ignore_unknown=skip_unknown)
            except transfer.UnknownColumns as exc:  # nothing imported: the page lists the columns
                locale = get_locale(request)
                return render(request, "import_report.html", status_code=422, table=table,
                              report=transfer.ImportReport(), refused=True, warnings=[],
                              problems=render_all([*exc.columns, exc.ENDING], locale), back=table_url(table, None))
    locale = get_locale(request)
    return render(request, "import_report.html", status_code=200 if report.ok else 422, table=table, report=report,
                  problems=render_all(report.problems, locale), warnings=render_all(report.warnings, locale),
                  refused=False, back=table_url(table, None))


prefix = "/b/{base}/t/{table}"
routes = [
    Route("/", home, methods=["GET"]),
    Route(prefix, table_page, methods=["GET"]),
    Route(prefix + "/v/{view}", table_page, methods=["GET"]),
    Route(prefix + "/prefs", save_prefs, methods=["POST"]),
    Route(prefix + "/v/{view}/prefs", save_prefs, methods=["POST"]),
    Route(prefix + "/export.{fmt:str}", export, methods=["GET"]),
    Route(prefix + "/import", import_upload, methods=["POST"]),
    # New records (GET and POST …/new) and cell saves (POST …/r/{rid}/cell/{field}) are served
    # by views.record.
]
