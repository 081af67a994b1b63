"""/f/mine: a signed-in person's submissions through forms, each with its status, and how long
a submission stays editable through its form (`editable_for`: "30m", "24h", "7d")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine import Actor, Workspace
from engine.model import FormDef
from views.pages.web import get_ws, render, require_actor
from views.threads import on_worker


def editable_until(form: FormDef, created: str) -> datetime | None:
    """Until when a submission created at `created` (ISO, UTC) may be edited through its form."""
    span = parse_span(form.editable_for)
    if span is None:
        return None
    return datetime.fromisoformat(created.replace("Z", "+00:00")) + span


def parse_span(text: str | None) -> timedelta | None:
    """"30m", "24h", "7d" → a timedelta (None for none)."""
    if not text:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def my_submissions(ws: Workspace, actor: Actor) -> list[dict[str, Any]]:
    """Each record this person submitted through a form (the form's submitter field names
    them) that they may read, newest first: its title, its status (the form's `status` field,
    as they may see it), a link to it, and an edit link while the form's `editable_for` allows."""
    rows: list[dict[str, Any]] = []
    now = ws.now()
    for base in ws.bases():
        for table in base.tables():
            access = table.access(actor)
            seen: set[str] = set()
            for form in table.tdef.forms.values():
                if not form.submitter or not access.can_read or not access.readable(form.submitter):
                    continue
                found = table.query(actor=actor, filter={form.submitter: actor.key}, limit=200, with_total=False)
                for rec in found.records:
                    if rec["id"] in seen:
                        continue
                    seen.add(rec["id"])
                    created = str(rec["createdTime"])
                    until = editable_until(form, created)
                    status = form.status if form.status and access.readable(form.status) else None
                    rows.append({"form": form.name, "title": table.display(rec, table.tdef.primary, access) or rec["id"],
                                 "status": table.display(rec, status, access) if status else "",
                                 "url": f"/b/{base.key}/t/{table.key}/r/{rec['id']}",
                                 "created": datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(ws.tz)
                                 .strftime("%Y-%m-%d %H:%M"), "sort": created,
                                 "edit": f"/f/{base.key}/{form.key}/edit/{rec['id']}" if until and now < until else None})
    rows.sort(key=lambda r: r["sort"], reverse=True)
    return rows


async def mine_page(request: Request) -> Response:
    """/f/mine: the signed-in person's submissions through forms, with each one's status."""
    actor = require_actor(request)
    rows = await on_worker(my_submissions, get_ws(request), actor)
    return render(request, "form_mine.html", rows=rows)


routes = [
    Route("/f/mine", mine_page, methods=["GET"]),
]
