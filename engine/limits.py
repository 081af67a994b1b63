"""The limits a query stays within, checked before any SQL is built.

SQLite refuses statements past its own limits: 2,000 terms in an ORDER BY or columns in a
result (SQLITE_MAX_COLUMN), expressions 1,000 deep (SQLITE_MAX_EXPR_DEPTH; a chain of `AND`
or `OR` is as deep as it is long), 32,766 parameters in a stock build
(SQLITE_MAX_VARIABLE_NUMBER), LIKE patterns of 50,000 bytes. A request that got that far
would fail inside the database. Each `Limit` here is smaller than the SQLite limit behind
it, with room for the rest of the query (the reader's row rule, a view's filter), so the
engine refuses such a request first with `LimitExceeded`: a `QueryError` that names the
limit and its value and says what to do. Formula filters have their own limits in
`engine.formula` (length, nesting).

Words: a *condition* is one test in a structured filter (`{age: {gt: 3}}`); the values of a
list given to an array field (`{tags: [a, b]}`) count one condition each, since each becomes
its own test. *Values* are the items of `in`/`not_in` lists, which SQLite takes flat.
*Depth* counts `and`/`or`/`not` inside one another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import QueryError


@dataclass(frozen=True)
class Limit:
    """A named maximum: `name` as shown in errors and docs; its error message (what it counts and
    how to stay within) is the catalog entry `limit_` + the name without `max_`."""

    name: str
    value: int

    @property
    def code(self) -> str:
        return "limit_" + self.name.removeprefix("max_")


SORT_ENTRIES = Limit("max_sort_entries", 100)
FIELDS = Limit("max_fields", 1000)
FILTER_CONDITIONS = Limit("max_filter_conditions", 200)
FILTER_DEPTH = Limit("max_filter_depth", 8)
FILTER_VALUES = Limit("max_filter_values", 10_000)
SEARCH_LENGTH = Limit("max_search_length", 1000)

ALL = (SORT_ENTRIES, FIELDS, FILTER_CONDITIONS, FILTER_DEPTH, FILTER_VALUES, SEARCH_LENGTH)


class LimitExceeded(QueryError):
    """A request passes one of the limits above: `.limit` is the Limit, `.given` how much was asked."""

    def __init__(self, limit: Limit, given: int) -> None:
        self.limit = limit
        self.given = given
        super().__init__(code=limit.code, params={"given": given, "value": limit.value})


def check(limit: Limit, given: int) -> None:
    """Raise LimitExceeded when `given` passes `limit`."""
    if given > limit.value:
        raise LimitExceeded(limit, given)


def check_fields(fields: list[str] | None) -> list[str] | None:
    """The fields asked for, each once, within FIELDS."""
    if fields is None:
        return None
    check(FIELDS, len(fields))
    return list(dict.fromkeys(fields))


def check_filter(flt: Any, arrays: set[str] | frozenset[str] = frozenset()) -> None:
    """Raise LimitExceeded when a structured filter is too big or too deep for SQLite.

    `arrays` are the keys of array fields (a list given to one is a test per value). Walks
    the filter without compiling it, so nothing big is built before the check; shapes that
    are wrong in other ways are left to the compiler's own errors.
    """
    counts = {"conditions": 0, "values": 0}

    def walk(node: Any, depth: int) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in ("and", "or", "not"):
                check(FILTER_DEPTH, depth + 1)
                for item in value if isinstance(value, list) else [value]:
                    walk(item, depth + 1)
                continue
            conditions, values = (1, 0) if key == "formula" else _size(value, key in arrays)
            counts["conditions"] += conditions
            counts["values"] += values
            check(FILTER_CONDITIONS, counts["conditions"])
            check(FILTER_VALUES, counts["values"])

    walk(flt, 0)


def _size(cond: Any, array: bool) -> tuple[int, int]:
    """(conditions, list values) of one field's condition: a value, a list or {op: arg}."""
    ops = cond if isinstance(cond, dict) else {"in" if not array else "eq": cond}
    conditions = values = 0
    for op, arg in ops.items():
        n = len(arg) if isinstance(arg, list) else 1
        values += n if isinstance(arg, list) else 0
        # `in` and `not_in` are one flat test however long the list; any other list (an array
        # field's values, each tested on its own) is a test per value.
        conditions += 1 if op in ("in", "not_in") and not array else max(1, n)
    return max(1, conditions), values


def check_search(search: str | None) -> None:
    """Raise LimitExceeded for a search text longer than SEARCH_LENGTH."""
    if search:
        check(SEARCH_LENGTH, len(search))
