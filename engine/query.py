"""Structured filters and sorts compiled to parameterised SQL.

A filter is a mapping: field keys to a value (equality) or `{operator: value}`, and the
combinators `and`, `or`, `not` and `formula`. Values may be the variables `$me`, `$today`,
`$now` and `$my_department`. Filter values are read by the field's own type (so `"是"` finds
checked boxes and a person's name finds their key). Every value is a parameter; every
column is quoted; an unknown field or operator raises `QueryError`, and a filter or sort
past one of `engine.limits` raises `LimitExceeded` before any SQL is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine import limits
from engine.errors import QueryError
from engine.fields.base import FieldType
from engine.permissions import Actor
from engine.storage import q

SORT_DIRECTIONS = {"asc", "desc"}


@dataclass
class QueryContext:
    fields: dict[str, FieldType]
    actor: Actor
    tz: ZoneInfo
    now: datetime
    formula_sql: Any = None  # callable(formula_text) -> (sql, params)
    # link field key -> SQL that is true when the row links to the record id given as its one parameter
    link_member: dict[str, str] = dataclass_field(default_factory=dict)
    # field key -> the column to compare instead of the field's own (see engine.linked)
    columns: dict[str, str] = dataclass_field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()


def _utc(d: date, tz: ZoneInfo) -> str:
    return datetime.combine(d, time(), tz).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def all_of(filters: list[Any]) -> Any:
    """One filter that holds where all of `filters` hold (empty ones left out; None for none)."""
    parts = [f for f in filters if f]
    return None if not parts else parts[0] if len(parts) == 1 else {"and": parts}


class FilterCompiler:
    def __init__(self, ctx: QueryContext) -> None:
        self.ctx = ctx

    def compile(self, flt: Any) -> tuple[str, list[Any]]:
        """WHERE text and parameters for a whole filter; LimitExceeded (engine.limits) for a
        filter too big for SQLite, before any SQL is built."""
        limits.check_filter(flt, {k for k, f in self.ctx.fields.items() if f.kind == "array"})
        return self._compile_part(flt)

    def _compile_part(self, flt: Any) -> tuple[str, list[Any]]:
        if flt is None or flt == {}:
            return "1", []
        try:
            sql, params = self._compile(flt)
        except (OverflowError, TypeError, ValueError) as exc:
            raise QueryError(f"invalid filter value: {exc}") from None
        for value in params:
            if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
                raise QueryError(f"the number {value} is too large to compare")
            if isinstance(value, (dict, list)):
                raise QueryError("a filter value must be text, a number or true/false")
        return sql, params

    def _compile(self, flt: Any) -> tuple[str, list[Any]]:
        if not isinstance(flt, dict):
            raise QueryError("a filter must be a mapping of field keys to conditions")
        parts: list[str] = []
        params: list[Any] = []
        for key, value in flt.items():
            sql, p = self._one(key, value)
            parts.append(sql)
            params += p
        return "(" + " AND ".join(parts) + ")", params

    def _one(self, key: str, value: Any) -> tuple[str, list[Any]]:
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise QueryError(f"'{key}' takes a list of filters")
            if not value:
                return ("1" if key == "and" else "0"), []
            compiled = [self._compile_part(v) for v in value]
            joiner = " AND " if key == "and" else " OR "
            return "(" + joiner.join(s for s, _ in compiled) + ")", [p for _, ps in compiled for p in ps]
        if key == "not":
            sql, params = self._compile_part(value)
            return f"(NOT {sql})", params
        if key == "formula":
            if self.ctx.formula_sql is None:
                raise QueryError("formula filters are not available here")
            sql, params = self.ctx.formula_sql(str(value))
            return sql, params
        field = self.ctx.fields.get(key)
        if field is None:
            raise QueryError(f"unknown field '{key}'")
        if isinstance(value, dict):
            if not value:
                return "1", []
            compiled = [self._op(field, op, arg) for op, arg in value.items()]
            return "(" + " AND ".join(s for s, _ in compiled) + ")", [p for _, ps in compiled for p in ps]
        if isinstance(value, list) and field.kind != "array":
            return self._op(field, "in", value)
        return self._op(field, "eq", value)

    # -- values ------------------------------------------------------------------------
    def _resolve(self, value: Any) -> Any:
        if value == "$me":
            return self.ctx.actor.key
        if value == "$my_department":
            return self.ctx.actor.department or "\x00no-department"
        if value == "$today":
            return self.ctx.today.isoformat()
        if value == "$now":
            return self.ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        return value

    def _value(self, field: FieldType, value: Any) -> Any:
        value = self._resolve(value)
        if field.kind == "array":
            return value
        if field.type in ("person", "created_by", "modified_by") and value == self.ctx.actor.key:
            return value
        try:
            stored = field.coerce(value) if not field.computed else value
        except (ValueError, OverflowError):
            if isinstance(value, (dict, list)) or field.kind in ("number", "date", "datetime", "boolean"):
                raise QueryError(f"'{value}' is not a valid value for {field.type} field '{field.fdef.key}'") from None
            return value
        if field.kind == "datetime" and isinstance(value, str) and len(value) == 10:
            return stored
        return stored

    def _column(self, field: FieldType) -> str:
        return self.ctx.columns.get(field.fdef.key) or q(field.fdef.key)

    def _date_range(self, field: FieldType, start: date, end: date) -> tuple[str, list[Any]]:
        col = self._column(field)
        if field.kind == "datetime":
            return f"({col} >= ? AND {col} < ?)", [_utc(start, self.ctx.tz), _utc(end + timedelta(days=1), self.ctx.tz)]
        return f"({col} >= ? AND {col} <= ?)", [start.isoformat(), end.isoformat()]

    # -- operators ---------------------------------------------------------------------
    def _op(self, field: FieldType, op: str, arg: Any) -> tuple[str, list[Any]]:
        col = self._column(field)
        kind = field.kind
        if op == "is_empty":
            sql = field.empty_sql(col) if kind != "array" else f"({col} IS NULL OR {col} IN ('', '[]'))"
            return (sql if arg is not False else f"(NOT {sql})"), []
        if op == "is_not_empty":
            sql = field.empty_sql(col) if kind != "array" else f"({col} IS NULL OR {col} IN ('', '[]'))"
            return (f"(NOT {sql})" if arg is not False else sql), []
        if kind == "array":
            return self._array_op(field, col, op, arg)
        if op in ("today", "this_week", "this_month", "past_n_days", "next_n_days"):
            if kind not in ("date", "datetime"):
                raise QueryError(f"operator '{op}' needs a date field, '{field.fdef.key}' is a {field.type}")
            today = self.ctx.today
            if op == "today":
                return self._date_range(field, today, today)
            if op == "this_week":
                start = today - timedelta(days=today.weekday())
                return self._date_range(field, start, start + timedelta(days=6))
            if op == "this_month":
                start = today.replace(day=1)
                nxt = (start + timedelta(days=32)).replace(day=1)
                return self._date_range(field, start, nxt - timedelta(days=1))
            n = int(arg)
            if op == "past_n_days":
                return self._date_range(field, today - timedelta(days=n), today)
            return self._date_range(field, today, today + timedelta(days=n))
        if kind == "boolean":
            value = self._value(field, arg)
            truthy = bool(value)
            if op == "neq":
                truthy = not truthy
            elif op != "eq":
                raise QueryError(f"operator '{op}' does not apply to checkbox field '{field.fdef.key}'")
            return (f"(COALESCE({col}, 0) != 0)" if truthy else f"(COALESCE({col}, 0) = 0)"), []
        if op in ("eq", "neq"):
            value = self._value(field, arg)
            if value is None:
                empty = field.empty_sql(col)
                return (empty if op == "eq" else f"(NOT {empty})"), []
            if kind == "datetime" and isinstance(arg, str) and len(str(self._resolve(arg)).strip()) == 10:
                day = date.fromisoformat(str(self._resolve(arg)).strip())
                sql, params = self._date_range(field, day, day)
                return (sql if op == "eq" else f"(NOT {sql})"), params
            return ((f"({col} = ?)", [value]) if op == "eq" else (f"({col} IS NULL OR {col} != ?)", [value]))
        if op in ("gt", "gte", "lt", "lte"):
            sym = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            return f"({col} {sym} ?)", [self._value(field, arg)]
        if op == "between":
            if not isinstance(arg, list) or len(arg) != 2:
                raise QueryError("'between' takes two values: [low, high]")
            return f"({col} BETWEEN ? AND ?)", [self._value(field, arg[0]), self._value(field, arg[1])]
        if op in ("in", "not_in"):
            values = [self._value(field, v) for v in (arg if isinstance(arg, list) else [arg])]
            if not values:
                return ("0" if op == "in" else "1"), []
            marks = ", ".join("?" for _ in values)
            if op == "in":
                return f"({col} IN ({marks}))", values
            return f"({col} IS NULL OR {col} NOT IN ({marks}))", values
        if op in ("contains", "not_contains", "starts_with"):
            text = str(self._resolve(arg))
            if op == "starts_with":
                return f"(substr({col}, 1, length(?)) = ?)", [text, text]
            sql = f"(instr(lower(COALESCE({col}, '')), lower(?)) > 0)"
            return (sql if op == "contains" else f"(NOT {sql})"), [text]
        raise QueryError(f"unknown operator '{op}'")

    def _array_op(self, field: FieldType, col: str, op: str, arg: Any) -> tuple[str, list[Any]]:
        values = arg if isinstance(arg, list) else [arg]
        values = [self._array_item(field, self._resolve(v)) for v in values]
        member = self.ctx.link_member.get(field.fdef.key) or f"EXISTS (SELECT 1 FROM json_each(COALESCE({col}, '[]')) WHERE value = ?)"
        if op in ("eq", "contains", "has_any"):
            if not values:
                return "0", []
            return "(" + " OR ".join(member for _ in values) + ")", values
        if op in ("neq", "not_contains"):
            return "(NOT (" + " OR ".join(member for _ in values) + "))" if values else "1", values
        if op == "has_all":
            return "(" + " AND ".join(member for _ in values) + ")" if values else "1", values
        raise QueryError(f"operator '{op}' does not apply to {field.type} field '{field.fdef.key}'")

    def _array_item(self, field: FieldType, value: Any) -> Any:
        if field.type in ("multi_select", "person"):
            try:
                stored = field.coerce(value)
            except ValueError:
                return value
            items = json.loads(stored) if isinstance(stored, str) and stored.startswith("[") else [stored]
            return items[0] if items else value
        return value


def compile_sort(fields: dict[str, FieldType], sort: list[str] | None, columns: dict[str, str] | None = None,
                 *, reverse: bool = False) -> str:
    """ORDER BY text for sort keys like ['-visit_date', 'name'] (`columns` as in QueryContext);
    `reverse` orders the other way round, row id too (the last rows of a view, read from its
    end); LimitExceeded past engine.limits.SORT_ENTRIES."""
    limits.check(limits.SORT_ENTRIES, len(sort or []))
    parts = []
    for item in sort or []:
        key = str(item)
        desc = key.startswith("-") != reverse
        key = key.lstrip("-+")
        field = fields.get(key)
        if field is None:
            raise QueryError(f"unknown field '{key}' in sort")
        expr = field.sort_sql((columns or {}).get(key) or q(key))
        parts.append(f"{expr} {'DESC' if desc else 'ASC'}")
    parts.append('"_rowid" DESC' if reverse else '"_rowid" ASC')
    return ", ".join(parts)
