"""The PostgreSQL side of backups: `pg_dump` of a workspace's schema, `pg_restore` of one.

gridbase.backup owns the files (temporary names, encryption, fsync, renames); this module owns
what is asked of PostgreSQL:

- `schema_of(url)`: the schema the workspace lives in (the connection's current schema);
- `dump(url, copy)`: `pg_dump --format=custom --schema=SCHEMA` of that schema alone into the new
  file `copy` — one consistent snapshot (pg_dump reads in one repeatable-read transaction)
  while the servers keep writing; tables, rows, keys, indexes, sequences and the SQLite-compatible
  functions the store made there;
- `is_dump(path)`: the file is a pg_dump custom-format archive of a Gridbase schema (it has `_gb_meta`);
- `load(url, dump)`: replace the workspace's schema by the dump's (the servers must be stopped):
  the current schema is renamed aside, the dump restored with `pg_restore --single-transaction`,
  and only then the old schema dropped; a failed restore renames it back, so the workspace is
  either the backup's or untouched.

The tools come from PATH (Debian's `postgresql-client`); a missing tool or a failure is a
GridbaseError with the tool's own message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from engine.errors import GridbaseError

DUMP_MAGIC = b"PGDMP"  # the first bytes of pg_dump's custom format
TIMEOUT = 6 * 3600


def schema_of(url: str) -> str:
    """The schema the workspace at `url` lives in."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
    except psycopg.Error as exc:
        problem = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise GridbaseError(code="pg_tool_failed", params={"tool": "PostgreSQL", "problem": problem}) from None
    if row is None or row[0] is None:
        raise GridbaseError(code="pg_tool_failed", params={"tool": "PostgreSQL", "problem": "no current schema"})
    return str(row[0])


def _plain(url: str) -> str:
    """`url` without its `options` (pg_dump and pg_restore choose the schema themselves)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _run(tool: str, *args: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise GridbaseError(code="pg_tool_failed", params={"tool": tool, "problem": "not installed (postgresql-client)"})
    done = subprocess.run([found, *args], capture_output=True, text=True, timeout=TIMEOUT, check=False,
                          env={**os.environ, "PGAPPNAME": "gridbase-backup"})
    if done.returncode != 0:
        problem = (done.stderr.strip() or f"exit status {done.returncode}").splitlines()[-1]
        raise GridbaseError(code="pg_tool_failed", params={"tool": tool, "problem": problem})
    return done.stdout


def dump(url: str, copy: Path) -> str:
    """pg_dump the workspace's schema into the new file `copy`; return the schema's name."""
    schema = schema_of(url)
    _run("pg_dump", "--format=custom", f"--schema={schema}", "--no-owner", "--no-privileges",
         f"--file={copy}", f"--dbname={_plain(url)}")
    return schema


def _listing(path: Path) -> str:
    return _run("pg_restore", "--list", str(path))


def is_dump(path: Path) -> bool:
    """Whether `path` is a pg_dump custom archive of a Gridbase workspace's schema."""
    with path.open("rb") as fh:
        if fh.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
            return False
    return " TABLE " in _listing(path) and " _gb_meta " in _listing(path)


def _dumped_schema(listing: str) -> tuple[str | None, bool]:
    """The schema the dump's tables are in, and whether the dump makes that schema itself."""
    schema, makes = None, False
    for line in listing.splitlines():
        words = line.split()
        if line.startswith(";") or len(words) < 6:
            continue
        if words[3] == "SCHEMA" and words[4] == "-":
            makes = True
        if words[3] == "TABLE" and words[4] != "DATA" and schema is None:
            schema = words[4]
    return schema, makes


def load(url: str, path: Path) -> str:
    """Replace the workspace's schema at `url` by the dump `path` (servers stopped); return its name."""
    schema = schema_of(url)
    dumped, makes = _dumped_schema(_listing(path))
    if dumped is not None and dumped != schema:
        raise GridbaseError(code="pg_restore_other_schema", params={"schema": dumped, "target": schema})
    aside = f"{schema}_before_restore_{int(time.time())}"[:63]
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(aside)))
        if not makes:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            _run("pg_restore", "--single-transaction", "--no-owner", "--no-privileges", "--exit-on-error",
                 f"--dbname={_plain(url)}", str(path))
        except BaseException:
            with conn.transaction():
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
                conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(aside),
                                                                           sql.Identifier(schema)))
            raise
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(aside)))
    return schema
