"""Triggers that react to outbox events, and the `if` condition.

An *event* (engine.outbox.Event) is one committed write: a record was created, updated,
deleted or restored, with its changes (field key -> [old, new], stored values) and, for form
submissions, `data["form"]`. These triggers look at events:

- `created: TABLE` — a record was created;
- `updated: TABLE` (+ `fields`, `to`, `from`) — one of `fields` changed (any field if not
  given); `to`/`from` compare the new/old value of that field by its display text (so
  `to: 处理中` works for a select, `to: 王主任` for a person) or by the value it stands for;
- `matches: TABLE, filter: F` — the record matches F after this change and did not before
  (a new record "did not before");
- `form: KEY` — a record was created through that form.

`matches` and `if` are evaluated by SQL over the stored row, with the filter compiled by the
engine (so `formula:` works). For "did not before" the previous row is rebuilt in SQL: the
current row with this event's changed columns put back to their old values (a one-row CTE),
and the same compiled filter runs over it. Columns this event did not change are read as
they are now; if a later event changed them, that event is judged on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import GridbaseError
from engine.model import AutomationDef
from engine.outbox import Event
from engine.permissions import Actor
from engine.storage import q

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace

EVENT_TRIGGERS = ("created", "updated", "matches", "form")


def event_table(auto: AutomationDef) -> str | None:
    """The table an event-driven automation listens to."""
    if auto.trigger == "form":
        return auto.when.get("table")
    return auto.table


def same_value(table: Table, key: str, stored: Any, expected: Any) -> bool:
    """Whether a stored value of field `key` is what a `to:`/`from:` names."""
    fld = table.fields.get(key)
    if fld is None:
        return False
    if expected is None or expected == "":
        return stored is None or fld.display(stored) == ""
    if stored == expected:
        return True
    if fld.display(stored) == str(expected):
        return True
    try:
        return bool(fld.coerce(expected) == stored)
    except (ValueError, TypeError):
        return False


def _updated_matches(table: Table, when: dict[str, Any], changes: dict[str, list[Any]]) -> bool:
    fields = list(when.get("fields") or [])
    changed = [k for k in (fields or list(changes)) if k in changes]
    if not changed:
        return False
    if "to" not in when and "from" not in when:
        return True
    for key in changed:
        old, new = changes[key]
        if "to" in when and not same_value(table, key, new, when["to"]):
            continue
        if "from" in when and not same_value(table, key, old, when["from"]):
            continue
        return True
    return False


def row_matches(table: Table, record_id: str, flt: Any, overrides: dict[str, Any] | None = None) -> bool:
    """Whether the live record matches `flt`, optionally with some columns replaced."""
    sql, params = table.compile_filter(flt, Actor.engine())
    overrides = overrides or {}
    with table.ws.storage.reading() as conn:
        if not overrides:
            found = conn.execute(f"SELECT 1 FROM {table.sql} WHERE _id = ? AND _deleted_at IS NULL AND {sql}",
                                 [record_id] + params).fetchone()
            return found is not None
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table.sql})").fetchall()]
        select = ", ".join(f"? AS {q(c)}" if c in overrides else q(c) for c in cols)
        values = [overrides[c] for c in cols if c in overrides]
        found = conn.execute(
            f"WITH r AS (SELECT {select} FROM {table.sql} WHERE _id = ? AND _deleted_at IS NULL) "
            f"SELECT 1 FROM r WHERE {sql}", values + [record_id] + params).fetchone()
        return found is not None


def _came_to_match(table: Table, event: Event, flt: Any) -> bool:
    if event.record is None:
        return False
    changes = event.changes
    if not row_matches(table, event.record, flt, after_values(table, event)):
        return False
    if event.kind == "created":
        return True
    before = {k: v[0] for k, v in changes.items() if k in table.fields}
    return not row_matches(table, event.record, flt, before)


def event_matches(ws: Workspace, auto: AutomationDef, event: Event) -> bool:
    """Whether `event` fires `auto`'s trigger (the `if` condition is checked separately)."""
    if auto.trigger not in EVENT_TRIGGERS or event.record is None or event_table(auto) != event.table:
        return False
    try:
        table = ws.base(event.base).table(event.table)
    except GridbaseError:
        return False
    when = auto.when
    if auto.trigger == "created":
        return event.kind == "created"
    if auto.trigger == "form":
        return event.kind == "created" and event.data.get("form") == when.get("form")
    if auto.trigger == "updated":
        return event.kind == "updated" and _updated_matches(table, when, event.changes)
    if event.kind not in ("created", "updated"):
        return False
    return _came_to_match(table, event, when.get("filter"))


def after_values(table: Table, event: Event) -> dict[str, Any]:
    """The columns this event changed, with their new values (the record as it left it)."""
    return {k: v[1] for k, v in event.changes.items() if k in table.fields}


def condition_holds(table: Table | None, record_id: str | None, condition: Any,
                    overrides: dict[str, Any] | None = None) -> bool:
    """The automation's `if` (on the row with `overrides`): true when absent, false without a record."""
    if not condition:
        return True
    if table is None or record_id is None:
        return False
    return row_matches(table, record_id, condition, overrides)
