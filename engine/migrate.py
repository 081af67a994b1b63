"""Migrations: compare the declared schema with the database, plan, then apply in one go.

`plan()` lists steps (create a table, add, rename, retype or remove a field, add an index,
recompute a computed field). A step that would lose data is *lossy*: `apply()` refuses the
whole plan unless `allow_data_loss=True`, and even then the old values are archived in
`_gb_archive` (fields) or the table is renamed `_gb_archived__…` (tables), never deleted.
Applying the same YAML twice plans nothing. This module owns `_gb_schema` (each field's
stored definition) and `_gb_archive`.

Who writes the DDL. sqlite-utils (`Storage.db`, on the same connection and inside apply()'s
one transaction) reads the schema — `table_names()`, `columns_dict`, `indexes` — and does
these steps: add a field (`add_column`, also the new column of a retype), drop an index
(`drop_index`), archive a table or a link's junction (`rename_table`). A retype that keeps
the column type (a select becoming text) needs no DDL: only the values are rewritten. These
stay hand-written, and why:

- creating a record table: `_id` must be `UNIQUE` in the table itself, which sqlite-utils'
  `create()` cannot declare. A separate unique index would not do: the constraint's index
  (`sqlite_autoindex_…`) is the one whose statistics engine/reads.py reads as the table's row
  count, and the one engine/bulk.py keeps while it sets the other indexes aside;
- a link's junction table: `WITHOUT ROWID` (rows kept in (src, dst) order), which `create()`
  cannot make;
- field indexes: partial (`WHERE _deleted_at IS NULL`, so the index alone counts live rows per
  value), which `create_index()` cannot make. A unique field's index (`uniq__…`, `unique: true`)
  is partial too, so that a value of a deleted record may be used again (restoring that record
  is then refused by engine.unique); making it on a column that already holds a value twice
  among live records is a *refused* step: the plan lists the values and their records, and
  apply() refuses the whole plan, with or without --allow-data-loss;
  on PostgreSQL a field index's key is NULLS FIRST (engine.dialect `index_key`), the order sorts
  use, followed in a field's (not unique) index by the row id, every sort's tie-break (engine.dialect
  `field_index_key`, as SQLite's indexes hold it by themselves); one found NULLS LAST or without
  the row id (made before) is planned as a `remake index` step, once;
- renaming, removing and retyping a field: `ALTER TABLE … RENAME COLUMN` / `DROP COLUMN`, and
  for a retype a new column (`add_column`), the converted values written into it, the old one
  dropped and the new one renamed — not `transform()`, which copies the whole table and builds
  every index again, all while apply() holds the write lock. Measured with
  benchmarks/bench_migrate.py --ddl on a 200,000-row table (the statements alone, median of 3,
  two runs on a busy 2-core machine): rename 56 / 34 ms by ALTER vs 5,850 / 8,200 ms by
  `transform(rename=)` (which also refuses while a partial index is on the table, so each would
  have to be dropped and made again); remove 940 / 1,080 ms by ALTER vs 4,380 / 6,000 ms by
  `transform(drop=)`; retype number → text 5,840 / 3,860 ms by the new column vs 8,370 /
  12,220 ms by `transform(types=)` and the same UPDATE. A whole apply() of that retype took
  13.6 / 7.9 s before and 17.8 / 12.0 s with transform in the same interleaved runs.

sqlite-utils 4.1 or later (pyproject): `drop_index()` came in 4.1, and before 4.0 `create()`
ran in `with conn:`, which commits the connection's open transaction (see engine.storage).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from engine import dashindexes, meta
from engine.audit import AuditLog
from engine.errors import MigrationRefused
from engine.fields.base import FieldType
from engine.model import BaseDef, FieldDef, TableDef, WorkspaceConfig
from engine.schema import field_instance
from engine.storage import SYSTEM_COLUMNS, Storage, junction_name, q, table_name
from engine.stores import INTEGRITY_ERRORS


class Recomputable(Protocol):
    def recompute_all(self) -> object: ...


class Tables(Protocol):
    def table(self, key: str) -> Recomputable: ...


class Workspace(Protocol):
    """What a migration needs of a workspace (engine.workspace.Workspace is one): its declared
    config, its storage, people kept in step, and a table's computed fields recomputed."""

    config: WorkspaceConfig
    storage: Storage
    audit: AuditLog

    def sync_people(self) -> None: ...

    def base(self, key: str) -> Tables: ...


