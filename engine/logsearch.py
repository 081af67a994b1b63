"""Searching the write log (`_gb_audit`) and the read log (`_gb_access_log`), for `gridbase audit`.

Reads only: the record service appends both logs (engine.workspace) and engine.retention
archives old entries. A search takes the same filters for both logs: the person who acted,
`base.table`, a record id, and a time range (ISO text in UTC, compared as stored). A read log
entry names the records it showed in one text, so a record matches when its id is in it.

Each entry comes back as one flat dict with the same keys for both logs (`LogEntry`), in time order.
"""

from __future__ import annotations

from typing import Any, TypedDict

from engine.storage import Storage


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


def search(storage: Storage, *, person: str | None = None, table: str | None = None, record: str | None = None,
           since: str | None = None, until: str | None = None, writes: bool = True, reads: bool = True) -> list[LogEntry]:
    """The entries of the chosen logs that pass every filter given, oldest first."""
    conds: list[str] = []
    params: list[Any] = []
    if person:
        conds.append("actor = ?")
        params.append(person)
    if table:
        base, _, tbl = table.partition(".")
        conds.append("base = ? AND tbl = ?")
        params += [base, tbl]
    if since:
        conds.append("at >= ?")
        params.append(since)
    if until:
        conds.append("at <= ?")
        params.append(until)
    where = " AND ".join(conds) or "TRUE"
    found: list[LogEntry] = []
    with storage.reading() as conn:
        if writes:
            wconds, wparams = where, list(params)
            if record:
                wconds += " AND record = ?"
                wparams.append(record)
            for at, actor, base, tbl, rid, action, field, old, new, behalf in conn.execute(
                    f"SELECT at, actor, base, tbl, record, action, field, old, new, on_behalf FROM _gb_audit "  # noqa: S608
                    f"WHERE {wconds} ORDER BY id", wparams):
                found.append(LogEntry(log="write", at=at, actor=actor, table=f"{base}.{tbl}", record=rid, action=action,
                                      field=field or "", old=old or "", new=new or "", on_behalf=behalf or ""))
        if reads:
            rconds, rparams = where, list(params)
            if record:
                rconds += " AND instr(records, ?) > 0"
                rparams.append(record)
            for at, actor, base, tbl, records, action in conn.execute(
                    f"SELECT at, actor, base, tbl, records, action FROM _gb_access_log WHERE {rconds} ORDER BY id",  # noqa: S608
                    rparams):
                found.append(LogEntry(log="read", at=at, actor=actor, table=f"{base}.{tbl}", record=records, action=action,
                                      field="", old="", new="", on_behalf=""))
    found.sort(key=lambda e: e["at"])
    return found
