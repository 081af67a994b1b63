"""Reading records through the actor's permissions: get, query, count and history (group and
aggregate: engine.aggregates).

A row outside the actor's read rule does not exist for them (`NotFoundError`, and it is not
counted in any total); a field they may not read is left out of every record, history
entry and group; a masked field is masked before it leaves. Reads of tables marked
`sensitive` are written to the access log; reads made inside `one_showing()` (one page) log a
record shown to a person once, however many of its parts the page read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from engine import counts, formula
from engine.errors import NotFoundError, QueryError
from engine.fields.base import FieldType, load_json_list
from engine.interfaces import Base, Page, Workspace
from engine.interfaces import encode_cursor as encode_cursor  # re-exported: the API pages with it
from engine.limits import check_fields, check_search
from engine.linked import Scope, readable_ids, restrict_rows, restricted_links, scope_for
from engine.model import FieldDef
from engine.permissions import Actor, TableAccess, mask_value
from engine.query import FilterCompiler, QueryContext, compile_sort
from engine.schema import FormulaRefs
from engine.storage import junction_name, q, table_name

if TYPE_CHECKING:
    from engine.model import TableDef, ViewDef

MAX_PAGE = 1000
# The furthest a page may start: far beyond any table, and well inside SQLite's 64-bit integers
# (a bigger OFFSET does not fit and fails at binding, not as a request error).
MAX_OFFSET = 2**31 - 1
PROBE = 20_000
WALK = 20_000  # walk the sort field's index when about this many entries will do (see _order_hint)
FORMULA_PAGE = 2000  # rows read at a time by a filter formula evaluated here (_formula_rows)
IN_CHUNK = 500  # record ids in one `_id IN (…)` (fetch_rows): well under SQLite's and psycopg's limits on parameters


# What the current showing (one_showing) has logged: (actor, base, table, action, ids) of each entry.
_shown: ContextVar[set[tuple[str, ...]] | None] = ContextVar("gridbase_shown", default=None)


@contextmanager
def one_showing() -> Iterator[None]:
    """Reads inside this are one showing to a person (one page): an access-log entry the same
    as one already written in it (the record page reads the record for its fields, its history
    and its comments) is not written again, so a page is one entry and one commit waited for."""
    token = _shown.set(set())
    try:
        yield
    finally:
        _shown.reset(token)


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o"):
            raise ValueError
        offset = int(text[1:])
    except (ValueError, UnicodeDecodeError):
        raise QueryError(code="bad_cursor") from None
    return check_offset(offset)


def check_offset(offset: int) -> int:
    """A page's starting row, at least 0; QueryError past MAX_OFFSET."""
    if offset > MAX_OFFSET:
        raise QueryError(code="cursor_too_far", params={"row": MAX_OFFSET})
    return max(0, offset)


def json_list(items: list[str]) -> str:
    """SQL for a JSON array of the SQL expressions `items`, however many: SQLite takes at most
    127 arguments in one function call, so past 100 the rest are appended 60 at a time."""
    sql = f"json_array({', '.join(items[:100])})"
    for start in range(100, len(items), 60):
        appended = ", ".join(f"'$[#]', {item}" for item in items[start:start + 60])
        sql = f"json_insert({sql}, {appended})"
    return sql


