"""The PostgreSQL server drops a connection (restarted, failed over, `pg_terminate_backend`):
the next write and the next read succeed on a new connection, a write caught in the middle is
reported as an error and leaves nothing behind, and the listener hears commits again."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from engine import Workspace
from engine.errors import DatabaseLost
from engine.store_pg import PgStorage
from tests_support import WORKSPACE_YAML, write_workspace

pytestmark = pytest.mark.stores  # needs PostgreSQL (the session's throwaway server)

DESK = """\
base: desk
name: Desk
tables:
  tickets:
    name: Tickets
    primary: title
    fields:
      title: {type: text, name: Title}
"""


def _schema(pg_url: str) -> str:
    name = "reconnect_" + os.urandom(3).hex()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]  # a name made above
    return f"{pg_url}?options=-csearch_path%3D{name}"


def _terminate(pg_url: str, pid: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


@pytest.fixture
def desk(pg_url: str, tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(write_workspace(tmp_path / "ws", {"desk": DESK}, WORKSPACE_YAML), db=_schema(pg_url))
    ws.apply()
    yield ws
    ws.close()


def _reader_pid(ws: Workspace) -> int:
    """This thread's reader's server process, asked as a statement (not through `raw`, which
    would roll back the transaction a reader waits in between snapshots)."""
    return int(ws.storage.conn.execute("SELECT pg_backend_pid()").fetchone()[0])


def _titles(ws: Workspace) -> list[str]:
    return sorted(r["fields"]["title"] for r in ws.base("desk").table("tickets").query(actor="admin").records)


def test_the_next_write_succeeds_after_the_server_dropped_the_writer(desk: Workspace, pg_url: str) -> None:
    tickets = desk.base("desk").table("tickets")
    tickets.create({"title": "before"}, actor="admin")
    _terminate(pg_url, desk.storage.writer.raw.info.backend_pid)
    tickets.create({"title": "after"}, actor="admin")  # no error: a new connection took over
    assert _titles(desk) == ["after", "before"]


def test_a_write_caught_by_the_drop_is_an_error_and_leaves_nothing(desk: Workspace, pg_url: str) -> None:
    tickets = desk.base("desk").table("tickets")
    with pytest.raises(DatabaseLost, match="connection to the database was lost"), desk.storage.transaction():
        tickets.create({"title": "half"}, actor="admin")
        _terminate(pg_url, desk.storage.writer.raw.info.backend_pid)
        tickets.create({"title": "other half"}, actor="admin")
    tickets.create({"title": "again"}, actor="admin")
    assert _titles(desk) == ["again"]  # neither half of the lost transaction, nor its audit
    with desk.storage.reading() as conn:
        assert conn.execute("SELECT count(*) FROM _gb_audit").fetchone() == (1,)


def test_the_next_read_succeeds_after_the_server_dropped_the_reader(desk: Workspace, pg_url: str) -> None:
    desk.base("desk").table("tickets").create({"title": "one"}, actor="admin")
    assert _titles(desk) == ["one"]  # this thread now holds a reader
    _terminate(pg_url, _reader_pid(desk))
    assert _titles(desk) == ["one"]


def test_a_snapshot_begun_after_the_server_dropped_the_reader_is_still_one_snapshot(desk: Workspace, pg_url: str) -> None:
    """Its BEGIN goes with its first statement (engine/pg_connection.py `open_with`): asked again on
    the new connection, the BEGIN with it, so the reads after it share that statement's snapshot."""
    tickets = desk.base("desk").table("tickets")
    tickets.create({"title": "one"}, actor="admin")
    assert _titles(desk) == ["one"]  # this thread now holds a reader
    _terminate(pg_url, _reader_pid(desk))
    with desk.storage.reading() as conn:
        first = conn.execute("SELECT count(*) FROM desk__tickets").fetchone()
        writer = threading.Thread(target=lambda: tickets.create({"title": "two"}, actor="admin"))
        writer.start()
        writer.join()
        assert conn.execute("SELECT current_setting('transaction_isolation')").fetchone() == ("repeatable read",)
        assert conn.execute("SELECT count(*) FROM desk__tickets").fetchone() == first == (1,)
    assert _titles(desk) == ["one", "two"]


def test_the_listener_hears_commits_again_after_its_connection_was_dropped(pg_url: str, tmp_path: Path) -> None:
    url = _schema(pg_url)
    one, two = PgStorage(url, tmp_path), PgStorage(url, tmp_path)
    heard = threading.Event()
    try:
        two.listen(heard.set)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            for _ in range(200):  # the listener's connection, once it is LISTENing
                row = admin.execute("SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%%'").fetchone()
                if row:
                    break
                threading.Event().wait(0.05)
            assert row is not None
        _terminate(pg_url, row[0])
        for _ in range(100):  # announced until heard: the listener connects again within seconds
            with one.transaction():
                one.announce()
            if heard.wait(0.2):
                break
        assert heard.is_set()
    finally:
        one.close()
        two.close()


def test_a_reader_between_snapshots_holds_no_lock_and_no_snapshot(desk: Workspace, pg_url: str) -> None:
    """Between two reads a reader waits in the next snapshot's transaction (engine/pg_connection.py):
    it must not keep the table's lock (a migration's ALTER TABLE would wait for it) nor a
    snapshot (VACUUM could not remove dead rows while it idles)."""
    desk.base("desk").table("tickets").create({"title": "one"}, actor="admin")
    pid = _reader_pid(desk)
    assert _titles(desk) == ["one"]  # a snapshot read on that reader, and ended
    with psycopg.connect(desk.storage.database, autocommit=True) as other:
        state = other.execute("SELECT state, backend_xmin FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        assert state == ("idle in transaction", None)
        other.execute("SET lock_timeout = '2s'")
        other.execute('ALTER TABLE desk__tickets ADD COLUMN "extra" text')  # no lock held: no wait, no error
    assert _titles(desk) == ["one"]
