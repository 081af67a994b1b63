"""Unique fields (`unique: true`): which value is already taken, and the error that says so.

The database keeps the promise: engine.migrate gives each unique field a UNIQUE index over
the live records (`WHERE _deleted_at IS NULL`, so a deleted record's value may be used again,
and restoring it is checked). This module words the refusal before a write reaches that
index, for every write path (a new record, an import, an update, a restore, an undo): the
field, the value and the record that holds it, named only when the writer may read that
record ("another record" otherwise, which says no more than the refusal itself). An import
also refuses a value that two of its own rows hold, naming the earlier row.

`clash_text` is the sentence; views.messages has its Chinese.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from engine.errors import Message, ValidationError
from engine.interfaces import Table
from engine.permissions import Actor
from engine.storage import q

BATCH = 500  # values looked up per query


def unique_keys(table: Table) -> list[str]:
    """Keys of the table's unique fields, in field order."""
    return [k for k, f in table.tdef.fields.items() if f.unique]


def taken(table: Table, key: str, values: Iterable[Any], *, besides: int | None = None) -> dict[Any, tuple[str, int]]:
    """The stored values of field `key` among `values` that a live record already holds:
    value -> (its record id, its rowid); `besides`: a rowid left out (the record being changed)."""
    wanted = sorted({v for v in values if v is not None}, key=repr)
    found: dict[Any, tuple[str, int]] = {}
    conn = table.ws.storage.conn
    for start in range(0, len(wanted), BATCH):
        part = wanted[start:start + BATCH]
        marks = ", ".join("?" for _ in part)
        for value, record_id, rowid in conn.execute(
                f"SELECT {q(key)}, _id, _rowid FROM {table.sql} WHERE {q(key)} IN ({marks}) AND _deleted_at IS NULL",
                part):
            if rowid != besides:
                found[value] = (record_id, rowid)
    return found


def clash_text(table: Table, key: str, value: Any, holder: str | None) -> str:
    """"Asset number: 'A-001' is already used by record recX" (`holder` None: "by another record")."""
    field = table.fields[key]
    shown = field.display(value)
    problem = Message("unique_taken_by_record", value=shown, record=holder) if holder else \
        Message("unique_taken", value=shown)
    return Message("field_problem", field=field.fdef.name, problem=problem)


def holder_for(table: Table, record_id: str, key: str, actor: Actor) -> str | None:
    """`record_id` if `actor` may read that record and its field `key` unmasked, else None."""
    if actor.system:
        return record_id
    access = table.access(actor)
    if not access.readable(key) or access.mask(key):
        return None
    return record_id if table.fetch_row(record_id, access, actor) is not None else None


def check_row(table: Table, values: dict[str, Any], actor: Actor, *, rowid: int | None = None) -> None:
    """ValidationError by field when a unique value of `values` (as stored) is held by another
    live record than `rowid`."""
    errors: dict[str, str] = {}
    for key in unique_keys(table):
        value = values.get(key)
        if value is None or value == "":
            continue
        found = taken(table, key, [value], besides=rowid)
        if value in found:
            errors[key] = clash_text(table, key, value, holder_for(table, found[value][0], key, actor))
    if errors:
        raise ValidationError(errors)


class StreamCheck:
    """The unique values of a stream of new rows (an import): each row's values are checked
    against the live records and against the rows before it in the same stream."""

    def __init__(self, table: Table, actor: Actor, line_of: Callable[[int], int] | None = None) -> None:
        self.table = table
        self.actor = actor
        self.line_of = line_of or (lambda number: number)  # a row's number as its reader knows it (a file's line)
        self.keys = unique_keys(table)
        self.seen: dict[str, dict[Any, int]] = {k: {} for k in self.keys}  # value -> the row number that had it

    def check(self, prepared: list[tuple[int, dict[str, Any]]], *, remember: bool = True) -> dict[int, dict[str, str]]:
        """Row number -> errors by field, for the rows of `prepared` whose unique values are taken;
        `remember`: also by an earlier row of the stream (the check before writing; the writing
        checks the live records alone, which may have changed since)."""
        bad: dict[int, dict[str, str]] = {}
        for key in self.keys:
            found = taken(self.table, key, (v.get(key) for _, v in prepared))
            seen = self.seen[key]
            for number, values in prepared:
                value = values.get(key)
                if value is None or value == "":
                    continue
                if value in found:
                    holder = holder_for(self.table, found[value][0], key, self.actor)
                    bad.setdefault(number, {})[key] = clash_text(self.table, key, value, holder)
                elif not remember:
                    continue
                elif value in seen:
                    shown = self.table.fields[key].display(value)
                    bad.setdefault(number, {})[key] = Message("field_problem", field=self.table.tdef.fields[key].name,
                                                              problem=Message("unique_taken_by_row", value=shown,
                                                                              row=self.line_of(seen[value])))
                else:
                    seen[value] = number
        return bad
