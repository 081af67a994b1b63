"""Manual triggers: the button on a record page (`when: {manual: TABLE, label: ...}`).

`run_manual` runs the automation at once, in the caller's thread, for one record. The person
who pressed the button must be able to read the record; the actions then run as the
automation (like every automation), and the run history notes who pressed it
(`trigger` = `manual:PERSON`). `manual_buttons` lists the buttons a record page shows.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from automations.runner import Start, execute, make_key
from automations.triggers import condition_holds
from engine.errors import GridbaseError, NotFoundError
from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.workspace import Workspace


def manual_buttons(ws: Workspace, base: str, table: str) -> list[dict[str, str]]:
    """[{automation, label}] for the enabled manual automations of a table."""
    bdef = ws.config.bases.get(base)
    if bdef is None:
        return []
    return [{"automation": a.key, "label": str(a.when.get("label") or a.name)}
            for a in bdef.automations.values() if a.enabled and a.trigger == "manual" and a.table == table]


def run_manual(ws: Workspace, base: str, automation: str, record_id: str, actor: Actor | str) -> dict[str, Any]:
    """Run a manual automation for a record now; return the run (see `history.list_runs`)."""
    who = ws.actor(actor)
    bdef = ws.config.bases.get(base)
    auto = bdef.automations.get(automation) if bdef else None
    if auto is None or auto.trigger != "manual" or not auto.table:
        raise NotFoundError(f"no manual automation '{automation}' in base '{base}'")
    if not auto.enabled:
        raise GridbaseError(f"automation '{auto.name}' is turned off")
    table = ws.base(base).table(auto.table)
    table.get(record_id, actor=who)  # NotFoundError unless the person may read the record
    key = make_key(base, auto.key, f"manual:{uuid.uuid4().hex}")
    start = Start(f"manual:{who.key}", key, table.key, record_id)
    with ws.storage.transaction():
        if not condition_holds(table, record_id, auto.condition):
            start.skip = "the record does not meet the automation's condition"
        run = execute(ws, base, auto, start)
    from automations.worker import nudge

    nudge(ws)
    return run
