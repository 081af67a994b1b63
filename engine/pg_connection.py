"""A psycopg 3 connection and cursor in the shape of sqlite3's, as the engine uses them.

`PgConnection.execute(sql, params)` takes the engine's SQL (SQLite's spelling), translated by its
owner (the store, which caches translations and knows the tables' keys); rows are tuples, and a
cursor has `lastrowid` and `rowcount`. The connection is in autocommit mode: the store begins and
ends transactions explicitly. A reader the server dropped while idle is replaced through its
owner (`renew_reader`) and the read asked again; `lost()` says whether a connection is gone.
`set_trace_callback` and `total_changes` are sqlite3's: the callback hears each statement (the
engine's spelling) and the store's COMMITs; `total_changes` counts the rows inserted, updated
and deleted through this connection, so tests count queries, commits and writes alike on both.
`changed_schema` says a statement that changes the schema ran here (the store counts schema
changes for kept row counts: engine/store_pg.py `schema_version`).

A reader's snapshot opens with its first statement (`open_with`): the store's BEGIN and SET LOCAL
wait here and go to the server as one simple query just before it (one round trip instead of
two); a snapshot nothing is read in costs no round trip at all. `begin()` sends them alone, for
what works on `raw` inside the snapshot (engine/statement_reads.py). Measured (interleaved, 100,000
rows, a grid page): psycopg's pipeline mode, carrying them with the first statement itself, cost
more Python than the round trips it saved on loopback (1.43 vs 1.36 ms), and so did sending a
first statement without parameters in the same simple query (unprepared).

A snapshot ends without waiting (`finish`, `_end`): its COMMIT and the next snapshot's BEGIN and
SET LOCAL go as one simple query whose answers are read only before the connection's next use
(`settled`). The server ends the transaction at once (its locks and snapshot go) and opens the
next one, which takes no snapshot and holds no lock (only its virtual transaction id) until a
statement reads; so the reader waits between snapshots "idle in transaction", and the next
snapshot's first statement is its only round trip: a read of one statement waits for one round
trip instead of three. A statement run outside reading() on such a reader runs in that
transaction (a snapshot of its own, as in autocommit) and ends it the same way; `raw` asked
outside reading() rolls it back first, so what works on the psycopg connection itself finds no
transaction open.
"""

from __future__ import annotations

import re
import select
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import psycopg
from psycopg import pq

from engine.pg_sql import Translated

# A batch of plain inserts this long or longer goes in by COPY (one statement, rows streamed):
# several times faster than one INSERT a row, even pipelined. "Plain": every value a parameter,
# no ON CONFLICT, no RETURNING, so COPY writes exactly what the INSERTs would (defaults, sequences,
# constraints and indexes alike; a violation fails the whole batch, as an INSERT's fails its
# transaction).
COPY_AT = 50
PLAIN_INSERT = re.compile(r'^INSERT INTO (?P<table>"[^"]+"|[A-Za-z_][A-Za-z0-9_]*) \((?P<columns>[^()]*)\) '
                          r'VALUES \((?P<values>%s(?:, ?%s)*)\)$')


