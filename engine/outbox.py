"""The outbox (`_gb_outbox`): one event per committed record write, for the automation worker.

This module is the only one that reads or writes `_gb_outbox`.

Words: an *event* is one outbox row — a record of a table was `created`, `updated`,
`deleted` or `restored` by an *actor*, at a *depth* (0 for a person's write, one more for
each automation write it leads to). Every event has the same *data* shape, whether the write
was a single record or a row of a bulk import:

    {"old": {field key: stored value before, ...}, "new": {field key: stored value after, ...}}

with the same keys in both, except for a created record, whose `old` is empty (each value
changed from nothing); plus `"form": KEY` for a form submission and `"clock": true` for a
value the clock moved. `new` of a created record is exactly its audit entry's values, so a
bulk writer puts the text it encoded for the audit log in the event as it is.

A *held* event (an import's, while it is written in many short transactions) waits with
`processed_at = "held:<import>"` until the whole import is in, then is released (or dropped
with the import's rows if it is rolled back): automations never act on half an import.

Writers `append` (or `append_created`) inside their own transaction, so an event exists
exactly when its write does. Listeners (the worker's wake-up) are called only after that
transaction has committed (`Storage.after_commit`): woken earlier, the worker would read
before the commit, find nothing, and sleep a whole poll interval. The worker takes events
with `pending`, and inside its own transaction `claim`s them and marks them `mark_processed`
(both at once: `claim_processed`).

Several processes on one database (PostgreSQL): every transaction that appends an event also
`announce`s it through the store, so `listen_across` wakes the listeners of every process; the
worker's `claim` takes the events with the dialect's `claim_rows` (`FOR UPDATE SKIP LOCKED`)
inside its transaction, which also holds the database's writer lock: one process runs an event.
On one SQLite file (`gridbase serve --workers N`) there is no announcing: each process's
listeners hear its own commits, and the others find the events when they next look; the claim
is the read of `processed_at` inside the worker's `BEGIN IMMEDIATE` transaction, which holds
the file's one write lock across processes, so there too one process runs an event.

Kept row counts (engine.counts) read the events between two ids in their own snapshot
(`between`) and whether any import is held (`holding`).

Live updates (engine.live) read every committed event, processed or not, with `since`; an
import's held events are passed over there, and `release_listeners` are told the ids of the
events each release let out (after its commit): `these` reads them then.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.storage import Storage

Changes = dict[str, list[Any]]

_COLUMNS = "id, at, base, tbl, record, event, actor, data, depth"
_INSERT = "INSERT INTO _gb_outbox (at, base, tbl, record, event, actor, data, depth) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_HELD = ("INSERT INTO _gb_outbox (at, base, tbl, record, event, actor, data, depth, processed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
# `processed_at` of an event held back by an import that is still being written: not NULL,
# so the worker (which takes NULL ones) does not see it; released or dropped as a whole.
HELD = "held:"
# One encoder made once: for a bulk import's million events, json.dumps would build one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def event_data(changes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An event's data from its changes (field key -> (old, new)) and extra keys."""
    return {"old": {k: v[0] for k, v in changes.items()}, "new": {k: v[1] for k, v in changes.items()}, **extra}


def created_text(values_json: str, tail: str = "") -> str:
    """The stored data of a `created` event whose new values are the JSON object `values_json`
    (`tail`: its other keys, encoded, each after a comma: `,"form":"intake"`)."""
    return '{"old":{},"new":' + values_json + tail + "}"


@dataclass
class Event:
    """One outbox row."""

    id: int
    at: str
    base: str
    table: str
    record: str | None
    kind: str
    actor: str
    depth: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> Changes:
        """Field key -> [old, new] for each field the write changed."""
        old, new = self.data.get("old") or {}, self.data.get("new") or {}
        return {key: [old.get(key), new.get(key)] for key in {**old, **new}}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Event:
        eid, at, base, tbl, record, kind, actor, data, depth = row
        return cls(int(eid), at, base, tbl, record, kind, actor, int(depth or 0), json.loads(data or "{}"))


