"""Board views of a table: kanban, calendar and gallery, and moving a card on the kanban.

Words: a *board* is a non-grid view declared in YAML (`type: kanban | calendar | gallery`);
a *card* is one record as a board shows it: its primary field as the title, a few more
fields (the view's `fields`, else the first readable ones) and, in a gallery, a *cover*
image taken from an attachment field. A kanban *column* is one option of the view's
`group_by` field (a single select or a person field) plus "empty". Every read goes through
`table.query` with the signed-in actor and the view's filter and sort, so a board shows
only the rows and fields that person may read, masked where a mask applies; a move goes
through `table.update`, so it is validated, permission-checked and written to the audit log.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from engine import Actor, NotFoundError, PermissionDenied, QueryError, ValidationError
from engine.model import ViewDef
from engine.permissions import TableAccess
from engine.query import all_of
from engine.records import Table
from views.messages import render_error
from views.pages import cells, grid_cells
from views.pages.web import (
    check_csrf,
    get_locale,
    get_ws,
    gettext,
    render,
    require_actor,
    root_of,
    templates,
    under_root,
    view_offered,
    view_url,
    views_for,
    visible_to,
)

BOARD_LIMIT = 500
CALENDAR_LIMIT = 1000
CARD_FIELDS = 3
DAY_EVENTS = 4
MAX_PEOPLE_COLUMNS = 20
MOVABLE_TYPES = ("single_select", "person")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp")


# -- shared ----------------------------------------------------------------------------------
def load_view(request: Request, kind: str) -> tuple[Actor, Table, TableAccess, ViewDef]:
    """The actor, table, their access and the view of type `kind` named in the path."""
    actor = require_actor(request)
    table = get_ws(request).base(request.path_params["base"]).table(request.path_params["table"])
    access = table.access(actor)
    if not access.can_read:
        raise NotFoundError(code="unknown_table", params={"table": table.key})
    vdef = table.tdef.views.get(request.path_params["view"])
    if vdef is None or vdef.type != kind or not view_offered(table, vdef, actor):
        raise NotFoundError(code="unknown_kind_view", params={"kind": kind, "view": request.path_params["view"]})
    return actor, table, access, vdef


def view_tabs(table: Table, actor: Actor) -> list[dict[str, str]]:
    return [{"key": v.key, "name": v.name, "type": v.type, "url": view_url(table.base.key, table.key, v)}
            for v in views_for(table, actor)]


def card_fields(table: Table, access: TableAccess, vdef: ViewDef, *, skip: tuple[str | None, ...] = ()) -> list[str]:
    """Fields shown under a card's title: the view's list, else the first few readable ones."""
    primary = table.tdef.primary
    if vdef.fields:
        keys = [k for k in vdef.fields if k != primary and k not in skip]
    else:
        keys = [k for k in table.fields if k != primary and k not in skip
                and table.fields[k].editor().widget not in ("textarea", "file")][:CARD_FIELDS]
    return [k for k in keys if k in table.fields and access.readable(k)]


def make_card(table: Table, rec: dict[str, Any], actor: Actor, access: TableAccess, shown: list[str],
              links: cells.LinkTitles, **extra: Any) -> dict[str, Any]:
    """One record as a card: title, url and the cells of `shown` that have a value."""
    primary = table.tdef.primary
    title = table.display(rec, primary, access) if access.readable(primary) else ""
    items = [grid_cells.read_only_cell(table, rec, k, links) for k in shown if rec["fields"].get(k) is not None]
    return {"id": rec["id"], "title": title, "url": cells.record_url(table, rec["id"]), "cells": items,
            "move_url": None, "cover": None, **extra}


def view_filter(vdef: ViewDef, extra: Any = None) -> Any:
    """The view's filter narrowed by `extra` (either may be empty)."""
    return all_of([vdef.filter, extra])


def query_view(table: Table, actor: Actor, vdef: ViewDef, *, extra: Any = None, sort: list[str] | None = None,
               limit: int | None = None, fields: list[str] | None = None) -> tuple[list[dict[str, Any]], int, str | None]:
    """(records, total, error) of the view, narrowed by `extra`; a bad YAML filter is an error line.
    `fields`: only these fields of each record (what the board draws), else every readable one."""
    flt = view_filter(vdef, extra)
    try:
        page = table.query(actor=actor, filter=flt, sort=sort if sort is not None else list(vdef.sort),
                           limit=limit or BOARD_LIMIT, fields=fields)
    except (QueryError, ValidationError) as exc:
        return [], 0, str(exc)
    return page.records, page.total or 0, None


