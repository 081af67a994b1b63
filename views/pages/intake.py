"""The administrators' intake page: what came from other systems and could not be taken.

Owns `/admin/intake`: the inbound hooks whose secret is not set on this server (with the
environment variable to set: the hook's callers are only told "not configured"), the mails that
went to a mailbox's failed list (engine.mailintake), the HL7 messages from the HIS that were
refused (engine.hl7intake) with the count of connections the listener refused (senders outside
its allow-list, engine.allowlist) and the signed webhook deliveries the table refused (engine.hooks),
each with its reason, and a Retry button (a CSRF-checked POST) that takes it again through the
same engine service as `gridbase mail DIR retry` and `gridbase hl7 DIR retry`. Admins only;
every value shown is escaped by the template; a retry that fails again shows why and leaves the
item listed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import hl7intake, hooks, mailintake
from engine.errors import GridbaseError
from engine.interfaces import Workspace
from views.pages.admin import require_admin
from views.pages.inbox import path_id
from views.pages.web import check_csrf, format_time, get_ws, render

MAX_CONTROL_ID = hl7intake.MAX_CONTROL_ID


def intake_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    ws = get_ws(request)
    unset = [{"key": h.key, "secret_env": h.secret_env} for h in hooks.hooks_of(ws.config).values() if not h.secret]
    mails = mailintake.failed(ws)
    for item in mails:
        item["when"] = format_time(ws, item["at"])
        item["retry"] = f"/admin/intake/mail/{item['id']}/retry" if item["kept"] else None
    messages: list[dict[str, Any]] = [
        {"control_id": m.control_id, "type": m.type, "when": format_time(ws, m.received_at), "attempts": m.attempts,
         "error": m.error or "", "retry": f"/admin/intake/hl7/{quote(m.control_id, safe='')}/retry"}
        for m in hl7intake.failed(ws)]
    deliveries = hooks.failed(ws)
    for item in deliveries:
        item["when"] = format_time(ws, item["at"])
        item["retry"] = f"/admin/intake/hooks/{item['id']}/retry"
    listener = getattr(request.app.state, "hl7", None)  # the MLLP listener of `gridbase serve --hl7-port`
    return render(request, "admin_intake.html", status_code=status_code, unset=unset, mails=mails, messages=messages,
                  deliveries=deliveries, hl7_refused=listener.refused if listener is not None else None,
                  error=error, done=request.query_params.get("done") or "")


async def intake(request: Request) -> Response:
    require_admin(request)
    return intake_page(request)


def retrying(done: str, ident_of: Callable[[Request], Any],
             take: Callable[[Workspace, Any], str | None]) -> Callable[[Request], Awaitable[Response]]:
    """A Retry button's handler: admins only, the form's token, the item named by the path
    (`ident_of`), then `take` it again; it answers why when it fails again (an error, or the
    text `take` returns), else back to the page saying it was taken."""

    async def handler(request: Request) -> Response:
        require_admin(request)
        check_csrf(request, await request.form())
        ident = ident_of(request)
        try:
            problem = take(get_ws(request), ident)
        except GridbaseError as exc:
            problem = str(exc)
        if problem:
            return intake_page(request, error=problem, status_code=422)
        return RedirectResponse(f"/admin/intake?done={done}", status_code=303)

    handler.__doc__ = take.__doc__
    return handler


def take_mail(ws: Workspace, ident: int) -> None:
    """Take a failed mail again; on success it leaves the list."""
    mailintake.retry(ws, ident)


def take_hl7(ws: Workspace, control: str) -> str | None:
    """Apply a refused HL7 message again; on success it leaves the list."""
    outcome = hl7intake.retry(ws, control)
    return None if outcome.code == "AA" else outcome.text


def take_hook(ws: Workspace, ident: int) -> None:
    """Take a refused webhook delivery again; on success it leaves the list."""
    hooks.retry(ws, ident)


retry_mail = retrying("mail", lambda request: path_id(request, "failed mail"), take_mail)
retry_hl7 = retrying("hl7", lambda request: str(request.path_params["control"])[:MAX_CONTROL_ID], take_hl7)
retry_hook = retrying("hook", lambda request: path_id(request, "refused delivery"), take_hook)

routes = [
    Route("/admin/intake", intake, methods=["GET"]),
    Route("/admin/intake/mail/{id:int}/retry", retry_mail, methods=["POST"]),
    Route("/admin/intake/hl7/{control}/retry", retry_hl7, methods=["POST"]),
    Route("/admin/intake/hooks/{id:int}/retry", retry_hook, methods=["POST"]),
]
