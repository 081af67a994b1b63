"""Row counts kept between requests: one exact count per query (table, filter, search, and the
reader's permission scope), so the grid of a million rows says how many it has without
counting them again on every page.

Words: a *key* is the count's SQL and its parameters exactly as the reader's query built them
(the permission scope and `$me` are in them, so two people who may read different rows never
share a count). A *stamp* is what the database says about its own state: the id of the newest
outbox event and SQLite's schema version, read in the same snapshot as the count. Every
committed record write (a single write, a bulk import, an undo, a restore, an automation's
write) appends its outbox event in its own transaction (engine.outbox) and SQLite has one
writer at a time, so event ids grow in commit order: while the stamp is unchanged no row has
changed, and the count is exact. Any write changes the stamp and the count is taken again at
the next ask; what was counted before stays as an *estimate* ("about N"), never as the number.

Not kept: a count inside a write transaction (it could see uncommitted rows), a query whose
SQL calls Python (`gb_formula`, which may read the clock), any count on a store whose event
ids need not follow commit order (PostgreSQL, where several writers commit at once). When the
newest event id goes back (an import rolled back and its events dropped), everything kept is
forgotten.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from engine.outbox import Outbox
    from engine.storage import Storage

SIZE = 512  # counts kept per database; the least recently asked one goes first
_UNSAFE = ("gb_formula",)  # SQL that calls Python: its answer may change without a write

Key = tuple[str, tuple[Any, ...]]
Stamp = tuple[int, int]


class Counts:
    """The kept counts of one database."""

    def __init__(self) -> None:
        self._kept: OrderedDict[Key, tuple[Stamp, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._newest = 0  # the highest event id seen: a lower one means events were dropped
        self.hits = 0
        self.misses = 0

    def count(self, storage: Storage, outbox: Outbox, conn: sqlite3.Connection, source: str, where: str,
              params: list[Any]) -> int:
        """count(*) of `source` WHERE `where`, kept. Call inside the reader's snapshot
        (`storage.reading()`), the one its page of rows is read in."""
        sql = f"SELECT count(*) FROM {source} WHERE {where}"  # noqa: S608 (built by the reader, quoted)
        key = self._key(storage, sql, params)
        if key is None:
            return int(conn.execute(sql, params).fetchone()[0])
        stamp = self._stamp(outbox, conn)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == stamp:
                self._kept.move_to_end(key)
                self.hits += 1
                return kept[1]
            self.misses += 1
        total = int(conn.execute(sql, params).fetchone()[0])
        self._keep(key, stamp, total)
        return total

    def known(self, storage: Storage, outbox: Outbox, conn: sqlite3.Connection, source: str, where: str,
              params: list[Any]) -> tuple[int | None, int | None]:
        """(exact, estimate) without counting: the kept count when it still holds in this
        snapshot, else None and the last count made for the same query (outdated), if any."""
        key = self._key(storage, f"SELECT count(*) FROM {source} WHERE {where}", params)  # noqa: S608
        if key is None:
            return None, None
        stamp = self._stamp(outbox, conn)
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None, None
            self._kept.move_to_end(key)
            if kept[0] == stamp:
                self.hits += 1
                return kept[1], None
            return None, kept[1]

    def forget(self) -> None:
        """Drop every kept count (a benchmark that times the counting itself)."""
        with self._lock:
            self._kept.clear()

    def _key(self, storage: Storage, sql: str, params: list[Any]) -> Key | None:
        if storage.dialect.name != "sqlite" or storage.lock.held() or any(word in sql for word in _UNSAFE):
            return None
        try:
            return sql, tuple(params)
        except TypeError:  # pragma: no cover - parameters are plain values
            return None

    def _stamp(self, outbox: Outbox, conn: sqlite3.Connection) -> Stamp:
        newest = outbox.newest_id()
        schema = int(conn.execute("PRAGMA schema_version").fetchone()[0])
        with self._lock:
            if newest < self._newest:
                self._kept.clear()
            self._newest = max(self._newest, newest)
        return newest, schema

    def _keep(self, key: Key, stamp: Stamp, total: int) -> None:
        with self._lock:
            self._kept[key] = (stamp, total)
            self._kept.move_to_end(key)
            while len(self._kept) > SIZE:
                self._kept.popitem(last=False)


_BY_STORAGE: weakref.WeakKeyDictionary[Any, Counts] = weakref.WeakKeyDictionary()
_BY_STORAGE_LOCK = threading.Lock()


def of(storage: Storage) -> Counts:
    """The kept counts of `storage`'s database (made on first ask)."""
    with _BY_STORAGE_LOCK:
        counts = _BY_STORAGE.get(storage)
        if counts is None:
            counts = _BY_STORAGE[storage] = Counts()
        return counts
