"""The page of a view whose type a plugin adds: the view's records, as its reader may read them, through the type's template.

A plugin view type (engine.viewtypes.ViewType) gives only a jinja2 template; this module does the
rest exactly as the built-in boards do: it finds the view (404 for a view the person is not
offered), queries the view's filter and sort with the signed-in person as actor (rows and
fields they may not read never reach the template; masked values come masked), renders the
template with autoescape, and frames it with the navigation and view tabs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine import NotFoundError
from engine.plugins import view_types
from engine.viewtypes import PageField, PageRow, ViewPage
from views.pages import cells
from views.pages.boards import card_fields, load_view, query_view, view_tabs
from views.pages.web import get_locale, gettext, render, templates


async def plugin_view(request: Request) -> Response:
    vtype = view_types().get(request.path_params["vtype"])
    if vtype is None or vtype.url_segment() != f"view/{vtype.type}":
        raise NotFoundError(f"unknown view type '{request.path_params['vtype']}'")
    actor, table, access, vdef = load_view(request, vtype.type)
    records, total, error = query_view(table, actor, vdef, limit=vtype.row_limit)
    primary = table.tdef.primary
    # The primary field, then the view's `fields` (else the first few), as far as the person may read them.
    shown = ([primary] if access.readable(primary) else []) + card_fields(table, access, vdef)
    locale = get_locale(request)
    page = ViewPage(
        table_name=table.tdef.name, view_name=vdef.name, locale=locale, total=total, options=dict(vdef.options),
        fields=[PageField(k, table.tdef.fields[k].name, table.tdef.fields[k].type) for k in shown],
        rows=[PageRow(rec["id"], cells.record_url(table, rec["id"]),
                      table.display(rec, primary, access) if access.readable(primary) else "",
                      {k: table.display(rec, k, access) for k in shown})
              for rec in records])
    body = templates.env.from_string(vtype.template).render(page=page, _=gettext(locale))
    return render(request, "plugin_view.html", table=table, vdef=vdef, tabs=view_tabs(table, actor), body=body,
                  total=total, shown=len(records), error=error)


routes = [Route("/b/{base}/t/{table}/view/{vtype}/{view}", plugin_view, methods=["GET"])]
