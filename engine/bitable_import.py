"""Importing a Bitable app's records into its base (owner of the import's steps and report).

The base YAML is engine.bitable's and already applied; the records come from a dump
(engine.bitable_dump) or the live API (the same shape). For each table, in order:

1. every record's values are converted (engine.bitable_values): people matched to workspace
   people, attachments' bytes (saved in the dump's `files/`) stored through
   engine.attachments as the importing actor;
2. records not imported before are created through the engine's bulk import path
   (engine.imports: all or nothing, audited, with their events), records imported before —
   found by their Bitable record id in the `bitable_record_id` field — are updated
   (Table.update_many), so a second run updates instead of duplicating;

then, once every table is in, links are written (a link names records of other tables), and
each record's original created and modified time and people are put back in its system
columns and created/modified fields (one audit note per table says so). `Report` lists
records created and updated per table, what was approximated and what was not imported.
"""

from __future__ import annotations

import mimetypes
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import attachments, people
from engine import bitable as bt
from engine.bitable_values import SKIP, People, link_ids, moment, value_for
from engine.bulk import RejectedRows
from engine.errors import GridbaseError, ValidationError
from engine.fields.base import load_json_list
from engine.ids import utcnow_text
from engine.imports import import_rows
from engine.permissions import Actor
from engine.storage import q

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace


@dataclass
class Report:
    """What an import did: per table (created, updated, unchanged), notes, unmatched people, files left out."""

    tables: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unmatched: Counter[str] = field(default_factory=Counter)
    missing_files: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    links: int = 0

    def lines(self) -> list[str]:
        out = [f"{name}: {c} created, {u} updated, {k} unchanged" for name, (c, u, k) in self.tables.items()]
        out.append(f"links written: {self.links}")
        out += [f"approximated or left out: {n}" for n in self.notes]
        if self.unmatched:
            out.append("people not found in the workspace (their cells were left empty): " +
                       ", ".join(f"{name} ×{n}" for name, n in sorted(self.unmatched.items())))
        out += [f"file not imported: {f}" for f in self.missing_files]
        out += [f"value not imported: {r}" for r in self.refused]
        return out


@dataclass
class _Pending:
    table: Table
    fp: bt.FieldPlan
    wanted: dict[str, list[str]]  # gridbase record id → Bitable record ids of the linked table
    table_id: str = ""  # the Bitable id of `table`


