"""Values kept in step with other rows: both sides of a link, and computed fields.

This module owns what follows from a write without being written by the person: the link
junction and the link columns on both sides (`_set_link`, `rebuild_column`,
`rebuild_other_side`), the formulas, lookups and rollups of a row (`recompute_row`, through
engine.computed's `Computer`), their propagation to the rows of other tables that read this
one (`propagate`, at most MAX_PROPAGATION links deep), the whole-table rebuild after a
migration (`recompute_all`) and the formulas that change with the clock
(`refresh_time_dependent`). `Upkeep` is a part of `Table` (engine.records): the record
service calls these steps inside its write transaction.

Words: a *junction* is the link's own table of (src, dst, pos) rows (engine.storage
`junction_name`); the *other side* is the linked table, whose inverse link column shows the
same pairs.
"""

from __future__ import annotations

import json
from typing import Any

from engine import formula, interfaces
from engine.computed import Computer
from engine.errors import Message, ValidationError
from engine.permissions import Actor
from engine.reads import Reader
from engine.storage import q, table_name

MAX_PROPAGATION = 6


class Upkeep(Reader):
    """The links and computed values of one table (a part of engine.records `Table`)."""

    _computer: Computer | None

    @property
    def computer(self) -> Computer:
        if self._computer is None:
            self._computer = Computer(self)  # type: ignore[arg-type]  # self is a Table
        return self._computer

    # -- links -------------------------------------------------------------------------
    def _linked_rowids(self, key: str, rowid: int) -> list[int]:
        jname, mine, theirs, _, _ = self.junction(key)
        return [r[0] for r in self.ws.storage.conn.execute(f"SELECT {theirs} FROM {jname} WHERE {mine} = ?", (rowid,))]

    def _set_link(self, rowid: int, record_id: str, key: str, ids: list[str], actor: Actor,
                  audit: dict[str, tuple[Any, Any]]) -> None:
        conn = self.ws.storage.conn
        jname, mine, theirs, other, other_field = self.junction(key)
        other_sql = q(table_name(self.base.key, other.key))
        wanted: list[int] = []
        if ids:
            marks = ", ".join("?" for _ in ids)
            found = dict(conn.execute(f"SELECT _id, _rowid FROM {other_sql} WHERE _id IN ({marks}) AND _deleted_at IS NULL", ids).fetchall())
            unknown = [i for i in ids if i not in found]
            if unknown:
                raise ValidationError({key: Message("field_problem", field=self.tdef.fields[key].name,
                                                          problem=Message("unknown_linked_record", record=unknown[0], table=other.name))})
            wanted = [found[i] for i in ids]
        before = set(self._linked_rowids(key, rowid))
        old_text = conn.execute(f"SELECT {q(key)} FROM {self.sql} WHERE _rowid = ?", (rowid,)).fetchone()
        conn.execute(f"DELETE FROM {jname} WHERE {mine} = ?", (rowid,))
        touched = set(before) | set(wanted)
        if other_field is not None:
            other_def = other.fields[other_field]
            single_other = other_def.options.get("multiple", True) is False
            if single_other and wanted:
                marks = ", ".join("?" for _ in wanted)
                stolen = [r[0] for r in conn.execute(f"SELECT {mine} FROM {jname} WHERE {theirs} IN ({marks})", wanted)]
                conn.execute(f"DELETE FROM {jname} WHERE {theirs} IN ({marks})", wanted)
                for srow in stolen:
                    self.rebuild_column(key, srow, actor)
        conn.executemany(f"INSERT OR IGNORE INTO {jname} ({mine}, {theirs}, pos) VALUES (?, ?, ?)",
                         [(rowid, other_rowid, i) for i, other_rowid in enumerate(wanted)])
        new_text = json.dumps(ids, ensure_ascii=False) if ids else None
        conn.execute(f"UPDATE {self.sql} SET {q(key)} = ? WHERE _rowid = ?", (new_text, rowid))
        audit[key] = (old_text[0] if old_text else None, new_text)
        for other_rowid in touched:
            self.rebuild_other_side(key, other_rowid, actor)

    def rebuild_column(self, key: str, rowid: int, actor: Actor) -> None:
        """Rewrite this table's link column for one row from the junction; audit the change."""
        conn = self.ws.storage.conn
        ids = self._linked_ids(key, rowid)
        row = conn.execute(f"SELECT _id, {q(key)} FROM {self.sql} WHERE _rowid = ?", (rowid,)).fetchone()
        if row is None:
            return
        new_text = json.dumps(ids, ensure_ascii=False) if ids else None
        if row[1] != new_text:
            conn.execute(f"UPDATE {self.sql} SET {q(key)} = ? WHERE _rowid = ?", (new_text, rowid))
            self.ws.audit.record(actor, self.base.key, self.key, row[0], "update", {key: (row[1], new_text)},
                                 side_effect=True)
            self.recompute_row(rowid, row[0], audit_into=None)
            self.propagate(rowid, depth=1)

    def rebuild_other_side(self, key: str, other_rowid: int, actor: Actor) -> None:
        _, _, _, other, other_field = self.junction(key)
        other_table = self.base.table(other.key)
        if other_field is None and not other.computed_order:
            return  # nothing on the other side shows this link
        if other_field is not None:
            other_table.rebuild_column(other_field, other_rowid, actor)
        else:
            record = self.ws.storage.conn.execute(f"SELECT _id FROM {other_table.sql} WHERE _rowid = ?", (other_rowid,)).fetchone()
            if record:
                other_table.recompute_row(other_rowid, record[0], audit_into=None)

    # -- computed values ---------------------------------------------------------------
    def recompute_row(self, rowid: int, record_id: str, *, audit_into: dict[str, Any] | None) -> dict[str, Any]:
        if not self.tdef.computed_order:
            return {}
        conn = self.ws.storage.conn
        cur = conn.execute(f"SELECT * FROM {self.sql} WHERE _rowid = ?", (rowid,))
        names = [d[0] for d in cur.description]
        values = cur.fetchone()
        if values is None:
            return {}
        row = dict(zip(names, values, strict=True))
        before = {k: row.get(k) for k in self.tdef.computed_order}
        computed = self.computer.row(row, record_id=record_id)
        changed = {k: v for k, v in computed.items() if before.get(k) != v}
        if changed:
            sets = ", ".join(f"{q(k)} = ?" for k in changed)
            conn.execute(f"UPDATE {self.sql} SET {sets} WHERE _rowid = ?", list(changed.values()) + [rowid])
        return changed

    def _dependents(self) -> list[tuple[interfaces.Table, str]]:
        """(table, link field on that table) pairs whose lookups or rollups read this table."""
        out = []
        for other in self.base.bdef.tables.values():
            links = set()
            for fdef in other.fields.values():
                if fdef.options.get("link"):  # a lookup or rollup reads through this link
                    link = other.fields.get(fdef.options.get("link", ""))
                    if link is not None and link.options.get("table") == self.key:
                        links.add(link.key)
            for link_key in sorted(links):
                out.append((self.base.table(other.key), link_key))
        return out

    def propagate(self, rowid: int, *, depth: int) -> None:
        if depth >= MAX_PROPAGATION:
            return
        conn = self.ws.storage.conn
        for other, link_key in self._dependents():
            jname, mine, theirs, _, _ = other.junction(link_key)
            for (other_rowid,) in conn.execute(f"SELECT {mine} FROM {jname} WHERE {theirs} = ?", (rowid,)).fetchall():
                rec = conn.execute(f"SELECT _id FROM {other.sql} WHERE _rowid = ?", (other_rowid,)).fetchone()
                if rec and other.recompute_row(other_rowid, rec[0], audit_into=None):
                    other.propagate(other_rowid, depth=depth + 1)

    def recompute_all(self, *, batch: int = 5000) -> int:
        """Recompute link columns' computed values for every row (after a migration)."""
        conn = self.ws.storage.conn
        count = 0
        last = 0
        while True:
            rows = conn.execute(f"SELECT _rowid, _id FROM {self.sql} WHERE _rowid > ? ORDER BY _rowid LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return count
            for rowid, record_id in rows:
                for key, field in self.fields.items():
                    if field.links:
                        self._rebuild_column_quiet(key, rowid)
                self.recompute_row(rowid, record_id, audit_into=None)
                count += 1
            last = rows[-1][0]

    def time_dependent(self) -> bool:
        """Whether a computed field of this table reads TODAY() or NOW(), directly or not."""
        return any(key in self.computer.refs and formula.uses_now(self.computer.refs[key].node)
                   for key in self.tdef.computed_order)

    def refresh_time_dependent(self, *, batch: int = 2000) -> int:
        """Recompute computed values as the clock moves; emit `updated` events for changes.

        Formulas such as `IS_BEFORE({due}, NOW())` change without any write; storing their
        new value (and telling automations) lets views filter on them and `matches`
        triggers fire when a record becomes overdue. Returns the number of records changed.
        """
        if not self.time_dependent():
            return 0
        changed = 0
        last = 0
        system = Actor.engine()
        while True:
            with self.ws.storage.transaction():
                conn = self.ws.storage.conn
                rows = conn.execute(f"SELECT _rowid, _id FROM {self.sql} WHERE _rowid > ? AND _deleted_at IS NULL "
                                    f"ORDER BY _rowid LIMIT ?", (last, batch)).fetchall()
                if not rows:
                    return changed
                for rowid, record_id in rows:
                    old = {k: v for k, v in zip(self.tdef.computed_order, conn.execute(
                        f"SELECT {', '.join(q(k) for k in self.tdef.computed_order)} FROM {self.sql} WHERE _rowid = ?",
                        (rowid,)).fetchone(), strict=True)}
                    diff = self.recompute_row(rowid, record_id, audit_into=None)
                    if diff:
                        changed += 1
                        self.ws.emit(self.base.key, self.key, record_id, "updated", system,
                                     {"changes": {k: [old.get(k), v] for k, v in diff.items()}, "clock": True}, 0)
                        self.propagate(rowid, depth=0)
                last = rows[-1][0]

    def _linked_ids(self, key: str, rowid: int) -> list[str]:
        """Record ids one row links to through `key`, from the junction, live records only."""
        jname, mine, theirs, other, _ = self.junction(key)
        other_sql = q(table_name(self.base.key, other.key))
        return [r[0] for r in self.ws.storage.conn.execute(
            f"SELECT o._id FROM {jname} j JOIN {other_sql} o ON o._rowid = j.{theirs} "
            f"WHERE j.{mine} = ? AND o._deleted_at IS NULL ORDER BY j.pos, j.{theirs}", (rowid,))]

    def _rebuild_column_quiet(self, key: str, rowid: int) -> None:
        ids = self._linked_ids(key, rowid)
        self.ws.storage.conn.execute(f"UPDATE {self.sql} SET {q(key)} = ? WHERE _rowid = ?",
                                     (json.dumps(ids) if ids else None, rowid))
