"""Readers and the writer: reads on other threads neither wait for nor see an open transaction."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from engine.storage import Storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    store = Storage(tmp_path / "s.db")
    with store.transaction() as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES ('committed')")
    yield store
    store.close()


def read_elsewhere(storage: Storage) -> tuple[list[str], float]:
    out: dict[str, object] = {}

    def run() -> None:
        t0 = time.perf_counter()
        with storage.reading() as conn:
            out["rows"] = [r[0] for r in conn.execute("SELECT v FROM t ORDER BY rowid")]
        out["seconds"] = time.perf_counter() - t0

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return out["rows"], out["seconds"]  # type: ignore[return-value]


def test_a_read_on_another_thread_does_not_wait_for_or_see_an_open_transaction(storage: Storage) -> None:
    with storage.transaction() as conn:
        conn.execute("INSERT INTO t VALUES ('pending')")
        assert [r[0] for r in storage.conn.execute("SELECT v FROM t")] == ["committed", "pending"]  # own writes
        rows, seconds = read_elsewhere(storage)
        assert rows == ["committed"]
        assert seconds < 1  # before, the reader waited for the lock until this block ended
    assert read_elsewhere(storage)[0] == ["committed", "pending"]


def test_a_write_outside_a_transaction_fails_instead_of_committing_half(storage: Storage) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        storage.conn.execute("INSERT INTO t VALUES ('stray')")
    assert read_elsewhere(storage)[0] == ["committed"]


def test_sql_functions_reach_every_connection(storage: Storage) -> None:
    storage.conn.execute("SELECT 1")  # this thread's reader exists before the function does
    storage.create_function("twice", 1, lambda v: v * 2)
    assert storage.conn.execute("SELECT twice(21)").fetchone()[0] == 42
    with storage.transaction() as conn:
        assert conn.execute("SELECT twice(2)").fetchone()[0] == 4
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(storage.conn.execute("SELECT twice(5)").fetchone()[0]))
    thread.start()
    thread.join(10)
    assert result == [10]


def test_a_reader_is_closed_when_its_thread_ends(storage: Storage) -> None:
    def read() -> None:
        storage.conn.execute("SELECT count(*) FROM t").fetchone()

    for _ in range(30):
        thread = threading.Thread(target=read)
        thread.start()
        thread.join(10)
        del thread
    gc.collect()
    assert len(storage._readers) <= 1  # not one open connection (two files) per thread that ever read
    assert read_elsewhere(storage)[0] == ["committed"]
