"""The delivery queue: owner of `_gb_deliveries`, one row per message for one channel.

A delivery is *pending* until due (`next_at`), *sending* while a worker has claimed it, then
*sent*, or back to *pending* later after a failure that may pass, or *dead* (a dead letter an
admin may retry) after one that will not or after the last attempt. Its `key` is unique, so a
message is queued once however often the step that queues it runs.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from engine.ids import utcnow_text
from engine.storage import Storage, rows_of


def queue(conn: sqlite3.Connection, *, channel: str, key: str, payload: dict[str, Any], person: str | None,
          notification: int | None, at: datetime) -> bool:
    """Queue one delivery inside the caller's transaction; False if its key is already queued."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO _gb_deliveries (notification, channel, person, payload, key, status, attempts, next_at) "
        "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)",
        (notification, channel, person, json.dumps(payload, ensure_ascii=False, default=str), key, utcnow_text(at)))
    return cur.rowcount > 0


def state(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    """The delivery with this key (status, attempts, next_at, sent_at, last_error), or None."""
    rows = rows_of(conn.execute("SELECT status, attempts, next_at, sent_at, last_error FROM _gb_deliveries WHERE key = ?",
                                (key,)))
    return rows[0] if rows else None


_NEXT = "FROM _gb_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT 1"
_DUE = "SELECT id " + _NEXT
_CLAIM = ("UPDATE _gb_deliveries SET status = 'sending', next_at = ? WHERE id = (SELECT id " + _NEXT + ") "
          "RETURNING id, channel, key, payload, attempts")


def claim(storage: Storage, now: datetime) -> tuple[int, str, str, str, int] | None:
    """Mark the next due delivery `sending` and commit; return (id, channel, key, payload, attempts)."""
    stamp = utcnow_text(now)
    # Asked first without the write lock: the worker asks after every pass, and mostly nothing is
    # due; taking the lock for nothing would make the writers of records wait (and cost a commit).
    if storage.conn.execute(_DUE, (stamp,)).fetchone() is None:
        return None
    # Under the lock, asked again and marked in one statement (one fewer while every writer waits).
    with storage.transaction() as conn:
        row = conn.execute(_CLAIM, (stamp, stamp)).fetchone()
    if row is None:
        return None
    return int(row[0]), row[1], row[2], row[3], int(row[4])


def sent(storage: Storage, ident: int, attempts: int, at: datetime) -> None:
    with storage.transaction() as conn:
        conn.execute("UPDATE _gb_deliveries SET status = 'sent', sent_at = ?, attempts = ?, last_error = NULL "
                     "WHERE id = ? AND status = 'sending'", (utcnow_text(at), attempts, ident))


def later(storage: Storage, ident: int, attempts: int, due: datetime, reason: str) -> None:
    """A failure that may pass: try again at `due`."""
    with storage.transaction() as conn:
        conn.execute("UPDATE _gb_deliveries SET status = 'pending', attempts = ?, next_at = ?, last_error = ? "
                     "WHERE id = ? AND status = 'sending'", (attempts, utcnow_text(due), reason[:1000], ident))


def dead(storage: Storage, ident: int, attempts: int, reason: str) -> None:
    """A failure that will not pass, or the last attempt: a dead letter."""
    with storage.transaction() as conn:
        conn.execute("UPDATE _gb_deliveries SET status = 'dead', attempts = ?, last_error = ? "
                     "WHERE id = ? AND status = 'sending'", (attempts, reason[:1000], ident))


def recover_sending(storage: Storage, cutoff: datetime) -> int:
    """Put `sending` rows claimed before `cutoff` (a worker died mid-send) back to `pending`."""
    with storage.transaction() as conn:
        return conn.execute("UPDATE _gb_deliveries SET status = 'pending' WHERE status = 'sending' AND next_at <= ?",
                            (utcnow_text(cutoff),)).rowcount


def retry_dead(storage: Storage, ident: int, now: datetime) -> bool:
    """Queue a dead delivery again (attempts start over); False if it is not dead."""
    with storage.transaction() as conn:
        return conn.execute("UPDATE _gb_deliveries SET status = 'pending', attempts = 0, next_at = ? "
                            "WHERE id = ? AND status = 'dead'", (utcnow_text(now), ident)).rowcount > 0


def listed(storage: Storage, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Deliveries, newest first: id, notification, channel, person, key, status, attempts, next_at, last_error, sent_at."""
    sql = ("SELECT id, notification, channel, person, key, status, attempts, next_at, last_error, sent_at, payload "
           "FROM _gb_deliveries WHERE (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?")
    with storage.reading() as conn:
        return rows_of(conn.execute(sql, (status, status, limit)))
