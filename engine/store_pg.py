"""The PostgreSQL store: the writer, the readers' pool, transactions, and several processes on
one database.

Same interface as engine.storage.Storage (the SQLite store), so nothing above the store knows
which one runs: `conn` (the writer while this thread holds the write lock, else this thread's
reader from the pool), `transaction()`, `savepoint()`, `reading()`, `after_commit()`,
`write_soon()`, `db` (schema work and introspection, engine/pg_schema.py), `columns()`,
`tables()`, `dialect`. Its pieces: engine/pg_connection.py (psycopg connections in sqlite3's
shape), engine/pg_sql.py (the engine's SQLite-flavoured SQL translated, each statement once per
store), engine/pg_schema.py (the system tables and SQLite's functions PostgreSQL lacks).

- One writer: a process writes through one connection under its `WriteLock`; every
  transaction also takes a transaction-scoped advisory lock (`pg_advisory_xact_lock`), so
  writers of several processes take turns as SQLite's `BEGIN IMMEDIATE` makes them.
- A connection the server dropped (restarted, failed over, ended with `pg_terminate_backend`)
  is replaced by a new one: the writer's before its next transaction (a transaction it was in
  is rolled back by the server and reported as `DatabaseLost`, never half-applied), a reader's
  before its next read, the listener's within a second.
- Reads run in a `REPEATABLE READ READ ONLY` transaction (one snapshot) with
  `SET LOCAL statement_timeout` as the time budget; a cancelled statement is `QueryTimeout`.
  The transaction opens with the snapshot's first statement (BEGIN and SET LOCAL as one simple
  query just before it: engine/pg_connection.py `open_with`), or was opened already at the end
  of the reader's last snapshot, whose COMMIT went with it without waiting (`finish`): between
  snapshots a reader is "idle in transaction" with no snapshot taken and no lock held (its
  `idle_in_transaction_session_timeout` is 0). A snapshot that reads nothing costs no round trip.
- Several processes on one database: `announce()` (inside a write's transaction) NOTIFYs the
  others at its commit, `listen(callback)` hears theirs (LISTEN on a connection of its own), so
  workers and live updates of every process wake at once; the dialect's `claim_rows` (`FOR
  UPDATE SKIP LOCKED`) lets a worker take an outbox event only while no other holds it.

Kept row counts (engine.counts) ask the store two things, as they ask SQLite's:
- `schema_version(conn)`: SQLite's `PRAGMA schema_version`, counted here in `_gb_schema_version`
  (engine/pg_schema.py makes it): a transaction that ran a statement changing the schema
  (CREATE, ALTER, DROP, TRUNCATE through the writer: every migration step, engine.migrate) adds
  one to it just before its COMMIT, so a reader's snapshot sees the new schema and the new
  version together, and a count kept under the old one is counted again.
- `reads(conn, sql, params)`: what a count's SQL reads, from its generic plan
  (engine/statement_reads.py).
The newest outbox event id read in a reader's snapshot says which writes it holds exactly as on
SQLite: every transaction that appends events (a record write, a bulk write or an import's
chunk with its held events, an import's release or rollback, undo, restore, an automation's
write, group commit, any process's) runs in `transaction()`, which takes WRITER_LOCK before its
first statement and holds it until its COMMIT; the outbox's ids come from its identity
sequence (CACHE 1: one order for every session) when the row is written. So writers with events
follow one another, each one's ids above every earlier one's, and a REPEATABLE READ snapshot
sees a prefix of that order: the same newest id, the same committed writes.

Formulas that SQL cannot express (SQLite calls back into Python for them) are evaluated by the
reader before its query here (engine/reads.py, `_formula_rows`): PostgreSQL runs no Python.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from engine import budget
from engine.dialect import POSTGRES
from engine.errors import DatabaseLost
from engine.groupcommit import GroupCommit
from engine.pg_connection import PgConnection, idle, lost, params_of
from engine.pg_schema import SCHEMA_VERSION, PgSchema, create_system_tables
from engine.pg_sql import Translated, names, translate
from engine.statement_reads import Read
from engine.statement_reads import postgres as plan_reads
from engine.storage import WriteLock, q, query_seconds_setting
from engine.systables import SYSTEM_TABLES

T = TypeVar("T")

POOL_SIZE = 64  # reader connections of one process at most: one per serving thread (anyio's pool has 40)
APART_POOL_SIZE = 4  # write_apart's connections at most (a counter's write is one short statement)
# Commits are announced to the other processes on the database on one channel, with the
# workspace's schema as the payload (several workspaces may share one database).
CHANNEL = "gridbase_commits"
LISTEN_SECONDS = 1.0  # how long a listener waits for a notification before looking whether to stop
# The one writer of a workspace, across processes: a transaction-scoped advisory lock named after
# the workspace's schema (several workspaces may share one database, each in its own schema).
WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtext('gridbase writer ' || current_schema()))"
# A write's transaction opens with both, sent as one simple query (one round trip, not two).
OPENING = "BEGIN; " + WRITER_LOCK


def is_url(db: object) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


class PgStorage:
    """The database of one workspace on PostgreSQL: the writer, the readers' pool, transactions."""

    dialect = POSTGRES
    # Several processes may serve the database at once (any server can connect to it): what must
    # count across all of them (rate limits, engine.ratelimits) is kept in it, not in memory.
    several_processes = True

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
        # write_apart's connections (counters), made only when a counter is first written.
        self._apart = ConnectionPool(url, min_size=0, max_size=APART_POOL_SIZE, open=True,
                                     kwargs={"autocommit": True}, configure=self._configure_apart)
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
        # A reader waits between snapshots in the next one's transaction, nothing read in it
        # (engine/pg_connection.py): a server's limit on idle transactions would end it.
        raw.execute("SET idle_in_transaction_session_timeout = 0")

    @staticmethod
    def _configure_apart(raw: psycopg.Connection[Any]) -> None:
        raw.execute("SET synchronous_commit = off")  # see write_apart

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
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(current_schema()) "
                "|| '.' || quote_ident(%s)) AND attidentity <> '' AND NOT attisdropped", (table,)).fetchone()
            self._identities[table] = row[0] if row else None
        return self._identities[table]

    # -- connections ------------------------------------------------------------------------
    @property
    def conn(self) -> PgConnection:
        if self.lock.held():
            return self.writer
        reader: PgConnection | None = getattr(self._local, "reader", None)
        if reader is not None and reader.gone():
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
        self._give_back(reader.unwrap())
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
        self.pool.putconn(idle(raw))

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
            raw = self._begin()  # BEGIN and WRITER_LOCK, in one round trip
            self._depth = 1
            self._announced = False
            self.writer.changed_schema = False
            try:
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
                    raw.execute(self._closing(self.writer.changed_schema, self._announced))
                    self.writer.traced("COMMIT")
                except psycopg.Error:
                    self._rollback()
                    raise
                committed.extend(callbacks)

    def _begin(self) -> psycopg.Connection[Any]:
        """BEGIN on the writer and take WRITER_LOCK, as one simple query (one round trip),
        connected again first when the server dropped it since its last use (nothing was done
        on it yet, so nothing is lost by starting over)."""
        if lost(self.writer.raw):
            self._reconnect()
        try:
            try:
                self.writer.raw.execute(OPENING)
            except psycopg.OperationalError:
                if not lost(self.writer.raw):
                    raise
                self._reconnect()
                self.writer.raw.execute(OPENING)
        except BaseException:
            self._rollback()  # BEGIN went through and the lock did not (cancelled, say): nothing stays open
            raise
        return self.writer.raw

    @staticmethod
    @cache
    def _closing(changed_schema: bool, announced: bool) -> sql.Composed:
        """What ends a write's transaction, as one simple query (one round trip): the schema
        version counted up if the schema changed, the other processes notified if it was
        announced, and COMMIT (the channel's name bound by psycopg, as a parameter would be)."""
        parts: list[sql.Composable] = []
        if changed_schema:
            parts.append(sql.SQL("UPDATE {} SET version = version + 1").format(sql.Identifier(SCHEMA_VERSION)))
        if announced:
            parts.append(sql.SQL("SELECT pg_notify({}, current_schema())").format(sql.Literal(CHANNEL)))
        parts.append(sql.SQL("COMMIT"))
        return sql.SQL("; ").join(parts)

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
        """One small write statement (a counter) in a transaction of its own, beside the writer:
        it never waits for the writer lock, and the row it writes is locked only for that
        statement. Its first row (RETURNING).

        It runs alone in autocommit on a connection of the counters' pool (`_apart`), made read
        and write, with `synchronous_commit = off` for the session: one round trip (it was five
        on a reader from the pool: BEGIN, SET TRANSACTION READ WRITE, SET LOCAL, the statement,
        COMMIT). Its commit does not wait for the disk: a counter's last fraction of a second
        lost in a crash is harmless (a rate-limit bucket a little fuller), and the wait was
        ~4 ms of every API request."""
        if self._closed:
            raise psycopg.InterfaceError("the store is closed")
        t = self.translated(sql)
        with self._apart.connection() as raw:
            cur = raw.execute(t.sql, params_of(params))
            return cur.fetchone() if cur.description else None

    def write_soon(self, write: Callable[[], T]) -> Future[T]:
        if self._group is None:
            with self.lock:
                if self._group is None:
                    self._group = GroupCommit(self)  # type: ignore[arg-type]  # the same transaction interface
        return self._group.submit(write)

    @contextmanager
    def reading(self) -> Iterator[PgConnection]:
        """One snapshot for several reads, within `query_seconds` (statement_timeout). Its BEGIN
        and SET LOCAL went at the end of the reader's last snapshot, or go with its first
        statement (PgConnection.open_with); its COMMIT goes without waiting (PgConnection.finish)."""
        conn = self.conn
        if conn is self.writer or conn.reading:
            yield conn
            return
        opening: tuple[str, ...] = ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",)
        if self.query_seconds:
            opening += (f"SET LOCAL statement_timeout = {int(self.query_seconds * 1000)}",)
        conn.open_with(opening)
        try:
            with budget.within(self.query_seconds):
                try:
                    yield conn
                except psycopg.errors.QueryCanceled as exc:
                    raise budget.timeout() from exc
        finally:
            conn.finish()

    # -- what kept row counts ask (engine.counts) ---------------------------------------------
    def schema_version(self, conn: PgConnection) -> int:
        """In the reader's snapshot `conn`: how many schema changes were committed (SQLite's
        `PRAGMA schema_version`)."""
        row = conn.execute(f"SELECT version FROM {q(SCHEMA_VERSION)}").fetchone()
        return int(row[0]) if row else 0

    def reads(self, conn: PgConnection, sql: str, params: Sequence[Any]) -> Iterator[Read]:
        """What `sql` reads, in the reader's transaction `conn` (engine/statement_reads.py)."""
        conn.begin()  # the snapshot's BEGIN, if nothing was read in it yet
        return plan_reads(conn.raw, self.translated(sql).sql, names(sql), lambda table: set(self.columns(table)))

    # -- introspection ----------------------------------------------------------------------
    @property
    def database(self) -> str:
        """What `Workspace.open(..., db=)` takes to open this database again: its URL."""
        return self.url

    def columns(self, table: str) -> dict[str, str]:
        return {c.name: c.type for c in self.db.table(table).columns}

    def tables(self) -> list[str]:
        """The workspace's tables: the store's own `_gb_schema_version` left out, as SQLite's
        `sqlite_` tables are its own (a store copy neither asks it to be empty nor copies it)."""
        return [t for t in self.db.table_names() if t != SCHEMA_VERSION]

    def forget_tables(self) -> None:
        """Forget what was learnt of tables' keys (after schema changes)."""
        self._keys.clear()
        self._identities.clear()

    def optimize(self) -> None:
        """Refresh the planner's statistics of this workspace's tables (a bare ANALYZE would
        read every schema of the database: other workspaces', and each test's in the tests)."""
        with self.lock:
            tables = self.tables()
            if tables:
                self.writer.raw.execute("ANALYZE " + ", ".join(q(t) for t in tables))

    def close(self) -> None:
        if self._group is not None:
            self._group.close()
        with self.lock:
            self._closed = True
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for raw in readers:
                self.pool.putconn(idle(raw))
            self.pool.close()
            self._apart.close()
            self.writer.close()
