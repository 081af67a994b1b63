"""The timeline (Gantt) page: bars on a time axis, lanes by a field, and moving or stretching a bar.

Words: the *window* is the span of days shown, cut into *columns* by the *zoom*: `day` (14
columns of a day), `week` (8 weeks: 56 columns of a day), `month` (26 columns of a week) or
`quarter` (12 columns of a month). A *bar* is one record from its start (`date_field`) to its
end (`options.end`, or start + `options.duration` days, or the start day alone), drawn over
the columns it touches; a bar that runs past the window's edge is marked as cut there. A
*lane* is one value of `group_by` (a person, an option, a linked record), in the order of
the first bar in it. The page is plain HTML and CSS (grid columns by class, no inline
styles); timeline.js adds dragging and keys (Alt+←/→ moves a bar by a column, Alt+Shift+←/→
changes its end) and posts the shift here, where it goes through `table.update` as the
signed-in person: validated, permission-checked (only bars of rows and fields they may edit
are movable) and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import NotFoundError, PermissionDenied, ValidationError
from engine.records import Table
from views.pages import cells
from views.pages.boards import card_fields, load_view, local_moment, query_view, view_tabs
from views.pages.web import check_csrf, get_locale, get_ws, gettext, render, require_actor

TIMELINE_LIMIT = 1000
MAX_SHIFT_DAYS = 3660
#: zoom → (number of columns, days a column covers: 0 means a calendar month)
ZOOMS: dict[str, tuple[int, int]] = {"day": (14, 1), "week": (56, 1), "month": (26, 7), "quarter": (12, 0)}
DEFAULT_ZOOM = "week"


@dataclass(frozen=True)
class Column:
    start: date
    end: date  # inclusive
    label: str


def _month_start(day: date, months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def columns_for(zoom: str, anchor: date) -> list[Column]:
    """The window's columns for a zoom, starting on or a little before `anchor`."""
    count, days = ZOOMS[zoom]
    if days == 0:
        first = _month_start(anchor)
        return [Column(_month_start(first, i), _month_start(first, i + 1) - timedelta(days=1),
                       f"{_month_start(first, i):%Y-%m}") for i in range(count)]
    start = anchor - timedelta(days=anchor.weekday()) if zoom != "day" else anchor
    return [Column(start + timedelta(days=i * days), start + timedelta(days=i * days + days - 1),
                   f"{(start + timedelta(days=i * days)):%m-%d}") for i in range(count)]


def column_of(columns: list[Column], day: date) -> int:
    for i, col in enumerate(columns):
        if col.start <= day <= col.end:
            return i
    return 0 if day < columns[0].start else len(columns) - 1


def _anchor(request: Request, today: date, zoom: str) -> date:
    text = request.query_params.get("from", "")
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        day = None
    if day is None or not 2 <= day.year <= 9997:
        back = 2 if zoom == "day" else (7 if zoom == "week" else (28 if zoom == "month" else 31))
        day = today - timedelta(days=back)
    return day


def bar_end(table: Table, vdef: Any, fields: dict[str, Any], start: date) -> date:
    """The last day of a record's bar (never before its start)."""
    opts = vdef.options or {}
    end: date | None = None
    if opts.get("end"):
        placed = local_moment(table, opts["end"], fields.get(opts["end"])) if fields.get(opts["end"]) else None
        end = placed[0] if placed else None
    elif opts.get("duration") and isinstance(fields.get(opts["duration"]), (int, float)):
        length = int(fields[opts["duration"]])
        end = start + timedelta(days=max(length, 1) - 1) if 0 < length < MAX_SHIFT_DAYS else None
    return end if end is not None and end >= start else start


def _label(cell: dict[str, Any]) -> str:
    """A lane's name: the cell as the grid shows it (linked records by their titles)."""
    if cell.get("links"):
        return "、".join(str(link["text"]) for link in cell["links"])
    return str(cell.get("text") or "")


def _colour(table: Table, key: str | None, value: Any) -> str:
    if not key or key not in table.tdef.fields:
        return ""
    for option in cells.option_list(table.tdef.fields[key].options):
        if option["name"] == value:
            return cells.colour_class(option["color"])
    return ""


