"""The record service: the one path for every read and write of records.

`Table.create/update/delete/restore` coerce and validate each value by its field type, check
the actor's permissions, write the row, keep links on both sides in step, recompute
formulas, lookups and rollups (also in linked tables), and append the audit log and an
outbox event, all in the same `BEGIN IMMEDIATE` transaction. A new record is written by the
bulk writer as a batch of one (engine.bulk `Writer`), so a form, the API and an import write
rows, audit entries and events the same way. `update_many` changes many records at once, all
or nothing. Each public write is one audit *group* (engine.audit), which engine.undo takes
back as a whole; `_update/_delete/_restore` are the steps a group is made of. `get/query/
count/group` read through the same permission check, so a row or field the actor may not
see never leaves.

`Table` is put together from parts, one concept each: engine.reads `Reader` (get, query,
count, history), engine.aggregates `Aggregates` (group, aggregate), engine.upkeep `Upkeep`
(links on both sides, computed values and their propagation) and, here, the writes. Which
options of a field an actor may set is engine.permissions `not_settable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from engine import attachments
from engine.aggregates import Aggregates
from engine.bulk import BulkResult, Writer, bulk_create, row_plan
from engine.computed import Computer
from engine.errors import (
    CellError,
    CellErrors,
    Message,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from engine.fields.base import FieldType, is_blank, load_json_list
from engine.fields.lookup import LookupField
from engine.ids import utcnow_text as utcnow_text  # re-exported: where automations take it from
from engine.interfaces import Base, RowPlan, Workspace
from engine.linked import keep_hidden
from engine.model import FieldDef, FormDef, TableDef
from engine.permissions import LEVELS, Actor, TableAccess, not_settable, table_access
from engine.schema import field_instance
from engine.storage import q, table_name
from engine.unique import check_row
from engine.upkeep import Upkeep


class Table(Upkeep, Aggregates):
    """One table of one base, as seen by the record service."""

    def __init__(self, base: Base, tdef: TableDef) -> None:
        self.base = base
        self.ws: Workspace = base.ws
        self.tdef = tdef
        self.key = tdef.key
        self.sql = q(table_name(base.key, tdef.key))
        self.fields: dict[str, FieldType] = {k: field_instance(f, self.ws.config) for k, f in tdef.fields.items()}
        for key, inst in self.fields.items():
            if isinstance(inst, LookupField):
                inst.source = self._lookup_source(tdef, tdef.fields[key])
        self._computer: Computer | None = None

    def _lookup_source(self, tdef: TableDef, fdef: FieldDef, depth: int = 0) -> FieldType | None:
        """The type of the field a lookup shows (through lookups of lookups), for its display."""
        through = self.base.bdef.linked_through(tdef, fdef)
        other = through[1] if through else None
        source = other.fields.get(str(fdef.options.get("field", ""))) if other else None
        if other is None or source is None or depth > 4:
            return None
        inst = field_instance(source, self.ws.config)
        if isinstance(inst, LookupField):
            inst.source = self._lookup_source(other, source, depth + 1)
        return inst

    def access(self, actor: Actor) -> TableAccess:
        return table_access(self.ws.config, self.base.bdef, self.tdef, actor)

    def fields_system_time(self, text: Any) -> datetime | None:
        if not text:
            return None
        return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    # -- writing -----------------------------------------------------------------------
    def create(self, values: dict[str, Any], *, actor: Actor | str, form: FormDef | None = None,
               system_values: dict[str, Any] | None = None, depth: int = 0, read_back: bool = True) -> dict[str, Any]:
        """Create a record; return it as the actor sees it. `read_back=False`: return only its id
        (a form's thank-you page shows none of it; reading it back would cost a read inside the
        writer's transaction and, on a `sensitive` table, a read-log entry for a read nobody made)."""
        actor = self.ws.actor(actor)
        with self.ws.storage.transaction(), self.ws.audit.group():
            record_id = self._create(values, actor, form=form, system_values=system_values or {}, depth=depth)
        return self._after_write(record_id, actor) if read_back else {"id": record_id}

    def insert_many(self, rows: Iterable[dict[str, Any]], *, actor: Actor | str = "system", batch: int = 5000) -> list[str]:
        """Create many records, `batch` per transaction (see engine.bulk); return their ids."""
        return bulk_create(self, rows, actor=self.ws.actor(actor), batch=batch).ids

    def import_rows(self, rows: Iterable[dict[str, Any]], *, actor: Actor | str = "system", skip_invalid: bool = False,
                    all_or_nothing: bool = False, batch: int = 5000,
                    progress: Callable[[BulkResult], None] | None = None) -> BulkResult:
        """Create many records in one transaction: all or nothing, unless `skip_invalid`.

        Rejected rows (numbered from 1) are in the result; without `skip_invalid` the first
        one raises ValidationError and nothing is written. With both `skip_invalid` and
        `all_or_nothing` every row is checked and, if any was rejected, nothing is written and
        engine.bulk.RejectedRows carries them all. Big imports rebuild the table's indexes
        once at the end instead of updating them row by row (see engine.bulk).
        """
        with self.ws.storage.transaction():
            result = bulk_create(self, rows, actor=self.ws.actor(actor), batch=batch, skip_invalid=skip_invalid,
                                 transaction=False, all_or_nothing=all_or_nothing, progress=progress)
        if len(result.ids) >= 1000:
            self.ws.storage.optimize()
        return result

    def coerce_values(self, values: dict[str, Any], access: TableAccess, *, creating: bool, allowed: set[str] | None,
                      stored: bool = False, current: dict[str, Any] | None = None) -> dict[str, Any]:
        """The values as stored, each checked against the actor's field levels; `stored`: the
        values are stored ones already (an undo writing back what the audit log kept); `current`:
        the record's stored values, whose options stay settable as they are (a form sent whole)."""
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for key, raw in values.items():
            field = self.fields.get(key)
            if field is None or not access.readable(key) and (allowed is None or key not in allowed):
                errors[key] = Message("unknown_field", field=key)
                continue
            level = access.level(key)
            may = (allowed is not None and key in allowed) or level == "edit" or (creating and level == "create")
            if not may:
                errors[key] = Message("field_not_changeable", field=field.fdef.name)
                continue
            if not creating and access.mask(key):
                # What they see is not the value: writing it back would overwrite the real one.
                errors[key] = Message("field_problem", field=field.fdef.name, problem=Message("masked"))
                continue
            if stored:
                out[key] = raw
                continue
            try:
                out[key] = field.coerce(raw)
            except ValueError as exc:  # Invalid is a ValueError; its str() is its Message
                errors[key] = Message("field_problem", field=field.fdef.name, problem=str(exc))
                continue
            refused = None if current and current.get(key) == out[key] else not_settable(access, key, field.load(out[key]))
            if refused is not None:
                errors[key] = Message("option_not_settable", field=field.fdef.name, option=refused)
        if errors:
            raise ValidationError(errors)
        return out

    def default_value(self, key: str, value: Any, actor: Actor) -> Any:
        """A default (`$me`, `$now`, `$today`, `$my_department`, `$my_campus` or a literal) of
        field `key` as it is stored for a new record made by `actor` (None when it gives
        nothing): the field's own default, or another, such as a form's."""
        if value is None:
            return None
        if value == "$me":
            return actor.key if actor.is_person else None
        if value in ("$my_department", "$my_campus"):  # the actor's place in the organisation tree (engine.org)
            value = actor.department if value == "$my_department" else actor.campus
            if value is None:
                return None
        elif value in ("$now", "$today"):
            now = self.ws.now()
            if self.fields[key].kind == "date":  # a day, in the workspace's timezone
                return now.astimezone(self.ws.tz).date().isoformat()
            return utcnow_text(now)
        try:
            return self.fields[key].coerce(value)
        except ValueError:
            return None

    @cached_property
    def row_plan(self) -> RowPlan:
        """How the bulk writer writes this table's new rows."""
        return row_plan(self)

    @cached_property
    def new_row_plan(self) -> tuple[list[FieldDef], list[str], list[tuple[str, str]], list[tuple[str, str]]]:
        """(fields with defaults, checkboxes, (required key, name), (engine-kept key, type))."""
        writable = [f for k, f in self.tdef.fields.items() if not self.fields[k].computed]
        return ([f for f in writable if f.default is not None],
                [f.key for f in writable if self.fields[f.key].kind == "boolean"],
                [(k, f.name) for k, f in self.tdef.fields.items() if f.required],
                [(k, kept) for k, f in self.fields.items() if (kept := f.engine_kept)])

    def complete_new(self, row: dict[str, Any], actor: Actor) -> dict[str, str]:
        """Fill defaults (and unticked checkboxes) into a new row; return missing required fields."""
        defaults, checkboxes, required, _ = self.new_row_plan
        for fdef in defaults:
            if fdef.key not in row:
                row[fdef.key] = self.default_value(fdef.key, fdef.default, actor)
        for key in checkboxes:
            if row.get(key) is None:
                row[key] = 0
        if not required:
            return {}
        return {k: Message("required", field=name) for k, name in required if is_blank(row.get(k))}

    def stamp_new(self, row: dict[str, Any], now: str, actor: Actor) -> None:
        """Set the fields the engine keeps: autonumber, created/modified time and by."""
        for key, kept in self.new_row_plan[3]:
            if kept == "counter":
                row[key] = self.ws.next_counter(f"{self.base.key}.{self.key}.{key}")
            elif kept == "time":
                row[key] = now
            else:
                row[key] = actor.key if actor.is_person else None

    def _create(self, values: dict[str, Any], actor: Actor, *, form: FormDef | None,
                system_values: dict[str, Any], depth: int) -> str:
        access = self.access(actor)
        allowed: set[str] | None = None
        if form is not None:
            if not actor.is_person:
                allowed = {f.field for f in form.fields}
            elif not access.can_create:
                raise PermissionDenied(code="may_not_add", params={"table": self.tdef.name})
        elif not access.can_create:
            if not access.can_read:
                raise NotFoundError(code="unknown_table", params={"table": self.key})
            raise PermissionDenied(code="may_not_add", params={"table": self.tdef.name})
        row = self.coerce_values(values, access, creating=True, allowed=allowed)
        asked = form.asked(row) if form is not None else set()
        if form is not None:
            # A conditional question not asked (its condition unmet) keeps no answer.
            for ff in form.fields:
                if ff.field not in asked:
                    row.pop(ff.field, None)
        for key, raw in system_values.items():
            try:
                row[key] = self.fields[key].coerce(raw)
            except ValueError as exc:
                raise ValidationError({key: Message("field_problem", field=self.fields[key].fdef.name, problem=str(exc))}) from None
        missing = self.complete_new(row, actor)
        if form is not None:
            for ff in form.fields:
                if ff.required and ff.field in asked and is_blank(row.get(ff.field)) and ff.field in self.tdef.fields:
                    missing[ff.field] = Message("required", field=ff.label or self.tdef.fields[ff.field].name)
        if missing:
            raise ValidationError(missing)
        self.check_attachments(row, {}, actor)
        # A batch of one: the bulk writer writes the row, its links, computed values, the
        # audit entry and the event, exactly as it does for each row of an import.
        writer = Writer(self, actor, access, single=True, depth=depth, form=form.key if form else None)
        written = writer.insert([(1, row)])
        assert written is not None  # a single writer raises instead of leaving a row out
        writer.finish()
        self.propagate(written[0], depth=0)
        return writer.result.ids[0]

    def update(self, record_id: str, values: dict[str, Any], *, actor: Actor | str, depth: int = 0) -> dict[str, Any]:
        """Change some fields of a record; return it as the actor sees it."""
        actor = self.ws.actor(actor)
        with self.ws.storage.transaction(), self.ws.audit.group():
            self._update(record_id, values, actor, depth=depth)
        return self._after_write(record_id, actor)

    def update_many(self, changes: Iterable[tuple[str, dict[str, Any]]], *, actor: Actor | str,
                    refused: list[CellError] | None = None) -> list[str]:
        """Change several records at once (a paste, a fill, a bulk edit): one transaction and
        one audit group (undone as one), all or nothing. Raises CellErrors naming every bad
        cell (record id, field key, reason) and writes nothing if any is refused; returns the
        ids of the records changed, in the order given. `refused`: cells the caller already
        refused (the rest are still checked, so that every bad cell is named)."""
        actor = self.ws.actor(actor)
        merged: dict[str, dict[str, Any]] = {}
        for record_id, values in changes:
            merged.setdefault(str(record_id), {}).update(values)
        errors: list[CellError] = list(refused or [])
        with self.ws.storage.transaction(), self.ws.audit.group():
            for record_id, values in merged.items():
                try:
                    self._update(record_id, values, actor, depth=0)
                except ValidationError as exc:
                    errors.extend(CellError(record_id, key if key in self.fields else None, message)
                                  for key, message in exc.errors.items())
                except (NotFoundError, PermissionDenied) as exc:
                    errors.append(CellError(record_id, None, str(exc)))
            if errors:
                raise CellErrors(errors)  # rolls the whole transaction back
        return list(merged)

    def _after_write(self, record_id: str, actor: Actor) -> dict[str, Any]:
        """The written record as the actor sees it; only its id if it left their view."""
        try:
            return self.get(record_id, actor=actor if actor.is_person else Actor.engine())
        except NotFoundError:
            return {"id": record_id, "createdTime": "", "fields": {}}

    def _update(self, record_id: str, values: dict[str, Any], actor: Actor, *, depth: int, stored: bool = False) -> None:
        access = self.access(actor)
        rowid, old = self._row_for_write(record_id, access, actor)
        new = self.coerce_values(values, access, creating=False, allowed=None, stored=stored, current=old)
        blanks = {k: Message("required", field=self.tdef.fields[k].name) for k, v in new.items()
                  if self.tdef.fields[k].required and is_blank(v)}
        if blanks:
            raise ValidationError(blanks)
        self.check_attachments(new, old, actor)
        audit: dict[str, tuple[Any, Any]] = {}
        plain: dict[str, Any] = {}
        for key, value in new.items():
            if self.fields[key].links:
                value = keep_hidden(self, key, old.get(key), value, actor)  # links the actor cannot see stay
                if load_json_list(old.get(key)) != load_json_list(value):
                    self._set_link(rowid, record_id, key, load_json_list(value), actor, audit)
            elif old.get(key) != value:
                plain[key] = value
                audit[key] = (old.get(key), value)
        if not audit:
            return
        if any(self.tdef.fields[k].unique for k in plain):
            check_row(self, plain, actor, rowid=rowid)
        now = utcnow_text(self.ws.now())
        for key, ftype in self.fields.items():
            if ftype.kept_on_update:
                plain[key] = now if ftype.engine_kept == "time" else actor.key if actor.is_person else None
        sets = ", ".join(f"{q(k)} = ?" for k in plain)
        self.ws.storage.conn.execute(
            f"UPDATE {self.sql} SET {sets + ', ' if sets else ''}_modified_at = ?, _modified_by = ? WHERE _rowid = ?",
            list(plain.values()) + [now, actor.key, rowid])
        changes = self.recompute_row(rowid, record_id, audit_into=None)
        self.ws.audit.record(actor, self.base.key, self.key, record_id, "update", audit)
        event_changes = {k: [o, n] for k, (o, n) in audit.items()}
        for key, value in changes.items():
            event_changes[key] = [old.get(key), value]
        self.ws.emit(self.base.key, self.key, record_id, "updated", actor, {"changes": event_changes}, depth)
        self.propagate(rowid, depth=0)

    def check_attachments(self, new: dict[str, Any], old: dict[str, Any], actor: Actor) -> None:
        """Files on a record must have been uploaded, by this actor unless already there."""
        for key, value in new.items():
            if not self.fields[key].files or value is None:
                continue
            before = {a.get("id") for a in load_json_list(old.get(key)) if isinstance(a, dict)}
            for item in load_json_list(value):
                att = item.get("id") if isinstance(item, dict) else None
                if att in before:
                    continue
                found = attachments.find(self.ws, str(att))
                if found is None or (found["uploaded_by"] != actor.key and not actor.system and not actor.admin):
                    raise ValidationError({key: Message("field_problem", field=self.tdef.fields[key].name,
                                                          problem=Message("unknown_file", file=att))})

    def stored_row(self, record_id: str) -> dict[str, Any] | None:
        """The record's row as stored, deleted or not, whoever may read it (for the engine's
        own checks, such as an undo's; never shown as it is)."""
        cur = self.ws.storage.conn.execute(f"SELECT * FROM {self.sql} WHERE _id = ?", (record_id,))
        values = cur.fetchone()
        return None if values is None else dict(zip([d[0] for d in cur.description], values, strict=True))

    def _row_for_write(self, record_id: str, access: TableAccess, actor: Actor, *,
                       deleted: bool = False) -> tuple[int, dict[str, Any]]:
        """The row the actor may change (a deleted one with `deleted`): NotFoundError if it is
        outside their read rule, PermissionDenied if outside their edit rule."""
        if not access.can_read:
            raise NotFoundError(code="unknown_table", params={"table": self.key})
        row = self.fetch_row(record_id, access, actor, deleted=deleted)
        if row is None:
            raise NotFoundError(code="no_deleted_record" if deleted else "record_not_found", params={"record": record_id})
        if not access.can_edit:
            raise PermissionDenied(code="may_not_change", params={"table": self.tdef.name})
        if access.edit_filter is not None:
            sql, params = self.compile_filter(access.edit_filter, actor)
            ok = self.ws.storage.conn.execute(f"SELECT 1 FROM {self.sql} WHERE _rowid = ? AND {sql}", [row["_rowid"]] + params).fetchone()
            if ok is None:
                raise PermissionDenied(code="may_not_change_record")
        return int(row["_rowid"]), row

    def delete(self, record_id: str, *, actor: Actor | str, depth: int = 0) -> None:
        """Soft-delete a record; `restore` brings it back."""
        actor = self.ws.actor(actor)
        with self.ws.storage.transaction(), self.ws.audit.group():
            self._delete(record_id, actor, depth=depth)

    def delete_many(self, record_ids: Iterable[str], *, actor: Actor | str) -> list[str]:
        """Soft-delete several records at once (the grid's selected rows): one transaction and
        one audit group (restored as one by an undo), all or nothing; CellErrors names every
        record refused. Returns the ids deleted, in the order given."""
        actor = self.ws.actor(actor)
        ids = list(dict.fromkeys(str(r) for r in record_ids))
        errors: list[CellError] = []
        with self.ws.storage.transaction(), self.ws.audit.group():
            for record_id in ids:
                try:
                    self._delete(record_id, actor, depth=0)
                except (NotFoundError, PermissionDenied) as exc:
                    errors.append(CellError(record_id, None, str(exc)))
            if errors:
                raise CellErrors(errors)  # rolls the whole transaction back
        return ids

    def _delete(self, record_id: str, actor: Actor, *, depth: int) -> None:
        access = self.access(actor)
        rowid, row = self._row_for_write(record_id, access, actor)
        if not access.can_delete:
            raise PermissionDenied(code="may_not_delete", params={"table": self.tdef.name})
        self._set_deleted(rowid, record_id, actor, deleted=True, depth=depth, row=row)

    def restore(self, record_id: str, *, actor: Actor | str) -> dict[str, Any]:
        """Bring back a soft-deleted record; the same permissions as deleting it."""
        actor = self.ws.actor(actor)
        with self.ws.storage.transaction(), self.ws.audit.group():
            self._restore(record_id, actor)
        return self.get(record_id, actor=actor)

    def _restore(self, record_id: str, actor: Actor) -> None:
        access = self.access(actor)
        # The same rules as delete: the record must be one the actor reads and may change.
        rowid, row = self._row_for_write(record_id, access, actor, deleted=True)
        if not access.can_delete:
            raise PermissionDenied(code="may_not_restore", params={"table": self.tdef.name})
        check_row(self, row, actor, rowid=rowid)  # its unique values may have been used again meanwhile
        self._set_deleted(rowid, record_id, actor, deleted=False, depth=0, row=row)

    def _set_deleted(self, rowid: int, record_id: str, actor: Actor, *, deleted: bool, depth: int,
                     row: dict[str, Any]) -> None:
        now = utcnow_text(self.ws.now())
        self.ws.storage.conn.execute(f"UPDATE {self.sql} SET _deleted_at = ?, _modified_at = ?, _modified_by = ? WHERE _rowid = ?",
                                     (now if deleted else None, now, actor.key, rowid))
        # The whole row goes into the log (old of a delete, new of a restore): enough to put it back.
        kept = {k: row.get(k) for k, f in self.fields.items() if not f.computed and row.get(k) is not None}
        changes = {k: (v, None) if deleted else (None, v) for k, v in kept.items()}
        self.ws.audit.record(actor, self.base.key, self.key, record_id, "delete" if deleted else "restore", changes)
        # Linked records drop (or regain) this record from their link columns.
        for key, field in self.fields.items():
            if field.links:
                for other_rowid in self._linked_rowids(key, rowid):
                    self.rebuild_other_side(key, other_rowid, actor)
        self.ws.emit(self.base.key, self.key, record_id, "deleted" if deleted else "restored", actor, {"changes": {}}, depth)

    def level_of(self, actor: Actor, key: str) -> int:
        return LEVELS[self.access(actor).level(key)]

