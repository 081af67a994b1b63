"""Aggregates over the rows an actor may read: counts, sums, averages and shares, per group or in all.

This module owns the SQL of dashboards' numbers and charts (`group`: one number per value of
a field, dates folded into days, weeks or months; `aggregate`: one number over the rows). Both
read through the same permission scope and filters as engine.reads (a row outside the actor's
read rule is not counted, a field they may not read cannot be grouped or summed) and run in
SQL: a count per stored value is answered from the field's index, then folded into buckets
over a few hundred rows instead of a million. `Aggregates` is a part of `Table`
(engine.records).

Words: an *aggregate* is count, sum, avg or percent (the share of rows that also match
`where`); a *bucket* is day, week or month.
"""

from __future__ import annotations

from typing import Any

from engine.errors import QueryError
from engine.permissions import Actor
from engine.reads import Reader
from engine.storage import q


class Aggregates(Reader):
    """group and aggregate of one table (a part of engine.records `Table`)."""

    def group(self, *, actor: Actor | str, by: str, aggregate: str = "count", field: str | None = None,
              filter: Any = None, bucket: str | None = None, where: Any = None) -> list[tuple[Any, float]]:
        """Aggregates per group, computed in SQL: [(group value, number)].

        `aggregate` is count, sum, avg or percent (the share of the group's rows that also
        match `where`). Array fields count once per value; dates group by day, week or month.
        """
        actor, access = self._reader(actor)
        visible = self._filterable(access)
        if by not in visible or (field is not None and field not in visible):
            raise QueryError(code="unknown_field", params={"field": by if by not in visible else field})
        fby = self.fields[by]
        dialect = self.ws.storage.dialect
        scope = self._scope(actor, access)
        col = scope.columns.get(by) or q(by)
        join = ""
        if fby.kind == "array":
            join = ", " + dialect.json_values(f"COALESCE({self.sql}.{col}, '[]')", "je")
            raw, outer = "je.value", "d"
        elif fby.kind == "datetime":
            raw, outer = dialect.local_day(col, self.ws.tz_offset_modifier()), self._bucket_sql("d", "date", bucket or "day")
        elif fby.kind == "date":
            raw, outer = col, self._bucket_sql("d", "date", bucket or "day")
        else:
            raw, outer = col, "d"
        # Two stages: aggregate per stored value (an index can answer that), then fold the
        # values into buckets (weeks, months) over a few hundred rows instead of a million.
        parts = ["count(*) AS c"]
        vparams: list[Any] = []
        if aggregate in ("sum", "avg"):
            if not field:
                raise QueryError(code="aggregate_needs_field", params={"aggregate": aggregate})
            value = scope.columns.get(field) or q(field)
            several = self.fields[field].numbers_sql(value)
            sums, counts = (f"sum({several[0]})", f"sum({several[1]})") if several else (f"sum({value})", f"count({value})")
            parts += [f"{sums} AS s", f"{counts} AS n"]
            fold = "sum(s)" if aggregate == "sum" else f"sum(s) / {dialect.greatest('sum(n)', '1')}"
        elif aggregate == "percent":
            wsql, vparams = self.compile_filter(where or {}, actor, visible, scope.columns)
            parts.append(f"sum(CASE WHEN {wsql} THEN 1 ELSE 0 END) AS w")
            fold = f"100.0 * sum(w) / {dialect.greatest('sum(c)', '1')}"
        elif aggregate == "count":
            fold = "sum(c)"
        else:
            raise QueryError(code="unknown_aggregate", params={"aggregate": aggregate})
        with self.ws.storage.reading():
            cond, params = self.where_sql(actor, access, filter, None, visible, columns=scope.columns)
            # A count per value is answered from the field's own index; anything that reads
            # other columns over the whole table is faster as one plain scan.
            whole = not filter and access.read_filter is None
            pair = f"idx__{self.base.key}__{self.key}__{by}__{field}___deleted_at"  # engine.dashindexes.index_name (short)
            covered = field is not None and not join and pair in self._index_names()
            if whole and covered:
                hint = f" INDEXED BY {q(pair)}"  # the planner does not always see it answers alone
            else:
                hint = " NOT INDEXED" if whole and (aggregate != "count" or join) else ""
            # GROUP BY 1, not the name d: PostgreSQL reads a name as the table's column first (a field named d).
            inner = f"SELECT {raw} AS d, {', '.join(parts)} FROM {scope.source(hint)}{join} WHERE {cond} GROUP BY 1"
            # The empty group first on both stores (PostgreSQL puts NULL last by default).
            sql = (f"SELECT k, v FROM (SELECT {outer} AS k, {fold} AS v FROM ({inner}) AS g GROUP BY k) AS r "
                   "ORDER BY k IS NOT NULL, k")
            rows = self.ws.storage.conn.execute(sql, vparams + scope.params + params).fetchall()
        return [(k, float(v or 0)) for k, v in rows]

    def aggregate(self, *, actor: Actor | str, aggregate: str = "count", field: str | None = None,
                  filter: Any = None, where: Any = None) -> float:
        """One number over the rows the actor may read (count, sum, avg or percent)."""
        actor, access = self._reader(actor)
        visible = self._filterable(access)
        if field is not None and field not in visible:
            raise QueryError(code="unknown_field", params={"field": field})
        scope = self._scope(actor, access)
        vsql, vparams = self._aggregate_sql(aggregate, field, actor, visible, where, scope.columns)
        with self.ws.storage.reading():
            cond, params = self.where_sql(actor, access, filter, None, visible, columns=scope.columns)
            row = self.ws.storage.conn.execute(f"SELECT {vsql} FROM {scope.source()} WHERE {cond}",
                                               vparams + scope.params + params).fetchone()
        return float(row[0] or 0)

    def _aggregate_sql(self, aggregate: str, field: str | None, actor: Actor, visible: set[str], where: Any,
                       columns: dict[str, str]) -> tuple[str, list[Any]]:
        if aggregate == "count":
            return "count(*)", []
        if aggregate in ("sum", "avg"):
            if not field:
                raise QueryError(code="aggregate_needs_field", params={"aggregate": aggregate})
            column = columns.get(field) or q(field)
            several = self.fields[field].numbers_sql(column)
            if several is None:
                return f"{aggregate}({column})", []
            if aggregate == "sum":
                return f"sum({several[0]})", []
            return f"(sum({several[0]}) / NULLIF(sum({several[1]}), 0))", []
        if aggregate == "percent":
            sql, params = self.compile_filter(where or {}, actor, visible, columns)
            return f"(100.0 * sum(CASE WHEN {sql} THEN 1 ELSE 0 END) / {self.ws.storage.dialect.greatest('count(*)', '1')})", params
        raise QueryError(code="unknown_aggregate", params={"aggregate": aggregate})

    def _bucket_sql(self, col: str, kind: str, bucket: str) -> str:
        dialect = self.ws.storage.dialect
        day = dialect.local_day(col, self.ws.tz_offset_modifier()) if kind == "datetime" else dialect.day(col)
        if bucket == "day":
            return day
        if bucket == "week":
            return dialect.week_start(day)
        if bucket == "month":
            return dialect.month(day)
        raise QueryError(code="unknown_bucket", params={"bucket": bucket})
