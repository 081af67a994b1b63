"""The administrators' pages: people, automation runs and dead letters.

Every page here is for admins only (a role with `admin: true`), in both languages, and linked
from the sidebar's 管理 / Administration section. What each shows is read through the engine's
services: people (engine.people, engine.signins, engine.sessions), runs (engine.runs), dead
letters (engine.deliveries, engine.inbox). A run names its automation by its `name:`, its
record by the record's title, its status in words, and each step as a short line (who was
told, how many messages were queued) instead of the runner's raw data.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import NotFoundError, PermissionDenied, Workspace, deliveries, people, sessions, signins
from engine import inbox as inbox_service
from engine import runs as runs_service
from engine.auth import hash_password, password_problem
from engine.errors import GridbaseError
from engine.permissions import Actor
from views.pages.inbox import MAX_ID, path_id
from views.pages.web import check_csrf, format_time, get_ws, render, require_actor, translator

RUNS_LIMIT = 100
DEAD_LIMIT = 200

#: A run's status in words (translated by the page's catalog).
STATUS_LABELS = {"ok": "Succeeded", "failed": "Failed", "skipped": "Skipped", "loop_stopped": "Stopped by the loop guard",
                 "running": "Running", "waiting": "Waiting"}
#: How a step's data is named on the runs page; other keys show as they are.
STEP_LABELS = {"recipients": "Recipients", "deliveries": "Messages queued", "skipped_no_email": "No e-mail address",
               "created": "Created", "updated": "Changed fields", "record": "Record", "error": "Error",
               "branch": "Branch", "found": "Records found", "items": "Records done", "deleted": "Deleted",
               "waiting_until": "Waiting until"}


def require_admin(request: Request) -> Actor:
    actor = require_actor(request)
    if not actor.admin:
        raise PermissionDenied(code="admin_only")
    return actor


# -- runs --------------------------------------------------------------------------------------
def run_record(ws: Workspace, run: dict[str, Any], actor: Actor) -> tuple[str | None, str | None]:
    """The run's record as (page URL, title), each None when there is none or it is gone."""
    bdef = ws.config.bases.get(run.get("base") or "")
    auto = bdef.automations.get(run.get("automation") or "") if bdef else None
    if bdef is None or auto is None or not run.get("record") or auto.table not in bdef.tables:
        return None, None
    table = ws.base(bdef.key).table(auto.table)
    return f"/b/{bdef.key}/t/{auto.table}/r/{run['record']}", table.title_of(run["record"], actor)


def step_lines(ws: Workspace, text: str | None, gettext: Any) -> list[str]:
    """Each step of a run as one short line in the page's language: person keys become names."""
    try:
        steps = json.loads(text or "[]")
    except ValueError:
        return [str(text)]
    names = {key: person.name for key, person in ws.config.people.items()}

    def shown(value: Any) -> str:
        if isinstance(value, list):
            return "、".join(shown(v) for v in value) or "—"
        if isinstance(value, dict):
            return "、".join(f"{k}: {shown(v)}" for k, v in value.items())
        if isinstance(value, bool):
            return gettext("yes") if value else gettext("no")
        return names.get(value, str(value)) if isinstance(value, str) else str(value)

    lines = []
    for step in steps if isinstance(steps, list) else [steps]:
        if not isinstance(step, dict):
            lines.append(str(step))
            continue
        head = gettext(str(step.get("action", "")))
        if step.get("ok") is False:
            head += " · " + gettext("Failed")
        parts = [f"{gettext(STEP_LABELS.get(k, k))}: {shown(v)}" for k, v in step.items()
                 if k not in ("action", "ok") and v not in (None, "", [], {})]
        lines.append(" · ".join([head, *parts]))
    return lines


async def runs(request: Request) -> Response:
    actor = require_admin(request)
    ws = get_ws(request)
    gettext = translator(request)
    status = request.query_params.get("status") or None
    status = status if status in STATUS_LABELS else None
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
        item["url"], item["title"] = run_record(ws, item, actor)
        item["status_label"] = STATUS_LABELS.get(item["status"], item["status"])
        item["trigger_kind"] = str(item["trigger"]).partition(":")[0]
        item["step_lines"] = step_lines(ws, item["steps"], gettext)
    older = f"/admin/runs?before={items[-1]['id']}" if more and items else None
    return render(request, "runs.html", items=items, status=status or "", older_url=older, statuses=STATUS_LABELS)


