"""The automation run log: owner of `_gb_runs` (one row per run) and `_gb_fired` (what timed triggers fired).

A run's `run_key` is unique (`{base}.{automation}:{event id}`, `…:schedule:{tick}`,
`…:date:{record}:{value}`, `…:manual:{uuid}`), so a run is recorded, and its effects
committed, at most once. A *fired key* remembers the last tick of a schedule or the date a
record's date trigger fired for, so a restart neither repeats nor skips one. A *step* of a
run (`step`) is a SAVEPOINT inside the run's transaction: a step that fails is undone alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from engine.ids import utcnow_text
from engine.storage import Storage, rows_of

COLUMNS = "id, automation, base, trigger, record, event_id, started_at, duration_ms, status, steps, error, run_key"


def done(storage: Storage, run_key: str) -> bool:
    """Whether a run with this key has been recorded."""
    return storage.conn.execute("SELECT 1 FROM _gb_runs WHERE run_key = ?", (run_key,)).fetchone() is not None


@contextmanager
def step(conn: sqlite3.Connection) -> Iterator[None]:
    """One step of a run inside the run's transaction: what it wrote is undone alone if it raises."""
    conn.execute("SAVEPOINT gb_step")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO gb_step")
        conn.execute("RELEASE gb_step")
        raise
    conn.execute("RELEASE gb_step")


def record(conn: sqlite3.Connection, **values: Any) -> int:
    """Record one run inside the caller's transaction (its effects commit with it); its id."""
    names = [k for k in COLUMNS.split(", ") if k != "id" and k in values]
    marks = ", ".join("?" * len(names))
    cur = conn.execute(f"INSERT INTO _gb_runs ({', '.join(names)}) VALUES ({marks})",  # noqa: S608 (fixed names)
                       [values[k] for k in names])
    return int(cur.lastrowid or 0)


def listed(storage: Storage, *, base: str | None = None, automation: str | None = None, status: str | None = None,
           record: str | None = None, before: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Runs, newest first, narrowed by any of base, automation, status and record; `before` (a run id) pages back."""
    with storage.reading() as conn:
        return rows_of(conn.execute(
            f"SELECT {COLUMNS} FROM _gb_runs WHERE (? IS NULL OR base = ?) AND (? IS NULL OR automation = ?) "  # noqa: S608
            "AND (? IS NULL OR status = ?) AND (? IS NULL OR record = ?) AND (? IS NULL OR id < ?) "
            "ORDER BY id DESC LIMIT ?",
            (base, base, automation, automation, status, status, record, record, before, before,
             max(1, min(limit, 1000)))))


def exists(storage: Storage, ident: int) -> bool:
    return storage.conn.execute("SELECT 1 FROM _gb_runs WHERE id = ?", (ident,)).fetchone() is not None


def last_fired(storage: Storage, key: str) -> str | None:
    """When the timed trigger `key` last fired (UTC text), if ever."""
    row = storage.conn.execute("SELECT at FROM _gb_fired WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_fired(conn: sqlite3.Connection, key: str, at: datetime) -> None:
    conn.execute("INSERT OR REPLACE INTO _gb_fired (key, at) VALUES (?, ?)", (key, utcnow_text(at)))


def fire_once(conn: sqlite3.Connection, key: str, at: datetime) -> bool:
    """Remember that `key` fired; False if it had fired already (then do nothing)."""
    return conn.execute("INSERT OR IGNORE INTO _gb_fired (key, at) VALUES (?, ?)", (key, utcnow_text(at))).rowcount > 0
