"""SIGKILL during a bulk import and during a migration of a big table: the database stays
intact and holds either nothing or whole committed batches, old or new schema, never a mix."""

from __future__ import annotations

import csv
import sqlite3
import time
from pathlib import Path

import pytest
from reliability_support import (
    LOG_BASE_NUMBER,
    fill_rows,
    gridbase,
    integrity,
    kill_when,
    make_log_workspace,
    popen_gridbase,
    scalar,
)

from engine import Workspace
from tests_support import rewrite_base

ROWS = 30_000
BATCH = 5000  # engine.transfer.import_file commits every `batch` rows with --skip-invalid


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["标题", "序号", "备注"])
        for i in range(rows):
            writer.writerow([f"imported {i}", i, "<b>note</b> " * 3])


def _imported_numbers(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [int(r[0]) for r in conn.execute("SELECT n FROM log__entries WHERE title LIKE 'imported %' ORDER BY n")]
    finally:
        conn.close()


def _consistent(db: Path) -> None:
    assert integrity(db) == "ok"
    conn = sqlite3.connect(db)
    try:
        ids = {r[0] for r in conn.execute("SELECT _id FROM log__entries")}
        audited = {r[0] for r in conn.execute("SELECT record FROM _gb_audit WHERE action = 'create'")}
        events = {r[0] for r in conn.execute("SELECT record FROM _gb_outbox WHERE event = 'created'")}
    finally:
        conn.close()
    assert ids == audited == events  # row, audit entry and event: all three or none


@pytest.mark.sqlite_only("a process killed mid-import: the SQLite file read back with sqlite3 and its rollback journal")
def test_sigkill_during_batched_import_keeps_whole_batches(tmp_path: Path) -> None:
    root = make_log_workspace(tmp_path / "ws")
    db = root / "data" / "gridbase.db"
    ws = Workspace.open(root)
    ws.apply()
    ws.close()
    big = tmp_path / "big.csv"
    _write_csv(big, ROWS)
    proc = popen_gridbase("import", str(root), "log.entries", str(big), "--skip-invalid", "--as", "admin")
    killed = kill_when(proc, lambda: int(scalar(db, "SELECT count(*) FROM log__entries") or 0) >= BATCH)
    assert killed, "the import finished before it could be killed; make the CSV bigger"
    _consistent(db)
    numbers = _imported_numbers(db)
    assert len(numbers) % BATCH == 0 and 0 < len(numbers) < ROWS
    assert numbers == list(range(len(numbers)))  # whole batches, in file order, no half batch
    # A re-run of the same file imports it completely and cleanly.
    again = gridbase("import", str(root), "log.entries", str(big), "--skip-invalid", "--as", "admin", timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"imported {ROWS} row(s), rejected 0" in again.stdout
    _consistent(db)
    assert scalar(db, "SELECT count(*) FROM log__entries") == len(numbers) + ROWS


@pytest.mark.sqlite_only("a process killed mid-import: the SQLite file read back with sqlite3 and its rollback journal")
def test_sigkill_during_all_or_nothing_import_imports_nothing(tmp_path: Path) -> None:
    root = make_log_workspace(tmp_path / "ws")
    db = root / "data" / "gridbase.db"
    ws = Workspace.open(root)
    ws.apply()
    ws.base("log").table("entries").create({"title": "acknowledged before"}, actor="admin")
    ws.close()
    big = tmp_path / "big.csv"
    _write_csv(big, ROWS)
    proc = popen_gridbase("import", str(root), "log.entries", str(big), "--as", "admin")
    # Kill once some of its short transactions have committed (engine.imports): other
    # writers are not held up for the whole file, and the journal knows what it wrote.
    killed = kill_when(proc, lambda: 1 < int(scalar(db, "SELECT count(*) FROM log__entries") or 0) < ROWS)
    assert killed
    _consistent(db)
    state = scalar(db, "SELECT state FROM _gb_imports")
    if state == "writing":  # nothing of it was released to automations yet
        assert scalar(db, "SELECT count(*) FROM _gb_outbox WHERE event = 'created' AND processed_at IS NULL") == 1
    Workspace.open(root).close()  # undoes it (or, killed while publishing, finishes it)
    _consistent(db)
    assert _imported_numbers(db) == ([] if state == "writing" else list(range(ROWS)))
    assert scalar(db, "SELECT count(*) FROM log__entries WHERE title = 'acknowledged before'") == 1
    assert scalar(db, "SELECT state FROM _gb_imports") == ("rolled_back" if state == "writing" else "done")
    before = len(_imported_numbers(db))
    again = gridbase("import", str(root), "log.entries", str(big), "--as", "admin", timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(_imported_numbers(db)) == before + ROWS
    _consistent(db)


def _schema_state(db: Path) -> str:
    """'old' (amount is text) or 'new' (amount is number); fail on a mix."""
    conn = sqlite3.connect(db)
    try:
        declared = conn.execute("SELECT type FROM _gb_schema WHERE base = 'log' AND tbl = 'entries' AND field = 'amount'").fetchone()[0]
        cols = {r[1]: r[2] for r in conn.execute('PRAGMA table_info("log__entries")')}
        kinds = {r[0] for r in conn.execute('SELECT DISTINCT typeof(amount) FROM "log__entries"')}
    finally:
        conn.close()
    assert "_gb_tmp_amount" not in cols
    if declared == "text":
        assert kinds == {"text"}, kinds
        return "old"
    assert declared == "number" and kinds <= {"integer", "real"}, (declared, kinds)
    return "new"


def _write_locked(db: Path) -> bool:
    """Whether another connection holds the write lock (a migration is running)."""
    if not db.exists():
        return False
    conn = sqlite3.connect(db, timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


@pytest.mark.sqlite_only("a process killed mid-apply: the SQLite file's table rebuild (PRAGMA table_info, its write lock freed)")
def test_sigkill_during_apply_of_big_retype(tmp_path: Path) -> None:
    states: list[str] = []
    for attempt, delay in enumerate((0.0, 0.05, 0.3)):
        root = make_log_workspace(tmp_path / f"ws{attempt}")
        db = root / "data" / "gridbase.db"
        ws = Workspace.open(root)
        ws.apply()
        ws.close()
        fill_rows(db, "log__entries", 50_000, amount=lambda i: f"{i}.5")
        rewrite_base(root, "log", LOG_BASE_NUMBER)
        proc = popen_gridbase("apply", str(root))
        # Kill while the migration holds its write transaction (the database is locked for
        # other writers), `delay` seconds into it: a wall-clock guess would miss on a fast machine.
        locked_at: list[float] = []

        def inside(d: float = delay, seen: list[float] = locked_at, db: Path = db) -> bool:
            if not seen and _write_locked(db):
                seen.append(time.monotonic())
            return bool(seen) and time.monotonic() - seen[0] >= d

        kill_when(proc, inside)
        assert integrity(db) == "ok"
        states.append(_schema_state(db))
        assert scalar(db, "SELECT count(*) FROM log__entries") == 50_000
        done = gridbase("apply", str(root), timeout=300)
        assert done.returncode == 0, done.stderr
        assert integrity(db) == "ok"
        assert _schema_state(db) == "new"
        assert scalar(db, "SELECT amount FROM log__entries WHERE n = 41") == 41.5
        assert scalar(db, "SELECT count(*) FROM log__entries WHERE amount IS NULL") == 0
    assert "old" in states, states  # at least one kill landed inside the migration
