"""Webhooks as Airtable's API has them: owner of `_gb_webhooks` and `_gb_webhook_payloads`.

Words: a *webhook* (`ach…`) belongs to one base and one *owner* (the person whose token made
it); its *specification* says what it watches (`filters`: `dataTypes`, `recordChangeScope`, a
table, `changeTypes`, `fromSources`, `watchDataInFieldIds`) and what a payload includes
(`includes`). It *expires* seven days after it was made or last refreshed; an expired webhook
is gone (it records nothing, and every call about it answers as for an unknown one).

A *payload* is one outbox event a webhook matched, numbered by the webhook's own *cursor*
(1, 2, 3, … with no gaps, as Airtable's clients count them). The automation worker calls
`record` for each event inside the transaction that marks the event processed, so an event
becomes a payload of each matching webhook exactly once and never while the write itself is
running. A payload keeps only the event's id: its values are read from the outbox and
filtered by the owner's permissions *when they are read* (`changes_seen_by`), so a field or
record the owner may no longer read is never shown, whatever they could read before.

A *ping* (notification) tells the webhook's URL that there is something to fetch. `record`
returns the pings to queue; a webhook whose previous ping is still waiting in the delivery
queue gets no second one (the receiver will fetch everything when that one arrives).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine import deliveries, liveview
from engine.errors import NotFoundError
from engine.ids import utcnow_text
from engine.linked import restricted_fields
from engine.outbox import Event
from engine.permissions import Actor
from engine.storage import rows_of

if TYPE_CHECKING:
    from engine.records import Table
    from engine.workspace import Workspace

LIFETIME = timedelta(days=7)
MAX_PER_BASE = 10  # as Airtable: at most ten webhooks on a base
MAX_PAYLOADS = 50  # payloads in one answer, at most (Airtable's limit)
PING_CHANNEL = "airtable-webhook"
CHANGE_KINDS = {"created": "add", "restored": "add", "deleted": "remove", "updated": "update"}
_COLUMNS = "id, base, owner, url, secret, spec, created_at, expires_at, notifications, next_cursor, last_ping, last_success"


@dataclass
class Filters:
    """What a webhook watches, from its specification's `options.filters` (already checked)."""

    table: str | None = None  # a table key; None: every table of the base
    change_types: set[str] = field(default_factory=set)  # add, remove, update; empty: all
    sources: set[str] = field(default_factory=set)  # client, automation, formSubmission, system; empty: all
    fields: set[str] = field(default_factory=set)  # field keys an update must touch; empty: any


@dataclass
class Webhook:
    """One `_gb_webhooks` row."""

    id: str
    base: str
    owner: str
    url: str | None
    secret: str  # base64, as given to the owner once (macSecretBase64)
    spec: dict[str, Any]
    created_at: str
    expires_at: str
    notifications: bool
    next_cursor: int
    last_ping: str | None
    last_success: str | None
    filters: Filters = field(default_factory=Filters)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Webhook:
        stored = json.loads(row["spec"])
        hook = cls(row["id"], row["base"], row["owner"], row["url"], row["secret"], stored["spec"],
                   row["created_at"], row["expires_at"], bool(row["notifications"]), int(row["next_cursor"]),
                   row["last_ping"], row["last_success"])
        keys = stored.get("keys") or {}
        hook.filters = Filters(keys.get("table"), set(keys.get("change_types") or ()),
                               set(keys.get("sources") or ()), set(keys.get("fields") or ()))
        return hook


@dataclass
class Ping:
    """A notification to queue: its delivery key, where it goes, the MAC secret and the body."""

    key: str
    url: str
    secret: str
    body: dict[str, Any]


@dataclass
class Payload:
    """One payload of a webhook: its cursor and its event (None if the outbox lost it)."""

    cursor: int
    at: str
    event: Event | None


def source_of(event: Event) -> str:
    """Airtable's `actionMetadata.source` for an event."""
    if event.data.get("form"):
        return "formSubmission"
    if event.depth > 0 or event.actor.startswith("automation:"):
        return "automation"
    if event.actor == "system":
        return "system"
    return "client"


def _stamp(moment: datetime) -> str:
    return utcnow_text(moment)


