"""The grid's summary bar: figures per column over every row of a view a person may read.

A *figure* is one of count (rows), filled, empty, sum, avg, min, max. Which figures a column
gets is its field type's `summaries`, or else its kind's (numbers add sum, average, min and
max; dates min and max). All figures come from one SQL query over the same rows the grid
shows: the person's row rule, the view's filter and their search, with linked values as the
reader may see them (engine.linked.Scope). A field they may not read, or whose values a mask
covers, gets no figure: a sum or a minimum would tell what the mask hides.
"""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldType
from engine.permissions import Actor
from engine.reads import Reader
from engine.storage import q

FIGURES = ("count", "filled", "empty", "sum", "avg", "min", "max")
BY_KIND: dict[str, tuple[str, ...]] = {
    "number": ("count", "filled", "empty", "sum", "avg", "min", "max"),
    "date": ("count", "filled", "empty", "min", "max"),
    "datetime": ("count", "filled", "empty", "min", "max"),
}
PLAIN = ("count", "filled", "empty")


def figures_of(ftype: FieldType) -> tuple[str, ...]:
    """The figures a column of this type shows (its `summaries`, else by kind)."""
    own = getattr(ftype, "summaries", None)
    chosen = own if own is not None else BY_KIND.get(ftype.kind, PLAIN)
    return tuple(f for f in chosen if f in FIGURES)


def summarize(table: Reader, *, actor: Actor | str, fields: list[str], filter: Any = None,
              search: str | None = None) -> dict[str, dict[str, str]]:
    """{field: {figure: text}} for the `fields` the actor may summarise, as display text."""
    actor, access = table._reader(actor)
    visible = table._filterable(access)  # readable and not masked
    scope = table._scope(actor, access)
    exprs = ["count(*)"]
    plan: list[tuple[str, str, int]] = []  # (field, figure, column of the result)
    for key in fields:
        if key not in visible or key not in table.fields:
            continue
        ftype = table.fields[key]
        col = scope.columns.get(key) or q(key)
        for figure in figures_of(ftype):
            if figure == "count":
                plan.append((key, figure, 0))
                continue
            if figure == "filled" or figure == "empty":
                expr = f"sum(CASE WHEN {ftype.empty_sql(col)} THEN 0 ELSE 1 END)"
            else:
                expr = f"{figure}({col})"
            if expr not in exprs:
                exprs.append(expr)
            plan.append((key, figure, exprs.index(expr)))
    with table.ws.storage.reading():
        where, params = table.where_sql(actor, access, filter, search, visible, columns=scope.columns)
        row = table.ws.storage.conn.execute(f"SELECT {', '.join(exprs)} FROM {scope.source()} WHERE {where}",  # noqa: S608
                                            scope.params + params).fetchone()
    total = int(row[0] or 0)
    out: dict[str, dict[str, str]] = {}
    for key, figure, index in plan:
        value = row[index]
        ftype = table.fields[key]
        if figure == "count":
            text = str(total)
        elif figure == "filled":
            text = str(int(value or 0))
        elif figure == "empty":
            text = str(total - int(value or 0))
        elif value is None:
            text = ""
        else:
            text = ftype.display(value)
        out.setdefault(key, {})[figure] = text
    return out


def rows_about(table: Reader) -> int:
    """About how many rows the table holds, from the planner's statistics (0 when it has none,
    as a small table that was never analysed): whether counting a view's rows is cheap."""
    return table._row_estimate()
