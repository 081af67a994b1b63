"""The in-app inbox: a person's notifications, opened, marked read and counted for the badge;
the approvals waiting for their decision, approved or rejected here or on the record page.

Words: a *notification* is addressed to one person (unread while not yet read; engine.inbox
keeps them). A person only ever sees and marks their own notifications. An *approval request*
(engine.approvals, made by an automation's `approval:` step) is decided only by its approver,
once (automations.approval.decide); its title and message hold only what they may read.
(Automation runs and dead letters, for admins, are views.pages.admin.)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from automations.approval import decide
from engine import NotFoundError, Workspace
from engine import approvals as approvals_service
from engine import comments as engine_comments
from engine import inbox as inbox_service
from engine.errors import GridbaseError
from views.pages.web import (
    check_csrf,
    current_actor,
    format_time,
    get_ws,
    render,
    require_actor,
    safe_next,
    unread,
)

INBOX_LIMIT = 200


def notification_link(row: dict[str, Any]) -> str | None:
    """Where a notification leads: its own same-site link, else its record's page."""
    link = row.get("link")
    if isinstance(link, str) and safe_next(link) == link and link != "/":
        return link
    if row.get("base") and row.get("tbl") and row.get("record"):
        return f"/b/{row['base']}/t/{row['tbl']}/r/{row['record']}"
    return None


# -- inbox -----------------------------------------------------------------------------------
async def inbox(request: Request) -> Response:
    actor = require_actor(request)
    ws = get_ws(request)
    items = inbox_service.latest(ws.storage, actor.key, INBOX_LIMIT)
    for item in items:
        item["url"] = notification_link(item)
        item["when"] = format_time(ws, item["at"])
    asks = approvals_for(ws, actor.key)
    return render(request, "inbox.html", items=items, approvals=asks)


def approvals_for(ws: Workspace, person: str, record: tuple[str, str, str] | None = None) -> list[dict[str, Any]]:
    """The requests waiting for `person`'s decision, as the inbox and the record page show them: only
    about records they may still read (one deleted, or out of their reach since, is not shown);
    `record` (base, table, id): only those about it (the record page: not a read of every other)."""
    out = []
    for item in approvals_service.pending_for(ws.storage, person):
        if record is not None and (item["base"], item["tbl"], item["record"]) != record:
            continue
        try:
            table = ws.base(item["base"]).table(item["tbl"])
        except NotFoundError:
            continue
        if not engine_comments.may_read(table, person, item["record"]):
            continue
        item["url"] = notification_link(item)
        item["when"] = format_time(ws, item["asked_at"] or item["created_at"])
        out.append(item)
    return out


DECISIONS = {"approve": "approved", "reject": "rejected"}


async def decide_approval(request: Request) -> Response:
    """POST /approvals/{id}/decide (decision=approve|reject, comment, next): only the approver, only once."""
    actor = require_actor(request)
    form = await request.form(max_files=0)
    check_csrf(request, form)
    ident = path_id(request, "approval")
    decision = DECISIONS.get(str(form.get("decision") or ""))
    if decision is None:
        raise GridbaseError(code="approval_bad_decision", params={"decision": str(form.get("decision") or "")[:40]})
    decide(get_ws(request), ident, actor.key, decision, str(form.get("comment") or ""))
    back = safe_next(str(form.get("next") or ""))
    return RedirectResponse(back if back != "/" else "/inbox", status_code=303)


MAX_ID = 2**63 - 1  # SQLite's largest integer: no row has a larger id


def path_id(request: Request, what: str) -> int:
    """The `{id:int}` of the path; one past any row id SQLite can hold is not found (404)."""
    ident = int(request.path_params["id"])
    if not 0 <= ident <= MAX_ID:
        raise NotFoundError(f"unknown {what}")
    return ident


async def open_notification(request: Request) -> Response:
    """Follow a notification's link, marking it read on the way."""
    actor = require_actor(request)
    ws = get_ws(request)
    ident = path_id(request, "notification")
    found = inbox_service.one(ws.storage, actor.key, ident)
    if found is None:
        raise NotFoundError("unknown notification")
    mark_read(ws, actor.key, ident)
    return RedirectResponse(notification_link(found) or "/inbox", status_code=303)


def mark_read(ws: Workspace, person: str, notification: int | None) -> None:
    """Mark one notification (or, with None, all) of `person` read."""
    inbox_service.mark_read(ws.storage, person, notification, ws.now())


async def read_one(request: Request) -> Response:
    actor = require_actor(request)
    check_csrf(request, await request.form())
    mark_read(get_ws(request), actor.key, path_id(request, "notification"))
    return RedirectResponse("/inbox", status_code=303)


async def read_all(request: Request) -> Response:
    actor = require_actor(request)
    check_csrf(request, await request.form())
    mark_read(get_ws(request), actor.key, None)
    return RedirectResponse("/inbox", status_code=303)


async def unread_count(request: Request) -> Response:
    """GET /inbox/count → {"unread": n} for the header badge, n at most 100 (401 when signed out)."""
    actor = current_actor(request)
    if actor is None:
        return JSONResponse({"unread": 0}, status_code=401)
    return JSONResponse({"unread": unread(get_ws(request), actor)}, headers={"Cache-Control": "no-store"})


routes = [
    Route("/inbox", inbox, methods=["GET"]),
    Route("/inbox/count", unread_count, methods=["GET"]),
    Route("/inbox/read-all", read_all, methods=["POST"]),
    Route("/inbox/{id:int}/open", open_notification, methods=["GET"]),
    Route("/inbox/{id:int}/read", read_one, methods=["POST"]),
    Route("/approvals/{id:int}/decide", decide_approval, methods=["POST"]),
]
