"""Writing new records: the record service's one path for them, a batch at a time.

`Writer.insert` writes new rows, their links on both sides, their computed values, one audit
entry (engine.audit) and one `created` event (engine.outbox) per record, all in the batch's
transaction. `Table.create` is a batch of one (its checks done first, by field); imports and
sample data (`bulk_create`) check types, permissions, defaults and required fields the same
way, but a batch at a time:

- values are coerced in Python, and for field types whose values repeat (selects, dates,
  people, links, checkboxes) each distinct raw value is coerced once per import;
- record ids come a batch at a time (one clock reading, one read of the random source);
- rows, junction rows, audit entries and events are written with `executemany`; a stream's
  junction rows are plain INSERTs (a cell's repeats dropped when it is looked up) when no
  stored junction row can name its new rowids, so PostgreSQL takes them by COPY;
  `INSERT OR IGNORE` otherwise;
- link targets are looked up once per batch, and the other side of each link is rebuilt
  once per transaction instead of once per row;
- when the whole stream is one transaction (the caller's) and it is large next to the
  table, the table's secondary indexes are dropped and built again at the end: sorting a
  million keys once is several times cheaper than a million B-tree insertions in random
  places. The rebuild happens in the same transaction, so readers never see the table
  without them and a failure rolls the drop back.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from typing import Any

import orjson

from engine.errors import Message, NotFoundError, PermissionDenied, ValidationError
from engine.fields.base import FieldType, load_json_list
from engine.ids import new_record_ids, utcnow_text
from engine.interfaces import RowPlan, Table
from engine.outbox import created_text
from engine.permissions import Actor, TableAccess
from engine.storage import q, table_name
from engine.unique import StreamCheck

# A new row's key for the moment it was created elsewhere (an import's `--created-from`
# column), as stored (UTC text): it becomes the record's created time instead of now.
CREATED_AT = "_created_at"
STORED_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# Below this many rows an import keeps the indexes: rebuilding them would cost more.
DEFER_INDEXES_AT = 20_000
# Repeating-value memo: stop remembering new values after this many (a column that is not
# categorical after all should not grow a dict without bound).
MEMO_LIMIT = 100_000


def _audit_json(values: Any) -> str:
    """Compact JSON of a row's values (the audit entry's and the event's text), by orjson: a
    row's worth in 0.7 µs, where the json module takes 6 µs (8% of an import's time, measured on
    200,000 rows). Stored values are text and numbers; anything else is kept as its text."""
    try:
        return orjson.dumps(values, default=str).decode()
    except orjson.JSONEncodeError:  # an integer past 64 bits, say: the json module writes it
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str)


def row_plan(table: Table) -> RowPlan:
    link_keys = [k for k, f in table.fields.items() if f.links]
    plain_keys = [k for k, f in table.fields.items() if not f.links and not f.computed]
    auto_keys = [k for k, f in table.fields.items() if f.engine_kept]
    stored_keys = plain_keys + auto_keys + link_keys
    cols = ["_rowid", "_id", "_created_at", "_created_by", "_modified_at", "_modified_by"] + stored_keys
    insert_sql = f"INSERT INTO {table.sql} ({', '.join(q(c) for c in cols)}) VALUES ({', '.join('?' for _ in cols)})"
    stealing = set()
    for key in link_keys:
        _, _, _, other, other_field = table.junction(key)
        if other_field is not None and other.fields[other_field].options.get("multiple", True) is False:
            stealing.add(key)
    return RowPlan(link_keys, stored_keys, frozenset(auto_keys), insert_sql,
                   any(f.files for f in table.fields.values()), frozenset(stealing))


@dataclass
class BulkResult:
    ids: list[str] = field(default_factory=list)
    rejected: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def may_create(table: Table, actor: Actor) -> TableAccess:
    """The actor's access to `table`, if it lets them add records (else the error to show)."""
    access = table.access(actor)
    if not access.can_create:
        if not access.can_read:
            raise NotFoundError(code="unknown_table", params={"table": table.key})
        raise PermissionDenied(code="may_not_add", params={"table": table.tdef.name})
    return access


