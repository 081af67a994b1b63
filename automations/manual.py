"""Manual triggers: the button on a record page (`when: {manual: TABLE, label: ...}`).

`run_manual` runs the automation at once, in the caller's thread, for one record. The person
who pressed the button must be able to read the record; the actions then run as the
automation (like every automation), and the run history notes who pressed it
(`trigger` = `manual:PERSON`). `manual_buttons` lists the buttons a record page shows: those
of the automations whose trigger `fires_on` a button (`ManualTrigger`, a registry entry).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from automations.runner import Start, execute, make_key
from automations.triggers import builtin_schema, condition_holds
from automations.worker import nudge
from engine.automation import Trigger
from engine.errors import GridbaseError, NotFoundError
from engine.model import AutomationDef
from engine.permissions import Actor
from engine.plugins import triggers

if TYPE_CHECKING:
    from engine.workspace import Workspace


class ManualTrigger(Trigger):
    """`manual: TABLE` (+ `label`): a button on the record page of each record of the table."""

    type = "manual"
    fires_on = "button"
    started_by = "read"
    schema: ClassVar[dict[str, Any]] = builtin_schema("manual")


def _on_button(auto: AutomationDef) -> bool:
    trigger = triggers().get(auto.trigger)
    return trigger is not None and trigger.fires_on == "button"


def manual_buttons(ws: Workspace, base: str, table: str) -> list[dict[str, str]]:
    """[{automation, label}] for the enabled manual automations of a table."""
    bdef = ws.config.bases.get(base)
    if bdef is None:
        return []
    return [{"automation": a.key, "label": str(a.when.get("label") or a.name)}
            for a in bdef.automations.values() if a.enabled and _on_button(a) and a.table == table]


def run_manual(ws: Workspace, base: str, automation: str, record_id: str, actor: Actor | str) -> dict[str, Any]:
    """Run a manual automation for a record now; return the run (see `history.list_runs`)."""
    who = ws.actor(actor)
    bdef = ws.config.bases.get(base)
    auto = bdef.automations.get(automation) if bdef else None
    if auto is None or not _on_button(auto) or not auto.table:
        raise NotFoundError(f"no manual automation '{automation}' in base '{base}'")
    if not auto.enabled:
        raise GridbaseError(f"automation '{auto.name}' is turned off")
    table = ws.base(base).table(auto.table)
    table.get(record_id, actor=who)  # NotFoundError unless the person may read the record
    key = make_key(base, auto.key, f"manual:{uuid.uuid4().hex}")
    start = Start(f"manual:{who.key}", key, table.key, record_id, on_behalf=who.key)
    with ws.storage.transaction():
        if not condition_holds(table, record_id, auto.condition):
            start.skip = "the record does not meet the automation's condition"
        run = execute(ws, base, auto, start)
    nudge(ws)
    return run