def import_records(ws: Workspace, plan: bt.BasePlan, source: dict[str, Any], *, actor: Actor | str = "system") -> Report:
    """Create or update every record of `source` ({tables: [{table_id, records}], files}) in `plan`'s base."""
    who = ws.actor(actor)
    base = ws.base(plan.key)
    report = Report(notes=list(plan.notes))
    index = People([p for p in people.everyone(ws.storage) if not p.get("disabled")])
    records_of = {str(t["table_id"]): t.get("records") or [] for t in source["tables"]}
    files = Path(source.get("files") or ".")
    ids: dict[str, dict[str, str]] = {}
    pending: list[_Pending] = []
    # The second side of each two-way link: (table id, field id) → {record id: linked record ids}.
    backs: dict[tuple[str, str], dict[str, list[str]]] = {}
    for tp in plan.tables:
        if tp.key not in base.bdef.tables:  # removed from the YAML by an admin: not imported
            report.notes.append(f"{tp.name}: not in bases/{plan.key}.yaml any more; its records were not imported")
            continue
        table = base.table(tp.key)
        existing = _existing(table, tp)
        new_rows: list[dict[str, Any]] = []
        new_sources: list[str] = []
        existing_seen: list[str] = []
        updates: list[tuple[str, dict[str, Any]]] = []
        links = [_Pending(table, fp, {}, tp.table_id) for fp in tp.fields if fp.code in (bt.LINK, bt.DUPLEX)
                 and fp.spec is not None and not fp.inverse_side and _writable(table, fp.key)]
        link_values: list[tuple[str, dict[str, list[str]]]] = []
        for rec in records_of.get(tp.table_id, []):
            rid = str(rec.get("record_id") or "")
            if not rid:
                continue
            fields = rec.get("fields") or {}
            old = existing.get(rid)
            values: dict[str, Any] = {bt.RECORD_ID_KEY: rid}
            stored: dict[str, Any] = {}
            linked: dict[str, list[str]] = {}
            for fp in tp.fields:
                if fp.inverse_side:
                    backs.setdefault((tp.table_id, fp.field_id), {})[rid] = link_ids(fields.get(fp.name))
                value = value_for(fp, fields.get(fp.name), index, ws.config.timezone)
                if value is SKIP or not _writable(table, fp.key):
                    continue
                if fp.code in (bt.LINK, bt.DUPLEX):
                    linked[fp.key] = value or []
                elif fp.code == bt.ATTACHMENT:
                    values[fp.key] = _files(ws, table, fp, value or [], files, old, who, report)
                else:
                    values[fp.key] = _checked(table, fp, value, rid, report, stored)
            if old is None:
                new_rows.append(values)
                new_sources.append(rid)
            else:
                existing_seen.append(rid)
                if changed := _changed(table, values, stored, old):
                    updates.append((old["_id"], changed))
            link_values.append((rid, linked))
        try:
            created = import_rows(table, new_rows, actor=who).ids if new_rows else []
        except RejectedRows as exc:
            problems = [f"Bitable record {new_sources[n - 1]}: {'; '.join(e.values())}" for n, e in exc.result.rejected[:20]]
            raise GridbaseError(code="bitable_rows_refused", params={"table": tp.name, "count": len(exc.result.rejected),
                                                                     "problems": " | ".join(problems)}) from None
        if updates:
            table.update_many(updates, actor=who)
        ids[tp.table_id] = {rid: row["_id"] for rid, row in existing.items()}
        ids[tp.table_id].update(zip(new_sources, created, strict=True))
        report.tables[tp.name] = [len(created), len(updates), len(existing_seen) - len(updates)]
        for rid, linked in link_values:
            for p in links:
                p.wanted[ids[tp.table_id][rid]] = linked.get(p.fp.key, [])
        pending.extend(links)
    for p in pending:
        targets = ids.get(p.fp.link_table or "", {})
        _add_back(p, backs.get((p.fp.link_table or "", p.fp.back or ""), {}), ids)
        now = _link_columns(p.table, p.fp.key)
        most = 1 if (p.fp.spec or {}).get("multiple") is False else None  # a single link named several: the first
        changes = [(gid, {p.fp.key: ids_now}) for gid, wanted in p.wanted.items()
                   if (ids_now := [targets[r] for r in wanted if r in targets][:most]) != now.get(gid, [])]
        if changes:
            p.table.update_many(changes, actor=who)
            report.links += sum(len(v[p.fp.key]) for _, v in changes)
    for tp in plan.tables:
        if tp.table_id in ids:
            _keep_system_values(ws, base.table(tp.key), tp, records_of.get(tp.table_id, []), ids[tp.table_id], index, who)
    report.unmatched = index.unmatched
    return report


def _add_back(p: _Pending, back: dict[str, list[str]], ids: dict[str, dict[str, str]]) -> None:
    """Links only the second side of a two-way link names (Bitable keeps both sides; an edited dump may not)."""
    by_rid = ids.get(p.table_id, {})
    for other, named in back.items():
        for rid in named:
            gid = by_rid.get(rid)
            if gid is not None and other not in p.wanted.setdefault(gid, []):
                p.wanted[gid].append(other)


def _link_columns(table: Table, key: str) -> dict[str, list[str]]:
    """Each live record's linked record ids in the link field `key`, as stored."""
    with table.ws.storage.reading() as conn:
        return {r[0]: load_json_list(r[1]) for r in conn.execute(
            f"SELECT _id, {q(key)} FROM {table.sql} WHERE _deleted_at IS NULL")}  # noqa: S608


def _writable(table: Table, key: str) -> bool:
    """Does the table (as the workspace declares it now: an admin may have changed the YAML) take values for `key`?"""
    found = table.fields.get(key)
    return found is not None and not found.computed


def _checked(table: Table, fp: bt.FieldPlan, value: Any, rid: str, report: Report, stored: dict[str, Any]) -> Any:
    """`value` if the field takes it (what it would store goes in `stored`); else None, and the
    report says which value was refused and why."""
    stored[fp.key] = None
    if value is None:
        return None
    try:
        stored[fp.key] = table.fields[fp.key].coerce(value)
    except ValueError as exc:
        report.refused.append(f"{table.tdef.name}.{fp.name} of Bitable record {rid}: {str(value)[:80]!r} ({exc}); left empty")
        return None
    return value


