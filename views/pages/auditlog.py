"""The administrators' audit page: search the write log and the read log, page through, export CSV.

`/admin/audit` shows the newest entries first, 100 at a time, filtered by person, table,
record and a range of days (local days of the workspace's timezone), for the write log
(每一次修改: who changed which field from what to what) or the read log (who was shown which
records of a table with `access_log:` on). Values are shown as the field shows them (people by
name, options by label), field and table by their names. `/admin/audit.csv` exports every
entry the same filters keep, streamed a block at a time, UTF-8 with a byte-order mark so that
Excel opens the Chinese text right. Admins only: the logs hold every field's values. The logs
are read through their owners (engine.audit, engine.accesslog, engine.logsearch).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from engine import Workspace
from engine.ids import utcnow_text
from engine.logfilter import LogFilter
from engine.logsearch import FIELDS, merged
from views.pages.admin import require_admin
from views.pages.inbox import MAX_ID
from views.pages.web import format_time, get_ws, render, translator

PAGE = 100
#: An entry's action in words (translated by the page's catalog); others show as they are.
ACTIONS = {"create": "Created the record", "update": "Changed a field", "delete": "Deleted the record",
           "restore": "Restored the record", "comment": "Comment",
           "archive": "Archived", "import_rollback": "Import rolled back", "get": "Opened the record",
           "query": "Listed records"}
LOGS = ("writes", "reads")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def filters_of(request: Request, ws: Workspace) -> tuple[LogFilter, dict[str, str], list[str]]:
    """(the filter, the values to show back in the form, problems with what was entered)."""
    params = request.query_params
    shown = {k: str(params.get(k) or "").strip() for k in ("person", "table", "record", "since", "until", "log")}
    problems: list[str] = []
    base, _, tbl = shown["table"].partition(".")
    if shown["table"] and (base not in ws.config.bases or tbl not in ws.config.bases[base].tables):
        problems.append("Unknown table")
        base = tbl = ""
    since_day, until_day = _day(shown["since"]), _day(shown["until"])
    for key, day in (("since", since_day), ("until", until_day)):
        if shown[key] and day is None:
            problems.append("Dates are written YYYY-MM-DD")
            shown[key] = ""
    since = utcnow_text(datetime.combine(since_day, time(), ws.tz)) if since_day else None
    # `until` is a whole local day: up to the last second before the next one.
    until = utcnow_text(datetime.combine(until_day + timedelta(days=1), time(), ws.tz) - timedelta(seconds=1)) \
        if until_day else None
    try:
        before = int(params.get("before") or 0)
    except ValueError:
        before = 0
    before = before if 0 < before <= MAX_ID else 0
    if shown["log"] not in LOGS:
        shown["log"] = "writes"
    found = LogFilter(person=shown["person"] or None, base=base or None, table=tbl or None,
                      record=shown["record"][:64] or None, since=since, until=until, before=before or None)
    return found, shown, sorted(set(problems))


def _value_text(ws: Workspace, base: str, table: str, field: str | None, raw: str | None) -> str:
    """A stored JSON value as its field shows it (raw text when the field is gone)."""
    if raw is None:
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    fields = _fields(ws, base, table)
    if field and field in fields:
        return str(fields[field].display(value) or "")
    if isinstance(value, dict):  # a whole row (create, delete, restore) or a note
        parts = []
        for key, item in value.items():
            name = fields[key].fdef.name if key in fields else key
            shown = fields[key].display(item) if key in fields else item
            if shown not in (None, "", [], False):
                parts.append(f"{name}: {shown}")
        return "；".join(parts)
    return "" if value is None else str(value)


def _fields(ws: Workspace, base: str, table: str) -> dict[str, Any]:
    bdef = ws.config.bases.get(base)
    if bdef is None or table not in bdef.tables:
        return {}
    return ws.base(base).table(table).fields


def _table_name(ws: Workspace, base: str, table: str) -> str:
    bdef = ws.config.bases.get(base)
    if bdef is None or table not in bdef.tables:
        return f"{base}.{table}"
    return f"{bdef.name} · {bdef.tables[table].name}"


def _rows(ws: Workspace, found: LogFilter, log: str) -> tuple[list[dict[str, Any]], int | None]:
    """One page of entries, newest first, as the template shows them; and the id to page on from."""
    names = {key: person.name for key, person in ws.config.people.items()}
    rows: list[dict[str, Any]] = []
    source = ws.audit.entries(found, newest_first=True, limit=PAGE + 1) if log == "writes" else \
        ws.access_log.entries(found, newest_first=True, limit=PAGE + 1)
    entries = list(source)
    more = len(entries) > PAGE
    for e in entries[:PAGE]:
        fields = _fields(ws, e.base, e.table)
        row: dict[str, Any] = {"id": e.id, "when": format_time(ws, e.at), "actor": names.get(e.actor, e.actor),
                               "action": ACTIONS.get(e.action, e.action), "table": _table_name(ws, e.base, e.table),
                               "url": None, "field": "", "old": "", "new": "", "on_behalf": ""}
        if log == "writes":
            row["record"] = e.record
            if fields and e.action != "delete":
                row["url"] = f"/b/{e.base}/t/{e.table}/r/{e.record}"
            row["field"] = fields[e.field].fdef.name if e.field and e.field in fields else (e.field or "")
            row["old"] = _value_text(ws, e.base, e.table, e.field, e.old)
            row["new"] = _value_text(ws, e.base, e.table, e.field, e.new)
            row["on_behalf"] = names.get(e.on_behalf or "", e.on_behalf or "")
        else:
            ids = e.record_ids()
            row["record"] = "、".join(ids[:5]) + (f" (+{len(ids) - 5})" if len(ids) > 5 else "")
        rows.append(row)
    return rows, (entries[PAGE - 1].id if more else None)


async def audit_page(request: Request) -> Response:
    require_admin(request)
    ws = get_ws(request)
    gettext = translator(request)
    found, shown, problems = filters_of(request, ws)
    rows, older = _rows(ws, found, shown["log"])
    query = {k: v for k, v in shown.items() if v}
    tables = [(f"{b.key}.{t.key}", f"{b.name} · {t.name}") for b in ws.config.bases.values() for t in b.tables.values()]
    people = sorted(((p.key, p.name) for p in ws.config.people.values()), key=lambda p: p[1])
    return render(request, "admin_audit.html", rows=rows, shown=shown, query=query, tables=tables, people=people,
                  older=older, problems=[gettext(p) for p in problems], log=shown["log"])


async def audit_csv(request: Request) -> Response:
    """Every entry the filters keep (both logs unless one is chosen), oldest first, as CSV."""
    require_admin(request)
    ws = get_ws(request)
    found, shown, _problems = filters_of(request, ws)
    choice = request.query_params.get("log") or "both"
    writes, reads = choice in ("writes", "both"), choice in ("reads", "both")
    found = LogFilter(person=found.person, base=found.base, table=found.table, record=found.record,
                      since=found.since, until=found.until)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(FIELDS))
        out.write("\ufeff")
        writer.writeheader()
        for n, entry in enumerate(merged(ws.audit, ws.access_log, found, writes=writes, reads=reads)):
            writer.writerow(entry)
            if n % 500 == 499:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                                      "Cache-Control": "no-store"})


routes = [
    Route("/admin/audit", audit_page, methods=["GET"]),
    Route("/admin/audit.csv", audit_csv, methods=["GET"]),
]
