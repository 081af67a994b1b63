"""The in-app inbox, and the admin pages for automation runs and dead letters.

Words: a *notification* is addressed to one person (unread while not yet read; engine.inbox
keeps them); a *run* is one execution of an automation (engine.runs: trigger, record, status,
duration, steps, error); a *dead letter* is a delivery to an outside channel
(engine.deliveries) that used up its retries. A person only
ever sees and marks their own notifications; runs and dead letters are for admins only.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from engine import NotFoundError, PermissionDenied, Workspace, deliveries
from engine import inbox as inbox_service
from engine import runs as runs_service
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
RUNS_LIMIT = 100
DEAD_LIMIT = 200


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
    return render(request, "inbox.html", items=items)


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


# -- admin -----------------------------------------------------------------------------------
def require_admin(request: Request) -> None:
    if not require_actor(request).admin:
        raise PermissionDenied("only administrators may see this page")


def run_record_url(ws: Workspace, run: dict[str, Any]) -> str | None:
    bdef = ws.config.bases.get(run.get("base") or "")
    auto = bdef.automations.get(run.get("automation") or "") if bdef else None
    if bdef is None or auto is None or not run.get("record") or auto.table not in bdef.tables:
        return None
    return f"/b/{bdef.key}/t/{auto.table}/r/{run['record']}"


def parse_steps(text: str | None) -> list[str]:
    """Steps as short lines, whatever shape the runner stored them in."""
    try:
        steps = json.loads(text or "[]")
    except ValueError:
        return [str(text)]
    out = []
    for step in steps if isinstance(steps, list) else [steps]:
        if isinstance(step, dict):
            out.append(" · ".join(f"{k}: {v}" for k, v in step.items() if v not in (None, "", [], {})))
        else:
            out.append(str(step))
    return out


async def runs(request: Request) -> Response:
    require_admin(request)
    ws = get_ws(request)
    status = request.query_params.get("status") or None
    automation = request.query_params.get("automation") or None
    try:
        before = int(request.query_params.get("before") or 0)
    except ValueError:
        before = 0
    before = before if 0 <= before <= MAX_ID else 0  # past every id: the newest runs
    items = runs_service.listed(ws.storage, status=status, automation=automation, before=before or None,
                                limit=RUNS_LIMIT + 1)
    more = len(items) > RUNS_LIMIT
    items = items[:RUNS_LIMIT]
    for item in items:
        bdef = ws.config.bases.get(item["base"])
        auto = bdef.automations.get(item["automation"]) if bdef else None
        item["name"] = auto.name if auto else item["automation"]
        item["when"] = format_time(ws, item["started_at"])
        item["url"] = run_record_url(ws, item)
        item["step_lines"] = parse_steps(item["steps"])
    older = f"/admin/runs?before={items[-1]['id']}" if more and items else None
    return render(request, "runs.html", items=items, status=status or "", older_url=older)


async def dead_letters(request: Request) -> Response:
    require_admin(request)
    ws = get_ws(request)
    items = deliveries.listed(ws.storage, status="dead", limit=DEAD_LIMIT)
    titles = inbox_service.titles(ws.storage, [i["notification"] for i in items if i["notification"]])
    people = ws.config.people
    for item in items:
        item["title"] = titles.get(item["notification"], "")
        item["person_name"] = people[item["person"]].name if item["person"] in people else item["person"] or ""
        item["when"] = format_time(ws, item["next_at"])
        if not item["title"]:
            try:
                payload = json.loads(item["payload"] or "{}")
            except ValueError:
                payload = {}
            item["title"] = str(payload.get("title", "")) if isinstance(payload, dict) else ""
    return render(request, "runs_dead.html", items=items)


async def retry(request: Request) -> Response:
    """Send a dead letter again: back to pending, no attempts, due now."""
    require_admin(request)
    check_csrf(request, await request.form())
    ws = get_ws(request)
    ident = path_id(request, "dead letter")
    deliveries.retry_dead(ws.storage, ident, ws.now())
    return RedirectResponse("/admin/dead", status_code=303)


routes = [
    Route("/inbox", inbox, methods=["GET"]),
    Route("/inbox/count", unread_count, methods=["GET"]),
    Route("/inbox/read-all", read_all, methods=["POST"]),
    Route("/inbox/{id:int}/open", open_notification, methods=["GET"]),
    Route("/inbox/{id:int}/read", read_one, methods=["POST"]),
    Route("/admin/runs", runs, methods=["GET"]),
    Route("/admin/dead", dead_letters, methods=["GET"]),
    Route("/admin/dead/{id:int}/retry", retry, methods=["POST"]),
]
