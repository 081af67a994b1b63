"""Dashboards: number cards, charts, pivots and plugin widgets declared per base, computed in SQL for the viewer.

Words: a *dashboard* (`DashboardDef`) is a list of *widgets*, narrowed by the *filters* its viewer
picks (dashboards_filters.py: read from the link, each added to the `filter` of every widget
whose table has its field, `narrowed`); each widget's `type` is an entry of
the widget registry (engine.widgets: `engine.plugins.widget_types()`), which computes its data
with the signed-in person as actor, so rows and fields they may not read never count. This
module draws a card for an entry by the entry's *class*, never by the type's name (`CARDS`): a
`NumberWidget` is one figure (`table.aggregate`), with `compare: previous_period` beside the same
figure for the period before the chosen one; a `PivotWidget` an HTML table (dashboards_cards.py);
a `ChartWidget` (bar, line, area, pie) is one
figure per group (`table.group`), sent to the browser as a Vega-Lite spec built with altair at
`/b/{base}/d/{dashboard}/w/{index}.json`, drawn with the entry's `mark`; any other entry (a
plugin's) is its `template`, rendered with autoescape. A widget whose table, field or filter
the person may not read is *skipped*; the page itself exists only for the dashboard's `roles`
(when set) and for people who can see at least one widget. Each chart datum carries an `href`
to the grid filtered to that group (`?f=FIELD&op=eq&v=VALUE`), which app.js follows on click.

Accessibility (docs/accessibility.md): a chart is named by its widget's title in the page's
language (the spec's `description`, which Vega gives its SVG as `aria-label`, and the card's
own `role="img"` label); its labels are at least 12 px (`CHART_FONT`); and its card holds a
"show as table" disclosure, a server-rendered <table> of the same figures computed for the
same viewer (`chart_table`), which works without JavaScript.

Speed on a phone (docs/accessibility.md): each chart is first drawn on the server, as SVG
(views/pages/charts.py `chart_svg`: vl-convert renders the same Vega-Lite spec at a phone's and
a desktop card's width, checked before it is sent, kept in an LRU keyed by all the spec is built
from, `chart_key`: entry, widget, figures, words), put inline in the page, so a dashboard needs
no chart script to show its charts, and a repeated view costs no drawing and no spec. Under
constant writes a chart is drawn at most once per the workspace's `chart_refresh` seconds for its
reader (views/pages/chart_refresh.py): between, the card shows its last drawing with the time of
its figures ("Chart as of 10:31:05, updating", `as_of`) above its exact table, and charts.js
fetches the card again once its newer drawing is due (`redraw_in`). The chart scripts (vega*)
are loaded (charts.js) only by a dashboard that draws a chart, and only when a person reaches
for a chart (pointer, touch or focus): then Vega draws it again, with tooltips and clickable marks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import altair as alt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import Actor, GridbaseError, NotFoundError
from engine.dashfilters import Selection, previous_range
from engine.model import DashboardDef, Widget
from engine.plugins import widget_types
from engine.query import all_of
from engine.records import Table
from engine.widgets import WidgetType
from engine.widgets.builtin import ChartWidget, NumberWidget, PivotWidget
from engine.workspace import Base
from views import messages
from views.pages import cells
from views.pages.chart_refresh import family_key, family_svg
from views.pages.charts import chart_key
from views.pages.dashboards_cards import (
    compare_of,
    format_number,
    measure_name,
    pivot_card,
    value_label,
)
from views.pages.dashboards_filters import period_text, selection_of
from views.pages.web import (
    get_locale,
    get_ws,
    gettext,
    render,
    require_actor,
    templates,
    visible_to,
)

CHART_HEIGHT = 240
# Chart colours of the named option colours (cells.NAMED_COLOURS; tags use lighter ones, app.css).
CHART_COLORS = {"red": "#d64541", "orange": "#e8830c", "yellow": "#d4a600", "green": "#3a9a2e", "cyan": "#1aa3a8",
                "teal": "#138a7e", "blue": "#3b6fd8", "purple": "#7d4ad6", "pink": "#d6458a", "gray": "#8a9099"}
MAX_FILLED = 1000  # date buckets filled in between the first and the last at most
CHART_FONT = 12  # px, the smallest text a chart draws (axis labels and titles, legends)


def chart_color(name: str) -> str:
    """An option colour as the chart draws it: read as the option's tag reads it (cells.colour_class)."""
    token = cells.colour_class(name)
    return "#" + token[1:] if token.startswith("x") else CHART_COLORS.get(token, CHART_COLORS["gray"])