SQL_TYPES = ("TEXT", "INTEGER", "REAL", "BLOB")
MAX_LISTED = 10  # duplicate values a refused unique index lists, and records of each


@dataclass
class Step:
    kind: str
    description: str
    lossy: bool = False
    run: Callable[[], None] = field(default=lambda: None, repr=False)
    recompute: tuple[str, str] | None = None
    refused: str = ""  # why the step cannot be done as the YAML stands (apply() refuses the plan)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_number(source: Any, result: Any) -> bool:
    """Whether a number conversion kept the value (rounding to the field's precision loses data)."""
    try:
        before = float(str(source).replace(",", "").strip().rstrip("%％").lstrip("¥$"))
    except ValueError:
        return True  # not plain numeric text (e.g. '25%' or '1:30'): the type's own reading stands
    return result is None or abs(float(result) - before) < 1e-9 or "%" in str(source)


def json_path(key: str) -> str:
    """A JSON path naming one object key (a parameter for SQLite's json functions)."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sql_type_of(fdef: FieldDef, inst: FieldType) -> str:
    """The SQLite column type a field is stored in: one of SQL_TYPES, as sqlite-utils makes them."""
    sql_type = inst.sql_type.upper()
    if sql_type not in SQL_TYPES:
        raise MigrationRefused(code="column_type_refused", params={"field": fdef.key, "type": fdef.type,
                               "sql_type": repr(inst.sql_type), "types": ", ".join(SQL_TYPES)})
    return sql_type


def definition(fdef: FieldDef) -> str:
    options = {k: v for k, v in fdef.options.items() if k not in ("broken",)}
    return json.dumps({"type": fdef.type, "options": options}, ensure_ascii=False, sort_keys=True, default=str)


class Planner:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.storage = ws.storage
        self.conn = ws.storage.conn
        self.db = ws.storage.db  # sqlite-utils over the same connection: the schema work and introspection
        self.existing = set(self.db.table_names())
        self.table_indexes: dict[str, set[str]] = {}  # table -> the indexes it has (read when first asked)
        self.stale_indexes: set[str] = set()  # field indexes to make again (see indexes_of)
        self.stored: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for base, tbl, fkey, ftype, defn in self.conn.execute("SELECT base, tbl, field, type, definition FROM _gb_schema"):
            self.stored.setdefault((base, tbl), {})[fkey] = (ftype, defn)
        self.steps: list[Step] = []

    def plan(self) -> list[Step]:
        declared_tables: set[tuple[str, str]] = set()
        for base in self.ws.config.bases.values():
            for table in base.tables.values():
                declared_tables.add((base.key, table.key))
                self._table(base, table)
        for bkey, tkey in sorted(self.stored):
            if (bkey, tkey) not in declared_tables and table_name(bkey, tkey) in self.existing:
                self._remove_table(bkey, tkey)
        return self.steps

    def indexes_of(self, name: str) -> set[str]:
        """The indexes a table has, as planned so far (doomed ones left out, planned ones in)."""
        if name not in self.table_indexes:
            indexes = self.db.table(name).indexes if name in self.existing else []
            self.table_indexes[name] = {i.name for i in indexes}
            # A field index PostgreSQL keeps NULLs last in (made before indexes were NULLS FIRST,
            # engine.dialect `index_key`) cannot serve a sort, and one without the row id after
            # its value (made before `field_index_key`) sorts every record sharing the first
            # page's last value: made again once (sqlite-utils' Index has no `nulls_last`, and
            # SQLite's tail is empty: its order is the one sorts use).
            tail = list(self.storage.dialect.field_index_tail)
            self.stale_indexes.update(
                i.name for i in indexes if i.name.startswith((f"idx__{name}__", f"uniq__{name}__"))
                and (getattr(i, "nulls_last", False)
                     or (tail and i.name.startswith(f"idx__{name}__") and len(i.columns) == 1)))
        return self.table_indexes[name]

    def _add(self, kind: str, description: str, run: Callable[[], None], *, lossy: bool = False,
             recompute: tuple[str, str] | None = None, refused: str = "") -> None:
        self.steps.append(Step(kind, description, lossy, run, recompute, refused))

    def _record_schema(self, base: BaseDef, table: TableDef, fdef: FieldDef) -> None:
        self.conn.execute("INSERT OR REPLACE INTO _gb_schema (base, tbl, field, type, definition) VALUES (?, ?, ?, ?, ?)",
                          (base.key, table.key, fdef.key, fdef.type, definition(fdef)))

    def _table(self, base: BaseDef, table: TableDef) -> None:
        name = table_name(base.key, table.key)
        instances = {k: field_instance(f, self.ws.config) for k, f in table.fields.items()}
        if name not in self.existing:
            def create(name: str = name) -> None:
                cols = list(SYSTEM_COLUMNS) + [f"{q(k)} {sql_type_of(table.fields[k], inst)}" for k, inst in instances.items()]
                self.conn.execute(f"CREATE TABLE {q(name)} ({', '.join(cols)})")
                for fdef in table.fields.values():
                    self._record_schema(base, table, fdef)
            self._add("create_table", f"create table {base.key}.{table.key} ({table.name}) with {len(table.fields)} fields", create)
            self._links_and_indexes(base, table, instances, new=True)
            return
        columns = self.db.table(name).columns_dict
        stored = self.stored.get((base.key, table.key), {})
        claimed: set[str] = set()
        for fkey, fdef in table.fields.items():
            inst = instances[fkey]
            if fkey in columns:
                claimed.add(fkey)
                old = stored.get(fkey)
                if old is None or old[1] != definition(fdef):
                    self._change(base, table, fdef, inst, old)
            elif fdef.renamed_from and fdef.renamed_from in columns:
                claimed.add(fdef.renamed_from)
                self._rename(base, table, fdef)
            else:
                self._add_field(base, table, fdef, inst)
        for col in columns:
            if col.startswith("_") or col in claimed:
                continue
            self._remove_field(base, table, col)
        self._links_and_indexes(base, table, instances, new=False)

    def _add_field(self, base: BaseDef, table: TableDef, fdef: FieldDef, inst: FieldType) -> None:
        name = table_name(base.key, table.key)

        column_type = sql_type_of(fdef, inst)

        def run() -> None:
            self.db.table(name).add_column(fdef.key, column_type)
            self._record_schema(base, table, fdef)
        needs = (base.key, table.key) if inst.computed or inst.links else None
        self._add("add_field", f"add field {base.key}.{table.key}.{fdef.key} ({fdef.type})", run, recompute=needs)

    def _rename(self, base: BaseDef, table: TableDef, fdef: FieldDef) -> None:
        name, old = table_name(base.key, table.key), str(fdef.renamed_from)
        self._doom_indexes_on(name, old)

        def run() -> None:
            self._drop_indexes_on(name, old)
            self.conn.execute(f"ALTER TABLE {q(name)} RENAME COLUMN {q(old)} TO {q(fdef.key)}")
            self.conn.execute("DELETE FROM _gb_schema WHERE base = ? AND tbl = ? AND field = ?", (base.key, table.key, old))
            self.ws.audit.rename_field(base.key, table.key, old, fdef.key, path_of=json_path)
            self._record_schema(base, table, fdef)
        self._add("rename_field", f"rename field {base.key}.{table.key}.{old} to {fdef.key}", run)

    def _doom_indexes_on(self, name: str, column: str) -> None:
        """At plan time: the indexes on a column that a planned step will drop (and that
        `_links_and_indexes` should make again if they are still wanted)."""
        for idx in self._indexes_on(name, column):
            self.indexes_of(name).discard(idx)

    def _drop_indexes_on(self, name: str, column: str) -> None:
        """Drop the indexes that use a column, before the column is renamed, retyped or removed."""
        for idx in self._indexes_on(name, column):
            self.db.table(name).drop_index(idx)

    def _indexes_on(self, name: str, column: str) -> list[str]:
        """The indexes made with CREATE INDEX (not those of a UNIQUE or key constraint) that use a column."""
        return [i.name for i in self.db.table(name).indexes if i.origin == "c" and column in i.columns]

    def _change(self, base: BaseDef, table: TableDef, fdef: FieldDef, inst: FieldType, old: tuple[str, str] | None) -> None:
        name = table_name(base.key, table.key)
        old_type = old[0] if old else fdef.type
        if old is None or old_type == fdef.type:
            def run_def() -> None:
                self._record_schema(base, table, fdef)
            recompute = (base.key, table.key) if inst.computed else None
            self._add("update_field", f"update options of field {base.key}.{table.key}.{fdef.key}", run_def, recompute=recompute)
            return
        old_def = json.loads(old[1]) if old else {"options": {}}
        old_inst = field_instance(FieldDef(fdef.key, old_type, fdef.name, old_def.get("options", {})), self.ws.config)
        failures: list[tuple[int, Any, str]] = []
        converted: list[tuple[Any, int]] = []
        for rowid, value in self.conn.execute(f"SELECT _rowid, {q(fdef.key)} FROM {q(name)} WHERE {q(fdef.key)} IS NOT NULL"):
            if inst.computed:
                failures.append((rowid, value, f"{fdef.type} fields are computed"))
                continue
            source = old_inst.display(value) if inst.kind == "text" else old_inst.load(value)
            try:
                result = inst.coerce(source)
            except ValueError as exc:
                failures.append((rowid, value, str(exc)))
                continue
            if inst.kind == "number" and not _same_number(source, result):
                failures.append((rowid, value, f"{source!r} would be rounded to {result!r}"))
                continue
            converted.append((result, rowid))
        lossy = bool(failures)
        desc = f"change type of field {base.key}.{table.key}.{fdef.key} from {old_type} to {fdef.type}"
        if failures:
            desc += f" ({len(failures)} value(s) cannot convert and will be archived)"
        self._doom_indexes_on(name, fdef.key)
        column_type = sql_type_of(fdef, inst)
        # A value that cannot convert is archived and leaves the cell empty.
        converted += [(None, rowid) for rowid, _, _ in failures]

        def run() -> None:
            at = _now()
            for rowid, value, reason in failures:
                rid = self.conn.execute(f"SELECT _id FROM {q(name)} WHERE _rowid = ?", (rowid,)).fetchone()[0]
                self.conn.execute("INSERT INTO _gb_archive (at, base, tbl, field, record, value, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                  (at, base.key, table.key, fdef.key, rid, json.dumps(value, ensure_ascii=False), reason))
            self._drop_indexes_on(name, fdef.key)
            if self.storage.columns(name)[fdef.key].upper() == column_type:  # values only: no DDL
                self.conn.executemany(f"UPDATE {q(name)} SET {q(fdef.key)} = ? WHERE _rowid = ?", converted)
            else:  # a new column of the new type takes the values, then takes the old one's place
                tmp = f"_gb_tmp_{fdef.key}"
                self.db.table(name).add_column(tmp, column_type)
                self.conn.executemany(f"UPDATE {q(name)} SET {q(tmp)} = ? WHERE _rowid = ?", converted)
                self.conn.execute(f"ALTER TABLE {q(name)} DROP COLUMN {q(fdef.key)}")
                self.conn.execute(f"ALTER TABLE {q(name)} RENAME COLUMN {q(tmp)} TO {q(fdef.key)}")
            self._record_schema(base, table, fdef)
        self._add("retype_field", desc, run, lossy=lossy,
                  recompute=(base.key, table.key) if inst.computed or inst.links else None)

    def _remove_field(self, base: BaseDef, table: TableDef, col: str) -> None:
        name = table_name(base.key, table.key)
        count = self.conn.execute(f"SELECT count(*) FROM {q(name)} WHERE {q(col)} IS NOT NULL").fetchone()[0]
        self._doom_indexes_on(name, col)

        def run() -> None:
            self.conn.execute(
                f"INSERT INTO _gb_archive (at, base, tbl, field, record, value, reason) SELECT ?, ?, ?, ?, _id, "
                f"json_quote({q(col)}), 'field removed' FROM {q(name)} WHERE {q(col)} IS NOT NULL",
                (_now(), base.key, table.key, col))
            self._drop_indexes_on(name, col)
            self.conn.execute(f"ALTER TABLE {q(name)} DROP COLUMN {q(col)}")
            self.conn.execute("DELETE FROM _gb_schema WHERE base = ? AND tbl = ? AND field = ?", (base.key, table.key, col))
            jname = junction_name(base.key, table.key, col)
            if jname in self.existing:
                self.db.rename_table(jname, f"_gb_archived__{jname}__{_now()}")
        self._add("remove_field", f"remove field {base.key}.{table.key}.{col} ({count} value(s) archived)", run, lossy=True)

    def _remove_table(self, bkey: str, tkey: str) -> None:
        name = table_name(bkey, tkey)
        count = self.conn.execute(f"SELECT count(*) FROM {q(name)}").fetchone()[0]

        def run() -> None:
            stamp = _now().replace(":", "").replace("-", "")
            self.db.rename_table(name, f"_gb_archived__{name}__{stamp}")
            self.conn.execute("DELETE FROM _gb_schema WHERE base = ? AND tbl = ?", (bkey, tkey))
        self._add("remove_table", f"remove table {bkey}.{tkey} ({count} record(s) kept as an archived table)", run, lossy=True)

    def _links_and_indexes(self, base: BaseDef, table: TableDef, instances: dict[str, FieldType], *, new: bool) -> None:
        name = table_name(base.key, table.key)
        wanted: set[str] = set()
        self.indexes_of(name)  # read now: it also finds the stale ones
        # Dashboards' indexes (engine.dashindexes): pairs, widget types' own, a period's covering one.
        for cols in (p.columns for p in dashindexes.planned(base, table, instances)):
            idx = dashindexes.index_name(name, cols)
            wanted.add(idx)
            if idx in self.indexes_of(name):
                continue
            self.indexes_of(name).add(idx)

            def make_dashboard_index(idx: str = idx, cols: tuple[str, ...] = cols) -> None:
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS {q(idx)} ON {q(name)} "
                                  f"({', '.join(q(c) for c in cols)}) WHERE _deleted_at IS NULL")
            self._add("add_index", f"add index on {base.key}.{table.key} ({', '.join(cols)}) for a dashboard",
                      make_dashboard_index)
        for fkey, fdef in table.fields.items():
            if field_instance(fdef, self.ws.config).links and not fdef.inverse_of:
                jname = junction_name(base.key, table.key, fkey)
                if jname not in self.existing:
                    def make(jname: str = jname) -> None:
                        self.conn.execute(f"CREATE TABLE {q(jname)} (src INTEGER NOT NULL, dst INTEGER NOT NULL, "
                                          f"pos INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (src, dst)) WITHOUT ROWID")
                        self.conn.execute(f"CREATE INDEX {q(jname + '__dst')} ON {q(jname)} (dst, src)")
                    self._add("create_link", f"create link storage for {base.key}.{table.key}.{fkey}", make)
            if fdef.unique:
                self._unique_index(base, table, fdef, instances[fkey], wanted)
                continue  # the unique index serves lookups by value too
            idx = f"idx__{name}__{fkey}"
            if not (fdef.index or instances[fkey].indexed):
                continue
            wanted.add(idx)
            stale = idx in self.stale_indexes
            if idx not in self.indexes_of(name) or stale:
                def make_index(idx: str = idx, fkey: str = fkey, stale: bool = stale) -> None:
                    if stale:
                        self.db.table(name).drop_index(idx, ignore=True)
                    # Partial: every query reads live records only, and then the index alone
                    # answers counts per value (dashboards) without touching the rows.
                    self.conn.execute(f"CREATE INDEX IF NOT EXISTS {q(idx)} ON {q(name)} "
                                      f"({self.storage.dialect.field_index_key(q(fkey))}) WHERE _deleted_at IS NULL")
                self._add("add_index", f"{'remake' if stale else 'add'} index on {base.key}.{table.key}.{fkey}"
                          f"{' (blanks first, then the row id, so that sorts use it)' if stale else ''}", make_index)
        if new:
            return
        # Indexes this planner made that nothing asks for any more (a removed dashboard or
        # `index: true`, a field type that no longer needs one, the old index on
        # _deleted_at): every write pays for an index, so they go.
        for idx in sorted(self.indexes_of(name) - wanted):
            if not idx.startswith((f"idx__{name}__", f"uniq__{name}__")):
                continue

            def drop(idx: str = idx) -> None:
                self.db.table(name).drop_index(idx, ignore=True)
            self._add("drop_index", f"drop index {idx} on {base.key}.{table.key}: no longer needed", drop)

    def _unique_index(self, base: BaseDef, table: TableDef, fdef: FieldDef, inst: FieldType, wanted: set[str]) -> None:
        """Plan the UNIQUE index of a `unique: true` field, refused when the field cannot be
        unique or when live records already hold one of its values twice."""
        name = table_name(base.key, table.key)
        idx = f"uniq__{name}__{fdef.key}"
        wanted.add(idx)
        where = f"{base.key}.{table.key}.{fdef.key}"
        if idx in self.stale_indexes:  # its values are already unique: only the order changes
            def remake() -> None:
                self.db.table(name).drop_index(idx, ignore=True)
                self.conn.execute(f"CREATE UNIQUE INDEX {q(idx)} ON {q(name)} "
                                  f"({self.storage.dialect.index_key(q(fdef.key))}) WHERE _deleted_at IS NULL")
            self._add("add_index", f"remake unique index on {where} (blanks first, so that sorts use it)", remake)
            return
        if idx in self.indexes_of(name):
            return
        self.indexes_of(name).add(idx)
        problem = inst.unique_problem()
        columns = self.db.table(name).columns_dict if name in self.existing else {}
        column = fdef.key if fdef.key in columns else fdef.renamed_from if fdef.renamed_from in columns else None
        if problem:
            refused = f"field {where}: {problem}"
        else:
            refused = self._duplicates(name, column, where, inst) if column else ""

        def make() -> None:
            try:
                self.conn.execute(f"CREATE UNIQUE INDEX {q(idx)} ON {q(name)} "
                                  f"({self.storage.dialect.index_key(q(fdef.key))}) WHERE _deleted_at IS NULL")
            except INTEGRITY_ERRORS:  # a retype made two values one: say which
                raise MigrationRefused(self._duplicates(name, fdef.key, where, inst)) from None
        self._add("add_index", f"add unique index on {where}", make, refused=refused)

    def _duplicates(self, name: str, column: str, where: str, inst: FieldType) -> str:
        """"" when no two live records of table `name` hold the same value of `column`; else
        the sentence that lists such values (at most MAX_LISTED) and their records."""
        live = f"FROM {q(name)} WHERE _deleted_at IS NULL AND {q(column)} IS NOT NULL"
        holders: dict[Any, list[str]] = {}
        for value, record_id in self.conn.execute(
                f"SELECT {q(column)}, _id {live} AND {q(column)} IN (SELECT {q(column)} {live} GROUP BY {q(column)} "
                f"HAVING count(*) > 1) ORDER BY {q(column)}, _rowid"):
            holders.setdefault(value, []).append(record_id)
        if not holders:
            return ""
        shown = sorted(holders.items(), key=lambda item: -len(item[1]))  # the most repeated first
        listed = "; ".join(f"'{inst.display(value)}' in {', '.join(ids[:MAX_LISTED])}"
                           + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")
                           for value, ids in shown[:MAX_LISTED])
        more = f" and {len(shown) - MAX_LISTED} more value(s)" if len(shown) > MAX_LISTED else ""
        return (f"field {where} cannot be made unique: these values are held by more than one record: {listed}{more}; "
                f"change or delete the duplicates, then apply again")


def plan(ws: Workspace) -> list[Step]:
    """The steps that would bring the database to the declared schema."""
    return Planner(ws).plan()


def apply(ws: Workspace, *, allow_data_loss: bool = False) -> list[Step]:
    """Run the plan in one transaction; refuse lossy steps unless allowed."""
    with ws.storage.transaction():
        steps = Planner(ws).plan()
        refused = [s for s in steps if s.refused]
        if refused:
            raise MigrationRefused("the YAML cannot be applied as it stands:\n"
                                   + "\n".join(f"  - {s.refused}" for s in refused))
        lossy = [s for s in steps if s.lossy]
        if lossy and not allow_data_loss:
            raise MigrationRefused(code="lossy_refused",
                                   params={"steps": "\n".join(f"  - {s.description}" for s in lossy)})
        for step in steps:
            step.run()
        ws.sync_people()
        todo = sorted({s.recompute for s in steps if s.recompute})
        for bkey, tkey in todo:
            ws.base(bkey).table(tkey).recompute_all()
        meta.put_in(ws.storage.conn, "schema_applied_at", _now())
    if steps:
        ws.storage.optimize()
    return steps
