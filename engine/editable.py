"""Which records an actor may edit: the table's edit rule (a role's `edit: {rows: ...}`)
applied to a page's worth of record ids at once, so a page marks its editable cells with one
query instead of one per row. The record service checks the same rule again on every write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.permissions import Actor

if TYPE_CHECKING:
    from engine.records import Table


def editable_ids(table: Table, actor: Actor, ids: list[str]) -> set[str]:
    """The ids among `ids` whose row the actor may edit."""
    access = table.access(actor)
    if not access.can_edit or not ids:
        return set()
    if access.edit_filter is None:
        return set(ids)
    sql, params = table.compile_filter(access.edit_filter, actor)
    marks = ", ".join("?" for _ in ids)
    rows = table.ws.storage.conn.execute(
        f"SELECT _id FROM {table.sql} WHERE _id IN ({marks}) AND {sql}", list(ids) + params).fetchall()  # noqa: S608
    return {r[0] for r in rows}