def load_dashboard(request: Request) -> tuple[Actor, Base, DashboardDef]:
    """The actor, base and dashboard named in the path; NotFound outside the dashboard's roles."""
    actor = require_actor(request)
    base = get_ws(request).base(request.path_params["base"])
    ddef = base.bdef.dashboards.get(request.path_params["dashboard"])
    if ddef is None or not visible_to(ddef.roles, actor):
        raise NotFoundError(code="unknown_dashboard", params={"dashboard": request.path_params["dashboard"]})
    return actor, base, ddef


def widget_table(base: Base, widget: Widget, actor: Actor) -> Table | None:
    """The widget's table if the actor may read it and every field the widget names."""
    try:
        table = base.table(widget.table)
    except NotFoundError:
        return None
    access = table.access(actor)
    if not access.can_read:
        return None
    for key in (widget.field, widget.group_by):
        if key is not None and (key not in table.fields or not access.readable(key) or access.mask(key)):
            return None
    return table


def grid_href(table: Table, widget: Widget, key: Any) -> str | None:
    """The grid filtered to one group; None for week/month buckets (no single-value filter)."""
    by = widget.group_by or ""
    kind = table.fields[by].kind
    if kind in ("date", "datetime") and (widget.bucket or "day") != "day":
        return None
    params = {"f": by, "op": "is_empty"} if key is None or key == "" else {"f": by, "op": "eq", "v": str(key)}
    if table.fields[by].kind == "boolean" and key is not None:
        params["v"] = "true" if key else "false"
    return f"/b/{table.base.key}/t/{table.key}?{urlencode(params)}"


def chart_values(table: Table, widget: Widget, actor: Actor, _: Any) -> list[dict[str, Any]]:
    """[{label, value, href[, color]}] per group, from `table.group`: options in their declared
    order and colours, dates in order with the empty buckets between them, "empty" last."""
    rows = widget_types()[widget.type].compute(table, widget, actor)
    fdef = table.tdef.fields[widget.group_by or ""]
    colors: dict[str, str] = {}
    if table.fields[fdef.key].editor().choices == "options":
        options = [(str(o.get("name", "")), o.get("color")) if isinstance(o, dict) else (str(o), None)
                   for o in fdef.options.get("options", [])]
        if all(color for _name, color in options):  # else the chart's own palette tells them apart
            colors = {name: chart_color(str(color)) for name, color in options}
        order = {name: i for i, (name, _color) in enumerate(options)}
        rows = sorted(rows, key=lambda kv: (kv[0] is None or kv[0] == "", order.get(str(kv[0]), len(order))))
    else:
        rows = [kv for kv in rows if kv[0] not in (None, "")] + [kv for kv in rows if kv[0] in (None, "")]
        if table.fields[widget.group_by or ""].kind in ("date", "datetime") and widget.aggregate in ("count", "sum"):
            rows = fill_dates(rows, widget.bucket or "day")
    links = cells.LinkTitles(table, actor)
    out = []
    for key, value in rows:
        datum: dict[str, Any] = {"label": value_label(table, widget.group_by or "", key, links, _), "value": round(value, 6)}
        href = grid_href(table, widget, key)
        if href:
            datum["href"] = href
        if colors:
            datum["color"] = colors.get(str(key), CHART_COLORS["gray"])
        out.append(datum)
    return out