def drawn_fields(table: Table, access: TableAccess, shown: list[str], *placed: str) -> list[str]:
    """The fields a board reads of each record: the title (primary field, if readable), the
    fields it places the card by, and those shown on the card."""
    primary = table.tdef.primary
    return list(dict.fromkeys(([primary] if primary and access.readable(primary) else []) + list(placed) + shown))


def group_field_ok(table: Table, access: TableAccess, key: str | None, types: tuple[str, ...]) -> bool:
    """A field a board may group or place by: declared, of the right type, readable, unmasked."""
    return bool(key and key in table.fields and table.tdef.fields[key].type in types
                and access.readable(key) and not access.mask(key))


# -- kanban ----------------------------------------------------------------------------------
def kanban_columns(table: Table, group: str, values_seen: list[str]) -> list[dict[str, Any]]:
    """Columns in order: the select's options or the people, then values outside those, then empty."""
    columns: list[dict[str, Any]] = []
    if table.fields[group].editor().choices == "options":
        columns = [{"value": o["name"], "label": o["name"], "color": o["color"]} for o in cells.option_list(table.fields[group].options)]
    else:
        people = table.fields[group].ctx.people
        keys = list(people) if len(people) <= MAX_PEOPLE_COLUMNS else [k for k in people if k in values_seen]
        columns = [{"value": k, "label": people[k].name, "color": "gray"} for k in keys]
    known = {c["value"] for c in columns}
    columns += [{"value": v, "label": v, "color": "gray"} for v in dict.fromkeys(values_seen) if v not in known]
    return columns + [{"value": "", "label": None, "color": "gray"}]


def kanban_card(table: Table, rec: dict[str, Any], actor: Actor, access: TableAccess, vdef: ViewDef,
                links: cells.LinkTitles, movable: bool, shown: list[str] | None = None) -> dict[str, Any]:
    """One card of a kanban; `shown` is its card_fields when the caller worked them out for a whole board."""
    group = vdef.group_by or ""
    if shown is None:
        shown = card_fields(table, access, vdef, skip=(group,))
    card = make_card(table, rec, actor, access, shown, links)
    if movable:
        card["move_url"] = f"{cells.record_url(table, rec['id'])}/move/{group}" + (f"?view={vdef.key}" if vdef.key else "")
    return card


async def kanban(request: Request) -> Response:
    actor, table, access, vdef = load_view(request, "kanban")
    group = vdef.group_by
    if not group_field_ok(table, access, group, MOVABLE_TYPES) or group is None:
        raise NotFoundError(f"view '{vdef.key}' groups by a field you may not read")
    multiple = bool(table.tdef.fields[group].options.get("multiple"))
    shown = card_fields(table, access, vdef, skip=(group,))
    records, total, error = query_view(table, actor, vdef, fields=drawn_fields(table, access, shown, group))
    editable = cells.editable_ids(table, actor, [r["id"] for r in records]) if access.level(group) == "edit" else set()
    links = cells.LinkTitles(table, actor)
    links.prefetch(records, shown)
    placed: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        value = rec["fields"].get(group)
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)] if value is not None else []
        card = kanban_card(table, rec, actor, access, vdef, links, movable=rec["id"] in editable and not multiple, shown=shown)
        for v in values or [""]:
            placed.setdefault(v, []).append(card)
    # Each column counts all its records, also those beyond the cards shown.
    try:
        counts = {"" if k is None else str(k): int(n) for k, n in table.group(actor=actor, by=group, filter=view_filter(vdef))}
    except (QueryError, ValidationError):
        counts = {}
    columns = kanban_columns(table, group, [v for v in placed if v] + [k for k in counts if k and k not in placed])
    for column in columns:
        column["cards"] = placed.get(column["value"], [])
        column["count"] = counts.get(column["value"], len(column["cards"]))
    return render(request, "kanban.html", table=table, vdef=vdef, tabs=view_tabs(table, actor), columns=columns,
                  total=total, shown=len(records), error=error, group_name=table.tdef.fields[group].name)