# -- managing webhooks (each in a transaction of its own) ------------------------------------
def create(ws: Workspace, *, base: str, owner: str, url: str | None, spec: dict[str, Any],
           filters: Filters) -> Webhook:
    """Make a webhook (the caller has checked `spec` and turned it into `filters`)."""
    now = ws.now()
    hook_id = "ach" + secrets.token_hex(7)
    secret = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    stored = {"spec": spec, "keys": {"table": filters.table, "change_types": sorted(filters.change_types),
                                     "sources": sorted(filters.sources), "fields": sorted(filters.fields)}}
    with ws.storage.transaction() as conn:
        _forget_expired(conn, now)
        count = conn.execute("SELECT count(*) FROM _gb_webhooks WHERE base = ?", (base,)).fetchone()[0]
        if count >= MAX_PER_BASE:
            raise ValueError(f"a base has at most {MAX_PER_BASE} webhooks; delete one first")
        conn.execute(f"INSERT INTO _gb_webhooks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, NULL, NULL)",
                     (hook_id, base, owner, url, secret, json.dumps(stored, ensure_ascii=False),
                      _stamp(now), _stamp(now + LIFETIME)))
    found = get(ws, base, hook_id)
    assert found is not None
    return found


def listed(ws: Workspace, base: str, *, owner: str | None = None) -> list[Webhook]:
    """The living webhooks of a base, oldest first (only `owner`'s, if given)."""
    now = _stamp(ws.now())
    with ws.storage.reading() as conn:
        rows = rows_of(conn.execute(
            f"SELECT {_COLUMNS} FROM _gb_webhooks WHERE base = ? AND expires_at > ? AND (? IS NULL OR owner = ?) "
            "ORDER BY created_at, id", (base, now, owner, owner)))
    return [Webhook.from_row(r) for r in rows]


def get(ws: Workspace, base: str, hook_id: str) -> Webhook | None:
    """A living webhook of the base, or None."""
    now = _stamp(ws.now())
    with ws.storage.reading() as conn:
        rows = rows_of(conn.execute(f"SELECT {_COLUMNS} FROM _gb_webhooks WHERE base = ? AND id = ? AND expires_at > ?",
                                    (base, hook_id, now)))
    return Webhook.from_row(rows[0]) if rows else None


def delete(ws: Workspace, hook: Webhook) -> None:
    """Delete a webhook and its payloads."""
    with ws.storage.transaction() as conn:
        conn.execute("DELETE FROM _gb_webhook_payloads WHERE webhook = ?", (hook.id,))
        conn.execute("DELETE FROM _gb_webhooks WHERE id = ?", (hook.id,))


def refresh(ws: Workspace, hook: Webhook) -> str:
    """Extend a living webhook's life to seven days from now; return its new expiry."""
    expires = _stamp(ws.now() + LIFETIME)
    with ws.storage.transaction() as conn:
        _forget_expired(conn, ws.now())
        conn.execute("UPDATE _gb_webhooks SET expires_at = ? WHERE id = ?", (expires, hook.id))
    return expires


def enable_notifications(ws: Workspace, hook: Webhook, enable: bool) -> None:
    """Turn a webhook's pings on or off (payloads are recorded either way)."""
    with ws.storage.transaction() as conn:
        conn.execute("UPDATE _gb_webhooks SET notifications = ? WHERE id = ?", (int(enable), hook.id))


def last_ping(ws: Workspace, hook: Webhook) -> dict[str, Any] | None:
    """The state of the webhook's latest ping in the delivery queue (status, attempts,
    sent_at, last_error, next_at), or None when none was sent."""
    if hook.last_ping is None:
        return None
    with ws.storage.reading() as conn:
        return deliveries.state(conn, hook.last_ping)


def _forget_expired(conn: Any, now: datetime) -> None:
    """Delete expired webhooks and payloads past their seven days (when a webhook is made or
    refreshed; reads pass them over meanwhile)."""
    stamp = _stamp(now)
    conn.execute("DELETE FROM _gb_webhook_payloads WHERE webhook IN (SELECT id FROM _gb_webhooks WHERE expires_at <= ?)",
                 (stamp,))
    conn.execute("DELETE FROM _gb_webhooks WHERE expires_at <= ?", (stamp,))
    # Airtable keeps a payload seven days; so does Gridbase.
    conn.execute("DELETE FROM _gb_webhook_payloads WHERE at <= ?", (_stamp(now - LIFETIME),))


