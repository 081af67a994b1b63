"""Undo and redo of a person's own writes in one table, through the record service.

    undo(table, "li_na")   # takes back li_na's most recent write in that table
    redo(table, "li_na")   # and does it again

Words: a *group* is what one person did at once (engine.audit): one cell saved, a paste of
many cells, a record created or deleted. The person's groups in a table form a stack, read
from the audit log: a new group goes on top (and empties the redo stack), an undo moves the
top group to the redo stack, a redo moves it back. Undo and redo write through the record
service as the person — the same permission checks, audit entries (in a group that names the
group it undid or redid) and outbox events as any write — so an undo is itself in the history
and a change made since by someone else is never overwritten silently: the undo is refused
(`UndoRefused`, reason `changed`) naming who changed the cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from engine.audit import REDO, UNDO, Entry, group_parts
from engine.errors import Message, UndoRefused
from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.records import Table


@dataclass(frozen=True)
class Done:
    """What an undo or redo changed: the group it took back or did again, the records it wrote."""

    group: str
    records: list[str]


def stacks(table: Table, actor: Actor) -> tuple[list[str], list[str]]:
    """(groups that can be undone, groups that can be redone), each with its next one last."""
    undoable: list[str] = []
    redoable: list[str] = []
    for grp in table.ws.audit.recent_groups(actor.key, table.base.key, table.key):
        _, kind, target = group_parts(grp)
        if kind is None:
            undoable.append(grp)
            redoable.clear()  # a new write: what was undone before it can no longer be redone
        elif kind == UNDO and target in undoable:
            undoable.remove(target)
            redoable.append(target)
        elif kind == REDO and target in redoable:
            redoable.remove(target)
            undoable.append(target)
    return undoable, redoable


def undo(table: Table, actor: Actor | str) -> Done:
    """Take back the actor's most recent write in `table` that is not undone yet."""
    return _step(table, actor, backwards=True)


def redo(table: Table, actor: Actor | str) -> Done:
    """Do again the write the actor undid last (unless they wrote something since)."""
    return _step(table, actor, backwards=False)


def _step(table: Table, who: Actor | str, *, backwards: bool) -> Done:
    ws = table.ws
    actor = ws.actor(who)
    with ws.storage.transaction():
        undoable, redoable = stacks(table, actor)
        pending = undoable if backwards else redoable
        if not pending:
            raise UndoRefused("nothing", Message("nothing_to_undo" if backwards else "nothing_to_redo"))
        target = pending[-1]
        entries = ws.audit.group_entries(actor.key, table.base.key, table.key, target)
        with ws.audit.group(undoes=target) if backwards else ws.audit.group(redoes=target):
            records = _apply(table, actor, entries, backwards=backwards)
    return Done(target, records)


def _apply(table: Table, actor: Actor, entries: list[Entry], *, backwards: bool) -> list[str]:
    """Write the entries' old values (backwards) or new ones, after checking that nobody
    changed what they wrote since."""
    audit = table.ws.audit
    steps: list[tuple[str, str, dict[str, Any]]] = []  # (record, what to do, values)
    by_record: dict[str, dict[str, Any]] = {}
    for entry in reversed(entries) if backwards else entries:
        row = table.stored_row(entry.record)
        if entry.action == "update" and entry.field is not None:
            if entry.field not in table.fields:
                continue  # a field removed from the table since
            expected, wanted = (entry.new_value(), entry.old_value()) if backwards else (entry.old_value(), entry.new_value())
            if row is None or row.get("_deleted_at") is not None:
                _refuse(table, entry, None)  # the record was deleted since
            if row.get(entry.field) != expected:
                _refuse(table, entry, entry.field)
            if entry.record not in by_record:
                by_record[entry.record] = {}
                steps.append((entry.record, "update", by_record[entry.record]))
            by_record[entry.record][entry.field] = wanted
        elif entry.action in ("create", "delete", "restore"):
            # Undo deletes what was created or restored and restores what was deleted; redo
            # deletes what was deleted and restores the rest.
            gone = entry.action in ("create", "restore") if backwards else entry.action == "delete"
            is_gone = row is not None and row.get("_deleted_at") is not None
            if row is None or is_gone == gone:
                _refuse(table, entry, None)  # someone deleted or restored it meanwhile
            last = audit.last_change(table.base.key, table.key, entry.record, None)
            if last is not None and last.actor != actor.key and last.id > entry.id:
                _refuse(table, entry, None)
            steps.append((entry.record, "delete" if gone else "restore", {}))
    records: list[str] = []
    for record, what, values in steps:
        if what == "update":
            table._update(record, values, actor, depth=0, stored=True)
        elif what == "delete":
            table._delete(record, actor, depth=0)
        else:
            table._restore(record, actor)
        if record not in records:
            records.append(record)
    return records


def _refuse(table: Table, entry: Entry, field: str | None) -> NoReturn:
    last = table.ws.audit.last_change(table.base.key, table.key, entry.record, field)
    who = last.actor if last is not None and last.id > entry.id else ""
    name = table.tdef.fields[field].name if field is not None else ""
    code = ("changed_since" if who else "someone_changed") + ("_field" if field else "_record")
    raise UndoRefused("changed", Message(code, who=who, field=name,
                                         record=entry.record), who=who, field=name)
