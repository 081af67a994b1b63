"""One search over the write log and the read log, for `gridbase audit` and the admins' audit page.

Owns no table and runs no SQL: the write log's owner (engine.audit) and the read log's
(engine.accesslog) each search their own log with the same filters (engine.logfilter); this
module turns their entries into one flat shape (`LogEntry`, the same keys for both logs: the
CSV columns of an export) and merges the two in time order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypedDict

from engine.accesslog import Access, AccessLog
from engine.audit import AuditLog, Entry
from engine.logfilter import LogFilter

if TYPE_CHECKING:
    from engine.workspace import Workspace

FIELDS = ("log", "at", "actor", "table", "record", "action", "field", "old", "new", "on_behalf")


class LogEntry(TypedDict):
    log: str  # "write" or "read"
    at: str
    actor: str
    table: str  # base.table
    record: str  # a record id (write) or the records shown (read)
    action: str
    field: str
    old: str
    new: str
    on_behalf: str


def write_entry(e: Entry) -> LogEntry:
    return LogEntry(log="write", at=e.at, actor=e.actor, table=f"{e.base}.{e.table}", record=e.record, action=e.action,
                    field=e.field or "", old=e.old or "", new=e.new or "", on_behalf=e.on_behalf or "")


def read_entry(e: Access) -> LogEntry:
    return LogEntry(log="read", at=e.at, actor=e.actor, table=f"{e.base}.{e.table}", record=e.records, action=e.action,
                    field="", old="", new="", on_behalf="")


def merged(audit: AuditLog, access: AccessLog, found: LogFilter, *, writes: bool = True,
           reads: bool = True) -> Iterator[LogEntry]:
    """The entries of the chosen logs that `found` keeps, oldest first (read a block at a time)."""
    streams: list[Iterator[LogEntry]] = []
    if writes:
        streams.append(write_entry(e) for e in audit.entries(found))
    if reads:
        streams.append(read_entry(e) for e in access.entries(found))
    yield from heapq.merge(*streams, key=lambda e: e["at"])


def search(ws: Workspace, *, person: str | None = None, table: str | None = None, record: str | None = None,
           since: str | None = None, until: str | None = None, writes: bool = True,
           reads: bool = True) -> list[LogEntry]:
    """The entries of the chosen logs that pass every filter given (`table` as base.table), oldest first."""
    base, _, tbl = (table or "").partition(".")
    found = LogFilter(person=person or None, base=base or None, table=tbl or None, record=record or None,
                      since=since or None, until=until or None)
    return list(merged(ws.audit, ws.access_log, found, writes=writes, reads=reads))
