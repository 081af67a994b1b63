"""Which store a workspace opens: the database URL or file decides.

`open_store(db, root)`: a `postgresql://` URL (given as `--db`, or in the environment variable
GRIDBASE_DATABASE_URL when no `--db` is given) opens the PostgreSQL store (engine/store_pg.py);
anything else is a SQLite file (engine/storage.py), by default DIR/data/gridbase.db. Both have
the same interface and a `dialect` (engine/dialect.py); nothing above the engine asks which runs.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import PoolClosed

from engine.storage import Storage
from engine.store_pg import PgStorage, is_url

URL_VARIABLE = "GRIDBASE_DATABASE_URL"

# What either database raises: for the few callers above the store that turn a database's
# complaint into an answer (the API's 422 for a filter too complex), whichever store runs.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
# What a store raises when its database cannot be reached (no server there, refused, dropped):
# the command line says so as an error of the site, not an internal one.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (psycopg.OperationalError,)
# What either database raises for a broken constraint (a unique index over duplicates).
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
# What a store raises once closed under a thread still using it.
CLOSED_ERRORS: tuple[type[Exception], ...] = (sqlite3.ProgrammingError, psycopg.InterfaceError, PoolClosed)


def database_of(db: str | os.PathLike[str] | None, root: str | os.PathLike[str]) -> str | Path:
    """The URL or file a workspace at `root` uses: `db`, else GRIDBASE_DATABASE_URL, else the default file."""
    if db is not None and str(db):
        return str(db) if is_url(str(db)) else Path(db)
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        if not is_url(url):
            raise ValueError(f"{URL_VARIABLE} must be a postgresql:// URL, not {url!r}")
        return url
    return Path(root) / "data" / "gridbase.db"


def open_store(db: str | os.PathLike[str] | None, root: str | os.PathLike[str]) -> Any:
    """The store of a workspace: PostgreSQL for a postgresql:// URL, else the SQLite file."""
    target = database_of(db, root)
    if isinstance(target, str):
        return PgStorage(target, Path(root) / "data")
    return Storage(target)
