"""`gridbase backup` / `restore` on PostgreSQL: a pg_dump of the workspace's schema, restored in
one transaction — in a schema of its own and in a database's `public` schema, plain and encrypted."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from engine import Workspace
from gridbase import backup
from gridbase.cli import main
from tests_support import write_workspace

pytestmark = pytest.mark.stores  # needs PostgreSQL (the session's throwaway server)

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


def _target(pg_url: str, where: str) -> str:
    name = "bk_" + os.urandom(3).hex()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        if where == "public":  # a database of its own, the workspace in its public schema
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]  # a name made above
            return pg_url.rsplit("/", 1)[0] + f"/{name}"
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]  # a name made above
    return f"{pg_url}?options=-csearch_path%3D{name}"


def _titles(root: Path, url: str) -> list[str]:
    ws = Workspace.open(root, db=url)
    try:
        return sorted(r["fields"]["title"] for r in ws.base("desk").table("tickets").query(actor="admin").records)
    finally:
        ws.close()


@pytest.mark.parametrize(("where", "encrypt"), [("schema", False), ("public", True)])
def test_backup_and_restore_round_trip(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch, where: str, encrypt: bool) -> None:
    url = _target(pg_url, where)
    root = write_workspace(tmp_path / "ws", {"desk": DESK})
    ws = Workspace.open(root, db=url)
    ws.apply()
    tickets = ws.base("desk").table("tickets")
    made = [tickets.create({"title": t, "amount": 1.5}, actor="admin") for t in ("甲", "乙", "丙")]
    ws.close()

    dump = tmp_path / "backups" / "desk.dump"
    monkeypatch.setenv("GRIDBASE_BACKUP_KEY", "correct horse battery staple")
    assert main(["backup", str(root), "--db", url, "--to", str(dump), *(["--encrypt"] if encrypt else [])]) == 0
    said = capsys.readouterr().out
    assert ("encrypted backup" if encrypt else "backup") + f" written to {dump}" in said
    assert dump.read_bytes().startswith(b"GRIDBASE-BACKUP-ENC1" if encrypt else b"PGDMP")

    ws = Workspace.open(root, db=url)  # after the backup: one more, one gone
    ws.base("desk").table("tickets").create({"title": "丁"}, actor="admin")
    ws.base("desk").table("tickets").delete(made[0]["id"], actor="admin")
    ws.close()
    assert _titles(root, url) == ["丁", "丙", "乙"]

    assert main(["restore", str(root), "--db", url, "--from", str(dump)]) == 0
    assert "restored schema" in capsys.readouterr().out
    assert _titles(root, url) == ["丙", "乙", "甲"]
    ws = Workspace.open(root, db=url)  # writing goes on after the restored rows (sequences restored too)
    try:
        ws.base("desk").table("tickets").create({"title": "戊"}, actor="admin")
        audit = ws.storage.conn.execute("SELECT count(*) FROM _gb_audit WHERE action = 'create'").fetchone()[0]
        assert audit == 4
    finally:
        ws.close()
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:  # the schema set aside is gone
        assert not conn.execute("SELECT 1 FROM pg_namespace WHERE nspname LIKE '%before_restore%'").fetchall()


def test_restore_refuses_what_is_not_a_postgresql_backup(pg_url: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url = _target(pg_url, "schema")
    root = write_workspace(tmp_path / "ws", {"desk": DESK})
    ws = Workspace.open(root, db=url)
    ws.apply()
    ws.base("desk").table("tickets").create({"title": "甲"}, actor="admin")
    ws.close()
    sqlite_backup = tmp_path / "file.db"
    sqlite_backup.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert main(["restore", str(root), "--db", url, "--from", str(sqlite_backup)]) == 1
    assert "is not a PostgreSQL backup of Gridbase" in capsys.readouterr().err
    assert _titles(root, url) == ["甲"]


def test_the_daily_backup_of_a_server_on_postgresql_is_a_dump(pg_url: str, tmp_path: Path) -> None:
    url = _target(pg_url, "schema")
    root = write_workspace(tmp_path / "ws", {"desk": DESK})
    ws = Workspace.open(root, db=url)
    ws.apply()
    job = backup.schedule_daily(ws, tmp_path / "daily", keep=3)  # what `gridbase serve --backup-dir` adds
    ws.close()
    written = job.func(*job.args, **job.kwargs)
    assert written.read_bytes().startswith(b"PGDMP")
