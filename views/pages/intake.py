"""The administrators' intake page: what came from other systems and could not be taken.

Owns `/admin/intake`: the mails that went to a mailbox's failed list (engine.mailintake),
the HL7 messages from the HIS that were refused (engine.hl7intake) and the signed webhook
deliveries the table refused (engine.hooks), each with its reason, and a Retry button (a
CSRF-checked POST) that takes it again through the same engine service as `gridbase mail DIR
retry` and `gridbase hl7 DIR retry`. Admins only; every value shown is
escaped by the template; a retry that fails again shows why and leaves the item listed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import hl7intake, hooks, mailintake
from engine.errors import GridbaseError
from views.pages.admin import require_admin
from views.pages.inbox import path_id
from views.pages.web import check_csrf, format_time, get_ws, render

MAX_CONTROL_ID = hl7intake.MAX_CONTROL_ID


def intake_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    ws = get_ws(request)
    mails = mailintake.failed(ws)
    for item in mails:
        item["when"] = format_time(ws, item["at"])
    messages: list[dict[str, Any]] = [
        {"control_id": m.control_id, "type": m.type, "when": format_time(ws, m.received_at), "attempts": m.attempts,
         "error": m.error or ""} for m in hl7intake.failed(ws)]
    deliveries = hooks.failed(ws)
    for item in deliveries:
        item["when"] = format_time(ws, item["at"])
    return render(request, "admin_intake.html", status_code=status_code, mails=mails, messages=messages,
                  deliveries=deliveries,
                  error=error, done=request.query_params.get("done") or "")


async def intake(request: Request) -> Response:
    require_admin(request)
    return intake_page(request)


async def retry_mail(request: Request) -> Response:
    """Take a failed mail again; on success it leaves the list."""
    require_admin(request)
    check_csrf(request, await request.form())
    ident = path_id(request, "failed mail")
    try:
        mailintake.retry(get_ws(request), ident)
    except GridbaseError as exc:
        return intake_page(request, error=str(exc), status_code=422)
    return RedirectResponse("/admin/intake?done=mail", status_code=303)


async def retry_hl7(request: Request) -> Response:
    """Apply a refused HL7 message again; on success it leaves the list."""
    require_admin(request)
    check_csrf(request, await request.form())
    control = str(request.path_params["control"])[:MAX_CONTROL_ID]
    try:
        outcome = hl7intake.retry(get_ws(request), control)
    except GridbaseError as exc:
        return intake_page(request, error=str(exc), status_code=422)
    if outcome.code != "AA":
        return intake_page(request, error=outcome.text, status_code=422)
    return RedirectResponse("/admin/intake?done=hl7", status_code=303)


async def retry_hook(request: Request) -> Response:
    """Take a refused webhook delivery again; on success it leaves the list."""
    require_admin(request)
    check_csrf(request, await request.form())
    ident = path_id(request, "refused delivery")
    try:
        hooks.retry(get_ws(request), ident)
    except GridbaseError as exc:
        return intake_page(request, error=str(exc), status_code=422)
    return RedirectResponse("/admin/intake?done=hook", status_code=303)


routes = [
    Route("/admin/intake", intake, methods=["GET"]),
    Route("/admin/intake/mail/{id:int}/retry", retry_mail, methods=["POST"]),
    Route("/admin/intake/hl7/{control}/retry", retry_hl7, methods=["POST"]),
    Route("/admin/intake/hooks/{id:int}/retry", retry_hook, methods=["POST"]),
]