class Reader:
    base: Base
    ws: Workspace
    tdef: TableDef
    key: str
    sql: str
    fields: dict[str, FieldType]

    def access(self, actor: Actor) -> TableAccess:  # pragma: no cover - provided by Table
        raise NotImplementedError

    def junction(self, key: str) -> tuple[str, str, str, TableDef, str | None]:
        """(junction sql name, my column, other column, other table, other side's field key)."""
        fdef = self.tdef.fields[key]
        other = self.base.bdef.tables[fdef.options["table"]]
        if fdef.inverse_of:
            src_table, src_field = fdef.inverse_of.split(".", 1)
            return q(junction_name(self.base.key, src_table, src_field)), "dst", "src", other, src_field
        inverse = fdef.options.get("inverse")
        return q(junction_name(self.base.key, self.key, key)), "src", "dst", other, inverse if inverse in other.fields else None

    # -- filters -----------------------------------------------------------------------
    def _context(self, actor: Actor, visible: set[str] | None = None, columns: dict[str, str] | None = None,
                 *, check: bool = False) -> QueryContext:
        fields = self.fields if visible is None else {k: v for k, v in self.fields.items() if k in visible}
        ctx = QueryContext(fields=fields, actor=actor, tz=self.ws.tz, now=self.ws.now(), columns=dict(columns or {}))
        for key, ftype in fields.items():
            if ftype.links and key not in ctx.columns:  # else the reader's readable ids (Scope)
                jname, mine, theirs, other, _ = self.junction(key)
                # "links to record X" through the junction's indexes instead of a scan of every
                # row's JSON list of ids; like that list (see Table._linked_ids), live records only.
                ctx.link_member[key] = (f"_rowid IN (SELECT j.{mine} FROM {jname} j JOIN "
                                        f"{q(table_name(self.base.key, other.key))} o ON o._rowid = j.{theirs} "
                                        "WHERE o._id = ? AND o._deleted_at IS NULL)")
        ctx.formula_sql = lambda text: self.formula_sql(text, visible, columns, actor, check=check)
        return ctx

    def compile_filter(self, flt: Any, actor: Actor, visible: set[str] | None = None,
                       columns: dict[str, str] | None = None, *, check: bool = False) -> tuple[str, list[Any]]:
        """SQL for a filter; `visible` limits the fields it may name, `columns` replaces some
        fields' columns (a reader's guarded lookups, see Scope). With `check`, the filter is only
        checked (QueryError if it cannot be asked): its SQL is not meant to run, so a formula
        SQL cannot express is not evaluated over the table for it."""
        return FilterCompiler(self._context(actor, visible, columns, check=check)).compile(flt)

    def formula_sql(self, text: str, visible: set[str] | None = None,
                    columns: dict[str, str] | None = None, actor: Actor | None = None,
                    *, check: bool = False) -> tuple[str, list[Any]]:
        """SQL for a formula filter: compiled when possible, else evaluated per row (not when
        only `check`ing it: see compile_filter)."""
        probe = FieldDef("_filter", "formula", "filter", {"formula": text})
        try:  # a field the reader may not filter on is unknown to them, and never suggested
            refs = FormulaRefs(self.tdef, probe, readable=visible)
        except ValueError as exc:
            raise QueryError(code="formula_invalid", params={"problem": str(exc)}) from None

        cols = columns or {}

        def column(name: str) -> Any:
            key = refs.keys[name]
            return formula.Column(sql=cols.get(key) or q(key), kind=self.fields[key].kind)

        try:
            return formula.compile_sql(refs.node, column, tz=self.ws.config.timezone, now=self.ws.now(),
                                       dialect=self.ws.storage.dialect)
        except formula.NotCompilable:
            pass
        keys = sorted(set(refs.keys.values()))
        # The record's id and times first (RECORD_ID(), CREATED_TIME(), LAST_MODIFIED_TIME()), then the fields.
        exprs = ["_id", "_created_at", "_modified_at"] + [cols.get(k) or q(k) for k in keys]
        where = json.dumps([self.base.key, self.key, keys])
        if not self.ws.storage.dialect.runs_python:
            if check:  # a whole pass over the table (outside any read's budget) only to be dropped
                return "1 = 1", []
            return self._formula_rows(text, where, exprs, actor if cols else None)
        self.ws.ensure_formula_function()
        return (f"gb_formula(?, ?, {json_list(exprs)})", [text, where])

    def _formula_rows(self, text: str, where: str, exprs: list[str], actor: Actor | None) -> tuple[str, list[Any]]:
        """A filter formula SQL cannot express on a store whose SQL calls no Python (PostgreSQL):
        evaluated here over every row of the table, as SQLite's gb_formula evaluates it row by
        row, in the same snapshot; the rows it holds for become a parameter of the WHERE, so the
        rest of the query (the other conditions, the order, the page, the count) stays SQL.
        The rows are read FORMULA_PAGE at a time in key order (a table of millions is never in
        memory at once; only the keys of the rows that match are kept).
        With `actor`, the fields' columns are their guarded copies in the actor's Scope."""
        dialect = self.ws.storage.dialect
        cache: dict[tuple[str, str], Any] = {}
        source, params = q(table_name(self.base.key, self.key)), []
        if actor is not None:
            scope = scope_for(self, actor, self.access(actor))
            source, params = scope.source(), scope.params
        page = f"SELECT _rowid, {', '.join(exprs)} FROM {source} WHERE _rowid > ? ORDER BY _rowid LIMIT ?"  # noqa: S608
        held: list[int] = []
        after = -(2**63)
        while True:
            rows = self.ws.storage.conn.execute(page, [*params, after, FORMULA_PAGE]).fetchall()
            held += [row[0] for row in rows if self.ws.formula_filter_truth(text, where, list(row[1:]), cache)]
            if len(rows) < FORMULA_PAGE:
                break
            after = rows[-1][0]
        return (f"_rowid IN (SELECT CAST(m.value AS INTEGER) FROM {dialect.json_values('?', 'm')})",
                [json.dumps(held)])

    def where_sql(self, actor: Actor, access: TableAccess, flt: Any, search: str | None,
                  visible: set[str], *, deleted: bool = False, columns: dict[str, str] | None = None) -> tuple[str, list[Any]]:
        """WHERE text: live (or deleted) rows, the actor's row rule on the stored values, and
        their filter and search on what they see (`columns`, see Scope)."""
        parts = ["_deleted_at IS NOT NULL" if deleted else "_deleted_at IS NULL"]
        params: list[Any] = []
        if access.read_filter is not None:
            sql, p = self.compile_filter(access.read_filter, actor)
            parts.append(sql)
            params += p
        if flt:
            sql, p = self.compile_filter(flt, actor, visible, columns)
            parts.append(sql)
            params += p
        if search:
            sql, p = self._search_sql(search, access, visible, columns or {})
            if sql:
                parts.append(sql)
                params += p
        return " AND ".join(parts), params

    def _search_sql(self, search: str, access: TableAccess, visible: set[str],
                    columns: dict[str, str]) -> tuple[str, list[Any]]:
        """Free-text search over the columns the actor may filter, matched as they are shown."""
        # LIKE folds ASCII case as lower() does, at half the cost of instr(lower(...)):
        # this is a scan of every matching column.
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds: list[str] = []
        params: list[Any] = []
        for key in sorted(visible):
            field = self.fields[key]
            if access.mask(key):
                continue
            found = field.search_sql(columns.get(key) or q(key), pattern)
            if found is not None:
                conds.append(found[0])
                params += found[1]
        return ("(" + " OR ".join(conds) + ")" if conds else ""), params

    # -- output ------------------------------------------------------------------------
    def present(self, row: dict[str, Any], access: TableAccess, fields: list[str] | None = None) -> dict[str, Any]:
        """A stored row as the actor may see it: {id, createdTime, fields}."""
        out: dict[str, Any] = {}
        for key in fields or list(self.fields):
            if key not in self.fields or not access.readable(key):
                continue
            value = self.fields[key].load(row.get(key))
            if value is None or value == [] or value == "":
                continue
            mask = access.mask(key)
            if mask:
                value = mask_value(self.fields[key].display(row.get(key)), mask)
            out[key] = value
        created = str(row.get("_created_at", ""))
        return {"id": row["_id"], "createdTime": created[:-1] + ".000Z" if created.endswith("Z") else created,
                "fields": out, "_rowid": row.get("_rowid")}

    def display(self, record: dict[str, Any], key: str, access: TableAccess | None = None) -> str:
        """Display text of one field of a presented record."""
        value = record["fields"].get(key)
        if value is None:
            return ""
        if access is not None and access.mask(key):
            return str(value)
        field = self.fields[key]
        stored: Any = value
        if field.kind == "array" or isinstance(value, list):
            stored = json.dumps(value, ensure_ascii=False)
        elif field.kind == "datetime" and isinstance(value, str):  # stored to the second, shown by the API with .000Z
            stored = value.replace(".000Z", "Z")
        elif field.kind == "boolean":
            stored = 1 if value else 0
        return field.display(stored)

    def fetch_row(self, record_id: str, access: TableAccess, actor: Actor, *, deleted: bool = False) -> dict[str, Any] | None:
        rows = self.fetch_rows([record_id], access, actor, deleted=deleted)
        return rows[0] if rows else None

    def fetch_rows(self, record_ids: list[str], access: TableAccess, actor: Actor, *,
                   deleted: bool = False) -> list[dict[str, Any]]:
        """`fetch_row` of many records (those that exist for the actor), a statement for each
        IN_CHUNK of them, not one each (the linked records of a grid page)."""
        where, params = self.where_sql(actor, access, None, None, set(self.fields), deleted=deleted)
        rows: list[dict[str, Any]] = []
        for at in range(0, len(record_ids), IN_CHUNK):
            chunk = record_ids[at:at + IN_CHUNK]
            cur = self.ws.storage.conn.execute(
                f"SELECT * FROM {self.sql} WHERE _id IN ({', '.join('?' * len(chunk))}) AND {where}", [*chunk, *params])
            names = [d[0] for d in cur.description]
            rows.extend(dict(zip(names, values, strict=True)) for values in cur.fetchall())
        return rows

    def _scope(self, actor: Actor, access: TableAccess) -> Scope:
        return scope_for(self, actor, access)

    def _log_read(self, actor: Actor, ids: list[str], action: str) -> None:
        if self.tdef.sensitive and ids and actor.is_person:
            shown, entry = _shown.get(), (actor.key, self.base.key, self.key, action, *ids)
            if shown is not None and entry in shown:
                return
            self.ws.log_access(actor, self.base.key, self.key, ids, action)
            if shown is not None:
                shown.add(entry)

    def get(self, record_id: str, *, actor: Actor | str) -> dict[str, Any]:
        """One record as the actor may see it; NotFoundError if it does not exist for them."""
        actor, access = self._reader(actor)
        with self.ws.storage.reading():
            row = self.fetch_row(record_id, access, actor)
            if row is not None:
                restrict_rows(self, [row], actor, access)
        if row is None:
            raise NotFoundError(code="record_not_found", params={"record": record_id})
        self._log_read(actor, [record_id], "get")
        return self.present(row, access)

    def _reader(self, who: Actor | str) -> tuple[Actor, TableAccess]:
        """The actor and their access; a table they may not read does not exist for them."""
        actor = self.ws.actor(who)
        access = self.access(actor)
        if not access.can_read:
            raise NotFoundError(code="unknown_table", params={"table": self.key})
        return actor, access

    def _filterable(self, access: TableAccess) -> set[str]:
        """Fields the actor may filter, sort and group on: readable and not masked, since a
        masked field probed one filter at a time would reveal what the mask hides."""
        return {k for k in self.fields if access.readable(k) and not access.mask(k)}

    def usable_views(self, actor: Actor | str, views: Iterable[ViewDef] | None = None) -> list[ViewDef]:
        """The views (of `views`, else all the table's) the actor may use: every field a view
        filters, sorts, groups or places by is one they may filter on. A view of fields a person
        cannot see would fail for them, or sort and sift by what they are not told."""
        actor, access = self._reader(actor)
        visible = self._filterable(access)  # decided once for all the views
        out = []
        for vdef in self.tdef.views.values() if views is None else views:
            keys = [str(s).lstrip("-+") for s in vdef.sort] + [k for k in (vdef.group_by, vdef.date_field) if k]
            if any(k not in visible for k in keys):
                continue
            if vdef.filter:
                try:
                    self.compile_filter(vdef.filter, actor, visible, check=True)
                except QueryError:
                    continue
            out.append(vdef)
        return out

    def usable_view(self, vdef: ViewDef, actor: Actor | str) -> bool:
        """Whether the actor may use this one view (see usable_views)."""
        return bool(self.usable_views(actor, [vdef]))

    def title_of(self, record_id: str, actor: Actor | str) -> str | None:
        """The record's primary-field text as the actor sees it (its id when that is empty), or
        None when they may not read the record or its primary field: how a link names it."""
        actor = self.ws.actor(actor)
        access = self.access(actor)
        primary = self.tdef.primary
        if not access.can_read or not access.readable(primary):
            return None
        try:
            rec = self.get(record_id, actor=actor)
        except NotFoundError:
            return None  # deleted, or outside the actor's rows
        return self.display(rec, primary, access) or record_id

    def titles_of(self, record_ids: Iterable[str], actor: Actor | str) -> dict[str, str | None]:
        """`title_of` for many records at once (the links of a grid page): one snapshot, and
        one access-log entry for the records read instead of one write per record."""
        actor = self.ws.actor(actor)
        access = self.access(actor)
        wanted = list(dict.fromkeys(record_ids))
        primary = self.tdef.primary
        if not access.can_read or not access.readable(primary):
            return dict.fromkeys(wanted)
        with self.ws.storage.reading():
            found = self.fetch_rows(wanted, access, actor)
            restrict_rows(self, found, actor, access)
        rows = {row["_id"]: row for row in found}
        self._log_read(actor, list(rows), "get")
        return {rid: (self.display(self.present(rows[rid], access), primary, access) or rid) if rid in rows else None
                for rid in wanted}

    def readable_by(self, record_id: str, actor: Actor | str) -> bool:
        """Whether the record exists for the actor (no access-log entry)."""
        actor = self.ws.actor(actor)
        access = self.access(actor)
        if not access.can_read:
            return False
        with self.ws.storage.reading():
            return self.fetch_row(record_id, access, actor) is not None

    def visible_fields(self, actor: Actor) -> list[str]:
        access = self.access(actor)
        return [k for k in self.fields if access.readable(k)]

    def query(self, *, actor: Actor | str, filter: Any = None, sort: list[str] | None = None, limit: int = 100,
              offset: int | str | None = 0, search: str | None = None, fields: list[str] | None = None,
              with_total: bool = True, deleted: bool = False, reverse: bool = False,
              known_total: bool = False) -> Page:
        """Records matching `filter`, sorted, one page at a time; with `reverse`, counted from
        the end (offset 0 is the last record, read last first): the grid's last rows of a big
        view without skipping every row before them. The total is kept between calls
        (engine.counts); with `known_total` and not `with_total`, the page carries the kept
        total when it still holds and otherwise `meta["estimate"]`, the last one counted."""
        with self.ws.storage.reading():  # the actor's row and the page in one snapshot (one transaction on PostgreSQL)
            actor, access = self._reader(actor)
            fields = check_fields(fields)
            check_search(search)
            readable = {k for k in self.fields if access.readable(k)}
            for key in fields or []:
                if key not in readable:
                    raise QueryError(code="unknown_field", params={"field": key})
            visible = self._filterable(access)
            for item in sort or []:
                if str(item).lstrip("-+") not in visible:
                    raise QueryError(code="unknown_sort_field", params={"field": str(item).lstrip("-+")})
            start = decode_cursor(offset) if isinstance(offset, str) else check_offset(int(offset or 0))
            limit = max(1, min(int(limit), MAX_PAGE))
            scope = self._scope(actor, access)
            where, params = self.where_sql(actor, access, filter, search, visible, deleted=deleted, columns=scope.columns)
            params = scope.params + params
            order = compile_sort(self.fields, sort, scope.columns, reverse=reverse, dialect=self.ws.storage.dialect)
            keys = list(fields or sorted(readable))
            keys += [link for link in sorted({r.link for r in scope.restricted.values()}) if link not in keys]
            cols = ", ".join([q("_rowid"), q("_id"), q("_created_at")] + [q(k) for k in keys])
            total = None
            hint = ""
            estimate = None
            if with_total:
                total = counts.of(self.ws.storage).count(self.ws.storage, self.ws.outbox, self.ws.storage.conn,
                                                         scope.source(), where, params)
                hint = self._order_hint(sort, total, start + limit, scope.columns)
            elif known_total:
                total, estimate = counts.of(self.ws.storage).known(self.ws.storage, self.ws.outbox, self.ws.storage.conn,
                                                                   scope.source(), where, params)
                if total is not None:
                    hint = self._order_hint(sort, total, start + limit, scope.columns)
            page_sql = f"SELECT {cols} FROM {scope.source()} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
            if total is None and sort and self.ws.storage.dialect.index_hints \
                    and (in_table := self._row_estimate()) >= 50_000 \
                    and self._sorts_every_match(page_sql, params + [limit + 1, start]):
                # No total wanted: a count capped where walking the sort index starts to pay
                # (see _order_hint) costs little and still tells whether to walk it. Not
                # needed when the planner walks an index in the sort's order already (a range
                # on the sort field): the hint would choose that same walk.
                enough = min(PROBE, (start + limit) * in_table // WALK + 1)
                probe = int(self.ws.storage.conn.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {scope.source()} WHERE {where} LIMIT {enough}) AS probe", params).fetchone()[0])
                hint = self._order_hint(sort, probe, start + limit, scope.columns) if probe >= enough else ""
            cur = self.ws.storage.conn.execute(
                f"SELECT {cols} FROM {scope.source(hint)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                params + [limit + 1, start])
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            restrict_rows(self, rows[:limit], actor, access)
        more = len(rows) > limit
        rows = rows[:limit]
        records = [self.present(r, access, fields) for r in rows]
        self._log_read(actor, [r["id"] for r in records], "query")
        return Page(records, total, start, start + limit if more else None,
                    meta={"estimate": estimate} if estimate is not None else {})

    def _order_hint(self, sort: list[str] | None, matched: int, needed: int, columns: dict[str, str]) -> str:
        """Walk the sort field's index when the rows asked for will turn up early in it.

        SQLite's planner prefers the filter's index and then sorts every match, which for a
        filter matching a third of a million rows costs 135 ms for 50 rows; walking the sort
        index in order and skipping non-matches costs under 10 ms. The row count we already
        have says how far that walk goes: about needed × rows / matched entries.
        """
        if not sort or not matched or not self.ws.storage.dialect.index_hints:
            return ""
        key = str(sort[0]).lstrip("-+")
        field = self.fields.get(key)
        # An index helps only when the sort key is the column itself (not an option order or a name).
        if field is None or key in columns or field.kind == "array" or field.sort_sql(q(key)) != q(key):
            return ""
        rows = self._row_estimate()
        if rows < 50_000 or needed * rows / matched > WALK:
            return ""
        index = f"idx__{self.base.key}__{self.key}__{key}"
        if index not in self._index_names():
            return ""
        return f" INDEXED BY {q(index)}"

    def _sorts_every_match(self, sql: str, params: list[Any]) -> bool:
        """Whether SQLite's plan for `sql` gathers every match and sorts them (rather than
        reading an index in the sort's order and stopping after the page): its query plan
        says so in a step of its own. Reached only where sqlite_stat1 gave a row estimate."""
        plan = self.ws.storage.conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return any(str(step[-1]) == "USE TEMP B-TREE FOR ORDER BY" for step in plan)

    def _row_estimate(self) -> int:
        row = self.ws.storage.conn.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = ? AND idx IS NULL OR "
                                           "(tbl = ? AND idx LIKE 'sqlite_autoindex%') LIMIT 1",
                                           (self.sql.strip('"'), self.sql.strip('"'))).fetchone() \
            if self._has_stats() else None
        try:
            return int(str(row[0]).split()[0]) if row else 0
        except ValueError:
            return 0

    def _has_stats(self) -> bool:
        return self.ws.storage.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'").fetchone() is not None

    def _index_names(self) -> set[str]:
        return {r[0] for r in self.ws.storage.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (self.sql.strip('"'),))}

    def count(self, *, actor: Actor | str, filter: Any = None) -> int:
        actor, access = self._reader(actor)
        visible = self._filterable(access)
        scope = self._scope(actor, access)
        with self.ws.storage.reading():
            where, params = self.where_sql(actor, access, filter, None, visible, columns=scope.columns)
            return counts.of(self.ws.storage).count(self.ws.storage, self.ws.outbox, self.ws.storage.conn,
                                                    scope.source(), where, scope.params + params)

    def history(self, record_id: str, *, actor: Actor | str) -> list[dict[str, Any]]:
        """The record's audit entries, limited to fields the actor may read; an automation's
        entry names, as `on_behalf`, the person (or form) whose write it carried on."""
        actor = self.ws.actor(actor)
        self.get(record_id, actor=actor)
        access = self.access(actor)
        out = []
        expanded: list[tuple[Any, ...]] = []
        behalf: dict[int, str | None] = {}
        for e in self.ws.audit.for_record(self.base.key, self.key, record_id):
            entry_id, at, who, action, fkey, old, new = e.id, e.at, e.actor, e.action, e.field, e.old, e.new
            behalf[entry_id] = e.on_behalf
            if action == "create" and fkey is None and new:
                for key, value in json.loads(new).items():
                    expanded.append((entry_id, at, who, action, key, None, json.dumps(value, ensure_ascii=False)))
            else:
                expanded.append((entry_id, at, who, action, fkey, old, new))
        links = restricted_links(self, actor, access)
        seen: dict[str, set[str]] = {}  # per restricted link: the ids its history names that the actor may read
        for key, (target, target_access) in links.items():
            named = {i for e in expanded if e[4] == key for raw in e[5:7] if raw is not None
                     for i in load_json_list(json.loads(raw)) if isinstance(i, str)}
            seen[key] = readable_ids(target, actor, target_access, sorted(named))
        for entry_id, at, who, action, fkey, old, new in expanded:
            if fkey is not None and (fkey not in self.fields or not access.readable(fkey)):
                continue
            entry = {"id": entry_id, "at": at, "actor": who, "action": action, "field": fkey, "old": None, "new": None,
                     "on_behalf": behalf[entry_id]}
            if fkey is not None:
                mask = access.mask(fkey)
                if fkey in seen:  # a link names only the records the actor may read
                    old, new = (_only(raw, seen[fkey]) for raw in (old, new))
                    if old == new:
                        continue  # a change of records they do not see
                for side, raw in (("old", old), ("new", new)):
                    stored = json.loads(raw) if raw is not None else None
                    text = self.fields[fkey].display(stored)
                    entry[side] = mask_value(text, mask) if mask and text else text
            out.append(entry)
        return out


def _only(raw: str | None, ids: set[str]) -> str | None:
    """An audit entry's link value (JSON of a JSON list of ids) with only the ids in `ids`."""
    kept = [i for i in load_json_list(json.loads(raw)) if i in ids] if raw is not None else []
    return json.dumps(json.dumps(kept)) if kept else None