# -- recording (the automation worker, inside its transaction) -------------------------------
def matches(hook: Webhook, event: Event) -> bool:
    """Whether the webhook's filters take this event (permissions are applied when read)."""
    f = hook.filters
    if f.table is not None and event.table != f.table:
        return False
    if f.change_types and CHANGE_KINDS.get(event.kind) not in f.change_types:
        return False
    if f.sources and source_of(event) not in f.sources:
        return False
    return not (f.fields and event.kind == "updated" and not (f.fields & set(event.changes)))


def living(ws: Workspace, base: str) -> list[Webhook]:
    """The webhooks of `base` that have not expired, oldest first (only reads: the worker asks
    for every event, and most bases have none)."""
    rows = rows_of(ws.storage.conn.execute(f"SELECT {_COLUMNS} FROM _gb_webhooks WHERE base = ? AND expires_at > ? "
                                           "ORDER BY id", (base, _stamp(ws.now()))))
    return [Webhook.from_row(r) for r in rows]


def bases_living(ws: Workspace) -> set[str]:
    """The bases that have a webhook that has not expired: read by the worker before its
    transaction opens, so that events of every other base (most, or all) ask nothing of
    `_gb_webhooks` while it holds the write lock. A webhook made after this read does not
    get the events of that pass, which were written before it was made."""
    return {str(r[0]) for r in ws.storage.conn.execute("SELECT DISTINCT base FROM _gb_webhooks WHERE expires_at > ?",
                                                       (_stamp(ws.now()),))}  # one statement: no snapshot to open


def record(ws: Workspace, event: Event, hooks: list[Webhook] | None = None) -> list[Ping]:
    """Inside the worker's transaction: make `event` a payload of every living webhook of its
    base (`hooks`, as `living` just gave them, or read here) that matches it and whose owner
    may read its table; return the pings to queue."""
    conn = ws.storage.conn
    stamp = _stamp(ws.now())
    pings: list[Ping] = []
    for hook in living(ws, event.base) if hooks is None else hooks:
        if not matches(hook, event) or not _may_read_table(ws, hook.owner, event.base, event.table):
            continue
        conn.execute("INSERT INTO _gb_webhook_payloads (webhook, cursor, event, at) VALUES (?, ?, ?, ?)",
                     (hook.id, hook.next_cursor, event.id, stamp))
        conn.execute("UPDATE _gb_webhooks SET next_cursor = next_cursor + 1 WHERE id = ?", (hook.id,))
        if not hook.notifications or not hook.url:
            continue
        previous = deliveries.state(conn, hook.last_ping) if hook.last_ping else None
        if previous is not None and previous["status"] == "pending":
            continue  # its ping has not gone out yet: the receiver will fetch this one too
        key = f"{PING_CHANNEL}:{hook.id}:{hook.next_cursor}"
        success = previous["sent_at"] if previous is not None and previous["status"] == "sent" else hook.last_success
        conn.execute("UPDATE _gb_webhooks SET last_ping = ?, last_success = ? WHERE id = ?", (key, success, hook.id))
        body = {"base": {"id": hook.base}, "webhook": {"id": hook.id}, "timestamp": iso_ms(stamp)}
        pings.append(Ping(key, hook.url, hook.secret, body))
    return pings


_readers: dict[tuple[int, int, str, str, str], tuple[float, bool]] = {}
READER_SECONDS = 2.0  # how long `record` trusts what it found of an owner's access to a table


def _may_read_table(ws: Workspace, owner: str, base: str, table: str) -> bool:
    """Whether the owner may read the table, remembered a moment: an import's thousands of
    events ask the same question (payloads are filtered again, exactly, when read)."""
    key = (id(ws), id(ws.config), owner, base, table)
    now = time.monotonic()
    known = _readers.get(key)
    if known is not None and now - known[0] < READER_SECONDS:
        return known[1]
    try:
        found = bool(ws.base(base).table(table).access(ws.actor(owner)).can_read)
    except (NotFoundError, KeyError):
        found = False
    if len(_readers) > 1000:
        _readers.clear()
    _readers[key] = (now, found)
    return found


