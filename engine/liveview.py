"""Live updates as one viewer sees them: which of a batch of committed events a person may
be told of, and the message they make for that person (see engine.live for the hub).

Words: a *viewer* is the person an open page belongs to; a record is *readable* to them when
their row rule lets them read it (a deleted record: when it did, among deleted rows); a
*view's* records are those its filter shows them. Messages name records by id and fields by
key, never a value, and never a record or field the viewer may not read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.outbox import Event
from engine.permissions import Actor, TableAccess

if TYPE_CHECKING:
    from engine.records import Table

MAX_RECORDS = 200  # records named in one message; past this, `reload`


def readable_ids(table: Table, access: TableAccess, actor: Actor, ids: list[str], *, deleted: bool = False) -> set[str]:
    """Those of `ids` the actor may read (row rule included; `deleted`: among deleted rows)."""
    if not access.can_read or not ids:
        return set()
    out: set[str] = set()
    unique = sorted(set(ids))
    with table.ws.storage.reading() as conn:
        where, params = table.where_sql(actor, access, None, None, set(table.fields), deleted=deleted)
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            out.update(r[0] for r in conn.execute(
                f"SELECT _id FROM {table.sql} WHERE _id IN ({marks}) AND {where}", [*chunk, *params]))  # noqa: S608
    return out


def in_view(table: Table, actor: Actor, view: str, ids: list[str]) -> list[str]:
    """Those of `ids` that view `view` shows `actor` (its filter on what they may filter by);
    all of them when the view is unknown or not theirs to use."""
    vdef = table.tdef.views.get(view)
    if vdef is None or not vdef.filter or not table.usable_view(vdef, actor):
        return ids
    access = table.access(actor)
    found: set[str] = set()
    with table.ws.storage.reading() as conn:
        where, params = table.where_sql(actor, access, vdef.filter, None, table._filterable(access))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(r[0] for r in conn.execute(
                f"SELECT _id FROM {table.sql} WHERE _id IN ({marks}) AND {where}", [*chunk, *params]))  # noqa: S608
    return [i for i in ids if i in found]


def as_seen_by(table: Table, actor: Actor, events: list[Event],
                name: Callable[[str, str], str]) -> tuple[str, dict[str, Any]] | None:
    """The message these events of one table make for `actor`, or None when they tell them nothing."""
    access = table.access(actor)
    if not access.can_read:
        return None
    live_ids = [e.record for e in events if e.record and e.kind != "deleted"]
    gone_ids = [e.record for e in events if e.record and e.kind == "deleted"]
    readable = readable_ids(table, access, actor, [i for i in live_ids if i])
    readable_gone = readable_ids(table, access, actor, [i for i in gone_ids if i], deleted=True)
    records: dict[str, dict[str, Any]] = {}
    created: list[str] = []
    deleted: list[str] = []
    for ev in events:
        rid = ev.record or ""
        if ev.kind == "deleted":
            if rid in readable_gone and rid not in deleted:
                deleted.append(rid)
            continue
        if rid not in readable:
            continue
        if ev.kind == "created":
            if rid not in created:
                created.append(rid)
            continue
        fields = [k for k in ev.changes if k in table.fields and access.readable(k)]
        if ev.kind == "updated" and not fields:
            continue  # only what they may not read changed: for them, nothing did
        entry = records.setdefault(rid, {"id": rid, "kind": ev.kind, "fields": [], "by": ""})
        entry["fields"] += [k for k in fields if k not in entry["fields"]]
        entry["by"] = name(ev.actor, ev.base)
        entry["kind"] = ev.kind
    if not (records or created or deleted):
        return None
    data: dict[str, Any] = {"table": f"{table.base.key}/{table.key}", "records": list(records.values()),
                            "created": created, "deleted": deleted}
    if len(records) + len(created) + len(deleted) > MAX_RECORDS:
        return "reload", {"table": data["table"], "created": len(created)}
    return "changes", data


def only_record(message: tuple[str, dict[str, Any]], record: str) -> tuple[str, dict[str, Any]] | None:
    """A table's message as a page of one record sees it (None if it is not about that record)."""
    kind, data = message
    if kind == "reload":
        return message
    records = [r for r in data["records"] if r["id"] == record]
    deleted = [r for r in data["deleted"] if r == record]
    if not records and not deleted:
        return None
    return kind, {**data, "records": records, "created": [], "deleted": deleted}