def fill_dates(rows: list[tuple[Any, float]], bucket: str) -> list[tuple[Any, float]]:
    """Count/sum per date bucket with the buckets that had nothing in between, as 0."""
    dated = [(k, v) for k, v in rows if isinstance(k, str) and k]
    if len(dated) < 2:
        return rows
    have = dict(dated)
    try:
        if bucket == "month":
            y, m = (int(x) for x in dated[0][0].split("-"))
            end_month = tuple(int(x) for x in dated[-1][0].split("-"))
            keys = []
            while (y, m) <= end_month and len(keys) <= MAX_FILLED:
                keys.append(f"{y:04d}-{m:02d}")
                y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        else:
            step = timedelta(days=7 if bucket == "week" else 1)
            day, end = date.fromisoformat(dated[0][0]), date.fromisoformat(dated[-1][0])
            keys = []
            while day <= end and len(keys) <= MAX_FILLED:
                keys.append(day.isoformat())
                day += step
    except ValueError:
        return rows
    if len(keys) > MAX_FILLED:
        return rows
    rest = [(k, v) for k, v in rows if not (isinstance(k, str) and k)]
    return [(k, have.get(k, 0.0)) for k in keys] + rest


def chart_name(widget: Widget, _: Any) -> str:
    """A chart's accessible name in the page's language: "图表：title" / "Chart: title"."""
    return str(_("Chart: {title}")).replace("{title}", widget.title)


def chart_table(table: Table, widget: Widget, values: list[dict[str, Any]], _: Any) -> dict[str, Any]:
    """The chart's figures as a table (its "show as table" alternative): a header per column,
    then each group's label, its figure as people read it and the grid filtered to it."""
    return {"group": table.tdef.fields[widget.group_by or ""].name, "measure": measure_name(table, widget, _),
            "rows": [{"label": v["label"], "value": format_number(table, widget, float(v["value"])), "href": v.get("href")}
                     for v in values]}


def chart_spec(widget: Widget, values: list[dict[str, Any]], table: Table, _: Any,
               mark: str = "bar") -> dict[str, Any]:
    """The Vega-Lite spec of a chart widget, data inlined, named by its title, text >= CHART_FONT px."""
    measure = measure_name(table, widget, _)
    group_name = table.tdef.fields[widget.group_by or ""].name
    data = alt.Data(values=values)  # type: ignore[no-untyped-call]
    base = alt.Chart(data, title=widget.title, height=CHART_HEIGHT, width="container",
                     description=chart_name(widget, _))
    tooltip = [alt.Tooltip("label:N", title=group_name), alt.Tooltip("value:Q", title=measure, format=",.4~f")]
    x_axis = alt.X("label:O" if mark in ("line", "area") else "label:N", sort=None, title=group_name)
    y_axis = alt.Y("value:Q", title=measure)
    # Options keep their colours: the scale maps each label to its option's colour.
    scale = (alt.Scale(domain=[v["label"] for v in values], range=[v["color"] for v in values])
             if values and all("color" in v for v in values) else alt.Undefined)
    if mark == "arc":
        chart = base.mark_arc(cursor="pointer").encode(
            theta=alt.Theta("value:Q", title=measure), color=alt.Color("label:N", sort=None, title=group_name, scale=scale),
            order=alt.Order("value:Q", sort="descending"), tooltip=tooltip)
    elif mark == "line":
        chart = base.mark_line(point=True, cursor="pointer").encode(x=x_axis, y=y_axis, tooltip=tooltip)
    elif mark == "area":
        chart = base.mark_area(line=True, point=True, cursor="pointer").encode(x=x_axis, y=y_axis, tooltip=tooltip)
    elif scale is not alt.Undefined:
        chart = base.mark_bar(cursor="pointer").encode(x=x_axis, y=y_axis, tooltip=tooltip,
                                                       color=alt.Color("label:N", sort=None, scale=scale, legend=None))
    else:
        chart = base.mark_bar(cursor="pointer").encode(x=x_axis, y=y_axis, tooltip=tooltip)
    chart = (chart.configure_axis(labelFontSize=CHART_FONT, titleFontSize=CHART_FONT)
             .configure_legend(labelFontSize=CHART_FONT, titleFontSize=CHART_FONT)
             .configure_title(fontSize=CHART_FONT + 2))
    # Not validated on each view (15 ms a chart): tests check the specs against the Vega-Lite schema.
    spec: dict[str, Any] = chart.to_dict(validate=False)
    return spec