def _editable(table: Table, access: Any, vdef: Any) -> bool:
    """Whether the person may change the fields a move changes (rows are checked per bar)."""
    opts = vdef.options or {}
    keys = [vdef.date_field, opts.get("end") or opts.get("duration")]
    return all(k is None or (k in table.fields and not table.fields[k].computed and access.level(k) == "edit")
               for k in keys)


async def timeline(request: Request) -> Response:
    actor, table, access, vdef = load_view(request, "timeline")
    start_key = vdef.date_field or ""
    opts = vdef.options or {}
    needed = [start_key] + [opts[k] for k in ("end", "duration") if opts.get(k)]
    if start_key not in table.fields or any(not access.readable(k) or access.mask(k) for k in needed):
        raise NotFoundError(f"view '{vdef.key}' places records by a field you may not read")
    ws = get_ws(request)
    _ = gettext(get_locale(request))
    today = ws.now().astimezone(ws.tz).date()
    zoom = request.query_params.get("zoom", DEFAULT_ZOOM)
    zoom = zoom if zoom in ZOOMS else DEFAULT_ZOOM
    columns = columns_for(zoom, _anchor(request, today, zoom))
    first, last = columns[0].start, columns[-1].end
    # A bar is in the window when it starts before the window ends and ends after it starts:
    # the query keeps what starts before the end; ends are checked below.
    span = {start_key: {"lt": (last + timedelta(days=1)).isoformat()}}
    records, total, error = query_view(table, actor, vdef, extra=span, sort=[f"-{start_key}"], limit=TIMELINE_LIMIT)
    _none, undated, _error = query_view(table, actor, vdef, extra={start_key: {"is_empty": True}}, limit=1)
    group = vdef.group_by if vdef.group_by in table.fields and access.readable(vdef.group_by) else None
    links = cells.LinkTitles(table, actor)
    movable_rows = cells.editable_ids(table, actor, [r["id"] for r in records]) if _editable(table, access, vdef) else set()
    shown = card_fields(table, access, vdef, skip=(start_key, opts.get("end"), group))
    lanes: dict[str, dict[str, Any]] = {}
    for rec in records:
        placed = local_moment(table, start_key, rec["fields"].get(start_key)) if rec["fields"].get(start_key) else None
        if placed is None:
            continue
        begin = placed[0]
        end = bar_end(table, vdef, rec["fields"], begin)
        if end < first:
            continue
        label = _label(cells.build(table, rec, group, actor, editable=False, links=links)) if group else ""
        lane = lanes.setdefault(label, {"label": label, "bars": []})
        primary = table.tdef.primary
        title = table.display(rec, primary, access) if access.readable(primary) else ""
        lane["bars"].append({
            "id": rec["id"], "title": title or _("Untitled"), "url": cells.record_url(table, rec["id"]),
            "start": begin.isoformat(), "end": end.isoformat(),
            "s": column_of(columns, begin), "e": column_of(columns, end),
            "cut_start": begin < first, "cut_end": end > last,
            "colour": _colour(table, opts.get("color_by"), rec["fields"].get(opts.get("color_by") or "")),
            "movable": rec["id"] in movable_rows,
            "cells": [cells.build(table, rec, k, actor, editable=False, links=links)
                      for k in shown if rec["fields"].get(k) is not None],
        })
    ordered = sorted(lanes.values(), key=lambda lane: (lane["label"] == "", lane["label"]))
    for lane in ordered:
        lane["bars"].sort(key=lambda b: (b["start"], b["end"]))
    today_col = column_of(columns, today) if first <= today <= last else None
    count, days = ZOOMS[zoom]
    step = timedelta(days=count * days // 2) if days else timedelta(days=count * 30 // 2)
    base = f"/b/{table.base.key}/t/{table.key}/timeline/{vdef.key}"
    nav = {"prev": f"{base}?zoom={zoom}&from={(first - step).isoformat()}",
           "next": f"{base}?zoom={zoom}&from={(first + step).isoformat()}",
           "today": f"{base}?zoom={zoom}"}
    zooms = [{"key": z, "url": f"{base}?zoom={z}&from={first.isoformat()}", "current": z == zoom} for z in ZOOMS]
    return render(request, "timeline.html", table=table, vdef=vdef, tabs=view_tabs(table, actor), lanes=ordered,
                  columns=columns, ncols=len(columns), today_col=today_col, nav=nav, zooms=zooms, zoom=zoom,
                  unit_days=days or 30, heading=f"{first.isoformat()} – {last.isoformat()}", total=total,
                  shown=len(records), error=error, undated=undated, group_name=table.tdef.fields[group].name if group else "",
                  move_url=f"{base}/move")


def shifted(table: Table, key: str, value: Any, days: int) -> str:
    """A stored date or datetime moved by whole days (a datetime keeps its local time of day)."""
    text = str(value)
    if table.fields[key].kind == "datetime":
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(table.ws.tz)
        return (moment + timedelta(days=days)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (date.fromisoformat(text[:10]) + timedelta(days=days)).isoformat()


async def move(request: Request) -> Response:
    """POST record=<id>, days=<±n>, edge=start|end → the bar's new start and end, or 4xx with the reason."""
    actor = require_actor(request)
    form = await request.form()
    check_csrf(request, form)
    _ = gettext(get_locale(request))
    try:
        actor, table, access, vdef = load_view(request, "timeline")
        rid = str(form.get("record") or "")
        try:
            days = int(str(form.get("days") or "0"))
        except ValueError:
            days = 0
        edge = str(form.get("edge") or "start")
        if not days or abs(days) > MAX_SHIFT_DAYS or edge not in ("start", "end"):
            return JSONResponse({"error": _("Move a bar by whole days, at most ten years")}, status_code=422)
        if not _editable(table, access, vdef):
            raise PermissionDenied(code="timeline_dates_denied")
        fields = table.get(rid, actor=actor)["fields"]
        start_key, opts = vdef.date_field or "", vdef.options or {}
        if not fields.get(start_key):
            return JSONResponse({"error": _("This record has no start date")}, status_code=422)
        changes: dict[str, Any] = {}
        if edge == "start":
            changes[start_key] = shifted(table, start_key, fields[start_key], days)
        end_key, duration_key = opts.get("end"), opts.get("duration")
        if end_key:
            current_end = fields.get(end_key) or fields[start_key]
            changes[end_key] = shifted(table, end_key if fields.get(end_key) else start_key, current_end, days)
            if not fields.get(end_key) and table.fields[end_key].kind != table.fields[start_key].kind:
                changes[end_key] = changes[end_key][:10]
        elif duration_key and edge == "end":
            changes[duration_key] = max(int(fields.get(duration_key) or 1) + days, 1)
        elif edge == "end":
            return JSONResponse({"error": _("This view has no end date to change")}, status_code=422)
        new_start = local_moment(table, start_key, changes.get(start_key, fields[start_key]))
        new_end = local_moment(table, end_key, changes[end_key]) if end_key else None
        if new_start and new_end and new_end[0] < new_start[0]:
            return JSONResponse({"error": _("A bar cannot end before it starts")}, status_code=422)
        rec = table.update(rid, changes, actor=actor)
    except ValidationError as exc:
        return JSONResponse({"error": str(exc) or _("Invalid value")}, status_code=422)
    except PermissionDenied:
        return JSONResponse({"error": _("Access denied")}, status_code=403)
    except NotFoundError:
        return JSONResponse({"error": _("Not found")}, status_code=404)
    begin = local_moment(table, start_key, rec["fields"][start_key])
    first = begin[0] if begin else None
    return JSONResponse({"id": rid, "start": first.isoformat() if first else None,
                         "end": bar_end(table, vdef, rec["fields"], first).isoformat() if first else None})


routes = [
    Route("/b/{base}/t/{table}/timeline/{view}", timeline, methods=["GET"]),
    Route("/b/{base}/t/{table}/timeline/{view}/move", move, methods=["POST"]),
]
