"""SQLite storage: connections, transactions, names and the system tables.

One database file per workspace: WAL mode, `synchronous=FULL`, foreign keys on, a busy
timeout, and every write in a `BEGIN IMMEDIATE` transaction.

One connection writes; it belongs to whichever thread holds the write lock (inside
`transaction()`). Every other thread reads through a read-only connection of its own, so a
read never waits for a writer's disk sync and never sees a transaction that is not
committed yet. `Storage.conn` hands each thread the right one. A user table lives in
`"{base}__{table}"` with one real column per field plus system columns that start with `_`;
a link field adds a junction table. System tables start with `_gb_`. Identifiers are always
quoted with `q()`; values always travel as parameters.

Several processes on one file (`gridbase serve --workers N`, which sets `several_processes` in
each worker): SQLite's file lock keeps one writer across them; the workers queue for it on
DB-writers.lock (`_in_turn`), and `write_apart` (a rate limit's bucket, shared by the
processes) writes on a connection of its own that waits for no disk sync.

Each read (`reading()`) has a time budget, `query_seconds` (5 s unless the environment
variable GRIDBASE_QUERY_SECONDS says otherwise; 0 for none): the readers' progress handler
stops a statement that runs past it, and Python-side formula evaluation checks the same
deadline (engine.budget), so the read ends with `QueryTimeout` instead of running on.

Schema work goes through sqlite-utils: `Storage.db` is its `Database` over this thread's
connection (the writer inside `transaction()`). The system tables are declared as data
(engine/systables.py: `SYSTEM_TABLES`, `SYSTEM_COLUMNS_ADDED`, `SYSTEM_INDEXES`) and
`create_system_tables` makes what a database lacks with `create()`, `add_column()` and
`create_index()`, each time the storage is opened, in one transaction; `columns()` and `tables()` are its introspection.
`ADDED_INDEXES` stays SQL, since an index added later may be partial, which `create_index()`
cannot make. sqlite-utils 4.0 or later runs `create()` in a savepoint of the open transaction
(3.x committed it), so the schema work is part of the transaction that asked for it. The
connection, its pragmas, transactions and savepoints stay hand-written here: they are the
engine's own (one writer, readers per thread, `BEGIN IMMEDIATE`, group commit).

Kept row counts (engine.counts) ask each store `schema_version(conn)` (here SQLite's own
`PRAGMA schema_version`) and `reads(conn, sql, params)` (what a statement reads,
engine/statement_reads.py), so they need not know which store runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from engine import budget, statement_reads
from engine.dialect import SQLITE
from engine.errors import QueryTooComplex, StorageFull
from engine.groupcommit import GroupCommit
from engine.systables import (
    ADDED_INDEXES,
    SYSTEM_COLUMNS_ADDED,
    SYSTEM_INDEXES,
    SYSTEM_TABLES,
    column_spec,
)

T = TypeVar("T")
log = logging.getLogger("gridbase.storage")

SYSTEM_COLUMNS = (
    '"_rowid" INTEGER PRIMARY KEY',
    '"_id" TEXT NOT NULL UNIQUE',
    '"_created_at" TEXT NOT NULL',
    '"_created_by" TEXT',
    '"_modified_at" TEXT NOT NULL',
    '"_modified_by" TEXT',
    '"_deleted_at" TEXT',
)


def create_system_tables(db: sqlite_utils.Database) -> None:
    """Make the system tables a database lacks, give older ones the columns of
    SYSTEM_COLUMNS_ADDED, then make the missing indexes of SYSTEM_INDEXES and ADDED_INDEXES."""
    existing = set(db.table_names())
    for name, (pk, declarations) in SYSTEM_TABLES.items():
        if name in existing:
            continue
        specs = {column: column_spec(d) for column, d in declarations.items()}
        table = db.table(name)
        table.create({c: s.type for c, s in specs.items()}, pk=pk,
                     not_null={c for c, s in specs.items() if s.not_null},
                     defaults={c: s.default for c, s in specs.items() if s.default is not None})
        for column, spec in specs.items():
            if spec.unique:
                table.create_index([column], index_name=f"{name}_{column}", unique=True)
    for name, column, declaration in SYSTEM_COLUMNS_ADDED:
        table = db.table(name)
        if column not in table.columns_dict:
            spec = column_spec(declaration)
            table.add_column(column, spec.type, not_null_default=spec.default if spec.not_null else None)
    for index, name, columns in SYSTEM_INDEXES:
        db.table(name).create_index(list(columns), index_name=index, if_not_exists=True)
    for statement in ADDED_INDEXES.strip().split(";"):
        if statement.strip():
            db.execute(statement)


def is_disk_full(exc: BaseException) -> bool:
    """True when SQLite says the disk (or the database's size limit) is full (by its result code)."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF == sqlite3.SQLITE_FULL


def q(name: str) -> str:
    """Quote an SQL identifier (table or column name)."""
    return '"' + name.replace('"', '""') + '"'


def table_name(base: str, table: str) -> str:
    return f"{base}__{table}"


def junction_name(base: str, table: str, field: str) -> str:
    return f"{base}__{table}__{field}__link"


def rows_of(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    """A cursor's rows as dicts by column name."""
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the workspace database with Gridbase's pragmas."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


QUERY_SECONDS = 5.0  # the time budget of one read, unless GRIDBASE_QUERY_SECONDS says otherwise
PROGRESS_STEPS = 10_000  # SQLite instructions between two looks at the deadline (well under a millisecond)


def query_seconds_setting() -> float | None:
    """The read time budget in seconds from GRIDBASE_QUERY_SECONDS (0 or less: none), else QUERY_SECONDS."""
    raw = os.environ.get("GRIDBASE_QUERY_SECONDS", "").strip()
    try:
        seconds = float(raw) if raw else QUERY_SECONDS
    except ValueError:
        raise ValueError(f"GRIDBASE_QUERY_SECONDS must be a number of seconds, not {raw!r}") from None
    return seconds if seconds > 0 else None


def _past_deadline() -> int:
    """SQLite's progress handler: a non-zero answer stops the running statement ("interrupted")."""
    return 1 if budget.expired() else 0


# Page cache of each reader: the writer keeps 64 MB; readers are one per serving thread, and
# the operating system's file cache sits behind them all.
READER_CACHE_KIB = 8192


class WriteLock:
    """A re-entrant lock that knows which thread holds it, and how many wait for it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count = 0
        self.owner: int | None = None
        self.waiting = 0  # threads blocked in __enter__: a long writer lets them in between its transactions
        self._tally = threading.Lock()

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            with self._tally:
                self.waiting += 1
            try:
                self._lock.acquire()
            finally:
                with self._tally:
                    self.waiting -= 1
        self.owner = threading.get_ident()
        self._count += 1

    def __exit__(self, *exc: object) -> None:
        self._count -= 1
        if self._count == 0:
            self.owner = None
        self._lock.release()

    def held(self) -> bool:
        """True when the calling thread holds the lock."""
        return self.owner == threading.get_ident()


class Storage:
    """The database of one workspace: its connections, the write lock and transactions."""

    dialect = SQLITE  # the SQL pieces SQLite writes its own way (engine/dialect.py)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = connect(self.path)
        self.lock = WriteLock()
        self._writer_db = sqlite_utils.Database(self.writer)
        self._depth = 0
        self._on_commit: list[Callable[[], None]] = []  # run once the open transaction commits
        self._group: GroupCommit | None = None
        self._local = threading.local()  # this thread's reader and the functions it has
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._functions: list[tuple[str, int, Callable[..., Any]]] = []
        self._closed = False
        self._apart: sqlite3.Connection | None = None  # write_apart's connection
        self._apart_lock = threading.Lock()
        # Set by a worker of `gridbase serve --workers N`: other processes serve this file too, so
        # what they must share (rate limits, engine.ratelimits) goes through the database.
        self.several_processes = False
        # Descriptors of DB-writers.lock (_in_turn): the writer's, and write_apart's (an open file of
        # its own, so the two queue for the file's lock against each other too).
        self._turns: dict[str, int] = {}
        self.query_seconds = query_seconds_setting()  # the time budget of each read (None: no budget)
        with self.transaction():
            create_system_tables(self._writer_db)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection: the writer while it holds the write lock, else its reader."""
        if self.lock.held():
            return self.writer
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._open_reader()
        if self._local.functions < len(self._functions):
            for name, args, fn in self._functions[self._local.functions:]:
                reader.create_function(name, args, fn, deterministic=False)
            self._local.functions = len(self._functions)
        return reader

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils' view of this thread's connection (`conn`): schema work and introspection."""
        if self.lock.held():
            return self._writer_db
        conn = self.conn
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None or db.conn is not conn:
            db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
            self._local.db = db
        return db

    def _open_reader(self) -> sqlite3.Connection:
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        reader = connect(self.path)
        reader.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        reader.execute("PRAGMA query_only = ON")  # a write outside transaction() is a bug: fail loudly
        reader.set_progress_handler(_past_deadline, PROGRESS_STEPS)
        with self._readers_lock:
            self._readers.append(reader)
        self._local.reader = reader
        self._local.functions = 0
        # Server threads come and go (idle ones end): a reader goes with its thread.
        weakref.finalize(threading.current_thread(), self._close_reader, reader)
        return reader

    def _close_reader(self, reader: sqlite3.Connection) -> None:
        with self._readers_lock:
            if reader not in self._readers:
                return  # closed with the storage
            self._readers.remove(reader)
        reader.close()

    def create_function(self, name: str, args: int, fn: Callable[..., Any]) -> None:
        """Register an SQL function on every connection, present and future."""
        with self.lock:
            self.writer.create_function(name, args, fn, deterministic=False)
            self._functions.append((name, args, fn))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once the open transaction has committed, outside the write lock
        (never if it rolls back); once per transaction however often it is asked."""
        if not self._depth:
            raise RuntimeError("after_commit is only meaningful inside transaction()")
        if callback not in self._on_commit:
            self._on_commit.append(callback)

    def announce(self) -> None:
        """Inside a transaction: tell other processes on this database, at its commit, that
        something was written. One file has one serving process: its listeners are in-process
        (after_commit), so there is no one else to tell."""

    def listen(self, callback: Callable[[], None]) -> None:
        """Call `callback()` when another process announces a commit: never here (one process)."""

    def resume_counters(self, table: str) -> None:
        """After rows were written with their keys given (a store copy): new rows' keys follow
        the largest. SQLite's integer keys (and AUTOINCREMENT's sqlite_sequence) already do."""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A `BEGIN IMMEDIATE` transaction; nested calls join the outer one."""
        committed: list[Callable[[], None]] = []
        with self._transaction(committed) as conn:
            yield conn
        for callback in committed:
            callback()

    @contextmanager
    def _transaction(self, committed: list[Callable[[], None]]) -> Iterator[sqlite3.Connection]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.writer
                finally:
                    self._depth -= 1
                return
            with self._in_turn():
                try:
                    self.writer.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if is_disk_full(exc):
                        raise StorageFull() from exc
                    raise
                self._depth = 1
                try:
                    yield self.writer
                except BaseException as exc:
                    self._depth = 0
                    self._on_commit.clear()
                    self._rollback()
                    if isinstance(exc, sqlite3.OperationalError) and is_disk_full(exc):
                        raise StorageFull() from exc
                    raise
                else:
                    self._depth = 0
                    callbacks, self._on_commit = self._on_commit, []
                    try:
                        self.writer.execute("COMMIT")
                    except sqlite3.OperationalError as exc:
                        self._rollback()
                        if is_disk_full(exc):
                            raise StorageFull() from exc
                        raise
                    committed.extend(callbacks)

    @contextmanager
    def _in_turn(self, who: str = "writer") -> Iterator[None]:
        """Around a transaction, with several processes on the file (`several_processes`): wait
        for the write lock in a queue the kernel wakes at once (an exclusive `flock` on
        DB-writers.lock), rather than in SQLite's busy handler, which looks again after sleeping
        1, 2, 5 … 100 ms. SQLite's own lock still decides; processes that do not take this one
        (the command line) are waited for as before."""
        if not self.several_processes:
            yield
            return
        turns = self._turns.get(who)
        if turns is None:
            turns = self._turns[who] = os.open(f"{self.path}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(turns, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(turns, fcntl.LOCK_UN)

    def _rollback(self) -> None:
        """Roll back if a transaction is still open (SQLite may have rolled back already)."""
        if self.writer.in_transaction:
            try:
                self.writer.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one worth reporting

    @contextmanager
    def savepoint(self, name: str) -> Iterator[sqlite3.Connection]:
        """Inside a transaction: if the block raises, undo what it wrote (and re-raise).

        When SQLite has already rolled the whole transaction back (a full disk, say) there is
        no savepoint left to go back to; the error goes on to the transaction's owner.
        """
        self.writer.execute(f"SAVEPOINT {q(name)}")
        try:
            yield self.writer
        except BaseException:
            if self.writer.in_transaction:
                self.writer.execute(f"ROLLBACK TO {q(name)}")
                self.writer.execute(f"RELEASE {q(name)}")
            raise
        self.writer.execute(f"RELEASE {q(name)}")

    def write_apart(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """One small write statement in a transaction of its own; its first row (RETURNING).

        Only for what need not survive a power cut (a rate limit's bucket): on a connection of
        its own with `synchronous = OFF`, so it waits for no disk sync and not for this
        process's writer lock, only for the file's write lock while another commit holds it
        (`gridbase serve --workers N`: several processes on the file), queued for it on
        DB-writers.lock like the writers (`_in_turn`, a descriptor of its own), not in SQLite's
        busy handler, which let it wait behind a stream of commits. Inside this thread's
        own transaction it is part of it. (PostgreSQL takes it beside the writer.)"""
        if self._depth and self.lock.held():
            return self.writer.execute(sql, params).fetchone()
        with self._apart_lock, self._in_turn("apart"):
            if self._apart is None:
                self._apart = connect(self.path)
                self._apart.execute("PRAGMA synchronous = OFF")
            self._apart.execute("BEGIN IMMEDIATE")
            try:
                row = self._apart.execute(sql, params).fetchone()
            except BaseException:
                self._apart.execute("ROLLBACK")
                raise
            self._apart.execute("COMMIT")
            return row

    def write_soon(self, write: Callable[[], T]) -> Future[T]:
        """Run `write()` in a transaction shared with other writes that arrive meanwhile.

        The future resolves after the commit (see engine.groupcommit): for request handlers
        that may run concurrently, so simultaneous writes share one disk sync.
        """
        if self._group is None:
            with self.lock:
                if self._group is None:
                    self._group = GroupCommit(self)
        return self._group.submit(write)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several reads (this thread's own writes inside its transaction).

        The outermost snapshot of a reader runs within `query_seconds`: past it, the statement
        or formula evaluation under way stops and the block raises QueryTimeout.
        """
        conn = self.conn
        if conn is self.writer or conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            with budget.within(self.query_seconds):
                try:
                    yield conn
                except sqlite3.OperationalError as exc:
                    # Stopped by the progress handler ("interrupted"), or by a formula that
                    # found the deadline passed ("user-defined function raised exception").
                    if budget.expired():
                        raise budget.timeout() from exc
                    if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                        raise
                    # Else SQLite refused the read's SQL (too deep, too large, too many
                    # variables) or a formula failed in it: the caller's query, said with a code.
                    log.warning("a read was refused by SQLite: %s", exc)
                    raise QueryTooComplex() from exc
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    # -- what kept row counts ask (engine.counts) ---------------------------------------------
    def schema_version(self, conn: sqlite3.Connection) -> int:
        """In the reader's snapshot `conn`: SQLite's count of schema changes to the file."""
        return int(conn.execute("PRAGMA schema_version").fetchone()[0])

    def reads(self, conn: sqlite3.Connection, sql: str, params: list[Any]) -> Iterator[statement_reads.Read]:
        """What `sql` reads, the cheapest answer first (engine/statement_reads.py)."""
        return statement_reads.sqlite(conn, sql, params)

    @property
    def database(self) -> Path:
        """What `Workspace.open(..., db=)` takes to open this database again: its file."""
        return self.path

    def columns(self, table: str) -> dict[str, str]:
        """A table's columns and their declared SQL types, in table order."""
        return {c.name: c.type for c in self.db.table(table).columns}

    def tables(self) -> list[str]:
        return self.db.table_names()

    def optimize(self) -> None:
        """Refresh the query planner's statistics (bounded work, also on big tables).

        Without statistics SQLite may walk a low-selectivity index and sort, which at a
        million rows turns a 7 ms first page into 300 ms.
        """
        with self.lock:
            self.writer.execute("PRAGMA analysis_limit = 100000")
            self.writer.execute("ANALYZE")

    def close(self) -> None:
        if self._group is not None:
            self._group.close()
        with self.lock:
            self._closed = True
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for reader in readers:
                reader.close()
            with self._apart_lock:
                if self._apart is not None:
                    self._apart.close()
            for turns in self._turns.values():
                os.close(turns)
            self._turns = {}
            self.writer.close()