def _existing(table: Table, tp: bt.TablePlan) -> dict[str, dict[str, Any]]:
    """Live records imported before, by Bitable record id: their stored rows."""
    if bt.RECORD_ID_KEY not in table.fields:
        raise GridbaseError(code="bitable_no_id_field", params={"table": table.tdef.name, "field": bt.RECORD_ID_KEY})
    with table.ws.storage.reading() as conn:
        cur = conn.execute(f"SELECT * FROM {table.sql} WHERE _deleted_at IS NULL "  # noqa: S608
                           f"AND {q(bt.RECORD_ID_KEY)} IS NOT NULL")
        names = [d[0] for d in cur.description]
        return {row[bt.RECORD_ID_KEY]: row for row in (dict(zip(names, r, strict=True)) for r in cur.fetchall())}


def _changed(table: Table, values: dict[str, Any], stored_values: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Those of `values` that differ from the record's stored ones (as the field would store them:
    `stored_values`, else as the field coerces them)."""
    out = {}
    for key, value in values.items():
        if key in stored_values:
            stored = stored_values[key]
        else:
            try:
                stored = table.fields[key].coerce(value)
            except ValueError:
                stored = value
        if stored != old.get(key) and not (stored in (None, "", "[]") and old.get(key) in (None, "", "[]")):
            out[key] = value
    return out


def _files(ws: Workspace, table: Table, fp: bt.FieldPlan, items: list[dict[str, Any]], folder: Path,
           old: dict[str, Any] | None, who: Actor, report: Report) -> list[dict[str, Any]]:
    """Store each attachment's saved bytes (reusing a file already on the record: same name and size)."""
    kept = {(a.get("name"), a.get("size")): a for a in load_json_list((old or {}).get(fp.key)) if isinstance(a, dict)}
    out: list[dict[str, Any]] = []
    limit = int(attachments.Limits.of(ws).max_size_mb * attachments.MB)
    for item in items:
        name = str(item.get("name") or item["file_token"])
        size = item.get("size")
        if (name, size) in kept:
            out.append(kept[(name, size)])
            continue
        path = folder / str(item["file_token"])
        if "/" in str(item["file_token"]) or not path.is_file():
            report.missing_files.append(f"{table.tdef.name}.{fp.name}: {name} (not in the dump's files/)")
            continue
        mime = str(item.get("type") or mimetypes.guess_type(name)[0] or "application/octet-stream")
        try:
            with path.open("rb") as source:
                incoming = attachments.receive(ws, source, name=name, mime=mime, key=fp.key, label=fp.name, max_bytes=limit)
            out.extend(attachments.store(ws, [incoming], actor=who, base=table.base.key, table=table.key, field=fp.key,
                                         label=fp.name, now=utcnow_text(ws.now())))
        except ValidationError as exc:
            report.missing_files.append(f"{table.tdef.name}.{fp.name}: {name} ({'; '.join(exc.errors.values())})")
    return out


