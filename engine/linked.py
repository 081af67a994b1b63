"""Links, lookups and rollups as one reader sees them: only the linked records they may read.

A lookup or rollup is stored computed over every linked record. A reader whose role has a
row rule (`rows:`) on the linked table may not read some of those records, so for them the
value is computed again, here, from only the records they may read: for presenting, in one
query per link field per page of rows (`restrict_rows`); for filtering, sorting, searching
and grouping, through a guarded column (`Scope`, `guard_sql`) that is the stored value when
every live record the row links to is readable and empty otherwise, so a filter cannot probe
what the reader does not see. Readers with no row rule on the linked table (and admins) are not
touched: their stored values are already what they may see.

Links themselves follow the same rule: a link field lists only the linked records the reader
may read, when presented (`restrict_rows`), compared by filters, sorts and groups (a guarded
column holding the readable ids, `link_sql`), and in history (`readable_ids`). A write keeps the
links a writer cannot see (`keep_hidden`): they did not see them, so they cannot mean to drop them.

Words: a *restricted* field is a lookup or rollup the reader may read whose linked table has
a row rule for them; a *restricted link* is a link field they may read to such a table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.computed import linked_value
from engine.fields.base import load_json_list
from engine.interfaces import Reader
from engine.model import FieldDef
from engine.permissions import restricted_source
from engine.storage import q

if TYPE_CHECKING:
    from engine.permissions import Actor, TableAccess

CHUNK = 500  # record ids per IN (...) list
MAX_DEPTH = 4  # lookups of lookups followed this deep (as in permissions.table_access)
GUARDED = "gb_seen__"  # column name prefix of a restricted field's guarded copy


@dataclass
class Restricted:
    """A lookup or rollup of `reader` whose linked table `target` has a row rule for the actor."""

    fdef: FieldDef
    link: str
    target: Reader
    access: TableAccess  # the actor's access to the target table


def restricted_links(reader: Reader, actor: Actor, access: TableAccess) -> dict[str, tuple[Reader, TableAccess]]:
    """The restricted links of `reader` for this actor: link field key -> (linked table, the
    actor's access to it), for readable link fields to a table with a row rule for them."""
    if actor.admin or actor.system:
        return {}
    out: dict[str, tuple[Reader, TableAccess]] = {}
    for key, fdef in reader.tdef.fields.items():
        if not reader.fields[key].links or not access.readable(key):
            continue
        target = reader.base.table(fdef.options.get("table", ""))
        target_access = target.access(actor)
        if target_access.read_filter is not None:
            out[key] = (target, target_access)
    return out


def readable_ids(target: Reader, actor: Actor, access: TableAccess, ids: list[str]) -> set[str]:
    """Those of `ids` that are live records of `target` the actor may read (one query per CHUNK)."""
    found: set[str] = set()
    if not ids:
        return found
    where, params = target.where_sql(actor, access, None, None, set())
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        found.update(r[0] for r in target.ws.storage.conn.execute(
            f"SELECT _id FROM {target.sql} WHERE _id IN ({', '.join('?' for _ in part)}) AND {where}", part + params))
    return found


def keep_hidden(reader: Reader, key: str, old: Any, new: Any, actor: Actor) -> Any:
    """The stored value to write to link `key` when `actor` sets it to `new` over `old`: the
    records of `old` they may not read stay linked (after those they chose), unless the link
    holds one record and they chose another."""
    if actor.admin or actor.system:
        return new
    target = reader.base.table(reader.tdef.fields[key].options.get("table", ""))
    target_access = target.access(actor)
    before = [i for i in load_json_list(old) if isinstance(i, str)]
    if target_access.read_filter is None or not before:
        return new
    chosen = [i for i in load_json_list(new) if isinstance(i, str)]
    seen = readable_ids(target, actor, target_access, before)
    hidden = [i for i in before if i not in seen and i not in chosen]
    if not hidden or (chosen and reader.fields[key].options.get("multiple", True) is False):
        return new
    return json.dumps(chosen + hidden, ensure_ascii=False)


def link_sql(reader: Reader, actor: Actor, key: str, target: Reader, access: TableAccess,
             row_alias: str) -> tuple[str, list[Any]]:
    """SQL for the JSON list of the live records that `row_alias`'s link `key` names and the
    actor may read ('[]' when none): what their filters, sorts and groups compare."""
    assert access.read_filter is not None
    rule, params = target.compile_filter(access.read_filter, actor)
    jname, mine, theirs, _, _ = reader.junction(key)
    ids = reader.ws.storage.dialect.json_group_array("_id")
    return (f"(SELECT {ids} FROM (SELECT _id FROM {target.sql} WHERE _rowid IN "
            f"(SELECT {theirs} FROM {jname} WHERE {mine} = {row_alias}._rowid) AND _deleted_at IS NULL "
            f"AND COALESCE(({rule}), FALSE) ORDER BY _id) AS l)"), params


def restricted_fields(reader: Reader, actor: Actor, access: TableAccess) -> dict[str, Restricted]:
    """The restricted fields of `reader` for this actor, by key (none for admins): lookups and
    rollups whose linked table has a row rule for them, or whose source field is itself
    restricted there (a lookup of a lookup, the rule further along; decided by
    permissions.restricted_source, as the formulas over them are hidden)."""
    if actor.admin or actor.system:
        return {}
    out: dict[str, Restricted] = {}
    targets: dict[str, tuple[Reader, TableAccess]] = {}
    for key, fdef in reader.tdef.fields.items():
        if not fdef.options.get("link") or not access.readable(key):  # lookups and rollups read through a link
            continue
        through = reader.base.bdef.linked_through(reader.tdef, fdef)
        if through is None:
            continue
        link, target_key = through[0], through[1].key
        if target_key not in targets:
            table = reader.base.table(target_key)
            targets[target_key] = (table, table.access(actor))
        target, target_access = targets[target_key]
        if restricted_source(reader.ws.config, reader.base.bdef, reader.tdef, fdef, actor):
            out[key] = Restricted(fdef, link.key, target, target_access)
    return out


def restrict_rows(reader: Reader, rows: list[dict[str, Any]], actor: Actor, access: TableAccess,
                  *, only: set[str] | None = None, depth: int = 0) -> None:
    """Recompute the restricted fields (or those of them in `only`) of stored `rows`, in
    place, from the readable linked records.

    The rows must hold the link columns of those fields. One query per link field for all
    the rows, whatever their number.
    """
    restricted = restricted_fields(reader, actor, access) if rows else {}
    readable: dict[str, set[str]] = {}  # per link field: its ids the actor may read, found for the lookups
    by_link: dict[str, list[tuple[str, Restricted]]] = {}
    for key, item in restricted.items():
        if only is None or key in only:
            by_link.setdefault(item.link, []).append((key, item))
    conn = reader.ws.storage.conn
    for link, items in by_link.items():
        target, target_access = items[0][1].target, items[0][1].access
        ids = sorted({i for row in rows for i in load_json_list(row.get(link)) if isinstance(i, str)})
        found: dict[str, dict[str, Any]] = {}
        if depth < MAX_DEPTH:
            where, params = target.where_sql(actor, target_access, None, None, set())
            for start in range(0, len(ids), CHUNK):
                part = ids[start:start + CHUNK]
                cur = conn.execute(f"SELECT * FROM {target.sql} WHERE _id IN ({', '.join('?' for _ in part)}) AND {where}",
                                   part + params)
                names = [d[0] for d in cur.description]
                for values in cur.fetchall():
                    record = dict(zip(names, values, strict=True))
                    found[record["_id"]] = record
            readable[link] = set(found)
            # A lookup of a lookup: the linked records' own values as this reader sees them.
            sources = {item.fdef.options.get("field", "") for _, item in items}
            restrict_rows(target, list(found.values()), actor, target_access, only=sources, depth=depth + 1)
        for key, item in items:
            source = item.fdef.options.get("field", "")
            if source not in target.fields:
                continue
            for row in rows:
                stored = [found[i].get(source) for i in load_json_list(row.get(link)) if i in found]
                row[key] = linked_value(item.fdef.type, item.fdef.options, target.fields[source], stored)
    # The links themselves, last: the lookups above read every id they stored.
    for link, (target, target_access) in (restricted_links(reader, actor, access) if rows and only is None else {}).items():
        if not any(link in row for row in rows):
            continue  # a page of other fields
        seen = readable.get(link)
        if seen is None:
            seen = readable_ids(target, actor, target_access,
                                sorted({i for row in rows for i in load_json_list(row.get(link)) if isinstance(i, str)}))
        for row in rows:
            if link in row:
                kept = [i for i in load_json_list(row[link]) if i in seen]
                row[link] = json.dumps(kept, ensure_ascii=False) if kept else None


def guard_sql(reader: Reader, actor: Actor, item: Restricted, row_alias: str) -> tuple[str, list[Any]]:
    """SQL true for a row (`row_alias`) of `reader` when every live record it links to through
    the field's link is readable by the actor, so its stored value is what they may see."""
    source = item.fdef.options.get("field", "")
    if source in restricted_fields(item.target, actor, item.access):
        return "FALSE", []  # a lookup of a restricted lookup: never compared on its stored value
    assert item.access.read_filter is not None
    rule, params = item.target.compile_filter(item.access.read_filter, actor)
    jname, mine, theirs, _, _ = reader.junction(item.link)
    # COALESCE: a rule that is NULL for a record (an empty field) does not admit it.
    return (f"NOT EXISTS (SELECT 1 FROM {item.target.sql} WHERE _rowid IN (SELECT {theirs} FROM {jname} "
            f"WHERE {mine} = {row_alias}._rowid) AND _deleted_at IS NULL AND NOT COALESCE(({rule}), FALSE))"), params


@dataclass
class Scope:
    """What one reader's query reads from.

    For most readers, the table. For a reader with restricted fields, the table with a
    guarded copy of each of them, which their filters, sorts, searches and groups use
    (`columns`) instead of the stored value; their row rule still reads the stored values.
    """

    table: str
    guarded: str = ""  # the guarded copies' select list
    params: list[Any] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    restricted: dict[str, Restricted] = field(default_factory=dict)

    def source(self, hint: str = "") -> str:
        """The FROM item, with an index `hint` on the table itself. SQLite flattens the
        subquery, so a guard costs only where a query compares its field."""
        if not self.guarded:
            return f"{self.table}{hint}"
        return f"(SELECT gb_row.*, {self.guarded} FROM {self.table} AS gb_row{hint}) AS {self.table}"


def scope_for(reader: Reader, actor: Actor, access: TableAccess) -> Scope:
    """The Scope of the actor's queries of `reader`."""
    restricted = restricted_fields(reader, actor, access)
    scope = Scope(reader.sql, restricted=restricted)
    guarded = []
    for key, item in restricted.items():
        guard, params = guard_sql(reader, actor, item, "gb_row")
        guarded.append(f"CASE WHEN {guard} THEN gb_row.{q(key)} END AS {q(GUARDED + key)}")
        scope.params += params
        scope.columns[key] = q(GUARDED + key)
    for key, (target, target_access) in restricted_links(reader, actor, access).items():
        sql, params = link_sql(reader, actor, key, target, target_access, "gb_row")
        guarded.append(f"{sql} AS {q(GUARDED + key)}")
        scope.params += params
        scope.columns[key] = q(GUARDED + key)
    scope.guarded = ", ".join(guarded)
    return scope