async def move(request: Request) -> Response:
    """POST value=<column> → 200 with the card's new HTML; 422/403/404 with the reason as text."""
    actor = require_actor(request)
    form = await request.form()
    check_csrf(request, form)
    locale = get_locale(request)
    _ = gettext(locale)
    try:
        table = get_ws(request).base(request.path_params["base"]).table(request.path_params["table"])
        key, rid = request.path_params["field"], request.path_params["rid"]
        access = table.access(actor)
        if not access.can_read or not group_field_ok(table, access, key, MOVABLE_TYPES) \
                or table.tdef.fields[key].options.get("multiple"):
            raise NotFoundError(code="unknown_field", params={"field": key})
        value = form.get("value")
        rec = table.update(rid, {key: value if isinstance(value, str) else None}, actor=actor)
    except ValidationError as exc:
        return PlainTextResponse(render_error(exc, locale) or _("Invalid value"), status_code=422)
    except PermissionDenied as exc:
        return PlainTextResponse(render_error(exc, locale) or _("Access denied"), status_code=403)
    except NotFoundError as exc:
        return PlainTextResponse(render_error(exc, locale) or _("Not found"), status_code=404)
    vdef = table.tdef.views.get(request.query_params.get("view", ""))
    if vdef is None or vdef.type != "kanban" or vdef.group_by != key or not visible_to(vdef.roles, actor):
        vdef = ViewDef(key="", type="kanban", name="", group_by=key)
    card = kanban_card(table, rec, actor, access, vdef, cells.LinkTitles(table, actor),
                       movable=bool(cells.editable_ids(table, actor, [rid])))
    html = under_root(templates.get_template("kanban_card.html").render(card=card, _=_), root_of(request))
    return Response(html, media_type="text/html; charset=utf-8")


# -- calendar --------------------------------------------------------------------------------
FIRST_YEAR, LAST_YEAR = 2, 9998  # the calendar also shows and links the week or month either side


def parse_period(request: Request, today: date) -> tuple[str, date, date, date]:
    """(mode, first shown day, last shown day, anchor) from ?month=YYYY-MM or ?week=YYYY-Www.

    Text that is not a month or week shows the current one; a year outside FIRST_YEAR to
    LAST_YEAR is refused (QueryError, a 400 page) with the range to choose from.
    """
    week, month = request.query_params.get("week"), request.query_params.get("month")
    if week:
        try:
            year, number = week.upper().split("-W")
            if _year_out_of_range(year):
                raise QueryError(f"week {_shown(week)} is outside the calendar: choose a week of a year"
                                 f" from {FIRST_YEAR:04d} to {LAST_YEAR} (?week=YYYY-Wnn), or remove"
                                 " week from the address to see this week")
            start = date.fromisocalendar(int(year), int(number), 1)
        except ValueError:
            start = today - timedelta(days=today.weekday())
        return "week", start, start + timedelta(days=6), start
    try:
        year, mon = (month or "").split("-")
        if _year_out_of_range(year):
            raise QueryError(f"month {_shown(month or '')} is outside the calendar: choose a month from"
                             f" {FIRST_YEAR:04d}-01 to {LAST_YEAR}-12 (?month=YYYY-MM), or remove month"
                             " from the address to see this month")
        first = date(int(year), int(mon), 1)
    except ValueError:
        first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    return "month", start, end, first


def _year_out_of_range(text: str) -> bool:
    """Whether `text` is a whole number (as int() reads it) outside FIRST_YEAR..LAST_YEAR."""
    digits = text.strip().lstrip("+-")
    if not digits.isdecimal() or not digits.isascii():
        return False  # not a year: int() refuses it and the current period is shown
    return len(digits) > 4 or text.strip().startswith("-") or not FIRST_YEAR <= int(digits) <= LAST_YEAR


