"""Filters evaluated over single stored rows, for automations: the engine's side of a trigger.

Automations ask whether one record matches a filter (a `matches:` trigger, an `if:`
condition), possibly as a write left it (`overrides`: some columns put to other values,
through a one-row CTE over the live row), which live records of a table match a filter (a
schedule run per record), and which records' date field falls in a span (a date trigger).
Filters are compiled by the record service (`Table.compile_filter`) as the engine sees them
(every row, every field); every value is an SQL parameter, every identifier quoted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.permissions import Actor
from engine.storage import q

if TYPE_CHECKING:
    from engine.records import Table


def row_matches(table: Table, record_id: str, flt: Any, overrides: dict[str, Any] | None = None) -> bool:
    """Whether the live record matches `flt`, optionally with some columns replaced."""
    sql, params = table.compile_filter(flt, Actor.engine())
    overrides = overrides or {}
    with table.ws.storage.reading() as conn:
        if not overrides:
            found = conn.execute(f"SELECT 1 FROM {table.sql} WHERE _id = ? AND _deleted_at IS NULL AND {sql}",
                                 [record_id] + params).fetchone()
            return found is not None
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table.sql})").fetchall()]
        select = ", ".join(f"? AS {q(c)}" if c in overrides else q(c) for c in cols)
        values = [overrides[c] for c in cols if c in overrides]
        found = conn.execute(
            f"WITH r AS (SELECT {select} FROM {table.sql} WHERE _id = ? AND _deleted_at IS NULL) "
            f"SELECT 1 FROM r WHERE {sql}", values + [record_id] + params).fetchone()
        return found is not None


def live_row(table: Table, record_id: str) -> dict[str, Any] | None:
    """The stored row (column -> SQL value) of a live (not deleted) record, or None."""
    with table.ws.storage.reading() as conn:
        cur = conn.execute(f"SELECT * FROM {table.sql} WHERE _id = ? AND _deleted_at IS NULL", (record_id,))
        values = cur.fetchone()
        if values is None:
            return None
        return dict(zip([d[0] for d in cur.description], values, strict=True))


def matching_ids(table: Table, flt: Any) -> list[str]:
    """Ids of the live records matching `flt`, in creation order (inside the caller's transaction)."""
    where, params = table.compile_filter(flt or {}, Actor.engine())
    rows = table.ws.storage.conn.execute(
        f"SELECT _id FROM {table.sql} WHERE _deleted_at IS NULL AND {where} ORDER BY _rowid", params).fetchall()
    return [r[0] for r in rows]


def dated(table: Table, field: str, low: str, high: str, condition: Any) -> list[tuple[str, Any]]:
    """(id, stored value) of the live records matching `condition` whose `field` lies in [low, high],
    by that value then creation order (inside the caller's transaction)."""
    where, params = table.compile_filter(condition or {}, Actor.engine())
    col = q(field)
    return [(r[0], r[1]) for r in table.ws.storage.conn.execute(
        f"SELECT _id, {col} FROM {table.sql} WHERE _deleted_at IS NULL AND {col} IS NOT NULL "
        f"AND {col} >= ? AND {col} <= ? AND {where} ORDER BY {col}, _rowid", [low, high] + params).fetchall()]
