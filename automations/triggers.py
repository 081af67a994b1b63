"""Triggers that react to outbox events, and the `if` condition.

An *event* (engine.outbox.Event) is one committed write: a record was created, updated,
deleted or restored, with its changes (field key -> [old, new], stored values) and, for form
submissions, `data["form"]`. These triggers look at events, one registry entry each
(engine.automation.Trigger, registered by automations.builtin):

- `created: TABLE` — a record was created;
- `updated: TABLE` (+ `fields`, `to`, `from`) — one of `fields` changed (any field if not
  given); `to`/`from` compare the new/old value of that field by its display text (so
  `to: 处理中` works for a select, `to: 王主任` for a person) or by the value it stands for;
- `matches: TABLE, filter: F` — the record matches F after this change and did not before
  (a new record "did not before");
- `form: KEY` — a record was created through that form.

`matches` and `if` are evaluated by SQL over the stored row, with the filter compiled by the
engine (so `formula:` works; engine.matching). For "did not before" the previous row is
rebuilt in SQL: the current row with this event's changed columns put back to their old
values (a one-row CTE), and the same compiled filter runs over it. Columns this event did
not change are read as they are now; if a later event changed them, that event is judged
on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engine.automation import Checks, Path, Trigger
from engine.errors import GridbaseError
from engine.hints import did_you_mean
from engine.matching import row_matches
from engine.model import AutomationDef, TableDef
from engine.outbox import Event
from engine.plugins import triggers

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace


def builtin_schema(name: str) -> dict[str, Any]:
    """A built-in trigger's schema: its piece of schemas/base.schema.json (`$defs/trigger_NAME`)."""
    return {"$ref": f"#/$defs/trigger_{name}"}


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


def after_values(table: Table, event: Event) -> dict[str, Any]:
    """The columns this event changed, with their new values (the record as it left it)."""
    return {k: v[1] for k, v in event.changes.items() if k in table.fields}


class Created(Trigger):
    """A record is created."""

    type = "created"
    started_by = "create"
    schema: ClassVar[dict[str, Any]] = builtin_schema("created")

    def matches(self, table: Table, when: dict[str, Any], event: Event) -> bool:
        return event.kind == "created"


class Updated(Trigger):
    """One of `fields` (any if not given) changed, to `to` / from `from` if given."""

    type = "updated"
    started_by = "edit"
    schema: ClassVar[dict[str, Any]] = builtin_schema("updated")

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        if table is None:
            return
        keys = when.get("fields") or []
        found = [f for i, key in enumerate(keys) if (f := checks.field_ref(path + ("fields", i), table, key, what))]
        if len(keys) == 1 and found:  # `to:`/`from:` name a value of that one field: an option, for a select
            for side in ("to", "from"):
                if side in when:
                    checks.option_value(path + (side,), table, found[0].key, when[side], what)

    def matches(self, table: Table, when: dict[str, Any], event: Event) -> bool:
        if event.kind != "updated":
            return False
        changes = event.changes
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


class Matches(Trigger):
    """The record comes to match `filter` (it did not before this change)."""

    type = "matches"
    started_by = "edit"
    schema: ClassVar[dict[str, Any]] = builtin_schema("matches")

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        if table is not None:
            checks.filter(path + ("filter",), table, when.get("filter"), what)

    def matches(self, table: Table, when: dict[str, Any], event: Event) -> bool:
        if event.kind not in ("created", "updated") or event.record is None:
            return False
        flt = when.get("filter")
        if not row_matches(table, event.record, flt, after_values(table, event)):
            return False
        if event.kind == "created":
            return True
        before = {k: v[0] for k, v in event.changes.items() if k in table.fields}
        return not row_matches(table, event.record, flt, before)


class FormSubmitted(Trigger):
    """A record was created through form `form` (of table `table`)."""

    type = "form"
    started_by = "create"
    table_key = "table"
    schema: ClassVar[dict[str, Any]] = builtin_schema("form")

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        fkey = str(when.get("form"))
        if table is None or fkey in table.forms:
            return
        owner = next((t.key for t in checks.base.tables.values() if fkey in t.forms), None)
        hint = f"form '{fkey}' is a form of table '{owner}'" if owner else did_you_mean(fkey, table.forms)
        checks.err(path + ("form",), f"unknown form '{fkey}' of table '{table.key}' in {what}", hint)

    def matches(self, table: Table, when: dict[str, Any], event: Event) -> bool:
        return event.kind == "created" and event.data.get("form") == when.get("form")


class HookReceived(Trigger):
    """An inbound webhook (`hooks:` of the base, engine.hooks) created or changed a record of `table`."""

    type = "hook"
    table_key = "table"
    schema: ClassVar[dict[str, Any]] = builtin_schema("hook")

    def check(self, checks: Checks, path: Path, when: dict[str, Any], table: TableDef | None, what: str) -> None:
        name = str(when.get("hook"))
        hook = checks.base.hooks.get(name)
        if hook is None:
            checks.err(path + ("hook",), f"unknown hook '{name}' in {what}", did_you_mean(name, checks.base.hooks)
                       or "declare it under hooks: in this base")
        elif table is not None and hook.table != table.key:
            checks.err(path + ("table",), f"hook '{name}' writes to table '{hook.table}', not '{table.key}' ({what})",
                       f"write table: {hook.table}")

    def matches(self, table: Table, when: dict[str, Any], event: Event) -> bool:
        return event.kind in ("created", "updated") and event.data.get("via") == f"hook:{when.get('hook')}"


def event_matches(ws: Workspace, auto: AutomationDef, event: Event) -> bool:
    """Whether `event` fires `auto`'s trigger (the `if` condition is checked separately)."""
    trigger = triggers().get(auto.trigger)
    if trigger is None or trigger.fires_on != "event" or event.record is None or auto.table != event.table:
        return False
    try:
        table = ws.base(event.base).table(event.table)
    except GridbaseError:
        return False
    return bool(trigger.matches(table, auto.when, event))


def condition_holds(table: Table | None, record_id: str | None, condition: Any,
                    overrides: dict[str, Any] | None = None) -> bool:
    """The automation's `if` (on the row with `overrides`): true when absent, false without a record."""
    if not condition:
        return True
    if table is None or record_id is None:
        return False
    return row_matches(table, record_id, condition, overrides)


BUILTIN_EVENT_TRIGGERS = (Created, Updated, Matches, FormSubmitted, HookReceived)
