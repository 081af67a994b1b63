"""The system tables, made by sqlite-utils from engine.storage's declarations: a new database
gets exactly the tables, columns, keys, defaults and unique columns the hand-written DDL of the
release before made, and a database made by that release opens and is brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.storage import Storage
from engine.systables import SYSTEM_TABLES, column_spec

# The system tables as the release before made them (engine/storage.py until 2026-12), before
# the columns added later (on_behalf, address, scopes, bases).
BEFORE = """
CREATE TABLE _gb_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE _gb_schema (base TEXT NOT NULL, tbl TEXT NOT NULL, field TEXT NOT NULL,
    type TEXT NOT NULL, definition TEXT NOT NULL, PRIMARY KEY (base, tbl, field));
CREATE TABLE _gb_people (key TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT,
    roles TEXT NOT NULL DEFAULT '[]', email TEXT, phone TEXT, channels TEXT NOT NULL DEFAULT '[]',
    locale TEXT, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0, source TEXT NOT NULL DEFAULT 'yaml',
    changed_at TEXT);
CREATE TABLE _gb_sessions (id_hash TEXT PRIMARY KEY, person TEXT NOT NULL, csrf TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE _gb_tokens (id INTEGER PRIMARY KEY, person TEXT NOT NULL, name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT, last_used_at TEXT);
CREATE TABLE _gb_login_attempts (who TEXT NOT NULL, at TEXT NOT NULL, ok INTEGER NOT NULL);
CREATE INDEX _gb_login_attempts_who ON _gb_login_attempts (who, at);
CREATE TABLE _gb_pending_signins (id_hash TEXT PRIMARY KEY, person TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE _gb_second_factors (person TEXT PRIMARY KEY, secret TEXT NOT NULL,
    created_at TEXT NOT NULL, confirmed_at TEXT, last_step INTEGER NOT NULL DEFAULT 0);
CREATE TABLE _gb_recovery_codes (person TEXT NOT NULL, code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL, used_at TEXT, PRIMARY KEY (person, code_hash));
CREATE TABLE _gb_audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
    base TEXT NOT NULL, tbl TEXT NOT NULL, record TEXT NOT NULL, action TEXT NOT NULL, field TEXT,
    old TEXT, new TEXT);
CREATE INDEX _gb_audit_record ON _gb_audit (base, tbl, record, id);
CREATE INDEX _gb_audit_actor ON _gb_audit (actor, at);
CREATE TABLE _gb_access_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
    base TEXT NOT NULL, tbl TEXT NOT NULL, records TEXT NOT NULL, action TEXT NOT NULL);
CREATE INDEX _gb_access_log_actor ON _gb_access_log (actor, at);
CREATE TABLE _gb_outbox (id INTEGER PRIMARY KEY, at TEXT NOT NULL, base TEXT NOT NULL,
    tbl TEXT NOT NULL, record TEXT, event TEXT NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL,
    depth INTEGER NOT NULL DEFAULT 0, processed_at TEXT);
CREATE INDEX _gb_outbox_pending ON _gb_outbox (processed_at, id);
CREATE TABLE _gb_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE _gb_archive (id INTEGER PRIMARY KEY, at TEXT NOT NULL, base TEXT NOT NULL,
    tbl TEXT NOT NULL, field TEXT NOT NULL, record TEXT, value TEXT, reason TEXT NOT NULL);
CREATE TABLE _gb_comments (id INTEGER PRIMARY KEY, at TEXT NOT NULL, author TEXT NOT NULL,
    base TEXT NOT NULL, tbl TEXT NOT NULL, record TEXT NOT NULL, body TEXT NOT NULL, deleted_at TEXT);
CREATE INDEX _gb_comments_record ON _gb_comments (base, tbl, record);
CREATE TABLE _gb_attachments (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, type TEXT NOT NULL, uploaded_by TEXT NOT NULL, uploaded_at TEXT NOT NULL,
    base TEXT, tbl TEXT, field TEXT);
CREATE TABLE _gb_view_prefs (person TEXT NOT NULL, base TEXT NOT NULL, tbl TEXT NOT NULL,
    view TEXT NOT NULL, prefs TEXT NOT NULL, PRIMARY KEY (person, base, tbl, view));
CREATE TABLE _gb_runs (id INTEGER PRIMARY KEY, automation TEXT NOT NULL, base TEXT NOT NULL,
    trigger TEXT NOT NULL, record TEXT, event_id INTEGER, started_at TEXT NOT NULL, duration_ms REAL,
    status TEXT NOT NULL, steps TEXT NOT NULL DEFAULT '[]', error TEXT, run_key TEXT UNIQUE);
CREATE TABLE _gb_notifications (id INTEGER PRIMARY KEY, person TEXT NOT NULL, at TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, link TEXT, base TEXT, tbl TEXT, record TEXT, read_at TEXT,
    key TEXT UNIQUE);
