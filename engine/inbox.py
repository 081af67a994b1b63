"""The in-app inbox: owner of `_gb_notifications`, one row per notification for one person.

A notification is addressed to one person; it is *unread* while `read_at` is empty. Its `key`
is unique, so the same event never notifies the same person twice (an automation that runs
again after a crash adds nothing). Writers call `add` inside their own transaction (the
automation's run or the comment's write), so a notification exists exactly when the write does.

Live badges (engine.live) see new notifications with `newest_id` and `people_since`, and are
told by `listen` whose notifications were marked read, after that commit.
"""

from __future__ import annotations

import functools
import sqlite3
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.ids import utcnow_text
from engine.storage import Storage, rows_of

UNREAD_CAP = 100  # the badge shows "99+" from here on
# Who hears, per database, that someone's notifications were marked read (live badges).
_read_listeners: weakref.WeakKeyDictionary[Storage, list[Callable[[str], None]]] = weakref.WeakKeyDictionary()


def add(conn: sqlite3.Connection, *, person: str, at: datetime, title: str, body: str, link: str,
        base: str | None, table: str | None, record: str | None, key: str) -> tuple[int, bool]:
    """Add a notification inside the caller's transaction: (its id, whether it is new)."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO _gb_notifications (person, at, title, body, link, base, tbl, record, key) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (person, utcnow_text(at), title, body, link, base, table, record, key))
    if cur.rowcount:
        return int(cur.lastrowid or 0), True
    return int(conn.execute("SELECT id FROM _gb_notifications WHERE key = ?", (key,)).fetchone()[0]), False


def unread(storage: Storage, person: str, cap: int = UNREAD_CAP) -> int:
    """Unread notifications of `person`, counted up to `cap`.

    Every page shows the count, so it must not cost more for someone who has let tens of
    thousands pile up (a full count then took most of a form submission's time).
    """
    row = storage.conn.execute("SELECT count(*) FROM (SELECT 1 FROM _gb_notifications WHERE person = ? "
                               "AND read_at IS NULL LIMIT ?) AS unread", (person, cap)).fetchone()
    return int(row[0])


def latest(storage: Storage, person: str, limit: int) -> list[dict[str, Any]]:
    """The newest notifications of `person`: id, at, title, body, link, base, tbl, record, read_at."""
    return rows_of(storage.conn.execute(
        "SELECT id, at, title, body, link, base, tbl, record, read_at FROM _gb_notifications "
        "WHERE person = ? ORDER BY at DESC, id DESC LIMIT ?", (person, limit)))


def one(storage: Storage, person: str, ident: int) -> dict[str, Any] | None:
    """Notification `ident` if it is addressed to `person` (id, link, base, tbl, record)."""
    found = rows_of(storage.conn.execute(
        "SELECT id, link, base, tbl, record FROM _gb_notifications WHERE id = ? AND person = ?", (ident, person)))
    return found[0] if found else None


def listen(storage: Storage, callback: Callable[[str], None]) -> None:
    """Call `callback(person)` after each commit that marked some of `person`'s notifications read."""
    _read_listeners.setdefault(storage, []).append(callback)


def unlisten(storage: Storage, callback: Callable[[str], None]) -> None:
    listeners = _read_listeners.get(storage, [])
    if callback in listeners:
        listeners.remove(callback)


def newest_id(storage: Storage) -> int:
    """The id of the newest notification (0 when there is none)."""
    return int(storage.conn.execute("SELECT coalesce(max(id), 0) FROM _gb_notifications").fetchone()[0])


def people_since(storage: Storage, after: int) -> set[str]:
    """Everyone with a notification of id above `after`: a range of the key, the few rows since
    the last look. (As `SELECT DISTINCT person`, SQLite's planner walked the whole covering
    index on person instead: 2 ms a commit with 38,000 notifications, growing with them.)"""
    rows = storage.conn.execute("SELECT person FROM _gb_notifications WHERE id > ? ORDER BY id", (after,))
    return {r[0] for r in rows}


def mark_read(storage: Storage, person: str, ident: int | None, at: datetime) -> None:
    """Mark one notification (or, with None, all) of `person` read."""
    with storage.transaction() as conn:
        for callback in _read_listeners.get(storage, []):
            storage.after_commit(functools.partial(callback, person))
        if ident is None:
            conn.execute("UPDATE _gb_notifications SET read_at = ? WHERE person = ? AND read_at IS NULL",
                         (utcnow_text(at), person))
        else:
            conn.execute("UPDATE _gb_notifications SET read_at = ? WHERE id = ? AND person = ? AND read_at IS NULL",
                         (utcnow_text(at), ident, person))


def titles(storage: Storage, idents: list[int]) -> dict[int, str]:
    """The titles of these notifications (for the dead-letter list)."""
    out: dict[int, str] = {}
    for start in range(0, len(idents), 500):
        chunk = idents[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        out.update((int(i), t) for i, t in storage.conn.execute(
            f"SELECT id, title FROM _gb_notifications WHERE id IN ({marks})", chunk))  # noqa: S608 (placeholders only)
    return out
