"""Bulk creation: the record service's path for imports and sample data.

The same rules as `Table.create` — types, permissions, defaults, required fields, links on
both sides, computed values, one audit entry and one outbox event per record, all in the
batch's transaction — but done a batch at a time: values are coerced in Python, rows,
junction rows, audit entries and events are written with `executemany`, and the other
side of each link is rebuilt once per batch instead of once per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import NotFoundError, PermissionDenied, ValidationError
from engine.fields.base import load_json_list
from engine.permissions import Actor
from engine.storage import q, table_name

if TYPE_CHECKING:
    from engine.records import Table


@dataclass
class BulkResult:
    ids: list[str] = field(default_factory=list)
    rejected: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_create(table: Table, rows: Iterable[dict[str, Any]], *, actor: Actor, batch: int = 5000,
                skip_invalid: bool = False, transaction: bool = True) -> BulkResult:
    """Create many records. Invalid rows raise ValidationError (naming the row) unless skipped."""
    access = table.access(actor)
    if not access.can_create:
        if not access.can_read:
            raise NotFoundError(f"unknown table '{table.key}'")
        raise PermissionDenied(f"you may not add records to '{table.tdef.name}'")
    conn = table.ws.storage.conn
    result = BulkResult()
    # Fewer, larger WAL checkpoints while a batch stream is written (restored afterwards).
    conn.execute("PRAGMA wal_autocheckpoint = 20000")
    try:
        _batches(table, rows, actor=actor, batch=batch, skip_invalid=skip_invalid, transaction=transaction,
                 access=access, result=result)
    finally:
        conn.execute("PRAGMA wal_autocheckpoint = 1000")
    if len(result.ids) >= 1000 and transaction:
        table.ws.storage.optimize()
    return result


def _batches(table: Table, rows: Iterable[dict[str, Any]], *, actor: Actor, batch: int, skip_invalid: bool,
             transaction: bool, access: Any, result: BulkResult) -> None:
    from engine.records import ENGINE_KEPT, new_record_id, utcnow_text

    tdef = table.tdef
    conn = table.ws.storage.conn
    link_keys = [k for k, f in tdef.fields.items() if f.type == "link"]
    plain_keys = [k for k, f in tdef.fields.items() if f.type != "link" and not table.fields[k].computed]
    auto_keys = [k for k, f in tdef.fields.items() if f.type in ENGINE_KEPT]
    computed_keys = list(tdef.computed_order)
    writable = {k for k in tdef.fields if access.level(k) in ("edit", "create") and not table.fields[k].computed}
    stored_keys = plain_keys + auto_keys + link_keys
    auto_set = set(auto_keys)
    actor_key = actor.key
    number = 0
    for chunk in _chunks(rows, batch):
        ctx = table.ws.storage.transaction() if transaction else _null()
        with ctx:
            now = utcnow_text(table.ws.now())
            prepared: list[dict[str, Any]] = []
            numbers: list[int] = []
            for raw in chunk:
                number += 1
                try:
                    values = _coerce_fast(table, raw, writable) if raw.keys() <= writable else \
                        table._coerce(raw, access, creating=True, allowed=None)
                except ValidationError as exc:
                    if not skip_invalid:
                        raise ValidationError({f"row {number}": "; ".join(exc.errors.values())}) from None
                    result.rejected.append((number, exc.errors))
                    continue
                missing = table.complete_new(values, actor)
                if missing:
                    if not skip_invalid:
                        raise ValidationError({f"row {number}": "; ".join(missing.values())})
                    result.rejected.append((number, missing))
                    continue
                prepared.append(values)
                numbers.append(number)
            if not prepared:
                continue
            # Resolve link targets for the whole batch at once.
            targets: dict[str, dict[str, int]] = {}
            for key in link_keys:
                other = q(table_name(table.base.key, tdef.fields[key].options["table"]))
                wanted = sorted({i for v in prepared for i in load_json_list(v.get(key))})
                found: dict[str, int] = {}
                for start in range(0, len(wanted), 500):
                    part = wanted[start:start + 500]
                    marks = ", ".join("?" for _ in part)
                    found.update(conn.execute(f"SELECT _id, _rowid FROM {other} WHERE _id IN ({marks}) AND _deleted_at IS NULL",
                                              part).fetchall())
                missing_ids = [i for i in wanted if i not in found]
                if missing_ids:
                    raise ValidationError({key: f"{tdef.fields[key].name}: unknown record {missing_ids[0]}"})
                targets[key] = found
            first = int(conn.execute(f"SELECT COALESCE(max(_rowid), 0) FROM {table.sql}").fetchone()[0]) + 1
            cols = ["_rowid", "_id", "_created_at", "_created_by", "_modified_at", "_modified_by"] + plain_keys + auto_keys + link_keys
            params: list[list[Any]] = []
            junction: dict[str, list[tuple[int, int, int]]] = {k: [] for k in link_keys}
            audit: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            ids: list[str] = []
            base_key, table_key = table.base.key, table.key
            for offset, values in enumerate(prepared):
                rowid = first + offset
                record_id = new_record_id()
                ids.append(record_id)
                table.stamp_new(values, now, actor)
                for key in link_keys:
                    text = values.get(key)
                    if text:  # already the JSON list the column keeps; only the junction needs ids
                        junction[key].extend((rowid, targets[key][i], pos) for pos, i in enumerate(json.loads(text)))
                params.append([rowid, record_id, now, actor_key, now, actor_key] + [values.get(k) for k in stored_keys])
                stored = {k: v for k, v in values.items() if v is not None and k not in auto_set}
                text = json.dumps(stored, ensure_ascii=False)
                audit.append((now, actor_key, base_key, table_key, record_id, "create", text))
                # The event carries the same values; its "changes" are derived from them.
                events.append((now, base_key, table_key, record_id, "created", actor_key,
                               '{"values": ' + text + ', "form": null}', 0))
            conn.executemany(f"INSERT INTO {table.sql} ({', '.join(q(c) for c in cols)}) VALUES ({', '.join('?' for _ in cols)})", params)
            touched: dict[str, set[int]] = {}
            for key in link_keys:
                jname, mine, theirs, _, _ = table._junction(key)
                conn.executemany(f"INSERT OR IGNORE INTO {jname} ({mine}, {theirs}, pos) VALUES (?, ?, ?)", junction[key])
                touched[key] = {t for _, t, _ in junction[key]}
            conn.executemany("INSERT INTO _gb_audit (at, actor, base, tbl, record, action, new) VALUES (?, ?, ?, ?, ?, ?, ?)", audit)
            conn.executemany("INSERT INTO _gb_outbox (at, base, tbl, record, event, actor, data, depth) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
            if computed_keys:
                for offset, record_id in enumerate(ids):
                    table._recompute_row(first + offset, record_id, audit_into=None)
            for key, rowids in touched.items():
                for other_rowid in sorted(rowids):
                    table._rebuild_other_side(key, other_rowid, actor)
            result.ids.extend(ids)


def _coerce_fast(table: Table, raw: dict[str, Any], writable: set[str]) -> dict[str, Any]:
    """Coerce a row whose keys are all writable for the actor (checked once per batch)."""
    from engine.fields.base import Invalid

    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    fields = table.fields
    for key, value in raw.items():
        try:
            out[key] = fields[key].coerce(value)
        except (Invalid, ValueError) as exc:
            errors[key] = f"{fields[key].fdef.name}: {exc}"
    if errors:
        raise ValidationError(errors)
    return out


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
