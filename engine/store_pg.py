"""The PostgreSQL store: connections (psycopg 3 and a pool), transactions, the system tables
and the translation of the engine's SQLite-flavoured SQL.

Same interface as engine.storage.Storage (the SQLite store), so nothing above the store knows
which one runs: `conn` (the writer while this thread holds the write lock, else this thread's
reader from the pool), `transaction()`, `savepoint()`, `reading()`, `after_commit()`,
`write_soon()`, `db` (schema work and introspection, the part of sqlite-utils' `Database` the
engine uses), `columns()`, `tables()`, `dialect`.

- One writer: a process writes through one connection under its `WriteLock`; every
  transaction also takes a transaction-scoped advisory lock (`pg_advisory_xact_lock`), so
  writers of several processes take turns as SQLite's `BEGIN IMMEDIATE` makes them.
- A connection the server dropped (restarted, failed over, ended with `pg_terminate_backend`)
  is replaced by a new one: the writer's before its next transaction (a transaction it was in
  is rolled back by the server and reported as `DatabaseLost`, never half-applied), a reader's
  before its next read, the listener's within a second.
- Reads run in a `REPEATABLE READ READ ONLY` transaction (one snapshot) with
  `SET LOCAL statement_timeout` as the time budget; a cancelled statement is `QueryTimeout`.
- The system tables are made from the same data as SQLite's (SYSTEM_TABLES, ...): INTEGER is
  BIGINT, REAL is DOUBLE PRECISION; an INTEGER key "id" is an identity column; a table
  without a key gets a `rowid` identity column, the name SQLite gives its hidden one.
- `translate()` turns the engine's SQL into PostgreSQL's: `?` parameters into `%s` (and `%`
  into `%%`), `INSERT OR IGNORE` / `INSERT OR REPLACE` into `ON CONFLICT`, `LIKE` into
  `ILIKE` (SQLite's LIKE ignores ASCII case), SQLite's index hints dropped, and SQLite column
  types in DDL into PostgreSQL's. An INSERT into a table with an identity column returns it
  (`cursor.lastrowid`). What differs in meaning rather than in spelling is the dialect's
  (engine/dialect.py).

- Several processes on one database: `announce()` (inside a write's transaction) NOTIFYs the
  others at its commit, `listen(callback)` hears theirs (LISTEN on a connection of its own), so
  workers and live updates of every process wake at once; the dialect's `claim_rows` (`FOR
  UPDATE SKIP LOCKED`) lets a worker take an outbox event only while no other holds it.

Formulas that SQL cannot express (SQLite calls back into Python for them) are evaluated by the
reader before its query here (engine/reads.py, `_formula_rows`): PostgreSQL runs no Python.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool

from engine import budget
from engine.dialect import POSTGRES
from engine.errors import DatabaseLost
from engine.groupcommit import GroupCommit
from engine.storage import (
    ADDED_INDEXES,
    SYSTEM_COLUMNS_ADDED,
    SYSTEM_INDEXES,
    SYSTEM_TABLES,
    WriteLock,
    column_spec,
    q,
    query_seconds_setting,
)

T = TypeVar("T")

PG_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "FLOAT": "DOUBLE PRECISION", "TEXT": "TEXT",
            "BLOB": "BYTEA", "NUMERIC": "NUMERIC"}
SQLITE_TYPES = {"bigint": "INTEGER", "integer": "INTEGER", "smallint": "INTEGER", "double precision": "REAL",
                "real": "REAL", "text": "TEXT", "bytea": "BLOB", "numeric": "NUMERIC"}
POOL_SIZE = 64  # reader connections of one process at most: one per serving thread (anyio's pool has 40)
# Commits are announced to the other processes on the database on one channel, with the
# workspace's schema as the payload (several workspaces may share one database).
CHANNEL = "gridbase_commits"
LISTEN_SECONDS = 1.0  # how long a listener waits for a notification before looking whether to stop
# The one writer of a workspace, across processes: a transaction-scoped advisory lock named after
# the workspace's schema (several workspaces may share one database, each in its own schema).
WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtext('gridbase writer ' || current_schema()))"


def lost(raw: psycopg.Connection[Any]) -> bool:
    """The connection is gone: closed here, or dropped by the server (seen on its last use)."""
    return raw.closed or raw.broken


def is_url(db: object) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


# -- SQL translation ----------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INSERT_OR = re.compile(r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+", re.I)
_INSERT_INTO = re.compile(r'^\s*INSERT\s+INTO\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)', re.I)
_NULL_TEST = re.compile(r"\?(\s+IS\s+(?:NOT\s+)?NULL\b)", re.I)
_HINTS = re.compile(r'\s+(NOT\s+INDEXED|INDEXED\s+BY\s+"(?:[^"]|"")+")', re.I)
_DDL_TYPES = re.compile(r"\b(INTEGER|REAL|FLOAT|BLOB)\b")


# SQLite's catalog as the engine asks it (which tables and indexes there are, and an index's SQL to
# make it again), from PostgreSQL's; an index that backs a key or unique constraint has no SQL, as
# SQLite's automatic indexes have none.
CATALOG = (
    "(SELECT 'table' AS type, tablename AS name, tablename AS tbl_name, NULL AS sql FROM pg_tables "
    "WHERE schemaname = current_schema() UNION ALL SELECT 'index', i.indexname, i.tablename, "
    "CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname "
    "AND k.connamespace = CAST(current_schema() AS regnamespace)) THEN NULL ELSE i.indexdef END "
    "FROM pg_indexes i WHERE i.schemaname = current_schema()) AS sqlite_master")
_TABLE_INFO = re.compile(r'^\s*PRAGMA\s+table_info\((.+)\)\s*$', re.I | re.S)
NO_ROWS = "SELECT NULL WHERE FALSE"


def _pragma(sql: str) -> str:
    """SQLite's PRAGMAs: table_info as PostgreSQL's catalog says it; the others (tuning) do nothing."""
    match = _TABLE_INFO.match(sql)
    if match is None:
        return NO_ROWS
    name = _unquote(match.group(1).strip()).replace("'", "''")
    return ("SELECT ordinal_position - 1 AS cid, column_name AS name, CASE data_type WHEN 'bigint' THEN 'INTEGER' "
            "WHEN 'double precision' THEN 'REAL' ELSE upper(data_type) END AS type FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = '{name}' ORDER BY ordinal_position")


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _split(sql: str) -> list[tuple[bool, str]]:
    """The SQL text as (quoted, piece): string literals and quoted names apart from the rest."""
    pieces: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            if i > start:
                pieces.append((False, sql[start:i]))
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            pieces.append((True, sql[i:j + 1]))
            i = start = j + 1
            continue
        i += 1
    if start < n:
        pieces.append((False, sql[start:]))
    return pieces


@dataclass(frozen=True)
class Translated:
    sql: str
    returning: str | None  # the identity column an INSERT returns (lastrowid)


def translate(sql: str, key_of: Callable[[str], tuple[str, ...]], identity_of: Callable[[str], str | None]) -> Translated:
    """The engine's SQL (SQLite's spelling) as PostgreSQL's; see the module's docstring."""
    if re.match(r"^\s*PRAGMA\b", sql, re.I):
        return Translated(_pragma(sql), None)
    text = sql
    conflict = ""
    match = _INSERT_OR.match(text)
    if match:
        mode = match.group(1).upper()
        text = "INSERT INTO " + text[match.end():]
        target = _INSERT_INTO.match(text)
        if mode == "IGNORE" or target is None:
            conflict = " ON CONFLICT DO NOTHING"
        else:
            table = _unquote(target.group(1).strip())
            columns = [_unquote(c.strip()) for c in target.group(2).split(",")]
            keys = key_of(table)
            updates = [c for c in columns if c not in keys]
            sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in updates)
            conflict = (f" ON CONFLICT ({', '.join(q(k) for k in keys)}) "
                        + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING"))
    text = _HINTS.sub("", text)  # SQLite's index hints (the quoted index name is a piece of its own below)
    ddl = bool(re.match(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE\s+\S+\s+ADD)", text, re.I))
    out: list[str] = []
    for quoted, piece in _split(text):
        if quoted:
            out.append(piece.replace("%", "%%"))
            continue
        piece = piece.replace("%", "%%")
        piece = _NULL_TEST.sub(r"CAST(%s AS text)\1", piece)  # `? IS NULL`: a parameter of no other type
        piece = piece.replace("?", "%s")
        piece = re.sub(r"\bLIKE\b", "ILIKE", piece, flags=re.I)
        piece = re.sub(r"\bsqlite_master\b", CATALOG, piece)
        if ddl:
            piece = re.sub(r"\)\s*WITHOUT\s+ROWID\s*$", ")", piece, flags=re.I)
            piece = _DDL_TYPES.sub(lambda m: PG_TYPES[m.group(1).upper()], piece)
        out.append(piece)
    result = "".join(out).rstrip().rstrip(";") + conflict
    returning = None
    target = _INSERT_INTO.match(result)
    if target is not None and " RETURNING " not in result.upper():
        returning = identity_of(_unquote(target.group(1).strip()))
        if returning is not None:
            result += f" RETURNING {q(returning)}"
    return Translated(result, returning)


# -- connection and cursor in sqlite3's shape -------------------------------------------------


class PgCursor:
    """A psycopg cursor as the engine reads sqlite3's: rows are tuples; `lastrowid`, `rowcount`."""

    def __init__(self, cur: psycopg.Cursor[Any], lastrowid: int | None) -> None:
        self._cur = cur
        self.lastrowid = lastrowid
        self.rowcount = cur.rowcount

    @property
    def description(self) -> Any:
        return self._cur.description

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cur.fetchmany(size) if self._cur.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """One psycopg connection (autocommit; transactions are explicit) in sqlite3's shape."""

    def __init__(self, raw: psycopg.Connection[Any], store: PgStorage) -> None:
        self.raw = raw
        self._store = store

    def _translate(self, sql: str) -> Translated:
        return self._store.translated(sql)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> PgCursor:
        t = self._translate(sql)
        idle = self.raw.info.transaction_status == pq.TransactionStatus.IDLE
        cur = self.raw.cursor()
        try:
            cur.execute(t.sql, _params(params))
        except psycopg.OperationalError:
            # A reader the server dropped while idle: a read outside any transaction is asked
            # again on a new connection (the writer is connected again by its next transaction).
            if not (idle and lost(self.raw) and self._store.renew_reader(self)):
                raise
            cur = self.raw.cursor()
            cur.execute(t.sql, _params(params))
        lastrowid = None
        if t.returning is not None and cur.description:
            row = cur.fetchone()
            lastrowid = int(row[0]) if row else None
        return PgCursor(cur, lastrowid)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        t = self._translate(sql)
        text = t.sql[: t.sql.rfind(" RETURNING ")] if t.returning else t.sql
        cur = self.raw.cursor()
        cur.executemany(text, [_params(r) for r in rows])
        return PgCursor(cur, None)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        """PostgreSQL runs no Python: formulas SQL cannot express are evaluated before the query."""

    def close(self) -> None:
        self.raw.close()