def _keep_system_values(ws: Workspace, table: Table, tp: bt.TablePlan, records: list[dict[str, Any]],
                        ids: dict[str, str], index: People, who: Actor) -> None:
    """Put each record's Bitable created/modified time and people in its system columns and fields."""
    by_code: dict[int, list[str]] = {}
    for fp in tp.fields:
        if fp.spec is not None and fp.key in table.fields and table.fields[fp.key].engine_kept:
            by_code.setdefault(fp.code, []).append(fp.key)
    kept = 0
    batches: dict[tuple[str, ...], list[list[Any]]] = {}  # the columns set → one row of values each
    with ws.storage.transaction() as conn:
        for rec in records:
            gid = ids.get(str(rec.get("record_id") or ""))
            if gid is None:
                continue
            fields = rec.get("fields") or {}
            created = moment(rec.get("created_time")) or _first_moment(tp, fields, bt.CREATED_TIME)
            modified = moment(rec.get("last_modified_time")) or _first_moment(tp, fields, bt.MODIFIED_TIME) or created
            creator = index.key(rec.get("created_by") or _first_person(tp, fields, bt.CREATED_BY))
            changer = index.key(rec.get("last_modified_by") or _first_person(tp, fields, bt.MODIFIED_BY)) or creator
            sets: dict[str, Any] = {}
            if created:
                sets.update({"_created_at": utcnow_text(created)}, **{k: utcnow_text(created) for k in by_code.get(bt.CREATED_TIME, [])})
            if modified:
                sets.update({"_modified_at": utcnow_text(modified)}, **{k: utcnow_text(modified) for k in by_code.get(bt.MODIFIED_TIME, [])})
            if creator:
                sets.update({"_created_by": creator}, **{k: creator for k in by_code.get(bt.CREATED_BY, [])})
            if changer:
                sets.update({"_modified_by": changer}, **{k: changer for k in by_code.get(bt.MODIFIED_BY, [])})
            if not sets:
                continue
            batches.setdefault(tuple(sets), []).append([*sets.values(), gid])
            kept += 1
        for keys, rows in batches.items():
            assign = ", ".join(f"{q(k)} = ?" for k in keys)
            conn.executemany(f"UPDATE {table.sql} SET {assign} WHERE _id = ?", rows)  # noqa: S608
            if _time_dependent(table, by_code):
                for row in rows:
                    rowid = conn.execute(f"SELECT _rowid FROM {table.sql} WHERE _id = ?", (row[-1],)).fetchone()[0]  # noqa: S608
                    table.recompute_row(rowid, row[-1], audit_into=None)
        if kept:
            ws.audit.note(who, table.base.key, table.key, "bitable", "bitable_system_values",
                          {"records": kept, "note": "created and modified time and people as Bitable kept them"})


def _time_dependent(table: Table, by_code: dict[int, list[str]]) -> bool:
    """Does a formula of the table read the created or modified time (and so change with them)?"""
    times = [f"{{{name}}}" for code in (bt.CREATED_TIME, bt.MODIFIED_TIME) for k in by_code.get(code, [])
             for name in (k, table.tdef.fields[k].name)]
    for key in table.tdef.computed_order:
        text = str(table.tdef.fields[key].options.get("formula") or "")
        if "CREATED_TIME(" in text.upper() or "MODIFIED_TIME(" in text.upper() or any(t in text for t in times):
            return True
    return False


def _first_moment(tp: bt.TablePlan, fields: dict[str, Any], code: int) -> Any:
    return next((m for fp in tp.fields if fp.code == code and (m := moment(fields.get(fp.name)))), None)


def _first_person(tp: bt.TablePlan, fields: dict[str, Any], code: int) -> Any:
    for fp in tp.fields:
        if fp.code == code and fields.get(fp.name):
            value = fields[fp.name]
            return value[0] if isinstance(value, list) else value
    return None


def merge_yaml(existing: dict[str, Any], fresh: dict[str, Any], previous: set[str] | None = None) -> dict[str, Any]:
    """The base YAML of a later import: what the admin wrote in `existing` stays (renamed or retyped
    fields, rewritten formulas, views, roles, automations…); what is new in Bitable (`fresh`:
    tables, fields, views, forms, select options) is added. `previous`: the tables (`tkey`) and
    fields (`tkey.fkey`) an earlier import wrote; one of them missing now was removed by the
    admin, and is not added again."""
    previous = previous or set()
    out = dict(existing)
    tables = out.setdefault("tables", {})
    for tkey, table in fresh.get("tables", {}).items():
        mine = tables.get(tkey)
        if not isinstance(mine, dict):
            if tkey not in previous:
                tables[tkey] = table
            continue
        for part in ("fields", "views", "forms"):
            have = mine.setdefault(part, {}) if table.get(part) else mine.get(part)
            for key, spec in (table.get(part) or {}).items():
                if have is None:
                    break
                if key not in have and part == "fields" and f"{tkey}.{key}" in previous:
                    continue
                if key not in have:
                    have[key] = spec
                elif part == "fields" and isinstance(have[key], dict) and "options" in have[key] and "options" in spec:
                    names = {o["name"] if isinstance(o, dict) else o for o in have[key]["options"]}
                    have[key]["options"] += [o for o in spec["options"] if (o["name"] if isinstance(o, dict) else o) not in names]
    return out
