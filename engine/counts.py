"""Row counts kept between requests: one exact count per query (table, filter, search, and the
reader's permission scope), so the grid of a million rows says how many it has without
counting them again on every page, even while forms and edits are written all day.

Words: a *key* is the count's SQL and its parameters exactly as the reader's query built them
(the permission scope and `$me` are in them, so two people who may read different rows never
share a count). A *stamp* is what the database says about its own state: the id of the newest
outbox event and its schema version (the store's `schema_version`: SQLite's `PRAGMA
schema_version`; on PostgreSQL the store's own count of committed schema changes), read in the
same snapshot as the count. Every committed record write (a single write, a bulk import, an
undo, a restore, an automation's write) appends its outbox event in its own transaction
(engine.outbox), and writers with events take turns — SQLite has one writer at a time; on
PostgreSQL every write transaction, of any process, holds the writer's advisory lock from its
first statement to its COMMIT, and a read is one REPEATABLE READ snapshot (engine/store_pg.py
says why that makes the same promise) — so event ids grow in commit order and a snapshot
holds every write up to its newest event id and none after: while the stamp is unchanged no
row has changed, and the count is exact.

When the stamp has moved, the events between the kept stamp and now say what changed (one
range read of the outbox by id; more than `EVENTS` of them and the count is taken again):

- A count is *isolated* when its SQL reads one table and none of that table's columns that a
  write elsewhere may change without an event of this table (link columns: the other side of
  a link; computed columns: rollups and lookups; those the engine keeps), as the workspace
  says (`describe`, engine.workspace `count_columns`). What a SQL reads is the store's to say
  (`reads`, engine/statement_reads.py), asked once per SQL: SQLite's authorizer (what the
  statement names) and, when that is more, its bytecode (what it runs: a restricted reader's
  guarded copies of linked records go unread unless the query compares them); PostgreSQL's
  generic plan (the tables it scans) with every column of them the SQL names. An isolated
  count is unchanged by events of other tables.
- Events of its own table that update only columns the count does not read (the event names
  the fields it changed) pass it by, unless it reads a column every update changes unnamed
  (modified time and people).
- Events of its own table that only *create* records: the new count is the kept one plus the
  count of the same WHERE over those new record ids — exact, since those rows did not exist
  at the kept stamp (and a created row rolled back since, by an import's rollback, is simply
  not there to count).
- Anything else (an update, delete, restore, undo, comment, a schema change, a count that is
  not isolated) and the count is taken again. What was counted before stays as an *estimate*
  ("about N"), never as the number.

An import's rows are written before their events are released, and a rolled-back import
deletes its rows and then its held events without new events: so a count is never kept from
a snapshot in which some import's events are held (engine.outbox `holding`), and when the
newest event id goes back (events dropped), everything kept is forgotten.

Not kept: a count inside a write transaction (it could see uncommitted rows), a query whose
SQL calls Python (`gb_formula`, which may read the clock; PostgreSQL's SQL calls none: a
filter formula it cannot express is evaluated before the query, and the rows it holds for are
a parameter of the WHERE, so part of the key).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.storage import table_name

if TYPE_CHECKING:
    from engine.outbox import Outbox
    from engine.storage import Storage

SIZE = 512  # counts kept per database; the least recently asked one goes first
EVENTS = 1000  # events since a kept count read to bring it up to date; more, and it is counted again
_UNSAFE = ("gb_formula",)  # SQL that calls Python: its answer may change without a write

Key = tuple[str, tuple[Any, ...]]
Stamp = tuple[int, int]
# The columns of a table (by its SQL name): (changed quietly, changed by every update, all known
# ones), or None for a table the workspace does not know (engine.workspace count_columns).
Columns = Callable[[str], "tuple[set[str], set[str], set[str]] | None"]


@dataclass(frozen=True)
class Reads:
    """What a count's SQL reads, when it reads one table and none of its quiet columns."""

    table: str  # its SQL name
    columns: frozenset[str]
    updates_matter: bool  # every update may change the count (it reads what each update changes)