# -- dead letters ------------------------------------------------------------------------------
async def dead_letters(request: Request) -> Response:
    require_admin(request)
    ws = get_ws(request)
    items = deliveries.listed(ws.storage, status="dead", limit=DEAD_LIMIT)
    titles = inbox_service.titles(ws.storage, [i["notification"] for i in items if i["notification"]])
    known = ws.config.people
    for item in items:
        item["title"] = titles.get(item["notification"], "")
        item["person_name"] = known[item["person"]].name if item["person"] in known else item["person"] or ""
        item["when"] = format_time(ws, item["next_at"])
        item["retry"] = f"/admin/dead/{item['id']}/retry"
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


# -- people ------------------------------------------------------------------------------------
def people_page(request: Request, *, error: str | None = None, form: dict[str, Any] | None = None,
                status_code: int = 200) -> Response:
    ws = get_ws(request)
    rows = people.everyone(ws.storage)
    roles = ws.config.roles
    departments = ws.config.departments
    for row in rows:
        row["role_names"] = [roles[r].name if r in roles else r for r in row["roles"]]
        row["department_name"] = departments[row["department"]].name if row["department"] in departments else \
            (row["department"] or "")
    done = request.query_params.get("done") or ""
    who = request.query_params.get("who") or ""
    return render(request, "admin_people.html", status_code=status_code, rows=rows, roles=roles,
                  departments=departments, error=error, form=form or {}, done=done, who=who)


async def people_list(request: Request) -> Response:
    require_admin(request)
    return people_page(request)


async def person_add(request: Request) -> Response:
    require_admin(request)
    form = await request.form()
    check_csrf(request, form)
    ws = get_ws(request)
    key = str(form.get("key") or "").strip()
    entered = {"key": key, "name": str(form.get("name") or ""), "department": str(form.get("department") or ""),
               "email": str(form.get("email") or "").strip(), "roles": [str(r) for r in form.getlist("roles")]}
    try:
        people.enroll(ws.storage, key, name=entered["name"], roles=entered["roles"], department=entered["department"],
                      email=entered["email"], known_roles=ws.config.roles, known_departments=ws.config.departments,
                      source="admin")
    except GridbaseError as exc:
        return people_page(request, error=str(exc), form=entered, status_code=422)
    ws.know_stored_people()  # person fields take them at once, without a restart
    return RedirectResponse(f"/admin/people?done=added&who={key}", status_code=303)


def known_person(ws: Workspace, key: str) -> None:
    if not people.exists(ws.storage, key):
        raise NotFoundError(code="unknown_person", params={"name": key})


async def person_disable(request: Request) -> Response:
    """Disable a person: signed out everywhere, offered nowhere, notified of nothing."""
    return await person_state(request, disable=True)


async def person_enable(request: Request) -> Response:
    return await person_state(request, disable=False)


async def person_state(request: Request, *, disable: bool) -> Response:
    actor = require_admin(request)
    form = await request.form()
    check_csrf(request, form)
    ws = get_ws(request)
    key = str(request.path_params["key"])
    known_person(ws, key)
    if disable and key == actor.key:
        return people_page(request, error="you cannot disable yourself", status_code=422)
    people.set_disabled(ws.storage, key, disable)
    if disable:
        sessions.end_all(ws, key)
    return RedirectResponse(f"/admin/people?done={'disabled' if disable else 'enabled'}&who={key}", status_code=303)


async def person_password(request: Request) -> Response:
    """Set a new password for a person (it must pass the password policy); their sessions end."""
    require_admin(request)
    form = await request.form()
    check_csrf(request, form)
    ws = get_ws(request)
    key = str(request.path_params["key"])
    known_person(ws, key)
    password = str(form.get("password") or "")
    row = people.get(ws.storage, key) or {}
    problem = password_problem(password, person=key, email=row.get("email"))
    if problem:
        return people_page(request, error=f"{key}: {problem}", status_code=422)
    signins.set_password(ws, key, hash_password(password))
    return RedirectResponse(f"/admin/people?done=password&who={key}", status_code=303)


async def admin_home(request: Request) -> Response:
    require_admin(request)
    return RedirectResponse("/admin/people", status_code=303)


routes = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/people", people_list, methods=["GET"]),
    Route("/admin/people", person_add, methods=["POST"]),
    Route("/admin/people/{key}/disable", person_disable, methods=["POST"]),
    Route("/admin/people/{key}/enable", person_enable, methods=["POST"]),
    Route("/admin/people/{key}/password", person_password, methods=["POST"]),
    Route("/admin/runs", runs, methods=["GET"]),
    Route("/admin/dead", dead_letters, methods=["GET"]),
    Route("/admin/dead/{id:int}/retry", retry, methods=["POST"]),
]
