"""Pivot tables: one figure per (row value, column value) of two fields, with totals, computed in SQL.

Words: a pivot has two *dimensions*, the fields whose values make its `rows` and its `columns`
(a list field such as a multiple select counts a record once under each of its values; dates
are grouped by day, week or month), and an *aggregate* of the records in each *cell*: count, sum
or avg of a number field. The *totals* (each row's, each column's, the whole table's) are figures
of their records: an average total is the average of its records, not of its cells' averages
(each cell brings its record count, sum and count of values from the one GROUP BY), and a record under two values of a list field is
counted once in a total (a list dimension's totals are counted from the records again).

It reads through the viewer's permissions like every other read (`engine.reads`): rows outside
their read rule never count, and a field they may not read, or see only masked, cannot be a
dimension or the summed field (QueryError, as for a chart's `group_by`). The SQL is written once
for both stores: placeholders, `dialect` for JSON lists and days, GROUP BY output names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import QueryError
from engine.storage import q

if TYPE_CHECKING:
    from engine.permissions import Actor
    from engine.records import Table

AGGREGATES = ("count", "sum", "avg")


@dataclass
class Pivot:
    """The figures of a pivot: row and column values in the stores' order, each cell's figure
    (absent: no record), the totals per row and per column and the grand total."""

    rows: list[Any] = field(default_factory=list)
    columns: list[Any] = field(default_factory=list)
    cells: dict[tuple[Any, Any], float] = field(default_factory=dict)
    row_totals: dict[Any, float] = field(default_factory=dict)
    column_totals: dict[Any, float] = field(default_factory=dict)
    total: float = 0.0


def pivot(table: Table, *, actor: Actor | str, rows: str, columns: str, aggregate: str = "count",
          field: str | None = None, filter: Any = None, bucket: str | None = None) -> Pivot:
    """The pivot of `table` by `rows` × `columns` for `actor` (see the module)."""
    actor, access = table._reader(actor)
    visible = table._filterable(access)
    for key in (rows, columns, field):
        if key is not None and key not in visible:
            raise QueryError(code="unknown_field", params={"field": key})
    if aggregate not in AGGREGATES:
        raise QueryError(code="unknown_aggregate", params={"aggregate": aggregate})
    if aggregate != "count" and not field:
        raise QueryError(code="aggregate_needs_field", params={"aggregate": aggregate})
    dialect = table.ws.storage.dialect
    scope = table._scope(actor, access)
    joins: list[str] = []
    dims: list[str] = []
    for alias, key in (("pr", rows), ("pc", columns)):
        fld = table.fields[key]
        col = scope.columns.get(key) or q(key)
        if fld.kind == "array":
            joins.append(dialect.json_values(f"COALESCE({table.sql}.{col}, '[]')", alias))
            dims.append(f"{alias}.value")
        elif fld.kind in ("date", "datetime"):
            dims.append(table._bucket_sql(col, fld.kind, bucket or "day"))
        else:
            dims.append(col)
    measure = ["count(*)"]
    if field:
        value = scope.columns.get(field) or q(field)
        several = table.fields[field].numbers_sql(value)
        measure = ["count(*)", f"sum({several[0]})", f"sum({several[1]})"] if several \
            else ["count(*)", f"sum({value})", f"count({value})"]
    source = scope.source() + "".join(", " + j for j in joins)

    def figure(row: tuple[Any, ...]) -> float:
        if aggregate == "count":
            return float(row[0] or 0)
        if aggregate == "sum":
            return float(row[1] or 0)
        return float(row[1] or 0) / float(row[2]) if row[2] else 0.0

    out = Pivot()
    with table.ws.storage.reading():
        cond, params = table.where_sql(actor, access, filter, None, visible, columns=scope.columns)
        args = scope.params + params
        conn = table.ws.storage.conn
        cells = conn.execute(f"SELECT {dims[0]} AS _pr, {dims[1]} AS _pc, {', '.join(measure)} FROM {source} "
                             f"WHERE {cond} GROUP BY _pr, _pc ORDER BY _pr, _pc", args).fetchall()
        # Each total folds the parts (record count, sum, count of values) of its cells: exact for an
        # average too, since every record sits in exactly one cell...
        parts: dict[tuple[str, Any], list[float]] = {}
        for r in cells:
            out.cells[(r[0], r[1])] = figure(tuple(r[2:]))
            if ("r", r[0]) not in parts:
                out.rows.append(r[0])
            for total in (("r", r[0]), ("c", r[1]), ("t", None)):
                acc = parts.setdefault(total, [0.0] * len(measure))
                for i, v in enumerate(r[2:]):
                    acc[i] += float(v or 0)
        for (kind, key), acc in parts.items():
            if kind == "r":
                out.row_totals[key] = figure(tuple(acc))
            elif kind == "c":
                out.column_totals[key] = figure(tuple(acc))
            else:
                out.total = figure(tuple(acc))
        out.columns = sorted(out.column_totals, key=lambda k: (k is None, "" if k is None else k))
        if not cells or not joins:
            return out
        # ...except over a list field, where a record sits in several cells: its totals are counted
        # from the records again (one GROUP BY a level up, and the whole).
        for i, totals in ((0, out.row_totals), (1, out.column_totals)):
            for r in conn.execute(f"SELECT {dims[i]} AS _pd, {', '.join(measure)} FROM {total_source(table, scope, joins, i)} "
                                  f"WHERE {cond} GROUP BY _pd", args).fetchall():
                totals[r[0]] = figure(tuple(r[1:]))
        row = conn.execute(f"SELECT {', '.join(measure)} FROM {scope.source()} WHERE {cond}", args).fetchone()
        out.total = figure(tuple(row))
    return out


def total_source(table: Table, scope: Any, joins: list[str], dim: int) -> str:
    """The FROM of the totals per value of dimension `dim` (0: rows, 1: columns): the table, and
    that dimension's list values when it is a list field."""
    alias = ("pr", "pc")[dim]
    own = [j for j in joins if j.rstrip().endswith(f"AS {alias}") or f"AS {alias}(" in j]
    return str(scope.source()) + "".join(", " + j for j in own)
