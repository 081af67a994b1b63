"""The automation run log: owner of `_gb_runs` (one row per run), `_gb_fired` (what timed triggers fired)
and `_gb_parked` (runs a `wait:` or `approval:` step parked until they are due).

A run's `run_key` is unique (`{base}.{automation}:{event id}`, `…:schedule:{tick}`,
`…:date:{record}:{value}`, `…:manual:{uuid}`), so a run is recorded, and its effects
committed, at most once. A *fired key* remembers the last tick of a schedule or the date a
record's date trigger fired for, so a restart neither repeats nor skips one. A *step* of a
run (`step`) is a SAVEPOINT inside the run's transaction: a step that fails is undone alone.
A *parked* run remembers where it stopped (the index of its next step), when it is due (UTC
text; for `until_field`, recomputed from the record when checked) and the run's variables;
`resume` marks it resumed exactly once, in the transaction of the run that continues it.
"""

from __future__ import annotations

import json
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


def done_among(storage: Storage, run_keys: list[str]) -> set[str]:
    """Those of `run_keys` that have been recorded (one query per 500 keys)."""
    found: set[str] = set()
    for at in range(0, len(run_keys), 500):
        chunk = run_keys[at:at + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(str(r[0]) for r in storage.conn.execute(
            f"SELECT run_key FROM _gb_runs WHERE run_key IN ({marks})", chunk))  # noqa: S608 (placeholders only)
    return found


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


PARKED = "id, run_key, base, automation, tbl, record, position, due_at, until_field, depth, on_behalf, extra"


def park(conn: sqlite3.Connection, *, run_key: str, base: str, automation: str, table: str | None,
         record: str | None, position: int, due: datetime, until_field: str | None, depth: int,
         on_behalf: str | None, extra: dict[str, Any], now: datetime) -> None:
    """Park a run (inside its transaction) to go on at step `position` when `due`."""
    conn.execute(
        "INSERT INTO _gb_parked (run_key, base, automation, tbl, record, position, due_at, until_field, depth, "
        "on_behalf, extra, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_key, base, automation, table, record, position, utcnow_text(due), until_field, depth, on_behalf,
         json.dumps(extra, ensure_ascii=False, default=str), utcnow_text(now)))


def parked_due(storage: Storage, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Parked runs not yet resumed whose due time has come, oldest first (`extra` decoded)."""
    rows = rows_of(storage.conn.execute(
        f"SELECT {PARKED} FROM _gb_parked WHERE resumed_at IS NULL AND due_at <= ? "  # noqa: S608 (fixed names)
        "ORDER BY due_at, id LIMIT ?", (utcnow_text(now), limit)))
    for row in rows:
        row["extra"] = json.loads(row["extra"] or "{}")
    return rows


def parked(storage: Storage, *, base: str | None = None) -> list[dict[str, Any]]:
    """Runs still parked (not resumed), oldest first."""
    return rows_of(storage.conn.execute(
        f"SELECT {PARKED} FROM _gb_parked WHERE resumed_at IS NULL AND (? IS NULL OR base = ?) "  # noqa: S608
        "ORDER BY due_at, id", (base, base)))


def postpone(conn: sqlite3.Connection, ident: int, due: datetime) -> None:
    """A parked run waiting for a field whose date moved: its new due time."""
    conn.execute("UPDATE _gb_parked SET due_at = ? WHERE id = ? AND resumed_at IS NULL", (utcnow_text(due), ident))


def wake(conn: sqlite3.Connection, run_key: str, now: datetime) -> bool:
    """Make the run parked as `run_key` due now (its approval was decided); False if it is not parked."""
    return conn.execute("UPDATE _gb_parked SET due_at = ? WHERE run_key = ? AND resumed_at IS NULL",
                        (utcnow_text(now), run_key)).rowcount > 0


def parked_key(storage: Storage, run_key: str) -> dict[str, Any] | None:
    """The parked run `run_key`, if it is still parked (`extra` decoded)."""
    rows = rows_of(storage.conn.execute(
        f"SELECT {PARKED} FROM _gb_parked WHERE run_key = ? AND resumed_at IS NULL", (run_key,)))  # noqa: S608
    for row in rows:
        row["extra"] = json.loads(row["extra"] or "{}")
    return rows[0] if rows else None


def resume(conn: sqlite3.Connection, ident: int, now: datetime) -> bool:
    """Mark a parked run resumed (inside the transaction of the run that continues it); False if it was already."""
    return conn.execute("UPDATE _gb_parked SET resumed_at = ? WHERE id = ? AND resumed_at IS NULL",
                        (utcnow_text(now), ident)).rowcount > 0