def _shown(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "…"


def local_moment(table: Table, key: str, value: Any) -> tuple[date, str] | None:
    """A date or datetime value as (local date, local HH:MM or '')."""
    text = str(value)
    try:
        if table.fields[key].kind == "datetime":
            moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(table.ws.tz)
            return moment.date(), moment.strftime("%H:%M")
        return date.fromisoformat(text[:10]), ""
    except ValueError:
        return None


def month_link(day: date) -> str:
    return f"?month={day.year:04d}-{day.month:02d}"


def week_link(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"?week={year:04d}-W{week:02d}"


async def calendar(request: Request) -> Response:
    actor, table, access, vdef = load_view(request, "calendar")
    key = vdef.date_field
    if key is None or key not in table.fields or table.fields[key].kind not in ("date", "datetime") \
            or not access.readable(key) or access.mask(key):
        raise NotFoundError(f"view '{vdef.key}' places records by a field you may not read")
    today = get_ws(request).now().astimezone(get_ws(request).tz).date()
    mode, start, end, anchor = parse_period(request, today)
    span = {key: {"gte": start.isoformat(), "lt": (end + timedelta(days=1)).isoformat()}}
    shown = card_fields(table, access, vdef, skip=(key,))
    records, total, error = query_view(table, actor, vdef, extra=span, sort=[key] + list(vdef.sort),
                                       limit=CALENDAR_LIMIT, fields=drawn_fields(table, access, shown, key))
    links = cells.LinkTitles(table, actor)
    links.prefetch(records, shown)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for rec in records:
        placed = local_moment(table, key, rec["fields"].get(key))
        if placed is not None:
            card = make_card(table, rec, actor, access, shown, links, time=placed[1])
            by_day.setdefault(placed[0], []).append(card)
    days: list[dict[str, Any]] = [{"date": start + timedelta(days=i), "events": by_day.get(start + timedelta(days=i), [])}
            for i in range((end - start).days + 1)]
    for day in days:
        when: date = day["date"]
        day.update(today=when == today, other=mode == "month" and when.month != anchor.month, week_url=week_link(when))
    if mode == "month":
        prev_url = month_link(anchor - timedelta(days=1))
        next_url = month_link((anchor + timedelta(days=32)).replace(day=1))
        other_url = week_link(today if today.replace(day=1) == anchor else anchor)
        heading = f"{anchor.year:04d}-{anchor.month:02d}"
    else:
        prev_url, next_url = week_link(anchor - timedelta(days=7)), week_link(anchor + timedelta(days=7))
        other_url = month_link(anchor)
        heading = f"{start.isoformat()} – {end.isoformat()}"
    return render(request, "calendar.html", table=table, vdef=vdef, tabs=view_tabs(table, actor), mode=mode,
                  days=days, heading=heading, prev_url=prev_url, next_url=next_url, other_url=other_url,
                  today_url=month_link(today) if mode == "month" else week_link(today), total=total,
                  shown=len(records), error=error, day_events=DAY_EVENTS, field_name=table.tdef.fields[key].name)


# -- gallery ---------------------------------------------------------------------------------
def cover_field(table: Table, access: TableAccess, vdef: ViewDef) -> str | None:
    """The view's cover field, else the first attachment field; only if readable and unmasked."""
    keys = [vdef.cover] if vdef.cover else [k for k, f in table.fields.items() if f.shown_as == "files"][:1]
    for key in keys:
        if group_field_ok(table, access, key, ("attachment",)):
            return key
    return None


def cover_url(value: Any) -> str | None:
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and str(item.get("type", "")).lower() in IMAGE_TYPES and item.get("id"):
            return f"/att/{item['id']}"
    return None


async def gallery(request: Request) -> Response:
    actor, table, access, vdef = load_view(request, "gallery")
    cover = cover_field(table, access, vdef)
    records, total, error = query_view(table, actor, vdef)
    links = cells.LinkTitles(table, actor)
    shown = card_fields(table, access, vdef, skip=(cover,))
    cards = [make_card(table, rec, actor, access, shown, links) for rec in records]
    for card, rec in zip(cards, records, strict=True):
        card["cover"] = cover_url(rec["fields"].get(cover)) if cover else None
    return render(request, "gallery.html", table=table, vdef=vdef, tabs=view_tabs(table, actor), cards=cards,
                  total=total, shown=len(records), error=error)


prefix = "/b/{base}/t/{table}"
routes = [
    Route(prefix + "/kanban/{view}", kanban, methods=["GET"]),
    Route(prefix + "/r/{rid}/move/{field}", move, methods=["POST"]),
    Route(prefix + "/calendar/{view}", calendar, methods=["GET"]),
    Route(prefix + "/gallery/{view}", gallery, methods=["GET"]),
]
