"""Helpers for the reliability tests: a small log base, big tables made fast, subprocess runs, and what
several processes on one database must have stored (each create once, its automation once)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests_support import ROOT, write_workspace

LOG_BASE = """\
base: log
name: Log
tables:
  entries:
    name: 记录
    primary: title
    fields:
      title: {type: text, name: 标题}
      n: {type: number, name: 序号}
      amount: {type: text, name: 金额}
      note: {type: long_text, name: 备注}
"""

LOG_BASE_NUMBER = LOG_BASE.replace("amount: {type: text, name: 金额}", "amount: {type: number, name: 金额, precision: 1}")

# Several processes on one database (test_processes_sqlite, test_processes_pg): each created
# entry is stamped by an automation and announced to the admin, so "exactly once" is countable.
STAMPED_BASE = """\
base: log
name: Log
tables:
  entries:
    name: 记录
    primary: title
    fields:
      title: {type: text, name: 标题}
      note: {type: text, name: 备注}
      due: {type: date, name: 到期}
automations:
  stamp:
    name: 登记
    when: {created: entries}
    do:
      - update: {note: "done {{ record.title }}"}
      - notify: {to: "person:admin", title: "新记录：{{ record.title }}"}
"""

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def make_log_workspace(root: Path, base: str = LOG_BASE) -> Path:
    return write_workspace(root, {"log": base})


def gridbase(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `gridbase ARGS` in a subprocess (as the installed command would)."""
    return subprocess.run([sys.executable, "-m", "gridbase", *args], cwd=ROOT, env=env or ENV, text=True,
                          capture_output=True, timeout=timeout)


def popen_gridbase(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gridbase", *args], cwd=ROOT, env=env or ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def fill_rows(db: Path, table: str, count: int, *, amount: Callable[[int], str] = str, pad: int = 0) -> None:
    """Insert `count` rows straight into a user table (fast; for fault tests of big tables)."""
    conn = sqlite3.connect(db)
    try:
        now = "2026-01-01T00:00:00Z"
        filler = "x" * pad
        conn.execute("BEGIN")
        conn.executemany(
            f'INSERT INTO "{table}" (_id, _created_at, _created_by, _modified_at, _modified_by, title, n, amount, note) '
            "VALUES (?, ?, 'admin', ?, 'admin', ?, ?, ?, ?)",
            ((f"recfill{i:09d}", now, now, f"row {i}", i, amount(i), filler) for i in range(count)))
        conn.execute("COMMIT")
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def scalar(db: Path, sql: str, params: tuple[object, ...] = ()) -> object:
    conn = sqlite3.connect(db, timeout=30)
    try:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool], *, timeout: float = 60) -> bool:
    """SIGKILL `proc` as soon as `ready()` holds; True if it was killed while still running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if ready():
                break
        except sqlite3.OperationalError:
            pass  # the database is busy or not yet created: look again
        time.sleep(0.005)
    running = proc.poll() is None
    proc.kill()
    proc.communicate()
    return running


def assert_each_stored_and_run_once(acknowledged: dict[str, str], rows: list[Any], runs: list[Any],
                                    statuses: set[str], notified: list[Any], clients: int) -> None:
    """Several processes on one database, one of them killed under creates of 5 records a batch
    (STAMPED_BASE): every acknowledged create is stored once under the id the API answered; the
    only extra rows are a batch the killed process stored without answering (at most one a
    client); the automation ran once per stored record, stamped it and notified once.
    `rows`: (id, title, note) of every entry; `runs`: (record, count) of `_gb_runs`;
    `notified`: (title, count) of `_gb_notifications`."""
    by_id = {rid: (title, note) for rid, title, note in rows}
    titles = [title for _rid, title, _note in rows]
    for title, rid in acknowledged.items():
        assert by_id.get(rid, (None,))[0] == title
        assert titles.count(title) == 1, title
    assert len([t for t in titles if t not in acknowledged]) <= 5 * clients
    assert statuses == {"ok"}
    assert sorted(r for r, _ in runs) == sorted(by_id)
    assert all(count == 1 for _r, count in runs)
    assert all(note == f"done {title}" for title, note in by_id.values())
    assert sorted(t for t, _ in notified) == sorted(f"新记录：{t}" for t in titles)
    assert all(count == 1 for _t, count in notified)