def _params(params: Sequence[Any] | dict[str, Any]) -> Sequence[Any]:
    return list(params.values()) if isinstance(params, dict) else list(params)


# -- schema work and introspection (the part of sqlite-utils the engine uses) ---------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Index:
    name: str
    origin: str  # "c": made with CREATE INDEX; "pk" / "u": a key or unique constraint's
    columns: list[str]


class PgTable:
    def __init__(self, schema: PgSchema, name: str) -> None:
        self.schema = schema
        self.name = name

    @property
    def columns(self) -> list[Column]:
        rows = self.schema.conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", (self.name,)).fetchall()
        return [Column(name, SQLITE_TYPES.get(kind, kind.upper())) for name, kind in rows]

    @property
    def columns_dict(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    @property
    def indexes(self) -> list[Index]:
        rows = self.schema.conn.execute(
            "SELECT i.relname, x.indisprimary, x.indisunique, "
            "(SELECT count(*) FROM pg_constraint k WHERE k.conindid = x.indexrelid), "
            "ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS u(n, o) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n ORDER BY u.o) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ? AND t.relnamespace = CAST(current_schema() AS regnamespace) ORDER BY i.relname",
            (self.name,)).fetchall()
        return [Index(name, "pk" if primary else "u" if constraint else "c", list(cols))
                for name, primary, _unique, constraint, cols in rows]

    def add_column(self, name: str, sql_type: str, not_null_default: Any = None) -> None:
        pg_type = PG_TYPES.get(sql_type.upper(), sql_type)
        tail = "" if not_null_default is None else f" NOT NULL DEFAULT {_literal(not_null_default)}"
        self.schema.conn.execute(f"ALTER TABLE {q(self.name)} ADD COLUMN {q(name)} {pg_type}{tail}")

    def create_index(self, columns: Sequence[str], index_name: str, *, unique: bool = False,
                     if_not_exists: bool = False) -> None:
        self.schema.conn.execute(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX {'IF NOT EXISTS ' if if_not_exists else ''}{q(index_name)} "
            f"ON {q(self.name)} ({', '.join(q(c) for c in columns)})")

    def drop_index(self, name: str, ignore: bool = False) -> None:
        self.schema.conn.execute(f"DROP INDEX {'IF EXISTS ' if ignore else ''}{q(name)}")


class PgSchema:
    """Schema work and introspection over this thread's connection, in sqlite-utils' words."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").fetchall()]

    def table(self, name: str) -> PgTable:
        return PgTable(self, name)

    def rename_table(self, name: str, new_name: str) -> None:
        self.conn.execute(f"ALTER TABLE {q(name)} RENAME TO {q(new_name)}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> PgCursor:
        return self.conn.execute(sql, params)


def _literal(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | bool) else "'" + str(value).replace("'", "''") + "'"


# SQLite's functions the engine's SQL calls that PostgreSQL lacks (or has only for `json`), made in
# the workspace's schema with the same meaning for the values Gridbase stores (JSON lists of text).
# An element of a JSON list reads as text here (SQLite keeps a number a number).
COMPAT_FUNCTIONS = (
    "CREATE OR REPLACE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE "
    "AS 'SELECT strpos($1, $2)'",
    # json_each with SQLite's `type` column (integer, real, text, true, false, null, array, object);
    # one made before it had that column is made again.
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'json_each' "
    "AND pronamespace = CAST(current_schema() AS regnamespace) AND NOT ('type' = ANY(proargnames))) "
    "THEN DROP FUNCTION json_each(text); END IF; END $$",
    "CREATE OR REPLACE FUNCTION json_each(text) RETURNS TABLE(key integer, value text, type text) LANGUAGE sql "
    "IMMUTABLE AS 'SELECT CAST(o - 1 AS integer), v #>> ''{}'', CASE jsonb_typeof(v) WHEN ''number'' THEN "
    "CASE WHEN v #>> ''{}'' ~ ''^-?[0-9]+$'' THEN ''integer'' ELSE ''real'' END WHEN ''string'' THEN ''text'' "
    "WHEN ''boolean'' THEN v #>> ''{}'' ELSE jsonb_typeof(v) END "
    "FROM jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS e(v, o)'",
    # SQLite's total(): the sum as a float, 0.0 over no rows.
    "CREATE OR REPLACE FUNCTION gb_total_step(double precision, text) RETURNS double precision LANGUAGE sql "
    "IMMUTABLE AS 'SELECT $1 + COALESCE(CAST($2 AS double precision), 0)'",
    "CREATE OR REPLACE AGGREGATE total(text) (SFUNC = gb_total_step, STYPE = double precision, INITCOND = '0')",
    "CREATE OR REPLACE FUNCTION json_array_length(text) RETURNS integer LANGUAGE sql IMMUTABLE "
    "AS 'SELECT json_array_length(CAST($1 AS json))'",
    "CREATE OR REPLACE FUNCTION json_extract(text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS $$SELECT CAST($1 AS json) #>> string_to_array(trim(leading '.' FROM "
    "replace(replace(substr($2, 2), '[', '.'), ']', '')), '.')$$",
    "CREATE OR REPLACE FUNCTION gb_json_path(text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "AS $$SELECT CASE WHEN $1 LIKE '$.\"%' THEN ARRAY[replace(replace(substr($1, 4, length($1) - 4), '\\\"', '\"'), "
    "'\\\\', '\\')] ELSE string_to_array(trim(leading '.' FROM replace(replace(substr($1, 2), '[', '.'), ']', '')), "
    "'.') END$$",
    "CREATE OR REPLACE FUNCTION json_valid(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE "
    "AS $$BEGIN PERFORM CAST($1 AS json); RETURN TRUE; EXCEPTION WHEN others THEN RETURN FALSE; END$$",
    "CREATE OR REPLACE FUNCTION json_quote(text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(to_json($1) AS text)'",
    "CREATE OR REPLACE FUNCTION json_type(text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT jsonb_typeof(CAST($1 AS jsonb) #> gb_json_path($2))'",
    "CREATE OR REPLACE FUNCTION json_remove(text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(CAST($1 AS jsonb) #- gb_json_path($2) AS text)'",
    # json_extract gives text here, so a number set from it becomes a string (Dialect.json_move keeps it).
    "CREATE OR REPLACE FUNCTION json_set(text, text, text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(jsonb_set(CAST($1 AS jsonb), gb_json_path($2), to_jsonb($3)) AS text)'",
    "CREATE OR REPLACE FUNCTION gb_json_text_array(text[]) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT CAST(array_to_json($1) AS text)'",
    "CREATE OR REPLACE FUNCTION printf(text, integer, bigint) RETURNS text LANGUAGE sql IMMUTABLE "  # '%0*d' only
    "AS 'SELECT lpad(CAST($3 AS text), GREATEST($2, length(CAST($3 AS text))), ''0'')'",
    "CREATE OR REPLACE AGGREGATE json_group_array(text) (SFUNC = array_append, STYPE = text[], INITCOND = '{}', "
    "FINALFUNC = gb_json_text_array)",
)


def create_system_tables(conn: PgConnection) -> None:
    """Make the system tables a database lacks from SQLite's declarations (engine.storage)."""
    schema = PgSchema(conn)
    for statement in COMPAT_FUNCTIONS:
        conn.raw.execute(statement)
    existing = set(schema.table_names())
    for name, (pk, declarations) in SYSTEM_TABLES.items():
        if name in existing:
            continue
        keys = (pk,) if isinstance(pk, str) else tuple(pk or ())
        cols: list[str] = []
        if pk is None:
            cols.append('"rowid" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
        for column, declaration in declarations.items():
            spec = column_spec(declaration)
            pg_type = PG_TYPES[spec.type]
            if keys == (column,) and spec.type == "INTEGER":
                cols.append(f"{q(column)} BIGINT GENERATED BY DEFAULT AS IDENTITY")
                continue
            parts = [q(column), pg_type]
            if spec.not_null or column in keys:
                parts.append("NOT NULL")
            if spec.default is not None:
                parts.append(f"DEFAULT {_literal(spec.default)}")
            cols.append(" ".join(parts))
        if keys:
            cols.append(f"PRIMARY KEY ({', '.join(q(k) for k in keys)})")
        conn.raw.execute(f"CREATE TABLE {q(name)} ({', '.join(cols)})")
        for column, declaration in declarations.items():
            if column_spec(declaration).unique:
                schema.table(name).create_index([column], f"{name}_{column}", unique=True)
    for name, column, declaration in SYSTEM_COLUMNS_ADDED:
        table = schema.table(name)
        if column not in table.columns_dict:
            spec = column_spec(declaration)
            table.add_column(column, spec.type, not_null_default=spec.default if spec.not_null else None)
    for index, name, columns in SYSTEM_INDEXES:
        schema.table(name).create_index(list(columns), index, if_not_exists=True)
    for statement in ADDED_INDEXES.strip().split(";"):
        if statement.strip():
            conn.execute(statement)


# -- the store ------------------------------------------------------------------------------------


class PgStorage:
    """The database of one workspace on PostgreSQL: the writer, the readers' pool, transactions."""

    dialect = POSTGRES

    def __init__(self, url: str, data_dir: str | Path) -> None:
        self.url = url
        self.path = Path(data_dir) / "postgresql"  # files beside the database (attachments) live in its folder
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = WriteLock()
        self.writer = PgConnection(psycopg.connect(url, autocommit=True), self)
        self._depth = 0
        self._on_commit: list[Callable[[], None]] = []
        self._group: GroupCommit | None = None
        self._local = threading.local()
        self._closed = False
        self._keys: dict[str, tuple[str, ...]] = {}
        self._identities: dict[str, str | None] = {}
        self._translated: dict[str, Translated] = {}
        self.query_seconds = query_seconds_setting()
        self.pool = ConnectionPool(url, min_size=0, max_size=POOL_SIZE, open=True,
                                   kwargs={"autocommit": True}, configure=self._configure_reader)
        self._readers: list[psycopg.Connection[Any]] = []
        self._readers_lock = threading.Lock()
        self._announced = False  # this transaction already notifies the other processes
        self._listeners: list[Callable[[], None]] = []
        self._listening: threading.Thread | None = None
        with self.transaction():
            create_system_tables(self.writer)

    @staticmethod
    def _configure_reader(raw: psycopg.Connection[Any]) -> None:
        raw.execute("SET default_transaction_read_only = on")  # a write outside transaction() fails loudly

    # -- what translation needs to know of a table --------------------------------------------
    def translated(self, sql: str) -> Translated:
        found = self._translated.get(sql)
        if found is None:
            found = translate(sql, self._key_of, self._identity_of)
            if len(self._translated) < 20_000:
                self._translated[sql] = found
        return found

    def _key_of(self, table: str) -> tuple[str, ...]:
        if table not in self._keys:
            pk = SYSTEM_TABLES.get(table, (None, {}))[0]
            if pk is not None:
                self._keys[table] = (pk,) if isinstance(pk, str) else tuple(pk)
            else:
                keys = [i.columns for i in PgSchema(self.conn).table(table).indexes if i.origin == "pk"]
                self._keys[table] = tuple(keys[0]) if keys and table not in SYSTEM_TABLES else ("rowid",)
        return self._keys[table]

    def _identity_of(self, table: str) -> str | None:
        if table not in self._identities:
            row = self.conn.raw.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND is_identity = 'YES'", (table,)).fetchone()
            self._identities[table] = row[0] if row else None
        return self._identities[table]

    # -- connections ------------------------------------------------------------------------
    @property
    def conn(self) -> PgConnection:
        if self.lock.held():
            return self.writer
        reader: PgConnection | None = getattr(self._local, "reader", None)
        if reader is not None and lost(reader.raw):
            self.renew_reader(reader)
        if reader is None:
            if self._closed:
                raise psycopg.InterfaceError("the store is closed")
            raw = self.pool.getconn()
            reader = PgConnection(raw, self)
            self._local.reader = reader
            with self._readers_lock:
                self._readers.append(raw)
            weakref.finalize(threading.current_thread(), self._give_back, raw)
        return reader

    def renew_reader(self, reader: PgConnection) -> bool:
        """Put a new connection from the pool into this thread's `reader` in place of its dropped
        one (the pool throws that away); False for the writer, which `_begin` connects again."""
        if reader is self.writer or self._closed:
            return False
        self._give_back(reader.raw)
        raw = self.pool.getconn()
        reader.raw = raw
        with self._readers_lock:
            self._readers.append(raw)
        weakref.finalize(threading.current_thread(), self._give_back, raw)
        return True

    def _give_back(self, raw: psycopg.Connection[Any]) -> None:
        with self._readers_lock:
            if raw not in self._readers:
                return
            self._readers.remove(raw)
        self.pool.putconn(raw)

    @property
    def db(self) -> PgSchema:
        return PgSchema(self.conn)

    def create_function(self, name: str, args: int, fn: Callable[..., Any]) -> None:
        """PostgreSQL runs no Python inside SQL (see PgConnection.create_function)."""

    # -- transactions -----------------------------------------------------------------------
    def after_commit(self, callback: Callable[[], None]) -> None:
        if not self._depth:
            raise RuntimeError("after_commit is only meaningful inside transaction()")
        if callback not in self._on_commit:
            self._on_commit.append(callback)

    def announce(self) -> None:
        """Inside a transaction: at its commit, NOTIFY the other processes on this database
        (their `listen` callbacks run); once per transaction, nothing if it rolls back."""
        if not self._depth:
            raise RuntimeError("announce is only meaningful inside transaction()")
        self._announced = True  # notified just before COMMIT: a savepoint rolled back cannot lose it

    def listen(self, callback: Callable[[], None]) -> None:
        """Call `callback()` (on a listening thread of this store) whenever another process
        commits an announced write to this workspace: LISTEN on a connection of its own."""
        with self._readers_lock:
            self._listeners.append(callback)
            if self._listening is None:
                self._listening = threading.Thread(target=self._listen, name="gridbase-listen", daemon=True)
                self._listening.start()

    def _listen(self) -> None:
        while not self._closed:  # connected again when the server drops the connection
            try:
                self._listen_once()
            except psycopg.Error:
                pass
            stop = threading.Event()
            stop.wait(LISTEN_SECONDS)  # the workers still look every second meanwhile

    def _listen_once(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as raw:
            schema = raw.execute("SELECT current_schema()").fetchone()
            raw.execute(f"LISTEN {CHANNEL}")
            own = raw.info.backend_pid
            while not self._closed:
                writer = self.writer.raw.info.backend_pid  # a new one after the writer connects again
                heard = [n for n in raw.notifies(timeout=LISTEN_SECONDS)
                         if schema and n.payload == schema[0] and n.pid not in (own, writer)]
                if heard:
                    for callback in list(self._listeners):
                        callback()

    def resume_counters(self, table: str) -> None:
        """After rows were written with their keys given (a store copy): the identity column's
        sequence goes on after the largest key, as SQLite's integer keys do."""
        column = self._identity_of(table)
        if column is None:
            return
        self.writer.raw.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), max({q(column)})) FROM {q(table)} "
            f"HAVING max({q(column)}) IS NOT NULL", (q(table), column))

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """A transaction holding the database's writer lock; nested calls join the outer one."""
        committed: list[Callable[[], None]] = []
        with self._transaction(committed) as conn:
            yield conn
        for callback in committed:
            callback()

    @contextmanager
    def _transaction(self, committed: list[Callable[[], None]]) -> Iterator[PgConnection]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.writer
                finally:
                    self._depth -= 1
                return
            raw = self._begin()
            self._depth = 1
            self._announced = False
            try:
                raw.execute(WRITER_LOCK)
                yield self.writer
            except BaseException as exc:
                self._depth = 0
                self._on_commit.clear()
                self._rollback()
                if isinstance(exc, psycopg.OperationalError) and lost(raw):
                    raise DatabaseLost() from exc  # the server rolled the transaction back with the connection
                raise
            else:
                self._depth = 0
                callbacks, self._on_commit = self._on_commit, []
                try:
                    if self._announced:
                        raw.execute("SELECT pg_notify(%s, current_schema())", (CHANNEL,))
                    raw.execute("COMMIT")
                except psycopg.Error:
                    self._rollback()
                    raise
                committed.extend(callbacks)

    def _begin(self) -> psycopg.Connection[Any]:
        """BEGIN on the writer, connected again first when the server dropped it since its last
        use (nothing was done on it yet, so nothing is lost by starting over)."""
        if lost(self.writer.raw):
            self._reconnect()
        try:
            self.writer.raw.execute("BEGIN")
        except psycopg.OperationalError:
            if not lost(self.writer.raw):
                raise
            self._reconnect()
            self.writer.raw.execute("BEGIN")
        return self.writer.raw

    def _reconnect(self) -> None:
        """A new writer connection in place of the dropped one (the same PgConnection object)."""
        try:
            self.writer.raw.close()
        except psycopg.Error:
            pass  # already gone
        self.writer.raw = psycopg.connect(self.url, autocommit=True)

    def _rollback(self) -> None:
        if not lost(self.writer.raw) and self.writer.in_transaction:
            try:
                self.writer.raw.execute("ROLLBACK")
            except psycopg.Error:
                pass  # the original error is the one worth reporting

    @contextmanager
    def savepoint(self, name: str) -> Iterator[PgConnection]:
        raw = self.writer.raw
        raw.execute(f"SAVEPOINT {q(name)}")
        try:
            yield self.writer
        except BaseException:
            if not lost(raw) and self.writer.in_transaction:
                raw.execute(f"ROLLBACK TO SAVEPOINT {q(name)}")
                raw.execute(f"RELEASE SAVEPOINT {q(name)}")
            raise
        raw.execute(f"RELEASE SAVEPOINT {q(name)}")

    def write_apart(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """One small write statement (a counter) in a transaction of its own on a connection
        from the pool, beside the writer: it never waits for the writer lock, and the row it
        writes is locked only for that statement. Its first row (RETURNING)."""
        if self._closed:
            raise psycopg.InterfaceError("the store is closed")
        t = self.translated(sql)
        with self.pool.connection() as raw, raw.transaction():
            raw.execute("SET TRANSACTION READ WRITE")  # the pool's connections read only by default
            cur = raw.execute(t.sql, _params(params))
            return cur.fetchone() if cur.description else None

    def write_soon(self, write: Callable[[], T]) -> Future[T]:
        if self._group is None:
            with self.lock:
                if self._group is None:
                    self._group = GroupCommit(self)  # type: ignore[arg-type]  # the same transaction interface
        return self._group.submit(write)

    @contextmanager
    def reading(self) -> Iterator[PgConnection]:
        """One snapshot for several reads, within `query_seconds` (statement_timeout)."""
        conn = self.conn
        if conn is self.writer or conn.in_transaction:
            yield conn
            return
        raw = conn.raw
        try:
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except psycopg.OperationalError:
            if not lost(raw):
                raise
            if not self.renew_reader(conn):
                raise
            raw = conn.raw  # a new reader in place of the dropped one; nothing was read yet
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            if self.query_seconds:
                raw.execute(f"SET LOCAL statement_timeout = {int(self.query_seconds * 1000)}")
            with budget.within(self.query_seconds):
                try:
                    yield conn
                except psycopg.errors.QueryCanceled as exc:
                    raise budget.timeout() from exc
        finally:
            if not lost(raw) and conn.in_transaction:
                raw.execute("ROLLBACK" if raw.info.transaction_status == pq.TransactionStatus.INERROR else "COMMIT")

    # -- introspection ----------------------------------------------------------------------
    @property
    def database(self) -> str:
        """What `Workspace.open(..., db=)` takes to open this database again: its URL."""
        return self.url

    def columns(self, table: str) -> dict[str, str]:
        return {c.name: c.type for c in self.db.table(table).columns}

    def tables(self) -> list[str]:
        return self.db.table_names()

    def forget_tables(self) -> None:
        """Forget what was learnt of tables' keys (after schema changes)."""
        self._keys.clear()
        self._identities.clear()

    def optimize(self) -> None:
        with self.lock:
            self.writer.raw.execute("ANALYZE")

    def close(self) -> None:
        if self._group is not None:
            self._group.close()
        with self.lock:
            self._closed = True
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for raw in readers:
                self.pool.putconn(raw)
            self.pool.close()
            self.writer.close()
