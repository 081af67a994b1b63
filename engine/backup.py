"""The SQLite side of backups: copy a live database file, check a copy, put one in place.

gridbase.backup owns the files (temporary names, encryption, fsync, renames, retention and
the daily schedule); this module owns what is asked of SQLite:

- `snapshot(source, copy)`: SQLite's online backup API in one step — one read transaction,
  so the copy is one consistent snapshot while the server keeps writing (WAL mode does not
  block writers) — left in rollback-journal mode, a single self-contained file;
- `integrity(path)`: `PRAGMA integrity_check`, 'ok' when sound;
- `check_copy(path)`: a file about to be restored: its integrity, whether it is a Gridbase
  database (it has `_gb_meta`, see engine.meta), and switched to WAL mode as the engine runs it;
- `fold_wal(path)`: fold a database's WAL into the file (before the file is replaced, so no
  stale WAL is replayed onto the new one).

Each raises `sqlite3.DatabaseError` for a file that is not a database or is damaged.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from engine import meta

BUSY_MS = 30_000  # how long a copy waits for a writer's lock


@dataclass(frozen=True)
class CopyCheck:
    """What `check_copy` found: `status` is 'ok' or the first problems of the integrity check."""

    status: str
    gridbase: bool


def snapshot(source: Path, copy: Path) -> None:
    """Copy the database `source` into the new file `copy` as one consistent snapshot."""
    src = sqlite3.connect(str(source), timeout=BUSY_MS / 1000)
    try:
        src.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        dest = sqlite3.connect(str(copy))
        try:
            src.backup(dest, pages=-1)  # one step: a single read transaction
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
    finally:
        src.close()


def integrity(path: Path) -> str:
    """`PRAGMA integrity_check` of a database file ('ok' when sound)."""
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows[:5])
    finally:
        conn.close()


def check_copy(path: Path) -> CopyCheck:
    """Check a file about to be restored, and put it in WAL mode."""
    status = integrity(path)
    conn = sqlite3.connect(str(path))
    try:
        found = meta.present(conn)
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    return CopyCheck(status, found)


def fold_wal(path: Path) -> None:
    """Checkpoint a database's WAL into its file; quietly nothing when the database is damaged."""
    conn = sqlite3.connect(str(path), timeout=BUSY_MS / 1000)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.DatabaseError:
        pass  # a damaged current database is exactly what a restore replaces
    finally:
        conn.close()
