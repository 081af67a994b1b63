"""The read log (`_gb_access_log`): who was shown which records of a sensitive table, and when.

This module is the only one that writes `_gb_access_log` or reads it. The record service
appends an entry when a person is shown records of a table whose `access_log:` is on
(engine.reads); `gridbase audit` and the admins' audit page search it with the same filters
as the write log (engine.logfilter); engine.retention archives old entries and then asks
this module to remove them. An entry names every record it showed in one JSON text
(`records`), so a search for one record matches an entry that lists it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.ids import utcnow_text
from engine.logfilter import LogFilter, blocks

if TYPE_CHECKING:
    from engine.storage import Storage

_COLUMNS = "id, at, actor, base, tbl, records, action"


@dataclass(frozen=True)
class Access:
    """One read-log entry; `records` is the JSON list of record ids shown."""

    id: int
    at: str
    actor: str
    base: str
    table: str
    records: str
    action: str

    def record_ids(self) -> list[str]:
        try:
            ids = json.loads(self.records)
        except ValueError:
            return [self.records]
        return [str(i) for i in ids] if isinstance(ids, list) else [str(ids)]


class AccessLog:
    """The read log of one workspace database."""

    COLUMNS = tuple(_COLUMNS.split(", "))

    def __init__(self, storage: Storage, now: Callable[[], datetime]) -> None:
        self.storage = storage
        self.now = now

    def append(self, actor_key: str, base: str, table: str, ids: list[str], action: str) -> None:
        """Log that `actor_key` was shown `ids`, durably before returning. Inside a write
        transaction the entry joins it; otherwise it goes through the group commit
        (`Storage.write_soon`), so pages read at the same moment share one commit and one disk
        sync instead of queueing for the write lock one by one (each commit waits ~3 ms for the
        disk here, and every page of a table with `access_log:` on writes an entry)."""
        row = (utcnow_text(self.now()), actor_key, base, table, json.dumps(ids), action)

        def write() -> None:
            self.storage.conn.execute(
                "INSERT INTO _gb_access_log (at, actor, base, tbl, records, action) VALUES (?, ?, ?, ?, ?, ?)", row)

        if self.storage.lock.held():
            with self.storage.transaction():
                write()
        else:
            self.storage.write_soon(write).result()

    def entries(self, found: LogFilter, *, newest_first: bool = False, limit: int | None = None) -> Iterator[Access]:
        """The entries a filter keeps (a record matches an entry that lists it)."""
        where, params = found.where("""instr(records, '"' || ? || '"') > 0""")
        for row in blocks(self.storage, "_gb_access_log", _COLUMNS, where, params, newest_first=newest_first,
                          limit=limit):
            yield Access(*row)

    # -- retention (engine.retention archives, then removes by id) ------------------------------
    def due(self, cutoff: str) -> tuple[int, str | None, str | None]:
        """(count, first, last time) of the entries written before `cutoff`."""
        with self.storage.reading() as conn:
            row = conn.execute("SELECT count(*), min(at), max(at) FROM _gb_access_log WHERE at < ?", (cutoff,)).fetchone()
        return int(row[0]), row[1], row[2]

    def due_rows(self, cutoff: str) -> Iterator[tuple[Any, ...]]:
        """Every column of the entries written before `cutoff`, by id."""
        yield from blocks(self.storage, "_gb_access_log", _COLUMNS, "at < ?", [cutoff])

    def remove(self, ids: list[int]) -> None:
        """Inside the caller's transaction: remove archived entries."""
        self.storage.conn.execute("DELETE FROM _gb_access_log WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
                                  (json.dumps(ids),))
