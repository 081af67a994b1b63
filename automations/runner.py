"""Running one automation once, and writing the run to its history.

A *run* is one automation reacting once: to one event, one schedule tick (per record), one
date reached, or one button press. Its *run key* names it uniquely —
`{base}.{automation}:{event id}` for events, `…:schedule:{tick}[:{record}]`,
`…:date:{record}:{value}`, `…:manual:{uuid}` — and `_gb_runs.run_key` is UNIQUE, so the
same event can never run an automation twice, even across crashes.

`execute` must be called inside the caller's transaction: the run row, the notifications
and deliveries it queues and the records it writes commit together with whatever marks the
trigger as handled (the outbox row, the fired date). Each step runs in a SAVEPOINT; a step
that fails is rolled back and stops the run (the steps before it stay done), and the run is
recorded as `failed` with the step's error. Statuses: ok, failed, skipped, loop_stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError

from automations.actions import ActionError, RunContext
from engine import runs
from engine.errors import GridbaseError, ValidationError
from engine.ids import utcnow_text
from engine.model import AutomationDef
from engine.plugins import actions

if TYPE_CHECKING:
    from engine.workspace import Workspace

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


def describe(exc: BaseException) -> str:
    """A one-line, person-readable account of why a step failed."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {v}" if not v.startswith(k) else v for k, v in exc.errors.items()) or str(exc)
    if isinstance(exc, GridbaseError):
        return str(exc)
    if isinstance(exc, TemplateError):
        return f"template error: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _steps(ctx: RunContext, auto: AutomationDef) -> tuple[list[dict[str, Any]], str | None]:
    conn = ctx.ws.storage.conn
    steps: list[dict[str, Any]] = []
    for index, (kind, spec) in enumerate(auto.actions):
        entry = actions().get(kind)
        try:
            with runs.step(conn):
                if entry is None:
                    raise ActionError(f"unknown action '{kind}' (known: {', '.join(actions().keys())})")
                result = entry.run(ctx, index, spec or {})
        except Exception as exc:  # any failure stops the run and is reported; the step's writes are undone
            message = describe(exc)
            steps.append({"action": kind, "ok": False, "error": message})
            return steps, f"step {index + 1} ({kind}): {message}"
        steps.append({"action": kind, "ok": True, **result})
    return steps, None


def execute(ws: Workspace, base: str, auto: AutomationDef, start: Start) -> dict[str, Any]:
    """Run `auto` for `start` inside the current transaction; return the run as stored."""
    began = time.perf_counter()
    started_at = utcnow_text(ws.now())
    table = ws.base(base).table(start.table) if start.table else None
    ctx = RunContext(ws, base, auto, table, start.record, start.run_key, start.trigger.split(":")[0],
                     start.depth, dict(start.extra), overrides=dict(start.overrides), on_behalf=start.on_behalf)
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
        ctx.refresh()
        steps, error = _steps(ctx, auto)
        status = "failed" if error else "ok"
    duration = round((time.perf_counter() - began) * 1000, 3)
    run = {"automation": auto.key, "base": base, "trigger": start.trigger, "record": start.record,
           "event_id": start.event_id, "started_at": started_at, "duration_ms": duration, "status": status,
           "steps": steps, "error": error, "run_key": start.run_key}
    run["id"] = runs.record(ws.storage.conn, **{**run, "steps": json.dumps(steps, ensure_ascii=False, default=str)})
    return run
