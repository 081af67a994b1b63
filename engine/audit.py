"""The audit log (`_gb_audit`): who changed what, when, from what to what.

This module is the only one that writes `_gb_audit` or reads it for a record's history or an
undo, searches it (`gridbase audit`, the admins' audit page) and removes the entries
engine.retention has archived; engine.migrate renames fields in it through `rename_field`.

Words: an *entry* is one row. The record service writes it in the write's own transaction:

- `create`: one entry per new record, `new` = the JSON object of the values it was made with;
- `update`: one entry per changed field, `field`, `old` and `new` = that field's stored value
  before and after (JSON);
- `delete`: one entry, `old` = the JSON object of the whole row as it was (so it can be put back);
- `restore`: one entry, `new` = the JSON object of the row brought back;
- a *note* (`comment`, `import_rollback`, `archive`): not a change of fields, `new` says what.

A *group* (`grp`) is what one person did at once — one cell saved, one paste of many cells, one
record deleted — and what engine.undo takes back as a whole. Its text starts with an id that
sorts in time (`g` + the record-id clock); the group of an undo or a redo names the group it
undid or redid after it: `g… undo g…`, `g… redo g…`. Entries written as a side effect (the
other side of a link rebuilt) and bulk imports (undone as a whole by engine.imports) carry none.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.ids import new_record_id, utcnow_text
from engine.logfilter import LogFilter, blocks

if TYPE_CHECKING:
    from engine.permissions import Actor
    from engine.storage import Storage

_INSERT = ("INSERT INTO _gb_audit (at, actor, base, tbl, record, action, field, old, new, on_behalf, grp) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_COLUMNS = "id, at, actor, base, tbl, record, action, field, old, new, on_behalf, grp"
UNDO, REDO = "undo", "redo"


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Entry:
    """One audit row; `old`/`new` are the JSON texts as stored."""

    id: int
    at: str
    actor: str
    base: str
    table: str
    record: str
    action: str
    field: str | None
    old: str | None
    new: str | None
    on_behalf: str | None
    group: str | None

    def old_value(self) -> Any:
        return None if self.old is None else json.loads(self.old)

    def new_value(self) -> Any:
        return None if self.new is None else json.loads(self.new)


def group_parts(grp: str) -> tuple[str, str | None, str | None]:
    """(group id, "undo"/"redo" or None, the group it undid or redid or None)."""
    parts = grp.split(" ")
    if len(parts) == 3 and parts[1] in (UNDO, REDO):
        return parts[0], parts[1], parts[2]
    return parts[0], None, None


class AuditLog:
    """The audit log of one workspace database (written inside the caller's transaction)."""

    def __init__(self, storage: Storage, now: Callable[[], datetime]) -> None:
        self.storage = storage
        self.now = now
        self._group: str | None = None

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.storage.conn

    # -- groups ------------------------------------------------------------------------------
    @contextmanager
    def group(self, *, undoes: str | None = None, redoes: str | None = None) -> Iterator[str]:
        """Inside a transaction: the entries written in the block form one group (a block
        inside another's joins the outer group). `undoes`/`redoes`: the group this one takes
        back or applies again."""
        if self._group is not None:
            yield self._group
            return
        gid = "g" + new_record_id()[3:]
        if undoes:
            gid = f"{gid} {UNDO} {undoes}"
        elif redoes:
            gid = f"{gid} {REDO} {redoes}"
        self._group = gid
        try:
            yield gid
        finally:
            self._group = None

    # -- writing -----------------------------------------------------------------------------
    def record(self, actor: Actor, base: str, table: str, record: str, action: str,
               changes: dict[str, tuple[Any, Any]], *, side_effect: bool = False) -> None:
        """The entries of one write of one record: `create` keeps the new values, `delete` the
        whole old row, `restore` the row brought back, `update` old and new of each field."""
        at = utcnow_text(self.now())
        grp = None if side_effect else self._group
        head = (at, actor.key, base, table, record, action)
        if action == "create":
            values = {key: new for key, (_, new) in changes.items() if new is not None}
            self._conn.execute(_INSERT, (*head, None, None, dumps(values), actor.on_behalf, grp))
        elif action == "delete":
            row = {key: old for key, (old, _) in changes.items() if old is not None}
            self._conn.execute(_INSERT, (*head, None, dumps(row) if row else None, None, actor.on_behalf, grp))
        elif action == "restore" or not changes:
            row = {key: new for key, (_, new) in changes.items() if new is not None}
            self._conn.execute(_INSERT, (*head, None, None, dumps(row) if row else None, actor.on_behalf, grp))
        else:
            self._conn.executemany(_INSERT, [(*head, key, dumps(old), dumps(new), actor.on_behalf, grp)
                                             for key, (old, new) in changes.items()])

    def created(self, actor: Actor, base: str, table: str, entries: Iterable[tuple[str, str]], *, at: str) -> None:
        """`create` entries of many new records at once: (record id, values JSON) pairs, the
        JSON encoded by the writer (which puts the same text in the events)."""
        head = (at, actor.key, base, table)
        tail = (actor.on_behalf, self._group)
        self._conn.executemany(_INSERT, ((*head, record, "create", None, None, values, *tail)
                                         for record, values in entries))

    def note(self, actor: Actor, base: str, table: str, record: str, action: str, note: dict[str, Any]) -> None:
        """An entry about a record that is not a change of its fields (a comment, an import
        rolled back, a log archived), with `note` as its new value."""
        self._conn.execute(_INSERT, (utcnow_text(self.now()), actor.key, base, table, record, action, None, None,
                                     dumps(note), actor.on_behalf, None))

    def forget_created(self, base: str, table: str, records: list[str]) -> None:
        """Remove the `create` entries of records an import wrote and then undid (its
        `import_rollback` note says how many)."""
        self._conn.executemany("DELETE FROM _gb_audit WHERE base = ? AND tbl = ? AND record = ? AND action = 'create'",
                               [(base, table, r) for r in records])

    def rename_field(self, base: str, table: str, old: str, new: str, *, path_of: Callable[[str], str]) -> None:
        """A field renamed by a migration: its entries, and its key in the JSON objects of whole
        rows (`new` of a create or restore, `old` of a delete), take the new key. `path_of`
        gives a key's JSON path (engine.migrate's `json_path`)."""
        conn = self._conn
        conn.execute("UPDATE _gb_audit SET field = ? WHERE base = ? AND tbl = ? AND field = ?", (new, base, table, old))
        old_path, new_path = path_of(old), path_of(new)
        for column, actions in (("new", "'create', 'restore'"), ("old", "'delete'")):
            conn.execute(
                f"UPDATE _gb_audit SET {column} = {self.storage.dialect.json_move(column)} "
                f"WHERE base = ? AND tbl = ? AND action IN ({actions}) AND field IS NULL AND json_valid({column}) "
                f"AND json_type({column}, ?) IS NOT NULL", (old_path, new_path, old_path, base, table, old_path))

    # -- reading -----------------------------------------------------------------------------
    def for_record(self, base: str, table: str, record: str) -> list[Entry]:
        """The record's entries, oldest first."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM _gb_audit WHERE base = ? AND tbl = ? AND record = ? "
                                  "ORDER BY id", (base, table, record)).fetchall()
        return [Entry(*r) for r in rows]

    def search(self, *, person: str | None = None, base: str | None = None, table: str | None = None,
               record: str | None = None, since: str | None = None, until: str | None = None) -> list[Entry]:
        """Entries matching every condition given, oldest first."""
        found = LogFilter(person=person, base=base, table=table, record=record, since=since, until=until)
        return list(self.entries(found))

    def entries(self, found: LogFilter, *, newest_first: bool = False, limit: int | None = None) -> Iterator[Entry]:
        """The entries a filter keeps (read a block at a time: see engine.logfilter)."""
        where, params = found.where()
        for row in blocks(self.storage, "_gb_audit", _COLUMNS, where, params, newest_first=newest_first, limit=limit):
            yield Entry(*row)

    # -- retention (engine.retention archives, then removes by id) ------------------------------
    COLUMNS = tuple(_COLUMNS.split(", "))

    def due(self, cutoff: str) -> tuple[int, str | None, str | None]:
        """(count, first, last time) of the entries written before `cutoff`."""
        with self.storage.reading() as conn:
            row = conn.execute("SELECT count(*), min(at), max(at) FROM _gb_audit WHERE at < ?", (cutoff,)).fetchone()
        return int(row[0]), row[1], row[2]

    def due_rows(self, cutoff: str) -> Iterator[tuple[Any, ...]]:
        """Every column of the entries written before `cutoff`, by id."""
        yield from blocks(self.storage, "_gb_audit", _COLUMNS, "at < ?", [cutoff])

    def remove(self, ids: list[int]) -> None:
        """Inside the caller's transaction: remove archived entries."""
        self._conn.execute("DELETE FROM _gb_audit WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))", (json.dumps(ids),))

    def recent_groups(self, actor: str, base: str, table: str, *, limit: int = 200) -> list[str]:
        """The actor's last `limit` groups in a table, oldest first."""
        rows = self._conn.execute("SELECT DISTINCT grp FROM _gb_audit WHERE actor = ? AND base = ? AND tbl = ? "
                                  "AND grp IS NOT NULL ORDER BY grp DESC LIMIT ?", (actor, base, table, limit)).fetchall()
        return [r[0] for r in reversed(rows)]

    def group_entries(self, actor: str, base: str, table: str, group: str) -> list[Entry]:
        """The entries of one of the actor's groups (and of its later redos, whose values are
        the same), oldest first."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM _gb_audit WHERE actor = ? AND base = ? AND tbl = ? "
                                  "AND grp = ? ORDER BY id", (actor, base, table, group)).fetchall()
        return [Entry(*r) for r in rows]

    def last_change(self, base: str, table: str, record: str, field: str | None) -> Entry | None:
        """The newest entry that changed a record's field (with `field` None: the record's
        newest entry of any kind but a note)."""
        if field is None:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM _gb_audit WHERE base = ? AND tbl = ? AND record = ? "
                "AND action IN ('create', 'update', 'delete', 'restore') ORDER BY id DESC LIMIT 1",
                (base, table, record)).fetchone()
        else:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM _gb_audit WHERE base = ? AND tbl = ? AND record = ? "
                "AND (field = ? OR action = 'create') ORDER BY id DESC LIMIT 1", (base, table, record, field)).fetchone()
        return Entry(*row) if row else None

    def texts_like(self, pattern: str) -> Iterator[tuple[str | None, str | None]]:
        """(old, new) of every entry whose old or new text is LIKE `pattern` (the orphan
        sweep looks for uploads a history still names)."""
        yield from self._conn.execute("SELECT old, new FROM _gb_audit WHERE old LIKE ? OR new LIKE ?", (pattern, pattern))
