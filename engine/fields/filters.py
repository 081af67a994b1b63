"""Filter operators: which a field type takes, and how each becomes SQL with parameters.

Owns the operators of each *kind* of value (text, number, boolean, date, datetime, array) and
their compilation. A field type takes the operators of its kind unless it names its own
(`FieldType.filter_ops`, read by the grid's filter menu and the YAML checks through
`allowed_ops`); `FieldType.filter_sql` compiles one condition, refusing an operator the type
does not take with an error naming the field, the operator and the operators it takes.

Words: an *operator* compiles `(field, column, argument, env)` to `(sql, params)`: `column`
is the quoted column (or the expression standing for it), every value is a parameter, and
`env` (FilterEnv) holds what a condition may need beyond the field: today, the timezone, the
variables ($me, $today, ...) and, for a link, the SQL that tests membership through its
junction table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.errors import QueryError
from engine.model import FieldDef

Compiled = tuple[str, list[Any]]


class FieldType(Protocol):
    """What an operator asks of a field type (engine.fields.base.FieldType has it all)."""

    kind: str
    fdef: FieldDef

    @property
    def type(self) -> str: ...

    @property
    def filter_ops(self) -> tuple[str, ...]: ...

    def filter_value(self, value: Any) -> Any: ...

    def empty_sql(self, column: str) -> str: ...


@dataclass(frozen=True)
class FilterEnv:
    """What a condition needs beyond its field (see the module docstring)."""

    today: date
    tz: ZoneInfo
    resolve: Callable[[Any], Any] = lambda value: value
    #: field key -> SQL that is true when the row holds the record id given as its one parameter (a link)
    members: dict[str, str] = dataclass_field(default_factory=dict)


def allowed_ops(field: FieldType) -> tuple[str, ...]:
    """The operators `field` takes, in the order a filter menu lists them."""
    return tuple(field.filter_ops)


def bad_value(field: FieldType, value: Any, exc: Exception) -> QueryError:
    return QueryError(f"'{value}' is not a valid value for {field.type} field '{field.fdef.key}': {exc}")


def value_of(field: FieldType, arg: Any, env: FilterEnv) -> Any:
    """A filter's argument as the field stores it (variables resolved); QueryError where it
    cannot be read and comparing the text as given would mean nothing."""
    value = env.resolve(arg)
    try:
        return field.filter_value(value)
    except (ValueError, OverflowError) as exc:
        raise bad_value(field, value, exc) from None


# -- any kind ----------------------------------------------------------------------------
def is_empty(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    sql = field.empty_sql(col)
    return (sql if arg is not False else f"(NOT {sql})"), []


def is_not_empty(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    sql = field.empty_sql(col)
    return (f"(NOT {sql})" if arg is not False else sql), []


# -- one value in a column (text, number, date, datetime) --------------------------------
def eq(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    value = value_of(field, arg, env)
    if value is None:
        return field.empty_sql(col), []
    day = env.resolve(arg)
    if field.kind == "datetime" and isinstance(day, str) and len(day.strip()) == 10:
        try:
            start = date.fromisoformat(day.strip())
        except ValueError as exc:
            raise bad_value(field, day, exc) from None
        return day_range(field, col, start, start, env)  # a day given for a moment: the whole day
    return f"({col} = ?)", [value]


def neq(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    sql, params = eq(field, col, arg, env)
    if params and sql == f"({col} = ?)":
        return f"({col} IS NULL OR {col} != ?)", params
    return f"(NOT {sql})", params


def compare(symbol: str) -> Callable[[FieldType, str, Any, FilterEnv], Compiled]:
    def op(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
        return f"({col} {symbol} ?)", [value_of(field, arg, env)]
    return op


def between(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    if not isinstance(arg, list) or len(arg) != 2:
        raise QueryError(code="filter_between", params={"field": field.fdef.key})
    return f"({col} BETWEEN ? AND ?)", [value_of(field, arg[0], env), value_of(field, arg[1], env)]


def is_in(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    values = [value_of(field, v, env) for v in (arg if isinstance(arg, list) else [arg])]
    if not values:
        return "FALSE", []
    return f"({col} IN ({', '.join('?' for _ in values)}))", values


def not_in(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    values = [value_of(field, v, env) for v in (arg if isinstance(arg, list) else [arg])]
    if not values:
        return "TRUE", []
    return f"({col} IS NULL OR {col} NOT IN ({', '.join('?' for _ in values)}))", values


def contains(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    return f"(instr(lower(COALESCE({col}, '')), lower(?)) > 0)", [str(env.resolve(arg))]


def not_contains(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    sql, params = contains(field, col, arg, env)
    return f"(NOT {sql})", params


def starts_with(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    text = str(env.resolve(arg))
    return f"(substr({col}, 1, length(?)) = ?)", [text, text]


# -- days --------------------------------------------------------------------------------
def _utc(day: date, tz: ZoneInfo) -> str:
    return datetime.combine(day, time(), tz).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_range(field: FieldType, col: str, start: date, end: date, env: FilterEnv) -> Compiled:
    """Rows whose day (in the workspace's timezone, for a moment) is from `start` to `end`."""
    if field.kind == "datetime":
        return f"({col} >= ? AND {col} < ?)", [_utc(start, env.tz), _utc(end + timedelta(days=1), env.tz)]
    return f"({col} >= ? AND {col} <= ?)", [start.isoformat(), end.isoformat()]


def today(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    return day_range(field, col, env.today, env.today, env)


def this_week(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    start = env.today - timedelta(days=env.today.weekday())
    return day_range(field, col, start, start + timedelta(days=6), env)


def this_month(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    start = env.today.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return day_range(field, col, start, following - timedelta(days=1), env)


def yesterday(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    return day_range(field, col, env.today - timedelta(days=1), env.today - timedelta(days=1), env)


def tomorrow(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    return day_range(field, col, env.today + timedelta(days=1), env.today + timedelta(days=1), env)


def _week(weeks: int) -> Callable[[FieldType, str, Any, FilterEnv], Compiled]:
    def op(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
        start = env.today - timedelta(days=env.today.weekday()) + timedelta(weeks=weeks)
        return day_range(field, col, start, start + timedelta(days=6), env)
    return op


def _month(months: int) -> Callable[[FieldType, str, Any, FilterEnv], Compiled]:
    def op(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
        index = env.today.year * 12 + env.today.month - 1 + months
        start = date(index // 12, index % 12 + 1, 1)
        following = (start + timedelta(days=32)).replace(day=1)
        return day_range(field, col, start, following - timedelta(days=1), env)
    return op


def past_n_days(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    return day_range(field, col, env.today - timedelta(days=int(arg)), env.today, env)


def next_n_days(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    return day_range(field, col, env.today, env.today + timedelta(days=int(arg)), env)


# -- yes or no ---------------------------------------------------------------------------
def yes_no(negate: bool) -> Callable[[FieldType, str, Any, FilterEnv], Compiled]:
    def op(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
        truthy = bool(value_of(field, arg, env)) != negate
        return (f"(COALESCE({col}, 0) != 0)" if truthy else f"(COALESCE({col}, 0) = 0)"), []
    return op


# -- several values in a column (a JSON list, or a link's junction) ----------------------
def _members(field: FieldType, col: str, arg: Any, env: FilterEnv) -> tuple[str, list[Any]]:
    values = [value_of(field, v, env) for v in (arg if isinstance(arg, list) else [arg])]
    member = env.members.get(field.fdef.key)
    if member is None:
        member = f"EXISTS (SELECT 1 FROM json_each(COALESCE({col}, '[]')) WHERE value = ?)"
        # The list holds text (option names, keys): a number or yes/no asked for is never in it
        # (SQLite finds no text equal to it; PostgreSQL would refuse to compare text with it).
        values = [v if isinstance(v, str) else None for v in values]
    return member, values


def has_any(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    member, values = _members(field, col, arg, env)
    return ("(" + " OR ".join(member for _ in values) + ")", values) if values else ("FALSE", [])


def has_none(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    member, values = _members(field, col, arg, env)
    return ("(NOT (" + " OR ".join(member for _ in values) + "))", values) if values else ("TRUE", [])


def has_all(field: FieldType, col: str, arg: Any, env: FilterEnv) -> Compiled:
    member, values = _members(field, col, arg, env)
    return ("(" + " AND ".join(member for _ in values) + ")", values) if values else ("TRUE", [])


Operator = Callable[[FieldType, str, Any, FilterEnv], Compiled]
EMPTY: dict[str, Operator] = {"is_empty": is_empty, "is_not_empty": is_not_empty}
COMPARE: dict[str, Operator] = {"gt": compare(">"), "gte": compare(">="), "lt": compare("<"), "lte": compare("<=")}
DAYS: dict[str, Operator] = {"today": today, "yesterday": yesterday, "tomorrow": tomorrow, "this_week": this_week,
                             "last_week": _week(-1), "next_week": _week(1), "this_month": this_month,
                             "last_month": _month(-1), "next_month": _month(1),
                             "past_n_days": past_n_days, "next_n_days": next_n_days}
#: kind -> operator -> how it compiles; the order is the order a filter menu lists them.
OPERATORS: dict[str, dict[str, Operator]] = {
    "text": {"eq": eq, "neq": neq, "contains": contains, "not_contains": not_contains, "starts_with": starts_with,
             "in": is_in, "not_in": not_in, **COMPARE, **EMPTY},
    "number": {"eq": eq, "neq": neq, **COMPARE, "between": between, "in": is_in, "not_in": not_in, **EMPTY},
    "boolean": {"eq": yes_no(False), "neq": yes_no(True), **EMPTY},
    "date": {"eq": eq, "neq": neq, **COMPARE, "between": between, "in": is_in, "not_in": not_in, **DAYS, **EMPTY},
    "array": {"eq": has_any, "neq": has_none, "contains": has_any, "not_contains": has_none, "has_any": has_any,
              "has_all": has_all, **EMPTY},
}
OPERATORS["datetime"] = OPERATORS["date"]
ALL_OPS: tuple[str, ...] = tuple(dict.fromkeys(op for ops in OPERATORS.values() for op in ops))


KIND_OPS: dict[str, tuple[str, ...]] = {kind: tuple(ops) for kind, ops in OPERATORS.items()}


def ops_of_kind(kind: str) -> tuple[str, ...]:
    return KIND_OPS.get(kind) or KIND_OPS["text"]


class OpsOfKind:
    """`FieldType.filter_ops` unless a type names its own: the operators of the field's kind
    (read on a class, those of the class's kind)."""

    def __get__(self, obj: Any, owner: Any) -> tuple[str, ...]:
        return ops_of_kind((obj if obj is not None else owner).kind)


def compile_op(field: FieldType, op: str, column: str, arg: Any, env: FilterEnv) -> Compiled:
    """One condition on `field`: QueryError when its type does not take `op`."""
    allowed = field.filter_ops
    if op not in allowed:
        raise QueryError(code="operator_not_applicable" if op in ALL_OPS else "operator_unknown",
                         params={"op": op, "type": field.type, "field": field.fdef.key, "ops": ", ".join(allowed)})
    operator = OPERATORS.get(field.kind, OPERATORS["text"]).get(op) or OPERATORS["text"].get(op)
    if operator is None:
        raise QueryError(code="operator_no_sql", params={"op": op, "type": field.type, "field": field.fdef.key})
    return operator(field, column, arg, env)
