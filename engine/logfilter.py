"""The filters of a search in the write log or the read log, as SQL conditions.

Owns no table: engine.audit (`_gb_audit`) and engine.accesslog (`_gb_access_log`) each ask it
for the WHERE text of a search, so both logs take the same filters the same way — the person
who acted, the base and table, a record, and a time range (`since` and `until` both
inclusive, ISO text in UTC as stored). A page is asked for with `before` (entries with a
smaller id) and `limit`; `blocks()` reads the entries a block at a time, each block in a read
of its own, so that exporting a whole log neither holds one snapshot for minutes nor runs past
the read budget (and a streamed response may read each block from another thread).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.storage import Storage

BLOCK = 500


@dataclass(frozen=True)
class LogFilter:
    """What a log search keeps; a None keeps everything for that part."""

    person: str | None = None
    base: str | None = None
    table: str | None = None
    record: str | None = None
    since: str | None = None
    until: str | None = None
    before: int | None = None  # only entries with a smaller id (the next page, newest first)

    def where(self, record_condition: str = "record = ?") -> tuple[str, list[Any]]:
        """(WHERE text, parameters); `record_condition` tests one record id (the read log
        names the records it showed in one text)."""
        conds: list[str] = []
        params: list[Any] = []
        for condition, value in (("actor = ?", self.person), ("base = ?", self.base), ("tbl = ?", self.table),
                                 (record_condition, self.record), ("at >= ?", self.since), ("at <= ?", self.until),
                                 ("id < ?", self.before)):
            if value is not None and value != "":
                conds.append(condition)
                params.append(value)
        return " AND ".join(conds) or "TRUE", params


def blocks(storage: Storage, table: str, columns: str, where: str, params: list[Any], *, newest_first: bool = False,
           limit: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The rows of a log (`columns` starting with `id`) that `where` keeps, in id order,
    BLOCK at a time: the owner of `table` passes its own name and columns."""
    order, step = ("DESC", "<") if newest_first else ("ASC", ">")
    last: int | None = None
    left = limit
    while left is None or left > 0:
        size = BLOCK if left is None else min(BLOCK, left)
        cond = where if last is None else f"({where}) AND id {step} ?"
        args = [*params, *([] if last is None else [last]), size]
        with storage.reading() as conn:
            rows = conn.execute(f"SELECT {columns} FROM {table} WHERE {cond} ORDER BY id {order} LIMIT ?",  # noqa: S608
                                args).fetchall()
        yield from rows
        if len(rows) < size:
            return
        last = int(rows[-1][0])
        if left is not None:
            left -= len(rows)