def bulk_create(table: Table, rows: Iterable[dict[str, Any]], *, actor: Actor, batch: int = 5000,
                skip_invalid: bool = False, transaction: bool = True, all_or_nothing: bool = False,
                progress: Callable[[BulkResult], None] | None = None,
                line_of: Callable[[int], int] | None = None,
                readers: Mapping[str, Callable[[Any], Any]] | None = None) -> BulkResult:
    """Create many records; return their ids and (with `skip_invalid`) the rejected rows.

    `transaction=True` commits every `batch` rows; `transaction=False` joins the caller's
    transaction for the whole stream (all or nothing, and big imports rebuild indexes once).
    Invalid rows raise ValidationError naming the row (counting from 1) unless skipped. With
    `skip_invalid` and `all_or_nothing` (and `transaction=False`) every row is checked, and if
    any was rejected nothing is kept and RejectedRows carries them all. `line_of`: a row's
    number as its file's line, for problems that name another row (a repeated unique value);
    `readers`: an import's own reading of some columns (see Writer).
    """
    access = may_create(table, actor)
    storage = table.ws.storage
    writer = Writer(table, actor, access, skip_invalid=skip_invalid, line_of=line_of, readers=readers)
    expected = len(rows) if isinstance(rows, Sized) else None
    # Fewer, larger WAL checkpoints while a batch stream is written (restored afterwards).
    with storage.lock:
        storage.writer.execute("PRAGMA wal_autocheckpoint = 20000")
    try:
        if transaction:
            for chunk in chunks(rows, batch):
                with storage.transaction():
                    writer.write(chunk)
                    writer.finish()
                if progress:
                    progress(writer.result)
        else:
            # On any failure, or a rejected row when all_or_nothing, the savepoint puts back
            # exactly what was there (indexes included) at once, whatever the caller does next.
            with storage.transaction(), storage.savepoint("gb_bulk"):  # joins the caller's
                for chunk in chunks(rows, batch):
                    writer.defer_indexes_if_worth_it(expected)
                    writer.write(chunk)
                    if progress:
                        progress(writer.result)
                if all_or_nothing and writer.result.rejected:
                    raise RejectedRows(writer.result)
                writer.finish()
                writer.restore_indexes()
    finally:
        with storage.lock:
            storage.writer.execute("PRAGMA wal_autocheckpoint = 1000")
    if len(writer.result.ids) >= 1000 and transaction:
        storage.optimize()
    return writer.result


class RejectedRows(Exception):
    """An all-or-nothing bulk create had rejected rows; nothing of it was kept."""

    def __init__(self, result: BulkResult) -> None:
        super().__init__(f"{len(result.rejected)} row(s) rejected")
        self.result = result


