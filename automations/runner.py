"""Running one automation once, and writing the run to its history.

A *run* is one automation reacting once: to one event, one schedule tick (per record), one
date reached, or one button press. Its *run key* names it uniquely —
`{base}.{automation}:{event id}` for events, `…:schedule:{tick}[:{record}]`,
`…:date:{record}:{value}`, `…:manual:{uuid}` — and a run's key is unique (engine.runs), so the
same event can never run an automation twice, even across crashes.

`execute` must be called inside the caller's transaction: the run row, the notifications
and deliveries it queues and the records it writes commit together with whatever marks the
trigger as handled (the outbox row, the fired date). Each step runs in a SAVEPOINT; a step
that fails is rolled back and stops the run (the steps before it stay done), and the run is
recorded as `failed` with the step's error. Statuses: ok, failed, skipped, loop_stopped, waiting.

A step may *park* the run (`wait:`, automations.steps, or `approval:`, automations.approval; it raises `Park`): the run is recorded
as `waiting` and parked (engine.runs) with the index of its next step and its
variables, in the same transaction. `resume_parked` (the scheduler's minutely check) goes on
with each parked run that is due, once: the parked row is marked resumed in the transaction of
the continuing run, whose run key is `{run key}:resume:{step}` (unique, so never twice). A step
that parks with `again` (an approval) is run again when the run goes on, to take its branch;
`resume_key` goes on with one such run at once, after its approval was decided.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError

from automations.actions import ActionError, Park, RunContext
from automations.recipients import PeopleOfTransaction
from automations.steps import moment_of
from engine import runs
from engine.errors import GridbaseError, ValidationError
from engine.ids import utcnow_text
from engine.matching import live_row
from engine.model import AutomationDef
from engine.plugins import actions

if TYPE_CHECKING:
    from engine.workspace import Workspace

log = logging.getLogger(__name__)

MAX_DEPTH = 5


@dataclass
class Start:
    """What started a run, and what it runs on."""

    trigger: str
    run_key: str
    table: str | None = None
    record: str | None = None
    event_id: int | None = None
    depth: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # the event's new values, over the current row
    skip: str | None = None  # a reason not to run the actions (status skipped)
    failure: str | None = None  # an error found before the actions (status failed)
    on_behalf: str | None = None  # whose write triggered the run (see `triggered_by`)
    first: int = 0  # the step to start at (a parked run going on after its `wait:`)
    row: dict[str, Any] | None = None  # the record as the trigger check just read it (None: read it again)
    people: PeopleOfTransaction | None = None  # the people as this transaction read them (None: read them)


def triggered_by(actor: str, data: dict[str, Any]) -> str | None:
    """Whose write an event's automations carry on: the person (or public form) who made it,
    or, for an automation's own write, whoever that automation was carrying on for. A run
    writes as `automation:KEY` on behalf of them (engine.permissions.Actor.on_behalf)."""
    if data.get("on_behalf"):
        return str(data["on_behalf"])
    return None if actor == "system" or actor.startswith("automation:") else actor


def make_key(base: str, automation: str, suffix: str) -> str:
    return f"{base}.{automation}:{suffix}"


def already_ran(ws: Workspace, run_key: str) -> bool:
    return runs.done(ws.storage, run_key)


def already_ran_among(ws: Workspace, run_keys: list[str]) -> set[str]:
    """Those of `run_keys` already run (one query for a worker's whole batch of events)."""
    return runs.done_among(ws.storage, run_keys) if run_keys else set()


def describe(exc: BaseException) -> str:
    """A one-line, person-readable account of why a step failed."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {v}" if not v.startswith(k) else v for k, v in exc.errors.items()) or str(exc)
    if isinstance(exc, GridbaseError):
        return str(exc)
    if isinstance(exc, TemplateError):
        return f"template error: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _steps(ctx: RunContext, auto: AutomationDef, first: int = 0) -> tuple[list[dict[str, Any]], str | None, Park | None]:
    conn = ctx.ws.storage.conn
    steps: list[dict[str, Any]] = []
    for index, (kind, spec) in enumerate(auto.actions):
        if index < first:
            continue
        entry = actions().get(kind)
        parked: Park | None = None
        try:
            with runs.step(conn):
                if entry is None:
                    raise ActionError(f"unknown action '{kind}' (known: {', '.join(actions().keys())})")
                try:
                    result = entry.run(ctx, index, spec or {})
                except Park as park:  # the run stops here for now; what this step and those before wrote stays
                    parked, result = park, {}
        except Exception as exc:  # any failure stops the run and is reported; the step's writes are undone
            message = describe(exc)
            steps.append({"action": kind, "ok": False, "error": message})
            return steps, f"step {index + 1} ({kind}): {message}", None
        if parked is not None:
            steps.append({"action": kind, "ok": True, "step": index, "waiting_until": utcnow_text(parked.due),
                          **({"again": True} if parked.again else {})})
            return steps, None, parked
        steps.append({"action": kind, "ok": True, **result})
    return steps, None, None


def execute(ws: Workspace, base: str, auto: AutomationDef, start: Start) -> dict[str, Any]:
    """Run `auto` for `start` inside the current transaction; return the run as stored."""
    began = time.perf_counter()
    started_at = utcnow_text(ws.now())
    table = ws.base(base).table(start.table) if start.table else None
    ctx = RunContext(ws, base, auto, table, start.record, start.run_key, start.trigger.split(":")[0],
                     start.depth, dict(start.extra), overrides=dict(start.overrides), on_behalf=start.on_behalf,
                     people_read=start.people or PeopleOfTransaction())
    steps: list[dict[str, Any]] = []
    error: str | None
    if start.failure:
        status, error = "failed", start.failure
    elif start.skip:
        status, error = "skipped", start.skip
    elif start.depth >= MAX_DEPTH:
        status, error = "loop_stopped", (f"stopped: this change was made by a chain of {start.depth} automation "
                                         f"steps (limit {MAX_DEPTH}); check for automations that trigger each other")
    else:
        ctx.refresh(start.row)
        steps, error, park = _steps(ctx, auto, start.first)
        status = "failed" if error else "waiting" if park else "ok"
        if park is not None:
            position = int(steps[-1]["step"]) + (0 if park.again else 1)
            runs.park(ws.storage.conn, run_key=start.run_key, base=base, automation=auto.key,
                      table=start.table, record=start.record, position=position, due=park.due,
                      until_field=park.until_field, depth=start.depth, on_behalf=start.on_behalf,
                      extra={k: v for k, v in ctx.extra.items() if k != "item"}, now=ws.now())
    duration = round((time.perf_counter() - began) * 1000, 3)
    run = {"automation": auto.key, "base": base, "trigger": start.trigger, "record": start.record,
           "event_id": start.event_id, "started_at": started_at, "duration_ms": duration, "status": status,
           "steps": steps, "error": error, "run_key": start.run_key}
    run["id"] = runs.record(ws.storage.conn, **{**run, "steps": json.dumps(steps, ensure_ascii=False, default=str)})
    return run


def resume_parked(ws: Workspace, now: datetime | None = None) -> int:
    """Go on with every parked run that is due at `now`, each once, in its own transaction; the number resumed."""
    now = now or ws.now()
    done = 0
    for row in runs.parked_due(ws.storage, now):
        try:
            with ws.storage.transaction():
                if _resume(ws, row, now):
                    done += 1
        except Exception:  # one broken run must not hold the others back; it is tried again next check
            log.exception("parked run %s could not go on", row["run_key"])
    return done


def resume_key(ws: Workspace, run_key: str, now: datetime | None = None) -> bool:
    """Go on now with the run parked as `run_key` if it is due (an approval just decided), once."""
    now = now or ws.now()
    row = runs.parked_key(ws.storage, run_key)
    if row is None or row["due_at"] > utcnow_text(now):
        return False
    with ws.storage.transaction():
        return _resume(ws, row, now)


def _resume(ws: Workspace, row: dict[str, Any], now: datetime) -> bool:
    bdef = ws.config.bases.get(row["base"])
    auto = bdef.automations.get(row["automation"]) if bdef else None
    key = f"{row['run_key']}:resume:{row['position']}"
    start = Start(f"resume:{row['run_key']}", key, row["tbl"], row["record"], depth=int(row["depth"] or 0),
                  extra=dict(row["extra"]), on_behalf=row["on_behalf"], first=int(row["position"]))
    live: dict[str, Any] | None = None
    if auto is None:
        start.skip = "the automation was removed while the run waited"
    elif not auto.enabled:
        start.skip = "the automation was turned off while the run waited"
    elif row["tbl"] and row["record"] and (live := _live(ws, row)) is None:
        start.skip = "the record was deleted while the run waited"
    elif row["until_field"]:
        due = _field_due(ws, row, live)
        if due is None or due > now:
            if due is not None:
                runs.postpone(ws.storage.conn, int(row["id"]), due)
                return False
            start.skip = f"the record's {row['until_field']} was emptied while the run waited"
    if not runs.resume(ws.storage.conn, int(row["id"]), now) or already_ran(ws, key):
        return False
    if auto is None:
        auto = AutomationDef(row["automation"], row["automation"], "resume", {}, None, [], True, row["tbl"])
    execute(ws, row["base"], auto, start)
    return True


def _live(ws: Workspace, row: dict[str, Any]) -> dict[str, Any] | None:
    return live_row(ws.base(row["base"]).table(row["tbl"]), row["record"])


def _field_due(ws: Workspace, row: dict[str, Any], live: dict[str, Any] | None) -> datetime | None:
    """When a run waiting `until:` a date field is due, from the record as it is now (None: the field is empty)."""
    value = (live or {}).get(row["until_field"])
    return moment_of(ws, value) if value else None