class Outbox:
    """The outbox of one workspace database, and who is told when events are committed."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.listeners: list[Callable[[int], None]] = []
        self.release_listeners: list[Callable[[list[int]], None]] = []
        self._last = 0  # the newest event appended, told to listeners after its commit
        self._released: list[int] = []  # ids let out by releases, told after their commit
        self._released_lock = threading.Lock()  # taken by the releasing writer and by whoever tells
        self._across = False  # listening to other processes' commits (listen_across)

    # -- writing (inside the writer's transaction) ---------------------------------------
    def append(self, *, at: str, base: str, table: str, record: str | None, kind: str, actor: str,
               changes: dict[str, Any], depth: int = 0, **extra: Any) -> int:
        """Add one event (changes: field key -> (old, new)) to the current transaction;
        listeners hear of it after the commit."""
        data = _ENCODER.encode(event_data(changes, **extra))
        cur = self._conn().execute(_INSERT, (at, base, table, record, kind, actor, data, depth))
        self._after(int(cur.lastrowid or 0))
        return int(cur.lastrowid or 0)

    def append_created(self, rows: Iterable[tuple[str, str, str, str]], *, base: str, table: str,
                       held: str | None = None, depth: int = 0) -> None:
        """Add `created` events for many new records: (at, record id, actor, data text) rows,
        the data already encoded (`created_text`) by the bulk writer.

        `held` (an import's name): the events wait, unseen by the worker, until `release(held)`.
        """
        conn = self._conn()
        if held is not None:
            mark = HELD + held
            conn.executemany(_INSERT_HELD, ((at, base, table, record, "created", actor, data, depth, mark)
                                            for at, record, actor, data in rows))
            return
        events = [(at, base, table, record, "created", actor, data, depth) for at, record, actor, data in rows]
        if len(events) == 1:  # a record made on its own (a form): its id from the INSERT, no second statement
            last = conn.execute(_INSERT, events[0]).lastrowid
        else:
            conn.executemany(_INSERT, events)
            last = conn.execute("SELECT max(id) FROM _gb_outbox").fetchone()[0]
        if last:
            self._after(int(last))

    def release(self, held: str, *, limit: int = 5000) -> int:
        """Inside a transaction: let the worker see up to `limit` events held for `held`;
        return how many (0 when none is left)."""
        mark = HELD + held
        if self.release_listeners:
            ids = [r[0] for r in self._conn().execute(
                "SELECT id FROM _gb_outbox WHERE processed_at = ? ORDER BY id LIMIT ?", (mark, limit))]
            with self._released_lock:
                self._released += ids
        count = self._conn().execute(
            "UPDATE _gb_outbox SET processed_at = NULL WHERE id IN "
            "(SELECT id FROM _gb_outbox WHERE processed_at = ? ORDER BY id LIMIT ?)", (mark, limit)).rowcount
        if count:
            last = self._conn().execute("SELECT max(id) FROM _gb_outbox").fetchone()[0]
            self._after(int(last or 0))
        return int(count)

    def drop_held(self, held: str, *, limit: int = 5000) -> int:
        """Inside a transaction: delete up to `limit` events held for `held` (its import was
        rolled back); return how many."""
        return int(self._conn().execute(
            "DELETE FROM _gb_outbox WHERE id IN (SELECT id FROM _gb_outbox WHERE processed_at = ? LIMIT ?)",
            (HELD + held, limit)).rowcount)

    def _conn(self) -> sqlite3.Connection:
        if not self.storage.lock.held():
            raise RuntimeError("an outbox event is written inside the write's transaction")
        return self.storage.writer

    def _after(self, event_id: int) -> None:
        self._last = max(self._last, event_id)
        self.storage.announce()  # other processes' workers and live updates hear of it at the commit
        self.storage.after_commit(self._tell)

    def listen_across(self) -> None:
        """Have the listeners also hear of events other processes commit on the same database
        (the store's `listen`: PostgreSQL's LISTEN/NOTIFY; nothing for a SQLite file)."""
        if not self._across:
            self._across = True
            self.storage.listen(self._heard)

    def _heard(self) -> None:
        for listener in list(self.listeners):
            listener(0)

    def _tell(self) -> None:
        with self._released_lock:
            released, self._released = self._released, []
        if released:
            for told in list(self.release_listeners):
                told(released)
        for listener in list(self.listeners):
            listener(self._last)

    # -- the worker -----------------------------------------------------------------------
    @property
    def newest(self) -> int:
        """The newest event id appended in this process (its commit may be under way)."""
        return self._last

    def pending(self, *, after: int = 0, limit: int = 100) -> list[Event]:
        """Unprocessed events with an id above `after`, oldest first (a committed snapshot)."""
        # The ids first, from the pending index (processed_at, id), which holds the few
        # unprocessed events in id order (`+id` keeps the planner off the primary key); then
        # their rows. Asked in one go, SQLite may walk the primary key from `after` through
        # every processed event instead (it does when ANALYZE saw one processed_at value for
        # all rows, as after an import): a million rows read per worker pass.
        with self.storage.reading() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM _gb_outbox WHERE id IN (SELECT id FROM _gb_outbox "
                                "WHERE processed_at IS NULL AND +id > ? ORDER BY id LIMIT ?) ORDER BY id",
                                (after, limit)).fetchall()
        return [Event.from_row(r) for r in rows]

    def claim(self, event_ids: list[int]) -> set[int]:
        """Inside the worker's transaction: claim those of `event_ids` still unprocessed (no other
        worker, of this process or another, took them), in one query; the claims hold until the
        commit. The ids claimed."""
        if not event_ids:
            return set()
        marks = ", ".join("?" * len(event_ids))
        rows = self._conn().execute(f"SELECT id, processed_at FROM _gb_outbox WHERE id IN ({marks})"  # noqa: S608
                                    + self.storage.dialect.claim_rows, event_ids).fetchall()
        return {int(r[0]) for r in rows if r[1] is None}

    def claim_processed(self, event_ids: list[int], at: str) -> set[int]:
        """Inside the worker's transaction: `claim` those of `event_ids` still unprocessed and
        mark them processed at `at`, in one statement (the claim and the mark of `claim` and
        `mark_processed`: one statement fewer under the write lock). The worker writes their runs
        after it, in the same transaction, so they are processed exactly when their runs are
        committed, as when the mark came last. The ids claimed."""
        if not event_ids:
            return set()
        marks = ", ".join("?" * len(event_ids))
        rows = self._conn().execute(
            "UPDATE _gb_outbox SET processed_at = ? WHERE id IN (SELECT id FROM _gb_outbox "  # noqa: S608 (placeholders only)
            f"WHERE id IN ({marks}) AND processed_at IS NULL{self.storage.dialect.claim_rows}) RETURNING id",
            [at, *event_ids]).fetchall()
        return {int(r[0]) for r in rows}

    def mark_processed(self, event_ids: list[int], at: str) -> None:
        """Inside the worker's transaction: these events' runs are written (one statement)."""
        if event_ids:
            marks = ", ".join("?" * len(event_ids))
            self._conn().execute(f"UPDATE _gb_outbox SET processed_at = ? WHERE id IN ({marks})",  # noqa: S608
                                 [at, *event_ids])

    def mark_all_processed(self, at: str) -> int:
        """Mark every pending event processed in a transaction of its own (sample data is
        history: its creation must not fire automations); return how many."""
        with self.storage.transaction() as conn:
            return conn.execute("UPDATE _gb_outbox SET processed_at = ? WHERE processed_at IS NULL", (at,)).rowcount

    def since(self, after: int, *, limit: int = 1000) -> tuple[list[Event], int]:
        """Up to `limit` committed events with an id above `after`, processed or not, oldest
        first, and the id to read on from. Held events are passed over (not returned, but
        read past: a release tells its ids to `release_listeners`), so that an import being
        written is not read again and again (live updates)."""
        with self.storage.reading() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS}, processed_at FROM _gb_outbox WHERE id > ? ORDER BY id LIMIT ?",
                                (after, limit)).fetchall()
        events = [Event.from_row(r[:-1]) for r in rows if not (r[-1] or "").startswith(HELD)]
        return events, (int(rows[-1][0]) if rows else after)

    def these(self, ids: list[int]) -> list[Event]:
        """The events of these ids (those released from an import), oldest first; any still
        held (a release rolled back) left out."""
        out: list[Event] = []
        with self.storage.reading() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ", ".join("?" * len(chunk))
                out += [Event.from_row(r) for r in conn.execute(
                    f"SELECT {_COLUMNS} FROM _gb_outbox WHERE id IN ({marks}) AND "  # noqa: S608 (placeholders only)
                    "(processed_at IS NULL OR processed_at NOT LIKE 'held:%') ORDER BY id", chunk)]
        return out

    def between(self, conn: sqlite3.Connection, after: int, upto: int, *,
                limit: int) -> list[tuple[str, str, str | None, str, set[str] | None]]:
        """In the caller's snapshot `conn`: (base, table, record, kind, changed field keys) of up
        to `limit` events with an id above `after` and at most `upto`, held ones too, oldest
        first; the keys only for `updated` events (None when their data cannot be read). For
        kept row counts (engine.counts): one range read of the primary key."""
        out: list[tuple[str, str, str | None, str, set[str] | None]] = []
        for base, tbl, record, kind, data in conn.execute(
                "SELECT base, tbl, record, event, CASE WHEN event = 'updated' THEN data END FROM _gb_outbox "
                "WHERE id > ? AND id <= ? ORDER BY id LIMIT ?", (after, upto, limit)):
            changed = None
            if data is not None:
                try:
                    parsed = json.loads(data)
                    changed = set(parsed.get("old") or {}) | set(parsed.get("new") or {})
                except (ValueError, AttributeError):
                    changed = None
            out.append((base, tbl, record, kind, changed))
        return out

    def holding(self, conn: sqlite3.Connection) -> bool:
        """In the caller's snapshot `conn`: whether some import's events are held (its rows are
        written, and it may yet be rolled back). One probe of the pending index, for the marks
        from `held:` up to `hele`, which hold every held mark in any collation: PostgreSQL's
        others than C weigh punctuation after letters, so they put `held:x` after `held;` (the
        bound this had) but still before `hele`, whose fourth letter decides."""
        return conn.execute("SELECT 1 FROM _gb_outbox WHERE processed_at >= ? AND processed_at < ? "
                            "AND substr(processed_at, 1, ?) = ? LIMIT 1",
                            (HELD, HELD[:3] + chr(ord(HELD[3]) + 1), len(HELD), HELD)).fetchone() is not None

    def newest_id(self) -> int:
        """The id of the newest event (0 when there is none)."""
        with self.storage.reading() as conn:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM _gb_outbox").fetchone()[0])

    def latest(self) -> Event | None:
        """The newest event (committed), or None."""
        with self.storage.reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM _gb_outbox ORDER BY id DESC LIMIT 1").fetchone()
        return Event.from_row(row) if row else None