CREATE INDEX _gb_notifications_person ON _gb_notifications (person, read_at, id);
CREATE TABLE _gb_deliveries (id INTEGER PRIMARY KEY, notification INTEGER, channel TEXT NOT NULL,
    person TEXT, payload TEXT NOT NULL, key TEXT NOT NULL UNIQUE, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL, last_error TEXT, sent_at TEXT);
CREATE INDEX _gb_deliveries_due ON _gb_deliveries (status, next_at);
CREATE TABLE _gb_fired (key TEXT PRIMARY KEY, at TEXT NOT NULL);
"""


def shape(path: Path) -> dict[str, Any]:
    """Each table's columns (name, type, not null, default, key position), unique column sets and
    indexes (their columns), ignoring how the DDL was spelled and what the indexes are called."""
    conn = sqlite3.connect(path)
    try:
        out: dict[str, Any] = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            columns = [tuple(r[1:]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
            indexes = []
            for _, name, unique, origin, _ in conn.execute(f'PRAGMA index_list("{table}")'):
                cols = tuple(r[2] for r in conn.execute(f'PRAGMA index_info("{name}")'))
                indexes.append(("pk" if origin == "pk" else "unique" if unique else "index", cols))
            out[table] = (columns, sorted(indexes))
        return out
    finally:
        conn.close()


@pytest.mark.sqlite_only("a SQLite file made by the release before, read from sqlite_master")
def test_a_new_database_has_the_tables_the_release_before_made(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.executescript(BEFORE)
    conn.close()
    Storage(old).close()  # brought up to date: the columns and indexes added since
    Storage(tmp_path / "new.db").close()
    assert shape(tmp_path / "new.db") == shape(old)
    assert set(shape(old)) == set(SYSTEM_TABLES)


@pytest.mark.sqlite_only("compares a SQLite file's sqlite_master before and after opening it again")
def test_opening_a_database_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    Storage(path).close()
    conn = sqlite3.connect(path)
    before = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    conn.close()
    Storage(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == before
    conn.close()


def test_unique_columns_refuse_a_second_equal_value(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "g.db")
    try:
        with storage.transaction() as conn:
            conn.execute("INSERT INTO _gb_fired (key, at) VALUES ('k', 't')")
            conn.execute("INSERT INTO _gb_deliveries (channel, payload, key, status, next_at) VALUES ('c', '{}', 'k', 'q', 't')")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), storage.transaction() as conn:
            conn.execute("INSERT INTO _gb_deliveries (channel, payload, key, status, next_at) VALUES ('c', '{}', 'k', 'q', 't')")
        row = storage.conn.execute("SELECT roles, channels, disabled, source FROM _gb_people WHERE key = 'x'").fetchone()
        assert row is None
        with storage.transaction() as conn:
            conn.execute("INSERT INTO _gb_people (key, name) VALUES ('x', 'X')")
        assert storage.conn.execute("SELECT roles, channels, disabled, source FROM _gb_people").fetchone() == \
            ("[]", "[]", 0, "yaml")
    finally:
        storage.close()


@pytest.mark.parametrize(("declaration", "expected"), [
    ("TEXT", ("TEXT", False, None, False)),
    ("TEXT NOT NULL DEFAULT '[]'", ("TEXT", True, "[]", False)),
    ("TEXT NOT NULL DEFAULT ''", ("TEXT", True, "", False)),
    ("INTEGER NOT NULL DEFAULT 0", ("INTEGER", True, 0, False)),
    ("TEXT NOT NULL UNIQUE", ("TEXT", True, None, True)),
])
def test_a_column_declaration_reads_as_sqlite_utils_takes_it(declaration: str, expected: tuple[Any, ...]) -> None:
    spec = column_spec(declaration)
    assert (spec.type, spec.not_null, spec.default, spec.unique) == expected


def test_a_declaration_it_cannot_read_is_named() -> None:
    with pytest.raises(ValueError, match="cannot read the column declaration 'TEXT PRIMARY KEY'"):
        column_spec("TEXT PRIMARY KEY")


def test_sqlite_utils_works_on_the_calling_threads_connection(tmp_path: Path) -> None:
    """`Storage.db` reads through this thread's reader, and writes through the writer inside
    a transaction (so schema work is part of that transaction)."""
    storage = Storage(tmp_path / "g.db")
    try:
        assert storage.db.conn is storage.conn is not storage.writer
        assert "_gb_meta" in storage.db.table_names()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            storage.db.table("t").create({"v": str})
        with storage.transaction():
            assert storage.db.conn is storage.writer
            storage.db.table("t").create({"v": str})
        assert storage.columns("t") == {"v": "TEXT"}
        assert "t" in storage.tables()
    finally:
        storage.close()