class Counts:
    """The kept counts of one database."""

    def __init__(self) -> None:
        self._kept: OrderedDict[Key, tuple[Stamp, int]] = OrderedDict()
        self._isolated: dict[str, Reads | None] = {}  # count SQL -> what it reads, when isolated
        self._lock = threading.Lock()
        self._newest = 0  # the highest event id seen: a lower one means events were dropped
        self._columns: weakref.WeakMethod[Columns] | Columns | None = None
        self.hits = 0  # answered without counting every row (kept, or brought up to date)
        self.misses = 0  # counted again
        self.updated = 0  # of the hits: brought up to date from the events since

    def describe(self, columns: Columns) -> None:
        """Say which columns of each table writes may change without an event of that table
        naming them (the workspace does, when it opens its database)."""
        with self._lock:
            self._columns = weakref.WeakMethod(columns) if hasattr(columns, "__self__") else columns
            self._isolated.clear()

    def count(self, storage: Storage, outbox: Outbox, conn: sqlite3.Connection, source: str, where: str,
              params: list[Any]) -> int:
        """count(*) of `source` WHERE `where`, kept. Call inside the reader's snapshot
        (`storage.reading()`), the one its page of rows is read in."""
        sql = f"SELECT count(*) FROM {source} WHERE {where}"  # noqa: S608 (built by the reader, quoted)
        key = self._key(storage, sql, params)
        if key is None:
            return int(conn.execute(sql, params).fetchone()[0])
        stamp = self._stamp(storage, outbox, conn)
        known = self._known(outbox, conn, key, stamp, source, where)
        if known is not None:
            return known
        with self._lock:
            self.misses += 1
        total = int(conn.execute(sql, params).fetchone()[0])
        self._isolation(storage, conn, sql, params)
        self._keep(outbox, conn, key, stamp, total)
        return total

    def known(self, storage: Storage, outbox: Outbox, conn: sqlite3.Connection, source: str, where: str,
              params: list[Any]) -> tuple[int | None, int | None]:
        """(exact, estimate) without counting every row: the kept count when it still holds in
        this snapshot (or can be brought up to date from the events since), else None and the
        last count made for the same query (outdated), if any."""
        key = self._key(storage, f"SELECT count(*) FROM {source} WHERE {where}", params)  # noqa: S608
        if key is None:
            return None, None
        stamp = self._stamp(storage, outbox, conn)
        exact = self._known(outbox, conn, key, stamp, source, where)
        if exact is not None:
            return exact, None
        with self._lock:
            kept = self._kept.get(key)
            return None, (kept[1] if kept is not None else None)

    def forget(self) -> None:
        """Drop every kept count (a benchmark that times the counting itself)."""
        with self._lock:
            self._kept.clear()

    # -- keeping up to date ----------------------------------------------------------------
    def _known(self, outbox: Outbox, conn: sqlite3.Connection, key: Key, stamp: Stamp, source: str,
               where: str) -> int | None:
        """The exact count in this snapshot from what is kept, or None (count it again)."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            self._kept.move_to_end(key)
            if kept[0] == stamp:
                self.hits += 1
                return kept[1]
            reads = self._isolated.get(key[0])
        (since, schema), total = kept
        if reads is None or schema != stamp[1] or since > stamp[0]:
            return None
        created = self._created(outbox, conn, reads, since, stamp[0])
        if created is None:
            return None
        if created:
            marks = ", ".join("?" * len(created))
            total += int(conn.execute(f"SELECT count(*) FROM {source} WHERE ({where}) AND _id IN ({marks})",  # noqa: S608
                                      list(key[1]) + created).fetchone()[0])
        with self._lock:
            self.hits += 1
            self.updated += 1
        self._keep(outbox, conn, key, stamp, total)
        return total

    @staticmethod
    def _created(outbox: Outbox, conn: sqlite3.Connection, reads: Reads, after: int, upto: int) -> list[str] | None:
        """Ids of the records of the count's table created by the events after..upto, when
        every other event of that table there is an update of columns the count does not
        read; None when one is not, or when there are too many events to read."""
        events = outbox.between(conn, after, upto, limit=EVENTS + 1)
        if len(events) > EVENTS:
            return None
        created: set[str] = set()
        for base, tbl, record, kind, changed in events:
            if table_name(base, tbl) != reads.table:
                continue
            if kind == "created" and record is not None:
                created.add(record)
            elif kind != "updated" or reads.updates_matter or changed is None or not changed.isdisjoint(reads.columns):
                return None
        return sorted(created)

    def _isolation(self, storage: Storage, conn: sqlite3.Connection, sql: str, params: list[Any]) -> None:
        """Find (once per SQL) whether the count depends on one table only (see the module)."""
        with self._lock:
            if sql in self._isolated:
                return
            describe = self._columns() if isinstance(self._columns, weakref.WeakMethod) else self._columns
        isolated = None
        if describe is not None:
            for read in storage.reads(conn, sql, params):  # the cheapest answer first, more asked only when needed
                isolated = _isolated(read, describe)
                if isolated is not None:
                    break
        with self._lock:
            if len(self._isolated) >= 4 * SIZE:
                self._isolated.clear()
            self._isolated[sql] = isolated

    # -- keys and stamps ---------------------------------------------------------------------
    def _key(self, storage: Storage, sql: str, params: list[Any]) -> Key | None:
        if storage.lock.held() or any(word in sql for word in _UNSAFE):
            return None
        try:
            return sql, tuple(params)
        except TypeError:  # pragma: no cover - parameters are plain values
            return None

    def _stamp(self, storage: Storage, outbox: Outbox, conn: sqlite3.Connection) -> Stamp:
        newest = outbox.newest_id()
        schema = storage.schema_version(conn)
        with self._lock:
            if newest < self._newest:
                self._kept.clear()
            self._newest = max(self._newest, newest)
        return newest, schema

    def _keep(self, outbox: Outbox, conn: sqlite3.Connection, key: Key, stamp: Stamp, total: int) -> None:
        if outbox.holding(conn):  # an import's rows are in, its events held: it may yet be rolled back
            return
        with self._lock:
            self._kept[key] = (stamp, total)
            self._kept.move_to_end(key)
            while len(self._kept) > SIZE:
                self._kept.popitem(last=False)


def _isolated(read: dict[str, set[str]], describe: Columns | None) -> Reads | None:
    """Reads, when `read` is of one table and none of its quiet columns."""
    if describe is None or len(read) != 1:
        return None
    (table, columns), = read.items()
    roles = describe(table)
    if roles is None or columns & roles[0]:
        return None
    _quiet, every_update, known = roles
    return Reads(table, frozenset(columns), bool(columns & every_update or columns - known))


_BY_STORAGE: weakref.WeakKeyDictionary[Any, Counts] = weakref.WeakKeyDictionary()
_BY_STORAGE_LOCK = threading.Lock()


def of(storage: Storage) -> Counts:
    """The kept counts of `storage`'s database (made on first ask)."""
    with _BY_STORAGE_LOCK:
        counts = _BY_STORAGE.get(storage)
        if counts is None:
            counts = _BY_STORAGE[storage] = Counts()
        return counts
