"""Several processes on one PostgreSQL database: a commit that announced events wakes the
listeners of another store on the same schema (LISTEN/NOTIFY), not those of another schema,
and not for a rolled-back transaction; an outbox event is claimed by one store at a time."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psycopg
import pytest

from engine.store_pg import PgStorage

pytestmark = pytest.mark.stores  # needs PostgreSQL (the session's throwaway server)


def _schema(pg_url: str) -> str:
    name = "listen_" + os.urandom(3).hex()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]  # a name made above
    return f"{pg_url}?options=-csearch_path%3D{name}"


def test_a_commit_wakes_the_other_store_of_its_schema_only(pg_url: str, tmp_path: Path) -> None:
    url, other_url = _schema(pg_url), _schema(pg_url)
    one, two, elsewhere = PgStorage(url, tmp_path), PgStorage(url, tmp_path), PgStorage(other_url, tmp_path)
    heard, heard_elsewhere = threading.Event(), threading.Event()
    try:
        two.listen(heard.set)
        elsewhere.listen(heard_elsewhere.set)
        with pytest.raises(RuntimeError), one.transaction():
            one.announce()
            raise RuntimeError("rolled back: nobody is told")
        assert not heard.wait(2)
        with one.transaction():
            one.announce()
        assert heard.wait(10)
        assert not heard_elsewhere.wait(1)
    finally:
        for store in (one, two, elsewhere):
            store.close()


def test_an_event_another_store_holds_is_not_pending_here(pg_url: str, tmp_path: Path) -> None:
    url = _schema(pg_url)
    one, two = PgStorage(url, tmp_path), PgStorage(url, tmp_path)
    try:
        with one.transaction() as conn:
            eid = conn.execute("INSERT INTO _gb_outbox (at, base, tbl, record, event, actor, data, depth) "
                               "VALUES ('2026-01-01T00:00:00Z', 'b', 't', 'rec1', 'created', 'admin', '{}', 0)").lastrowid
        claim = "SELECT processed_at FROM _gb_outbox WHERE id = ?" + one.dialect.claim_rows
        # a transaction of `two` that holds the row (without the writer lock, to see SKIP LOCKED alone)
        raw = two.writer.raw
        raw.execute("BEGIN")
        raw.execute("SELECT 1 FROM _gb_outbox WHERE id = %s FOR UPDATE", (eid,))
        with one.transaction() as conn:
            assert conn.execute(claim, (eid,)).fetchone() is None  # passed over, not waited for
        raw.execute("ROLLBACK")
        with one.transaction() as conn:
            assert conn.execute(claim, (eid,)).fetchone() == (None,)
    finally:
        one.close()
        two.close()