def settled(raw: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """`raw` with the answers to what was sent on it without waiting (`PgConnection.end`) read,
    ready for its next statement (a dropped connection stays dropped: `lost` says so). Only by
    the connection's own thread, or once no thread uses it: a statement another thread is
    running looks the same."""
    pgconn = raw.pgconn
    if pgconn.transaction_status != pq.TransactionStatus.ACTIVE:
        return raw
    try:
        while True:
            pgconn.consume_input()
            while pgconn.is_busy():
                select.select([pgconn.socket], [], [])  # the answer is on its way: wait without the GIL
                pgconn.consume_input()
            if pgconn.get_result() is None:
                return raw
    except psycopg.OperationalError:
        return raw  # the connection is gone (lost() is true): its next user replaces it


def idle(raw: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """`raw` settled and out of any transaction (a reader given back to the pool)."""
    raw = settled(raw)
    if not lost(raw) and raw.info.transaction_status == pq.TransactionStatus.INTRANS:
        try:
            raw.execute("ROLLBACK")
        except psycopg.Error:
            pass  # gone meanwhile: the pool throws it away
    return raw


def lost(raw: psycopg.Connection[Any]) -> bool:
    """The connection is gone: closed here, or dropped by the server (seen on its last use)."""
    return raw.closed or raw.broken


class Owner(Protocol):
    """What a connection needs of its store (engine/store_pg.py `PgStorage`)."""

    def translated(self, sql: str) -> Translated: ...

    def renew_reader(self, reader: PgConnection) -> bool: ...


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

    def __init__(self, raw: psycopg.Connection[Any], store: Owner) -> None:
        self._raw = raw
        self._store = store
        self._trace: Callable[[str], object] | None = None
        self.total_changes = 0  # rows inserted, updated or deleted here (sqlite3's Connection.total_changes)
        self.changed_schema = False  # a statement that changes the schema ran here (the store resets it)
        # A reader's snapshot (see the module's docstring), by the statements that open it:
        self._opening: tuple[str, ...] = ()  # to send just before the next statement
        self._primed: tuple[str, ...] = ()  # sent already: a transaction waits on the server, nothing read in it
        self._snapshot: tuple[str, ...] = ()  # the transaction something was read in, still open
        self._sent = False  # statements sent without waiting (`_end`), their answers not read yet
        self.reading = False  # inside the store's reading(): its statements share one snapshot

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection, ready for a statement of its own: what `_end` sent answered,
        and outside a snapshot no transaction open on it."""
        raw = self._settled()
        if not self.reading and (self._primed or self._snapshot) and not lost(raw):
            self._primed = self._snapshot = ()
            raw.execute("ROLLBACK")
        return raw

    @raw.setter
    def raw(self, raw: psycopg.Connection[Any]) -> None:
        """A new connection in place of a dropped one: a snapshot nothing was read in yet opens
        on it with the next statement."""
        if self.reading and not self._opening:
            self._opening = self._snapshot or self._primed
        self._raw = raw
        self._primed = self._snapshot = ()
        self._sent = False

    def gone(self) -> bool:
        """The connection is gone (`lost`)."""
        return lost(self._raw)

    def unwrap(self) -> psycopg.Connection[Any]:
        """The psycopg connection as it is (to give it back to the pool: see `settled`)."""
        return self._raw

    def _settled(self) -> psycopg.Connection[Any]:
        if self._sent:
            self._sent = False
            settled(self._raw)
        return self._raw

    def open_with(self, statements: tuple[str, ...]) -> None:
        """Open a snapshot with `statements` (BEGIN …, SET LOCAL …): sent just before the next
        statement run here, or already waiting on the server (`finish` sent them)."""
        self.reading = True
        if self._primed != statements:
            self._opening = (("ROLLBACK",) if self._primed else ()) + statements
            self._primed = ()

    def finish(self) -> None:
        """End the snapshot `open_with` began: nothing to do if nothing was read in it; else its
        COMMIT and the next snapshot's opening go without waiting (`_end`); a failed one is
        rolled back."""
        self.reading = False
        self._opening = ()
        raw = self._settled()
        if lost(raw):
            self._primed = self._snapshot = ()
        elif raw.info.transaction_status == pq.TransactionStatus.INERROR:
            self._primed = self._snapshot = ()
            raw.execute("ROLLBACK")
        elif self._snapshot:
            self._end()

    def _end(self) -> None:
        """COMMIT the snapshot's read-only transaction and open the next one (its statements,
        no snapshot taken until a statement reads) in one simple query, without waiting for
        the answers: the next use of the connection reads them first."""
        opening, self._snapshot = self._snapshot, ()
        pgconn = self._raw.pgconn
        try:
            pgconn.send_query("; ".join(("COMMIT", *opening)).encode())
            while pgconn.flush():  # the connection is non-blocking: the rest waits for the socket
                select.select([], [pgconn.socket], [])
        except psycopg.OperationalError:
            return  # gone: the reads were done, and its next user finds it lost
        self._sent = True
        self._primed = opening

    def begin(self) -> None:
        """The snapshot's transaction open on the server now (something reads `raw` next)."""
        raw = self._settled()
        if self._opening:
            raw.execute("; ".join(self._opening))
            self._snapshot, self._opening = self._opening, ()
        elif self._primed:
            self._snapshot, self._primed = self._primed, ()

    def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        """As sqlite3's: `callback(sql)` for each statement run here from now on (None: stop)."""
        self._trace = callback

    def traced(self, sql: str) -> None:
        """Tell the trace callback, if any, of a statement run on the raw connection (COMMIT)."""
        if self._trace is not None:
            self._trace(sql)

    def _translate(self, sql: str) -> Translated:
        return self._store.translated(sql)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> PgCursor:
        t = self._translate(sql)
        self.traced(sql)
        if t.schema:
            self.changed_schema = True
        raw = self._settled()
        # Nothing read in this transaction yet (none open, or one opening with this statement).
        fresh = not self._snapshot and (bool(self._primed) or raw.info.transaction_status == pq.TransactionStatus.IDLE)
        try:
            cur = self._run(t.sql, params)
        except psycopg.OperationalError:
            # A reader the server dropped while idle: a read outside any transaction (or the
            # first of a snapshot, its BEGIN with it) is asked again on a new connection (the
            # writer is connected again by its next transaction).
            if not (fresh and lost(self._raw) and self._store.renew_reader(self)):
                self._after_error()
                raise
            cur = self._run(t.sql, params)
        except psycopg.Error:
            self._after_error()
            raise
        if self._snapshot and not self.reading:
            self._end()  # a statement outside reading() in the transaction `_end` opened: ended as in autocommit
        self._count_changes(cur)
        lastrowid = None
        if t.returning is not None and cur.description:
            row = cur.fetchone()
            lastrowid = int(row[0]) if row else None
        return PgCursor(cur, lastrowid)

    def _after_error(self) -> None:
        """Outside reading(), a failed statement in the transaction `_end` opened: rolled back
        (in a snapshot, `finish` does it)."""
        if self._snapshot and not self.reading:
            self._snapshot = ()
            if not lost(self._raw):
                self._raw.execute("ROLLBACK")

    def _run(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> psycopg.Cursor[Any]:
        raw = self._raw
        cur = raw.cursor()
        if self._primed:
            self._snapshot, self._primed = self._primed, ()
        if not self._opening:
            cur.execute(sql, params_of(params))
            return cur
        try:
            raw.execute("; ".join(self._opening))  # one simple query: one round trip
            self._snapshot = tuple(s for s in self._opening if s != "ROLLBACK")
            cur.execute(sql, params_of(params))
        except BaseException:
            if not lost(raw):  # kept for a dropped reader's new connection (PgConnection.execute)
                self._opening = ()
            raise
        self._opening = ()
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        t = self._translate(sql)
        self.begin()
        text = t.sql[: t.sql.rfind(" RETURNING ")] if t.returning else t.sql
        cur = self.raw.cursor()
        params = [params_of(r) for r in rows]
        copy = PLAIN_INSERT.match(text) if len(params) >= COPY_AT else None
        if copy is not None and copy["values"].count("%s") == len(params[0]):
            statement = f"COPY {copy['table']} ({copy['columns']}) FROM STDIN"
            self.traced(statement)  # the statement run: the trace callback hears COPY, not the INSERT
            with cur.copy(statement) as stream:
                for row in params:
                    stream.write_row(row)
            self.total_changes += len(params)
            return PgCursor(cur, None)
        self.traced(sql)
        cur.executemany(text, params)
        self._count_changes(cur)
        return PgCursor(cur, None)

    def _count_changes(self, cur: psycopg.Cursor[Any]) -> None:
        if cur.rowcount > 0 and (cur.statusmessage or "").startswith(("INSERT", "UPDATE", "DELETE", "MERGE")):
            self.total_changes += cur.rowcount

    @property
    def in_transaction(self) -> bool:
        return bool(self._opening) or self._settled().info.transaction_status != pq.TransactionStatus.IDLE

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        """PostgreSQL runs no Python: formulas SQL cannot express are evaluated before the query."""

    def close(self) -> None:
        self.raw.close()


def params_of(params: Sequence[Any] | dict[str, Any]) -> Sequence[Any]:
    return list(params.values()) if isinstance(params, dict) else list(params)
