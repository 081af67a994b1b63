"""Group commit: writes from many requests share one transaction and one `fsync`.

With `synchronous=FULL` every commit waits for the disk, and a request is answered only
after its commit. When several people submit at once, `GroupCommit` runs their writes one
after another in one transaction, each inside its own savepoint, and commits once: every
write is still durable before its caller hears back, but they share the wait. A write that
finds no other waiting runs in a transaction of its own, without a savepoint.

A write that fails is rolled back to its savepoint and its caller gets the exception; the
others are unaffected. If the commit itself fails, every caller of that group gets the
error, and none of their writes is stored.

It knows its database only as `Transactional` (a transaction and savepoints), so this module
needs nothing of engine.storage, which builds one for each workspace (`Storage.write_soon`).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Protocol

MAX_GROUP = 32  # writes per transaction at most, so one group cannot hold the lock for long


class Transactional(Protocol):
    """What a group needs of its database (engine.storage.Storage is one): a transaction that
    commits once, and savepoints inside it."""

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def savepoint(self, name: str) -> AbstractContextManager[sqlite3.Connection]: ...


class GroupCommit:
    """A writer thread that runs submitted write functions in shared transactions."""

    def __init__(self, storage: Transactional) -> None:
        self.storage = storage
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, write: Callable[[], Any]) -> Future[Any]:
        """Run `write()` in the next group; the future resolves once its group is committed."""
        future: Future[Any] = Future()
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="gridbase-writer", daemon=True)
                self._thread.start()
        self._queue.put((write, future))
        return future

    def close(self) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(item)
            self._run(group)

    def _run(self, group: list[tuple[Callable[[], Any], Future[Any]]]) -> None:
        if len(group) == 1:
            self._run_alone(*group[0])
            return
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.storage.transaction() as conn:
                for write, _ in group:
                    try:
                        with self.storage.savepoint("gb_write"):
                            value = write()
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        if not conn.in_transaction:
                            raise  # SQLite dropped the whole transaction: nothing of the group is stored
                        outcomes.append((False, exc))
                    else:
                        outcomes.append((True, value))
        except BaseException as exc:  # noqa: BLE001 - the commit failed: nothing of the group is stored
            for _, future in group:
                future.set_exception(exc)
            return
        for (ok, value), (_, future) in zip(outcomes, group, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _run_alone(self, write: Callable[[], Any], future: Future[Any]) -> None:
        """A group of one: its own transaction, no savepoint (two statements fewer under the
        write lock, two round trips on PostgreSQL). A write that fails rolls the transaction
        back, which is what rolling back to its savepoint and committing nothing else would do."""
        try:
            with self.storage.transaction():
                value = write()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            future.set_exception(exc)
        else:
            future.set_result(value)