def iso_ms(stamp: str) -> str:
    """`2026-12-07T06:00:00Z` as Airtable writes times: `2026-12-07T06:00:00.000Z`."""
    return stamp[:-1] + ".000Z" if stamp.endswith("Z") and "." not in stamp else stamp


# -- reading payloads ------------------------------------------------------------------------
def payloads(ws: Workspace, hook: Webhook, *, cursor: int, limit: int) -> list[Payload]:
    """Up to `limit` payloads from `cursor` on, in cursor order."""
    kept = _stamp(ws.now() - LIFETIME)
    with ws.storage.reading() as conn:
        rows = conn.execute("SELECT cursor, at, event FROM _gb_webhook_payloads WHERE webhook = ? AND cursor >= ? "
                            "AND at > ? ORDER BY cursor LIMIT ?", (hook.id, cursor, kept, limit)).fetchall()
    events = {e.id: e for e in ws.outbox.these([int(r[2]) for r in rows])}
    return [Payload(int(c), str(at), events.get(int(eid))) for c, at, eid in rows]


@dataclass
class SeenChange:
    """One payload's change as the owner may see it now: values by field key, already loaded
    and masked (None: the record or table is not theirs to read)."""

    table: Table
    kind: str  # add, remove, update
    record: str
    created_time: str
    current: dict[str, Any]
    previous: dict[str, Any]
    masked: set[str]
    keys: list[str]  # the fields the change touched that the owner may read


def changes_seen_by(ws: Workspace, owner: str, items: list[Payload]) -> dict[int, SeenChange | None]:
    """Per payload cursor, its change as `owner` may read it now: only tables and records
    they may read, only fields they may read, masked fields masked, and no field whose value
    depends on linked records they may not read."""
    try:
        actor: Actor = ws.actor(owner)
    except NotFoundError:
        return {p.cursor: None for p in items}
    out: dict[int, SeenChange | None] = {}
    by_table: dict[tuple[str, str], list[Payload]] = {}
    for item in items:
        out[item.cursor] = None
        if item.event is not None and item.event.record:
            by_table.setdefault((item.event.base, item.event.table), []).append(item)
    for (base, key), group in by_table.items():
        try:
            table = ws.base(base).table(key)
        except (NotFoundError, KeyError):
            continue
        access = table.access(actor)
        if not access.can_read:
            continue
        hidden = set(restricted_fields(table, actor, access))
        usable = [k for k in table.fields if access.readable(k) and k not in hidden]
        masked = {k for k in usable if access.mask(k)}
        # A record is judged as it is now, living or deleted (a payload may be read after).
        ids = [str(p.event.record) for p in group if p.event is not None]
        seen = liveview.readable_ids(table, access, actor, ids) | liveview.readable_ids(table, access, actor, ids,
                                                                                        deleted=True)
        for item in group:
            event = item.event
            assert event is not None and event.record is not None
            gone = event.kind == "deleted"
            if event.record not in seen:
                continue
            old, new = event.data.get("old") or {}, event.data.get("new") or {}
            fields = [k for k in usable if k in old or k in new]
            current = table.present({"_id": event.record, **new}, access, fields)["fields"] if not gone else {}
            previous = table.present({"_id": event.record, **old}, access, fields)["fields"]
            out[item.cursor] = SeenChange(table, CHANGE_KINDS.get(event.kind, "update"), event.record,
                                          iso_ms(event.at), current, previous, masked, fields)
    return out


def current_values(table: Table, record: str, owner: str, keys: list[str]) -> dict[str, Any]:
    """The record's values of `keys` as `owner` reads it now (missing: not theirs to read)."""
    try:
        got = table.get(record, actor=owner)
    except NotFoundError:
        return {}
    hidden = set(restricted_fields(table, table.ws.actor(owner), table.access(table.ws.actor(owner))))
    return {k: v for k, v in got["fields"].items() if k in keys and k not in hidden}