def finished_spec(entry: ChartWidget, table: Table, widget: Widget, arranged: list[dict[str, Any]],
                  _: Any) -> dict[str, Any]:
    """The chart's Vega-Lite spec of its arranged figures, finished by its entry."""
    return entry.finish_spec(chart_spec(widget, arranged, table, _, entry.mark), arranged)


def chart_of(entry: ChartWidget, table: Table, widget: Widget, actor: Actor,
             _: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the chart's figures per group, its finished Vega-Lite spec) for `actor`."""
    values = chart_values(table, widget, actor, _)
    arranged = entry.arrange(values, table, widget)
    return values, finished_spec(entry, table, widget, arranged, _)


Card = Callable[[WidgetType, Table, Widget, Actor, dict[str, Any], Any], bool]


def number_card(entry: WidgetType, table: Table, widget: Widget, actor: Actor, card: dict[str, Any], _: Any) -> bool:
    """One figure, linking to the table; with `compare: previous_period` and a chosen period, the
    same figure for the period before it and the change (`card["previous"]`, set by the page)."""
    value = entry.compute(table, widget, actor)
    card["value"] = format_number(table, widget, value)
    previous = card.pop("previous", None)
    if previous is not None:
        before, period = previous
        card["compare"] = compare_of(value, entry.compute(table, before, actor), table, widget, period, _)
    return True


def chart_card(entry: WidgetType, table: Table, widget: Widget, actor: Actor, card: dict[str, Any], _: Any) -> bool:
    """A chart drawn here as SVG (`svg`), which the browser draws again from its Vega-Lite spec
    (fetched from `spec_url`) once a person reaches for it, named in the page's language, with
    its figures as a table too (the same ones: computed for `actor`)."""
    if not widget.group_by or not isinstance(entry, ChartWidget):
        return False
    values = chart_values(table, widget, actor, _)
    arranged = entry.arrange(values, table, widget)
    card["spec_url"] = f"{card['dashboard_url']}/w/{card['index']}.json" + (f"?{card['query']}" if card.get("query") else "")
    card["name"] = chart_name(widget, _)
    # Keyed by all the spec is built from: the entry and its mark, the widget, the figures, the words;
    # its family by all of it but the figures, the reader and the workspace (chart_refresh.py).
    kind = (f"{type(entry).__module__}.{type(entry).__qualname__}", entry.mark, asdict(widget))
    words = (measure_name(table, widget, _), table.tdef.fields[widget.group_by].name, card["name"])
    ws = table.ws
    shown = family_svg(lambda: finished_spec(entry, table, widget, arranged, _), chart_key(*kind, arranged, *words),
                       family_key(ws, actor, *kind, *words), ws.now(), ws.config.chart_refresh)
    card["svg"] = shown.svg
    if shown.as_of is not None:  # an older drawing, its newer one on the way: say of when (the table is exact)
        moment = shown.as_of.astimezone(ws.tz)
        when = moment.strftime("%H:%M:%S" if moment.date() == ws.now().astimezone(ws.tz).date() else "%Y-%m-%d %H:%M:%S")
        card["as_of"] = str(_("Chart as of {time}, updating")).replace("{time}", when)
        card["redraw_in"] = max(1, math.ceil(shown.redraw_in))
    card["data"] = chart_table(table, widget, values, _)
    return True


def template_card(entry: WidgetType, table: Table, widget: Widget, actor: Actor, card: dict[str, Any], _: Any) -> bool:
    """A plugin widget: its template over its data, autoescaped."""
    if not entry.template:
        return False
    data = entry.compute(table, widget, actor)
    card["html"] = Markup(templates.env.from_string(entry.template).render(data=data, widget=widget, _=_))  # noqa: S704 - autoescaped
    return True


# How each kind of entry is drawn: by its class (a plugin's subclass of ChartWidget is a chart), else its template.
CARDS: dict[type[WidgetType], tuple[str, Card]] = {NumberWidget: ("number", number_card), ChartWidget: ("chart", chart_card),
                                                   PivotWidget: ("pivot", pivot_card)}


def card_of(entry: WidgetType) -> tuple[str, Card]:
    """(the card's shape for dashboard.html, the function filling it) of a widget type entry."""
    for cls in type(entry).__mro__:
        if cls in CARDS:
            return CARDS[cls]
    return "template", template_card


def narrowed(widget: Widget, table: Table, sel: Selection, *, previous: bool = False) -> Widget:
    """The widget with the viewer's filters added to its own (over the previous period with `previous`)."""
    extra = sel.filter_for(table, previous=previous)
    return replace(widget, filter=all_of([widget.filter, extra])) if extra else widget


def dashboard_cards(base: Base, ddef: DashboardDef, actor: Actor, sel: Selection, _: Any) -> list[dict[str, Any]]:
    """The cards of the dashboard `actor` may see, computed with their permissions and `sel`'s
    filters (a hospital group's dashboard, views.pages.group, shows them too)."""
    query = urlencode(sel.query())
    cards = []
    for index, widget in enumerate(ddef.widgets):
        table = widget_table(base, widget, actor)
        entry = widget_types().get(widget.type)
        if table is None or entry is None:
            continue
        shape, fill = card_of(entry)
        card: dict[str, Any] = {"index": index, "shape": shape, "title": widget.title, "table": table.tdef.name,
                                "url": f"/b/{base.key}/t/{table.key}", "dashboard_url": f"/b/{base.key}/d/{ddef.key}",
                                "query": query}
        period = sel.period(table)
        if widget.options.get("compare") == "previous_period" and period is not None and period.start and period.end:
            start, end = previous_range(period.value, period.start, period.end)
            card["previous"] = (narrowed(widget, table, sel, previous=True), period_text(start.isoformat(), end.isoformat()))
        widget = narrowed(widget, table, sel)
        try:
            if not fill(entry, table, widget, actor, card, _):
                continue
        except GridbaseError:
            continue
        cards.append(card)
    return cards


async def dashboard_page(request: Request) -> Response:
    actor, base, ddef = load_dashboard(request)
    _ = gettext(get_locale(request))
    sel, controls = selection_of(base, ddef, request.query_params, actor, _)
    cards = dashboard_cards(base, ddef, actor, sel, _)
    if not cards and ddef.widgets and not actor.admin:
        raise NotFoundError(code="unknown_dashboard", params={"dashboard": ddef.key})
    return render(request, "dashboard.html", base=base, ddef=ddef, cards=cards, title=_("Dashboard"),
                  charts=any(card["shape"] == "chart" for card in cards), controls=controls,
                  filter_errors=[messages.render(e, get_locale(request)) for e in sel.errors])


async def widget_spec(request: Request) -> Response:
    """GET …/w/{index}.json → the chart's Vega-Lite spec; 404 if the actor may not see it."""
    actor, base, ddef = load_dashboard(request)
    _ = gettext(get_locale(request))
    index = int(request.path_params["index"])
    if index < 0 or index >= len(ddef.widgets):
        return JSONResponse({"error": "not found"}, status_code=404)
    widget = ddef.widgets[index]
    table = widget_table(base, widget, actor)
    entry = widget_types().get(widget.type)
    if table is None or not isinstance(entry, ChartWidget) or not widget.group_by:
        return JSONResponse({"error": "not found"}, status_code=404)
    sel, _controls = selection_of(base, ddef, request.query_params, actor, _)
    widget = narrowed(widget, table, sel)
    try:
        _values, spec = chart_of(entry, table, widget, actor, _)
    except GridbaseError:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(spec, headers={"Cache-Control": "no-store"})


routes = [
    Route("/b/{base}/d/{dashboard}", dashboard_page, methods=["GET"]),
    Route("/b/{base}/d/{dashboard}/w/{index:int}.json", widget_spec, methods=["GET"]),
]
