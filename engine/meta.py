"""Facts about the workspace's database itself: owner of `_gb_meta`, a small key-value table.

Keys in use: `schema_applied_at` (engine.migrate), `session_secret` (the key that signs session
cookies, made on first use), `seeded` (what `gridbase demo` added, so it seeds only once),
`people_version` (engine.people: another value after every write to the people).
"""

from __future__ import annotations

import secrets
import sqlite3

from engine.storage import Storage


def get(storage: Storage, key: str) -> str | None:
    row = storage.conn.execute("SELECT value FROM _gb_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put(storage: Storage, key: str, value: str) -> None:
    with storage.transaction() as conn:
        put_in(conn, key, value)


def put_in(conn: sqlite3.Connection, key: str, value: str) -> None:
    """`put` inside the caller's transaction."""
    conn.execute("INSERT OR REPLACE INTO _gb_meta (key, value) VALUES (?, ?)", (key, value))


def present(conn: sqlite3.Connection) -> bool:
    """Whether the database on `conn` is a Gridbase one (it has `_gb_meta`)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_gb_meta'").fetchone() is not None


def secret(storage: Storage, key: str) -> str:
    """A random secret kept under `key`, made on first use (two processes agree on the first one)."""
    found = get(storage, key)
    if found is None:
        with storage.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO _gb_meta (key, value) VALUES (?, ?)", (key, secrets.token_hex(32)))
            found = str(conn.execute("SELECT value FROM _gb_meta WHERE key = ?", (key,)).fetchone()[0])
    return found
