"""The outbox (`_gb_outbox`): one event per committed record write, for the automation worker.

This module is the only one that reads or writes `_gb_outbox`.

Words: an *event* is one outbox row — a record of a table was `created`, `updated`,
`deleted` or `restored` by an *actor*, at a *depth* (0 for a person's write, one more for
each automation write it leads to). Every event has the same *data* shape, whether the write
was a single record or a row of a bulk import:

    {"changes": {field key: [old stored value, new stored value], ...}, ...}

plus `"form": KEY` for a form submission and `"clock": true` for a value the clock moved.
A created record's changes go from None to each value it was created with.

Writers `append` (or `append_created`) inside their own transaction, so an event exists
exactly when its write does. Listeners (the worker's wake-up) are called only after that
transaction has committed (`Storage.after_commit`): woken earlier, the worker would read
before the commit, find nothing, and sleep a whole poll interval. The worker takes events
with `pending`, and inside its own transaction checks `is_pending` and `mark_processed`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.storage import Storage

Changes = dict[str, list[Any]]

_COLUMNS = "id, at, base, tbl, record, event, actor, data, depth"
_INSERT = "INSERT INTO _gb_outbox (at, base, tbl, record, event, actor, data, depth) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# One encoder made once: for a bulk import's million events, json.dumps would build one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def encode(data: dict[str, Any]) -> str:
    """An event's data as stored."""
    return _ENCODER.encode(data)


def created_data(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The data of a `created` event: each value changed from None."""
    return {"changes": {key: [None, value] for key, value in values.items()}, **extra}


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
        return dict(self.data.get("changes") or {})

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Event:
        eid, at, base, tbl, record, kind, actor, data, depth = row
        return cls(int(eid), at, base, tbl, record, kind, actor, int(depth or 0), json.loads(data or "{}"))


class Outbox:
    """The outbox of one workspace database, and who is told when events are committed."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.listeners: list[Callable[[int], None]] = []
        self._last = 0  # the newest event appended, told to listeners after its commit

    # -- writing (inside the writer's transaction) ---------------------------------------
    def append(self, *, at: str, base: str, table: str, record: str | None, kind: str, actor: str,
               data: dict[str, Any], depth: int = 0) -> int:
        """Add one event to the current transaction; listeners hear of it after the commit."""
        cur = self._conn().execute(_INSERT, (at, base, table, record, kind, actor, encode(data), depth))
        self._after(int(cur.lastrowid or 0))
        return int(cur.lastrowid or 0)

    def append_created(self, rows: Iterable[tuple[str, str, str, str]], *, base: str, table: str) -> None:
        """Add `created` events for many new records: (at, record id, actor, data text) rows,
        the data already encoded (`encode(created_data(values))`) by the bulk writer."""
        conn = self._conn()
        conn.executemany(_INSERT, ((at, base, table, record, "created", actor, data, 0) for at, record, actor, data in rows))
        last = conn.execute("SELECT max(id) FROM _gb_outbox").fetchone()[0]
        if last:
            self._after(int(last))

    def _conn(self) -> sqlite3.Connection:
        if not self.storage.lock.held():
            raise RuntimeError("an outbox event is written inside the write's transaction")
        return self.storage.writer

    def _after(self, event_id: int) -> None:
        self._last = max(self._last, event_id)
        self.storage.after_commit(self._tell)

    def _tell(self) -> None:
        for listener in list(self.listeners):
            listener(self._last)

    # -- the worker -----------------------------------------------------------------------
    def pending(self, *, after: int = 0, limit: int = 100) -> list[Event]:
        """Unprocessed events with an id above `after`, oldest first (a committed snapshot)."""
        with self.storage.reading() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM _gb_outbox WHERE processed_at IS NULL AND id > ? "
                                "ORDER BY id LIMIT ?", (after, limit)).fetchall()
        return [Event.from_row(r) for r in rows]

    def is_pending(self, event_id: int) -> bool:
        """Inside the worker's transaction: the event is still unprocessed (no other worker took it)."""
        row = self._conn().execute("SELECT processed_at FROM _gb_outbox WHERE id = ?", (event_id,)).fetchone()
        return row is not None and row[0] is None

    def mark_processed(self, event_id: int, at: str) -> None:
        """Inside the worker's transaction: the event's runs are written."""
        self._conn().execute("UPDATE _gb_outbox SET processed_at = ? WHERE id = ?", (at, event_id))

    def mark_all_processed(self, at: str) -> int:
        """Mark every pending event processed in a transaction of its own (sample data is
        history: its creation must not fire automations); return how many."""
        with self.storage.transaction() as conn:
            return conn.execute("UPDATE _gb_outbox SET processed_at = ? WHERE processed_at IS NULL", (at,)).rowcount

    def latest(self) -> Event | None:
        """The newest event (committed), or None."""
        with self.storage.reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM _gb_outbox ORDER BY id DESC LIMIT 1").fetchone()
        return Event.from_row(row) if row else None
