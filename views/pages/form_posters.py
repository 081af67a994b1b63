"""A form's QR codes (PNG, SVG) and printable poster, for its link with the request's checked
`?prefill_…` values: one QR code per centre or department, each filling the form in for it."""

from __future__ import annotations

import io

import segno
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.model import FormDef
from engine.records import Table
from views.messages import render_all
from views.pages.forms import (
    find_form,
    form_actor,
    form_url,
    hidden_inputs,
    link_prefill,
    prefill_query,
)
from views.pages.web import get_locale, render


def prefilled_url(request: Request, table: Table, form: FormDef) -> str:
    """The form's link with the request's checked `?prefill_…` values (one QR code per value);
    a value the form does not allow, or a wrong one, is a clear 400."""
    answers, problems, hidden = link_prefill(table, form, request.query_params)
    if problems:
        text = "; ".join(render_all(problems, get_locale(request)).values())
        raise HTTPException(400, text)
    return form_url(request, table, form) + prefill_query(table, answers, hidden)


def _qr(request: Request) -> segno.QRCode:
    table, form = find_form(request)
    form_actor(request, form, table)
    return segno.make(prefilled_url(request, table, form), error="m", micro=False)


async def qr_png(request: Request) -> Response:
    buf = io.BytesIO()
    _qr(request).save(buf, kind="png", scale=10, border=2)
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "no-cache"})


async def qr_svg(request: Request) -> Response:
    buf = io.BytesIO()
    _qr(request).save(buf, kind="svg", scale=10, border=2, xmldecl=False, svgns=True)
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})


async def poster(request: Request) -> Response:
    table, form = find_form(request)
    form_actor(request, form, table)
    url = prefilled_url(request, table, form)
    query = url[len(form_url(request, table, form)):]
    _, _, hidden = link_prefill(table, form, request.query_params)
    return render(request, "poster.html", table=table, form=form, url=url, query=query,
                  hidden=hidden_inputs(table, hidden))


routes = [
    Route("/f/{base}/{form}/qr.png", qr_png, methods=["GET"]),
    Route("/f/{base}/{form}/qr.svg", qr_svg, methods=["GET"]),
    Route("/f/{base}/{form}/poster", poster, methods=["GET"]),
]
