"""The store seam: which store a database URL or file opens, how the PostgreSQL store reads the
engine's SQL, and (with a PostgreSQL server) one writer at a time across stores, the read time
budget and the command line's `--db postgresql://...`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pg_server import on_postgres

from engine import Workspace
from engine.errors import QueryTimeout
from engine.pg_sql import translate
from engine.storage import Storage
from engine.store_pg import PgStorage
from engine.stores import URL_VARIABLE, database_of
from gridbase.cli import main
from tests_support import WORKSPACE_YAML, write_workspace

pytestmark = pytest.mark.stores  # the pure tests run in both runs; the server's skip without one

DESK = """\
base: desk
name: 服务台
tables:
  tickets:
    name: 工单
    primary: title
    fields:
      title: {type: text, name: 标题}
      amount: {type: number, name: 金额, precision: 2}
"""


def _pg(sql: str, keys: tuple[str, ...] = ("key",), identity: str | None = None) -> str:
    return translate(sql, lambda table: keys, lambda table: identity).sql


# -- choosing the store ---------------------------------------------------------------------------


def test_a_url_chooses_postgresql_and_anything_else_is_a_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    assert database_of(None, tmp_path) == tmp_path / "data" / "gridbase.db"
    assert database_of(tmp_path / "x.db", tmp_path) == tmp_path / "x.db"
    assert database_of("postgresql://u@h/db", tmp_path) == "postgresql://u@h/db"
    monkeypatch.setenv(URL_VARIABLE, "postgresql://u@h/other")
    assert database_of(None, tmp_path) == "postgresql://u@h/other"
    assert database_of(tmp_path / "x.db", tmp_path) == tmp_path / "x.db"  # --db wins over the environment
    monkeypatch.setenv(URL_VARIABLE, "mysql://u@h/db")
    with pytest.raises(ValueError, match="must be a postgresql:// URL"):
        database_of(None, tmp_path)


def test_both_stores_offer_the_same_interface() -> None:
    wanted = {"conn", "db", "transaction", "savepoint", "reading", "after_commit", "write_soon", "columns",
              "tables", "dialect", "database", "lock", "writer", "create_function", "optimize", "close", "path"}
    for store in (Storage, PgStorage):
        missing = {name for name in wanted if not hasattr(store, name) and name not in ("lock", "writer", "path")}
        assert not missing, (store.__name__, missing)


# -- the engine's SQL as PostgreSQL reads it ----------------------------------------------------


def test_parameters_become_psycopg_placeholders_and_literals_stay() -> None:
    assert _pg("SELECT a FROM t WHERE b = ? AND c LIKE '%?%' ESCAPE '\\'") == \
        "SELECT a FROM t WHERE b = %s AND c ILIKE '%%?%%' ESCAPE '\\'"
    assert _pg('SELECT "we?rd" FROM t WHERE x = ?') == 'SELECT "we?rd" FROM t WHERE x = %s'
    assert _pg("SELECT strftime('%Y', d)") == "SELECT strftime('%%Y', d)"
    assert _pg("SELECT 1 WHERE (? IS NULL OR base = ?)") == "SELECT 1 WHERE (CAST(%s AS text) IS NULL OR base = %s)"


def test_insert_or_ignore_and_replace_become_on_conflict() -> None:
    assert _pg("INSERT OR IGNORE INTO _gb_fired (key, at) VALUES (?, ?)") == \
        "INSERT INTO _gb_fired (key, at) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    assert _pg("INSERT OR REPLACE INTO _gb_meta (key, value) VALUES (?, ?)") == \
        'INSERT INTO _gb_meta (key, value) VALUES (%s, %s) ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value"'


def test_an_insert_into_a_table_with_an_identity_returns_it() -> None:
    t = translate("INSERT INTO _gb_comments (at, body) VALUES (?, ?)", lambda table: ("id",), lambda table: "id")
    assert t.sql.endswith(' RETURNING "id"') and t.returning == "id"


def test_sqlite_ddl_hints_and_pragmas_are_translated() -> None:
    assert _pg('CREATE TABLE "x" ("_rowid" INTEGER PRIMARY KEY, "n" REAL, "t" TEXT) WITHOUT ROWID') == \
        'CREATE TABLE "x" ("_rowid" BIGINT PRIMARY KEY, "n" DOUBLE PRECISION, "t" TEXT)'
    assert _pg('SELECT count(*) FROM "t" NOT INDEXED WHERE a = 1') == 'SELECT count(*) FROM "t" WHERE a = 1'
    assert _pg('SELECT d FROM "t" INDEXED BY "idx__a" WHERE a = 1') == 'SELECT d FROM "t" WHERE a = 1'
    assert _pg("PRAGMA wal_autocheckpoint = 1000") == "SELECT NULL WHERE FALSE"
    assert "FROM pg_attribute" in _pg('PRAGMA table_info("desk__tickets")')  # the catalog, not information_schema


# -- on a PostgreSQL server -------------------------------------------------------------------------


@pytest.fixture
def pg_desk(tmp_path: Path, database: Callable[[], Any]) -> tuple[Path, str]:
    if not on_postgres():
        pytest.skip("needs GRIDBASE_TEST_DATABASE=postgresql")
    return write_workspace(tmp_path / "ws", {"desk": DESK}, WORKSPACE_YAML), str(database())


def test_writers_of_two_stores_take_turns(pg_desk: tuple[Path, str]) -> None:
    """Two processes' stores on one database: the second writer waits for the first's commit
    (the advisory lock), as a second SQLite process waits for BEGIN IMMEDIATE."""
    root, url = pg_desk
    first, second = Workspace.open(root, db=url), Workspace.open(root, db=url)
    try:
        first.apply()
        order: list[str] = []
        inside = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with first.storage.transaction():
                inside.set()
                release.wait(30)
                order.append("first commits")

        def wait_then_write() -> None:
            inside.wait(30)
            with second.storage.transaction():
                order.append("second writes")

        a, b = threading.Thread(target=hold), threading.Thread(target=wait_then_write)
        a.start()
        b.start()
        inside.wait(30)
        b.join(0.5)
        assert b.is_alive() and order == [], "the second writer should wait for the first's commit"
        release.set()
        a.join(30)
        b.join(30)
        assert order == ["first commits", "second writes"]
    finally:
        first.close()
        second.close()


def test_a_read_past_its_time_budget_is_a_query_timeout(pg_desk: tuple[Path, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root, url = pg_desk
    monkeypatch.setenv("GRIDBASE_QUERY_SECONDS", "0.2")
    ws = Workspace.open(root, db=url)
    try:
        with pytest.raises(QueryTimeout), ws.storage.reading() as conn:
            conn.execute("SELECT pg_sleep(5)")
        with ws.storage.reading() as conn:  # the connection is fine afterwards
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        ws.close()


def test_the_command_line_applies_and_writes_on_postgresql(pg_desk: tuple[Path, str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root, url = pg_desk
    assert main(["apply", str(root), "--db", url]) == 0
    assert "create table desk.tickets" in capsys.readouterr().out
    ws = Workspace.open(root, db=url)
    try:
        rec = ws.base("desk").table("tickets").create({"title": "甲", "amount": 2.5}, actor="admin")
        assert ws.base("desk").table("tickets").get(rec["id"], actor="admin")["fields"] == {"title": "甲", "amount": 2.5}
        assert "desk__tickets" in ws.storage.tables() and "_gb_audit" in ws.storage.tables()
    finally:
        ws.close()
    assert main(["plan", str(root), "--db", url]) == 0
    assert "nothing to" in capsys.readouterr().out


def test_file_commands_on_postgresql_say_clearly_what_went_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = write_workspace(tmp_path / "ws", {"desk": DESK}, WORKSPACE_YAML)
    url = "postgresql://nobody@127.0.0.1:1/none"
    assert main(["backup", str(root), "--db", url, "--to", str(tmp_path / "b.dump")]) == 1
    assert "PostgreSQL failed:" in capsys.readouterr().err  # no server there: said, not a traceback
    monkeypatch.setenv(URL_VARIABLE, url)  # the environment chooses PostgreSQL as --db does
    assert main(["restore", str(root), "--from", str(tmp_path / "b.dump")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["automations", str(root), "run-due", "--at", "2026-03-01T09:00"]) == 1
    assert "the database could not be reached" in capsys.readouterr().err  # no server there: said, not a traceback
    assert not (tmp_path / "b.dump").exists()