class Writer:
    """Writes batches of new rows of one table for one actor: the one place where new rows,
    their audit entries and their `created` events are written (`Table.create` is a batch of one).

    `single`: a batch of one record, whose problems raise ValidationError by field (not by row
    number); `depth` and `form` go into its event as `Table.create` was given them.
    """

    def __init__(self, table: Table, actor: Actor, access: TableAccess, *, skip_invalid: bool = False,
                 single: bool = False, depth: int = 0, form: str | None = None,
                 line_of: Callable[[int], int] | None = None,
                 readers: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
        self.table = table
        self.actor = actor
        self.access = access
        self.skip_invalid = skip_invalid
        self.single = single
        self.depth = depth
        self.result = BulkResult()
        self.storage = table.ws.storage
        plan = table.row_plan
        self.link_keys = plan.link_keys
        self.auto_set = plan.auto_set
        self.stored_keys = plan.stored_keys
        self.insert_sql = plan.insert_sql
        self.stealing = plan.stealing
        # What each event adds to its values (made once: the text is the same for every row).
        extra = {"form": form, "on_behalf": actor.on_behalf, "via": actor.via}
        self.event_tail = "".join(f',"{k}":{_audit_json(v)}' for k, v in extra.items() if v is not None)
        self.writable = set() if single else {k for k in table.tdef.fields
                                              if access.level(k) in ("edit", "create") and not table.fields[k].computed
                                              and access.fields[k].options is None}  # else: checked one by one
        # Files named in a row must have been uploaded, by this actor: the check of Table.create.
        self.checks_files = plan.checks_files
        self.coercers = {} if single else {k: _coercer(table.fields[k]) for k in self.writable}
        # An import's own reading of some columns (a link's cell naming records by their
        # primary field), before the field's: the value it gives is coerced as usual.
        for key, read in (readers or {}).items():
            if key in self.coercers:
                self.coercers[key] = _reading(read, self.coercers[key])
        # link key -> the column's JSON list text -> (rowid, place) of each record it names, a
        # record named twice once, at its first place (link values repeat: looked up once)
        self.resolved: dict[str, dict[str, tuple[tuple[int, int], ...]]] = {k: {} for k in self.link_keys}
        self.touched: dict[str, set[int]] = {k: set() for k in self.link_keys}
        self.plain: dict[str, bool] = {}  # link key -> junction rows go in by plain INSERT (_plain_links)
        self.number = 0  # rows seen, counting from 1
        self.written = 0
        self.deferred: list[str] | None = None
        self.existing: int | None = None  # rows the table had before this stream (read when first asked)
        # Unique fields: a value taken by a live record, or by an earlier row of the stream, is refused.
        self.unique = StreamCheck(table, actor, line_of) if any(f.unique for f in table.tdef.fields.values()) else None

    @property
    def conn(self) -> sqlite3.Connection:
        return self.storage.conn  # the writer inside the batch's transaction

    # -- rows ---------------------------------------------------------------------------
    def _prepare(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The coerced, completed row, or None when it is rejected (raises unless skipping)."""
        self.number += 1
        table = self.table
        created = None
        if CREATED_AT in raw:
            raw = dict(raw)
            created = raw.pop(CREATED_AT)
        try:
            if raw.keys() <= self.writable:
                values: dict[str, Any] = {}
                errors: dict[str, str] = {}
                coercers = self.coercers
                for key, value in raw.items():
                    try:
                        values[key] = coercers[key](value)
                    except ValueError as exc:  # Invalid is a ValueError
                        errors[key] = Message("field_problem", field=table.fields[key].fdef.name, problem=str(exc))
                if errors:
                    raise ValidationError(errors)
            else:
                values = table.coerce_values(raw, self.access, creating=True, allowed=None)
            missing = table.complete_new(values, self.actor)
            if missing:
                raise ValidationError(missing)
            if self.checks_files:
                table.check_attachments(values, {}, self.actor)
        except ValidationError as exc:
            self.reject(self.number, exc.errors)
            return None
        if created:
            if not STORED_MOMENT.match(str(created)):
                self.reject(self.number, {CREATED_AT: f"created time: expected a date and time such as "
                                                      f"2026-11-25 14:30, not '{created}'"})
                return None
            values[CREATED_AT] = created
        return values

    def reject(self, number: int, errors: dict[str, str]) -> None:
        if self.single:
            raise ValidationError(errors)
        if not self.skip_invalid:
            raise ValidationError({f"row {number}": Message("problems", problems=list(errors.values()))})
        self.result.rejected.append((number, errors))

    def _resolve_links(self, prepared: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
        """Find the rowids each link value names; reject rows that name a record that does not exist."""
        tdef = self.table.tdef
        bad: dict[int, dict[str, str]] = {}
        for key in self.link_keys:
            resolved = self.resolved[key]
            if len(resolved) > MEMO_LIMIT:
                resolved.clear()
            new = {v[key]: load_json_list(v[key]) for _, v in prepared if v.get(key) and v[key] not in resolved}
            wanted = sorted({i for ids in new.values() for i in ids})
            other = q(table_name(self.table.base.key, tdef.fields[key].options["table"]))
            found: dict[str, int] = {}
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                found.update(self.conn.execute(f"SELECT _id, _rowid FROM {other} WHERE _id IN ({', '.join('?' * len(part))}) "
                                               "AND _deleted_at IS NULL", part).fetchall())
            unknown: dict[str, str] = {}
            for text, ids in new.items():
                missing = [i for i in ids if i not in found]
                if missing:
                    unknown[text] = missing[0]
                else:
                    resolved[text] = _first_places([found[i] for i in ids])
            if unknown:
                other_name = self.table.base.bdef.tables[tdef.fields[key].options["table"]].name
                for number, values in prepared:
                    if values.get(key) in unknown:
                        bad.setdefault(number, {})[key] = (f"{tdef.fields[key].name}: unknown record "
                                                           f"{unknown[values[key]]} in '{other_name}'")
        if not bad:
            return prepared
        for number in sorted(bad):
            self.reject(number, bad[number])
        return [(n, v) for n, v in prepared if n not in bad]

    def write(self, chunk: list[dict[str, Any]]) -> None:
        """Check and write one batch inside the current transaction."""
        self.insert(self.prepare(chunk))

    def prepare(self, chunk: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
        """(row number, coerced and completed values) of the rows of `chunk` that pass every
        check; the others are rejected. Needs no write lock: imports check a whole file first."""
        # `_prepare` counts rows as it goes, so each kept row is paired with its own number.
        prepared = [(self.number, values) for values in map(self._prepare, chunk) if values is not None]
        if self.link_keys:
            prepared = self._resolve_links(prepared)
        if self.unique is not None:
            prepared = self._refuse(prepared, self.unique.check(prepared))
        return prepared

    def _refuse(self, prepared: list[tuple[int, dict[str, Any]]],
                bad: dict[int, dict[str, str]]) -> list[tuple[int, dict[str, Any]]]:
        """Reject the rows of `bad` (raises unless skipping); the others."""
        if not bad:
            return prepared
        for number in sorted(bad):
            self.reject(number, bad[number])
        return [(n, v) for n, v in prepared if n not in bad]

    def insert(self, prepared: list[tuple[int, dict[str, Any]]], *, held: str | None = None) -> tuple[int, int] | None:
        """Write checked rows inside the current transaction; return their first and last rowid.

        Links are looked up again in this transaction (a linked record may have been deleted
        since the rows were checked). `held`: their events wait, unseen by the automation
        worker, until the import that wrote them releases them (see engine.imports).
        """
        table = self.table
        if self.link_keys and prepared:
            prepared = self._resolve_links(prepared)
        if self.unique is not None and prepared:
            # Under the write lock: a value another writer took since the rows were checked.
            prepared = self._refuse(prepared, self.unique.check(prepared, remember=False))
        if not prepared:
            return None
        conn = self.conn
        now = utcnow_text(table.ws.now())
        actor, actor_key = self.actor, self.actor.key
        first = int(conn.execute(f"SELECT COALESCE(max(_rowid), 0) FROM {table.sql}").fetchone()[0]) + 1
        ids = new_record_ids(len(prepared))
        base_key, table_key = table.base.key, table.key
        stored_keys, auto_set, link_keys = self.stored_keys, self.auto_set, self.link_keys
        encode = _audit_json
        params: list[list[Any]] = []
        junction: dict[str, list[tuple[int, int, int]]] = {k: [] for k in link_keys}
        stamp = bool(table.new_row_plan[3])
        texts: list[str] = []
        # The audit entry of a record whose created time came from its import (`--created-from`)
        # keeps that time beside the values: the entry itself stands at the moment of the import.
        audit_texts: list[str] | None = None
        for offset, (_, values) in enumerate(prepared):
            rowid = first + offset
            record_id = ids[offset]
            source_created = values.pop(CREATED_AT, None)
            created = source_created or now
            if stamp:
                table.stamp_new(values, created, actor)
            for key in link_keys:
                text = values.get(key)
                if text:  # the JSON list the column keeps; the junction needs the rowids
                    pairs = junction[key]
                    for target, pos in self.resolved[key][text]:
                        pairs.append((rowid, target, pos))
            params.append([rowid, record_id, created, actor_key, now, actor_key] + [values.get(k) for k in stored_keys])
            given = {k: v for k, v in values.items() if v is not None and k not in auto_set}
            texts.append(encode(given))
            if source_created:
                if audit_texts is None:
                    audit_texts = list(texts[:-1])
                audit_texts.append(encode({**given, CREATED_AT: source_created}))
            elif audit_texts is not None:
                audit_texts.append(texts[-1])
        plain = {key: self._plain_links(key, first) for key in link_keys if junction[key]}
        conn.executemany(self.insert_sql, params)
        stolen: dict[str, list[int]] = {}
        for key in link_keys:
            pairs = junction[key]
            if not pairs:
                continue
            jname, mine, theirs, _, _ = table.junction(key)
            if key in self.stealing:
                stolen[key] = self._steal(jname, mine, theirs, pairs)
            if plain[key]:
                # The new rows' own junction rows: none is stored yet, and a cell naming a record
                # twice gave it once (`resolved`), so none can conflict; plain INSERTs go in by
                # COPY on PostgreSQL (engine.pg_connection COPY_AT).
                conn.executemany(f"INSERT INTO {jname} ({mine}, {theirs}, pos) VALUES (?, ?, ?)", pairs)
            else:
                conn.executemany(f"INSERT OR IGNORE INTO {jname} ({mine}, {theirs}, pos) VALUES (?, ?, ?)", pairs)
            self.touched[key].update(t for _, t, _ in pairs)
        for key, rows in stolen.items():
            for other_rowid in rows:
                table.rebuild_column(key, other_rowid, actor)
        # Computed values (formulas, lookups, rollups) join the event: it says what the new
        # record holds, as the audit entry says what it was given.
        event_texts = texts
        if table.tdef.computed_order:
            event_texts = list(texts)
            for offset, record_id in enumerate(ids):
                computed = table.recompute_row(first + offset, record_id, audit_into=None)
                shown = {k: v for k, v in computed.items() if v is not None}
                if shown:
                    event_texts[offset] = encode({**json.loads(texts[offset]), **shown})
        table.ws.audit.created(actor, base_key, table_key, zip(ids, audit_texts or texts, strict=True), at=now)
        tail = self.event_tail
        table.ws.outbox.append_created(((now, record_id, actor_key, created_text(text, tail))
                                        for record_id, text in zip(ids, event_texts, strict=True)),
                                       base=base_key, table=table_key, held=held, depth=self.depth)
        self.written += len(ids)
        self.result.ids.extend(ids)
        return first, first + len(ids) - 1

    def _plain_links(self, key: str, first: int) -> bool:
        """Whether the junction of link `key` can take this stream's rows (rowids `first` and up)
        by plain INSERT: nothing stored there names a rowid this new (asked once per stream: later
        batches' rowids are above every row that existed, and nothing but this stream writes
        junction rows for them). A record made on its own (`single`) keeps INSERT OR IGNORE."""
        if self.single:
            return False
        if key not in self.plain:
            jname, mine, _, _, _ = self.table.junction(key)
            self.plain[key] = self.conn.execute(f"SELECT 1 FROM {jname} WHERE {mine} >= ? LIMIT 1",
                                                (first,)).fetchone() is None
        return self.plain[key]

    def _steal(self, jname: str, mine: str, theirs: str, pairs: list[tuple[int, int, int]]) -> list[int]:
        """A record on the other side of a link it allows only one of (`multiple: false` there)
        leaves the row it was linked from for the new one: the rows that lost it."""
        targets = sorted({t for _, t, _ in pairs})
        lost: set[int] = set()
        for start in range(0, len(targets), 500):
            part = targets[start:start + 500]
            marks = ", ".join("?" for _ in part)
            lost.update(r[0] for r in self.conn.execute(f"SELECT {mine} FROM {jname} WHERE {theirs} IN ({marks})", part))
            self.conn.execute(f"DELETE FROM {jname} WHERE {theirs} IN ({marks})", part)
        return sorted(lost)

    def forget_links(self) -> None:
        """Look link targets up again from now on (they may have changed since)."""
        for resolved in self.resolved.values():
            resolved.clear()

    def finish(self) -> None:
        """Rebuild the other side of every link this stream touched, once per linked record."""
        for key, rowids in self.touched.items():
            for other_rowid in sorted(rowids):
                self.table.rebuild_other_side(key, other_rowid, self.actor)
            rowids.clear()
        self.forget_links()  # other writers may change the linked tables after this transaction

    # -- indexes ------------------------------------------------------------------------
    def _index_owners(self) -> list[str]:
        names = [table_name(self.table.base.key, self.table.key)]
        for key in self.link_keys:
            names.append(self.table.junction(key)[0].strip('"').replace('""', '"'))
        return names

    def defer_indexes_if_worth_it(self, expected: int | None) -> None:
        """Drop the secondary indexes when this stream is big next to the table (see module doc)."""
        if self.deferred is not None:
            return
        if self.existing is None:
            self.existing = int(self.conn.execute(f"SELECT COALESCE(max(_rowid), 0) FROM {self.table.sql}").fetchone()[0])
        coming = expected if expected is not None else self.written
        if coming < DEFER_INDEXES_AT or coming * 4 < self.existing:
            return
        owners = self._index_owners()
        marks = ", ".join("?" for _ in owners)
        rows = self.conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                 f"AND tbl_name IN ({marks})", owners).fetchall()
        for name, _ in rows:
            self.conn.execute(f"DROP INDEX {q(name)}")
        self.deferred = [sql for _, sql in rows]

    def restore_indexes(self) -> None:
        """Build the dropped indexes again (inside the same transaction)."""
        for sql in self.deferred or []:
            self.conn.execute(sql)
        self.deferred = []


def _first_places(rowids: list[int]) -> tuple[tuple[int, int], ...]:
    """(rowid, place) of each record a link cell names, a record named twice at its first
    place only: the junction rows INSERT OR IGNORE would keep."""
    if len(set(rowids)) == len(rowids):
        return tuple((rowid, pos) for pos, rowid in enumerate(rowids))
    seen: set[int] = set()
    kept = []
    for pos, rowid in enumerate(rowids):
        if rowid not in seen:
            seen.add(rowid)
            kept.append((rowid, pos))
    return tuple(kept)


def _reading(read: Callable[[Any], Any], coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: coerce(read(value))


def _coercer(ftype: FieldType) -> Callable[[Any], Any]:
    """`ftype.coerce`, remembering results for field types whose values repeat."""
    coerce = ftype.coerce
    if not ftype.repeats:
        return coerce
    memo: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            key: Any = value
        elif kind is list and all(type(v) is str for v in value):
            key = tuple(value)
        else:
            return coerce(value)
        try:
            return memo[key]
        except KeyError:
            out = coerce(value)  # an Invalid value is not remembered: it raises every time
            if len(memo) < MEMO_LIMIT:
                memo[key] = out
            return out

    return cached
